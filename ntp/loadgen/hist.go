package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// Histogram is a log-bucket (HDR-style) histogram of non-negative durations
// in nanoseconds: exact below 64 ns, then 32 linear sub-buckets per power of
// two, so any recorded value is reported within 1/32 (≈ 3 %) of its true
// value. It is a fixed array: Record never allocates. The zero value is
// empty and ready to use. Not safe for concurrent use: each worker owns one
// and they are merged at the end.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64 // ns, for the mean
	sumsq  float64 // ns², for the standard deviation
	min    uint64
	max    uint64
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits        // 32 sub-buckets per power of two
	histDirect  = 2 * histSub             // values below 64 map to themselves
	histBuckets = histDirect + 58*histSub // up to 2^64 ns
)

// bucketOf maps a value to its bucket index.
func bucketOf(v uint64) int {
	if v < histDirect {
		return int(v)
	}
	shift := bits.Len64(v) - (histSubBits + 1) // ≥ 1
	top := v >> uint(shift)                    // in [32, 64)
	return histDirect + (shift-1)*histSub + int(top-histSub)
}

// bucketRange returns the smallest and largest value that map to bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < histDirect {
		return uint64(i), uint64(i)
	}
	shift := (i-histDirect)/histSub + 1
	top := uint64((i-histDirect)%histSub + histSub)
	lo = top << uint(shift)
	return lo, lo + (1 << uint(shift)) - 1
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
	h.sumsq += float64(v) * float64(v)
}

// Merge adds all of o's samples to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
	h.sumsq += o.sumsq
}

// Count is the number of recorded samples.
func (h *Histogram) Count() uint64 { return h.n }

// Above is the number of samples above d, to the histogram's resolution:
// a sample in the bucket holding d counts when the bucket's midpoint is
// above d.
func (h *Histogram) Above(d time.Duration) uint64 {
	if d < 0 {
		return h.n
	}
	var n uint64
	for i := len(h.counts) - 1; i >= 0; i-- {
		lo, hi := bucketRange(i)
		if lo+(hi-lo)/2 <= uint64(d) {
			break
		}
		n += h.counts[i]
	}
	return n
}

// Min and Max are exact.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max is the largest recorded value, exact.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is exact up to float rounding; 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// StdDev is the population standard deviation, exact up to float
// rounding; 0 with fewer than two samples.
func (h *Histogram) StdDev() time.Duration {
	if h.n < 2 {
		return 0
	}
	m := h.sum / float64(h.n)
	return time.Duration(math.Sqrt(max(h.sumsq/float64(h.n)-m*m, 0)))
}

// Quantile returns the value below or at which a fraction q (0..1) of the
// samples lie: the midpoint of the bucket holding the ⌈q·n⌉-th smallest
// sample, clamped to the exact min and max. 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			v = max(v, h.min)
			v = min(v, h.max)
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}
