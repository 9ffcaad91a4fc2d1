package interop

import (
	"math"
	"slices"
)

// summary holds the statistics the tests assert and log. Offsets in seconds.
type summary struct {
	n            int
	mean, stddev float64
	median       float64
	robustSigma  float64 // 1.4826 × median absolute deviation: σ for Gaussian noise, blind to rare outliers
	min, max     float64
	p99Abs       float64 // 99th percentile of |x|
}

func summarize(xs []float64) summary {
	s := summary{n: len(xs)}
	if len(xs) == 0 {
		return s
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	s.min, s.max = sorted[0], sorted[len(sorted)-1]
	s.median = quantile(sorted, 0.5)
	var sum float64
	for _, x := range xs {
		sum += x
	}
	s.mean = sum / float64(len(xs))
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - s.mean) * (x - s.mean)
		}
		s.stddev = math.Sqrt(ss / float64(len(xs)-1))
	}
	dev := make([]float64, len(xs))
	abs := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - s.median)
		abs[i] = math.Abs(x)
	}
	slices.Sort(dev)
	slices.Sort(abs)
	s.robustSigma = 1.4826 * quantile(dev, 0.5)
	s.p99Abs = quantile(abs, 0.99)
	return s
}

// quantile interpolates linearly in sorted (non-empty).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(i)
	return sorted[i]*(1-frac) + sorted[i+1]*frac
}

func median(xs []float64) float64 { return summarize(xs).median }

// us formats seconds as microseconds.
func us(s float64) string { return strconvFloat(s*1e6, 3) + " µs" }
