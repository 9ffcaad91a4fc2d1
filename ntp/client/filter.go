package client

import (
	"math"
	"time"
)

const (
	// phi is the frequency tolerance PHI, 15 ppm, in s/s (RFC 5905 §7.2).
	phi = 15e-6
	// MaxDispersion is RFC 5905's MAXDISP: the dispersion of a missing
	// sample and the root distance beyond which a header is rejected.
	MaxDispersion = 16 * time.Second
	// FilterStages is the length of the clock filter (RFC 5905 NSTAGE).
	FilterStages = 8
)

// Sample is one offset/delay measurement.
type Sample struct {
	// Time is the local receive time T4 of the reply.
	Time time.Time
	// Offset = reference − local (θ); Delay is the round trip δ.
	Offset time.Duration
	Delay  time.Duration
	// Dispersion ε at Time: precisions plus PHI × (T4 − T1).
	Dispersion time.Duration
}

// grown returns the sample's dispersion aged to now, saturating at
// MaxDispersion.
func (s *Sample) grown(now time.Time) time.Duration {
	d := s.Dispersion
	if age := now.Sub(s.Time); age > 0 {
		d += time.Duration(phi * float64(age))
	}
	return min(d, MaxDispersion)
}

// filter is the RFC 5905 §10 clock filter shift register.
type filter struct {
	stages [FilterStages]Sample
	n      int // stages filled (real or dummy), ≤ FilterStages
	next   int // index the next sample goes to
}

func (f *filter) add(s Sample) {
	f.stages[f.next] = s
	f.next = (f.next + 1) % FilterStages
	f.n = min(f.n+1, FilterStages)
}

// addMissing pushes a dummy sample of dispersion MaxDispersion (a poll
// without an answer), which ages the older samples out.
func (f *filter) addMissing(now time.Time) {
	f.add(Sample{Time: now, Dispersion: MaxDispersion})
}

func (f *filter) reset() { *f = filter{} }

// filterResult is the output of the filter at a given time.
type filterResult struct {
	best       Sample
	ok         bool // at least one valid (non-dummy) sample
	valid      int  // number of valid samples
	dispersion time.Duration
	jitter     time.Duration
}

// evaluate runs the filter selection at time now. precision is our clock
// precision, the floor of the jitter.
func (f *filter) evaluate(now time.Time, precision time.Duration) filterResult {
	type stage struct {
		s    *Sample
		eps  time.Duration
		dist time.Duration
	}
	var st [FilterStages]stage
	for i := range f.n {
		s := &f.stages[i]
		eps := s.grown(now)
		st[i] = stage{s, eps, s.Delay/2 + eps}
	}
	// Insertion sort (at most 8 stages) by distance; on equal distance the
	// newer sample first.
	less := func(a, b *stage) bool {
		return a.dist < b.dist || a.dist == b.dist && a.s.Time.After(b.s.Time)
	}
	for i := 1; i < f.n; i++ {
		for j := i; j > 0 && less(&st[j], &st[j-1]); j-- {
			st[j], st[j-1] = st[j-1], st[j]
		}
	}
	r := filterResult{dispersion: MaxDispersion}
	if f.n == 0 {
		return r
	}
	// Peer dispersion: Σ εᵢ/2^(i+1) over the sorted stages, normalised by
	// Σ 1/2^(i+1) over the filled ones. RFC 5905 counts never-filled stages
	// as MAXDISP instead, which gives a new source a distance of seconds
	// for its first polls, long enough for a falseticker's interval to
	// overlap everyone's. Missed polls still enter as MAXDISP stages.
	var disp, norm float64
	for i := range f.n {
		w := 1 / float64(uint(2)<<i)
		disp += st[i].eps.Seconds() * w
		norm += w
	}
	r.dispersion = time.Duration(math.Round(disp / norm * 1e9))
	if st[0].eps >= MaxDispersion {
		return r
	}
	r.ok = true
	r.best = *st[0].s
	r.best.Dispersion = st[0].eps
	var sum float64
	for i := range f.n {
		if st[i].eps >= MaxDispersion {
			continue
		}
		r.valid++
		if i > 0 {
			d := (st[i].s.Offset - r.best.Offset).Seconds()
			sum += d * d
		}
	}
	if r.valid > 1 {
		r.jitter = time.Duration(math.Sqrt(sum/float64(r.valid-1)) * 1e9)
	}
	r.jitter = max(r.jitter, precision)
	return r
}
