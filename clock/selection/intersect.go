package selection

import (
	"cmp"
	"slices"
	"time"
)

// Interval is a correctness interval [Lo, Hi] of offsets.
type Interval struct {
	Lo, Hi time.Duration
}

// Overlaps reports whether i and j share at least one point.
func (i Interval) Overlaps(j Interval) bool { return i.Lo <= j.Hi && j.Lo <= i.Hi }

type endpoint struct {
	v   time.Duration
	typ int // −1 low edge, 0 midpoint, +1 high edge (RFC 5905 A.5.5.1)
}

// Intersect runs the RFC 5905 §11.2.1 intersection algorithm over the
// correctness intervals (each with its midpoint taken as (Lo+Hi)/2). It
// returns the smallest interval containing points of the largest clique of
// more than half the intervals, and ok = false when no majority clique
// exists.
func Intersect(ivs []Interval) (Interval, bool) { return intersect(ivs, nil) }

// intersect is Intersect reusing scratch for the endpoint list.
func intersect(ivs []Interval, scratch []endpoint) (Interval, bool) {
	m := len(ivs)
	if m == 0 {
		return Interval{}, false
	}
	eps := scratch[:0]
	for _, iv := range ivs {
		eps = append(eps,
			endpoint{iv.Lo, -1},
			endpoint{iv.Lo + (iv.Hi-iv.Lo)/2, 0},
			endpoint{iv.Hi, +1})
	}
	// Ties: low edges before midpoints before high edges, so that touching
	// intervals count as overlapping in both scans.
	slices.SortFunc(eps, func(a, b endpoint) int {
		if c := cmp.Compare(a.v, b.v); c != 0 {
			return c
		}
		return cmp.Compare(a.typ, b.typ)
	})
	for f := 0; 2*f < m; f++ {
		var lo, hi time.Duration
		foundLo, foundHi := false, false
		d, c := 0, 0
		for _, e := range eps {
			c -= e.typ
			if c >= m-f {
				lo, foundLo = e.v, true
				break
			}
			if e.typ == 0 {
				d++
			}
		}
		c = 0
		for i := len(eps) - 1; i >= 0; i-- {
			e := eps[i]
			c += e.typ
			if c >= m-f {
				hi, foundHi = e.v, true
				break
			}
			if e.typ == 0 {
				d++
			}
		}
		// d counts midpoints outside [lo, hi]: more than f of them means
		// the clique of m−f is not consistent; allow one more falseticker.
		if foundLo && foundHi && d <= f && lo <= hi {
			return Interval{lo, hi}, true
		}
	}
	return Interval{}, false
}
