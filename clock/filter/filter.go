package filter

import (
	"math"
	"time"
)

const (
	// PHI is the frequency tolerance, 15 ppm, in s/s (RFC 5905 §7.2): the
	// rate at which a sample's dispersion grows with its age.
	PHI = 15e-6
	// MaxDispersion is RFC 5905's MAXDISP: the dispersion of a missing
	// sample and the ceiling of a grown one. NTP also rejects a header
	// whose root distance reaches it.
	MaxDispersion = 16 * time.Second
	// Stages is the length of the clock filter (RFC 5905 NSTAGE).
	Stages = 8
)

// Sample is one offset/delay measurement of a source against the local
// clock.
type Sample struct {
	// Time is the local time of the measurement (for NTP the receive time
	// T4 of the reply).
	Time time.Time
	// Offset = reference − local (θ); Delay is the round trip δ (0 for a
	// source without a path delay, such as PPS).
	Offset time.Duration
	Delay  time.Duration
	// Dispersion ε at Time: the error bound from precisions and PHI over
	// the measurement interval.
	Dispersion time.Duration
}

// DispersionAt returns the sample's dispersion aged to now at PHI,
// saturating at MaxDispersion.
func (s *Sample) DispersionAt(now time.Time) time.Duration {
	d := s.Dispersion
	if age := now.Sub(s.Time); age > 0 {
		d += time.Duration(PHI * float64(age))
	}
	return min(d, MaxDispersion)
}

// Filter is the RFC 5905 §10 clock filter shift register: the last Stages
// samples, real or missing. The zero value is an empty filter. It is not
// safe for concurrent use.
type Filter struct {
	stages [Stages]Sample
	n      int // stages filled (real or dummy), ≤ Stages
	next   int // index the next sample goes to
}

// Add pushes s, dropping the oldest stage once all Stages are filled.
func (f *Filter) Add(s Sample) {
	f.stages[f.next] = s
	f.next = (f.next + 1) % Stages
	f.n = min(f.n+1, Stages)
}

// AddMissing pushes a dummy sample of dispersion MaxDispersion (for NTP, a
// poll without an answer), which ages the older samples out.
func (f *Filter) AddMissing(now time.Time) {
	f.Add(Sample{Time: now, Dispersion: MaxDispersion})
}

// Reset empties the filter.
func (f *Filter) Reset() { *f = Filter{} }

// Len returns the number of stages filled, real or dummy.
func (f *Filter) Len() int { return f.n }

// Result is the output of the filter at a given time.
type Result struct {
	// Best is the chosen sample, its Dispersion grown to the evaluation
	// time; valid only when OK.
	Best Sample
	// OK: at least one valid (non-dummy, not fully aged) sample.
	OK bool
	// Valid is the number of valid samples.
	Valid int
	// Dispersion is the peer dispersion (MaxDispersion when empty).
	Dispersion time.Duration
	// Jitter is the RMS of the other valid offsets around Best's, floored
	// at the precision passed to Evaluate.
	Jitter time.Duration
}

// Evaluate runs the filter selection at time now. precision is our clock
// precision, the floor of the jitter.
func (f *Filter) Evaluate(now time.Time, precision time.Duration) Result {
	type stage struct {
		s    *Sample
		eps  time.Duration
		dist time.Duration
	}
	var st [Stages]stage
	for i := range f.n {
		s := &f.stages[i]
		eps := s.DispersionAt(now)
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
	r := Result{Dispersion: MaxDispersion}
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
	r.Dispersion = time.Duration(math.Round(disp / norm * 1e9))
	if st[0].eps >= MaxDispersion {
		return r
	}
	r.OK = true
	r.Best = *st[0].s
	r.Best.Dispersion = st[0].eps
	var sum float64
	for i := range f.n {
		if st[i].eps >= MaxDispersion {
			continue
		}
		r.Valid++
		if i > 0 {
			d := (st[i].s.Offset - r.Best.Offset).Seconds()
			sum += d * d
		}
	}
	if r.Valid > 1 {
		r.Jitter = time.Duration(math.Sqrt(sum/float64(r.Valid-1)) * 1e9)
	}
	r.Jitter = max(r.Jitter, precision)
	return r
}
