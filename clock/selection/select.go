package selection

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// SourceStatus is one source's outcome, in input order.
type SourceStatus struct {
	ID     string
	State  State
	Reason Reason
	// Distance is the root distance λ used for the interval and weights.
	Distance time.Duration
	// Weight is the share of this source in the combined offset (0…1).
	Weight float64
}

// Result is the outcome of one selection round.
type Result struct {
	// Selected is false when nothing may steer the clock (no usable source,
	// no majority, minsources or require not met). The system fields below
	// are then zero, Leap is LeapUnsync.
	Selected bool
	// Peer is the ID of the system peer; PeerIndex its index in the input.
	Peer      string
	PeerIndex int
	// Offset is the combined offset (reference − local); PeerOffset the
	// system peer's own.
	Offset     time.Duration
	PeerOffset time.Duration
	// Jitter is the system jitter: sqrt(peer jitter² + selection jitter²).
	Jitter time.Duration
	// What the system propagates to its clients.
	Stratum        uint8
	RefID          uint32
	RootDelay      time.Duration
	RootDispersion time.Duration
	Leap           clock.Leap
	// Intersection is the truechimers' intersection interval (valid when
	// Truechimers > 0).
	Intersection Interval
	Truechimers  int
	Combined     int // number of sources in the combined offset, peer included
	// Sources has one entry per candidate, in input order.
	Sources []SourceStatus
}

// Selector runs selection rounds and remembers the system peer between
// rounds for hysteresis. It is not safe for concurrent use: the engine's
// goroutine owns it.
type Selector struct {
	cfg     Config
	current string // ID of the current system peer, "" for none

	// scratch, reused between rounds
	eps   []endpoint
	ivs   []Interval
	idx   []int
	dists []time.Duration
}

// New returns a Selector with the validated cfg.
func New(cfg Config) (*Selector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("selection config: %w", err)
	}
	cfg.OwnRefIDs = slices.Clone(cfg.OwnRefIDs)
	return &Selector{cfg: cfg}, nil
}

// Current returns the ID of the current system peer ("" for none).
func (s *Selector) Current() string { return s.current }

// Reset forgets the current system peer (no hysteresis on the next round).
func (s *Selector) Reset() { s.current = "" }

// Select runs one round over cands (see the package doc for the rules) and
// updates the current peer. cands is not modified.
func (s *Selector) Select(cands []Candidate) Result {
	cfg := &s.cfg
	res := Result{PeerIndex: -1, Leap: clock.LeapUnsync, Sources: make([]SourceStatus, len(cands))}
	s.dists = s.dists[:0]
	for i := range cands {
		c := &cands[i]
		d := c.RootDistance()
		s.dists = append(s.dists, d)
		res.Sources[i] = SourceStatus{ID: c.ID, Distance: d}
	}
	st := res.Sources

	// 1. Filters.
	s.idx = s.idx[:0]
	anyRequire := false
	for i := range cands {
		c := &cands[i]
		anyRequire = anyRequire || c.Require
		r := s.filter(c, s.dists[i])
		switch r {
		case ReasonNone:
			s.idx = append(s.idx, i)
			continue
		case ReasonJitter:
			st[i].State = Jittery
		default:
			st[i].State = Unusable
		}
		st[i].Reason = r
	}
	cand := s.idx
	if len(cand) == 0 {
		s.current = ""
		return res
	}

	// 2./3. Intersection, trusted candidates first.
	iv, ok := Interval{}, false
	s.ivs = s.ivs[:0]
	for _, i := range cand {
		if cands[i].Trust {
			s.ivs = append(s.ivs, interval(&cands[i], s.dists[i]))
		}
	}
	if len(s.ivs) > 0 {
		iv, ok = s.intersect()
	}
	if !ok {
		s.ivs = s.ivs[:0]
		for _, i := range cand {
			s.ivs = append(s.ivs, interval(&cands[i], s.dists[i]))
		}
		iv, ok = s.intersect()
	}
	if !ok {
		for _, i := range cand {
			st[i].State, st[i].Reason = Falseticker, ReasonNoMajority
		}
		s.current = ""
		return res
	}
	res.Intersection = iv
	surv := cand[:0] // filter in place: cand is not used afterwards
	requireOK := false
	var votes [4]int
	for _, i := range cand {
		if !interval(&cands[i], s.dists[i]).Overlaps(iv) {
			st[i].State, st[i].Reason = Falseticker, ReasonFalseticker
			continue
		}
		st[i].State = Selectable
		surv = append(surv, i)
		requireOK = requireOK || cands[i].Require
		votes[cands[i].Leap&3]++
	}
	res.Truechimers = len(surv)

	// 4. require and minsources.
	if anyRequire && !requireOK || len(surv) < cfg.MinSources {
		r := ReasonWaitsSources
		if anyRequire && !requireOK {
			r = ReasonWaitsRequired
		}
		for _, i := range surv {
			st[i].Reason = r
		}
		s.current = ""
		return res
	}

	// 5. prefer.
	if slices.ContainsFunc(surv, func(i int) bool { return cands[i].Prefer }) {
		kept := surv[:0]
		for _, i := range surv {
			if cands[i].Prefer {
				kept = append(kept, i)
			} else {
				st[i].Reason = ReasonNotPreferred
			}
		}
		surv = kept
	}

	// 6. Cluster pruning.
	surv = s.cluster(cands, surv, st)

	// 7. System peer with hysteresis.
	peer, best := -1, time.Duration(math.MaxInt64)
	for _, i := range surv {
		score := s.dists[i] + time.Duration(cands[i].Stratum)*cfg.StratumWeight
		if cands[i].ID != s.current {
			score += cfg.ReselectDistance
		}
		if score < best {
			peer, best = i, score
		}
	}
	p := &cands[peer]
	s.current = p.ID

	// 8. Combine.
	limit := time.Duration(cfg.CombineLimit * float64(s.dists[peer]))
	var sumW, sumWO, sumWD2 float64
	for _, i := range surv {
		if i != peer && s.dists[i] > limit {
			st[i].Reason = ReasonDistant
			continue
		}
		w := 1 / s.dists[i].Seconds()
		sumW += w
		sumWO += w * cands[i].Offset.Seconds()
		dd := (cands[i].Offset - p.Offset).Seconds()
		sumWD2 += w * dd * dd
		st[i].State = Combined
		res.Combined++
	}
	for _, i := range surv {
		if st[i].State == Combined {
			st[i].Weight = 1 / s.dists[i].Seconds() / sumW
		}
	}
	st[peer].State = Selected

	// 9. Propagation.
	res.Selected = true
	res.Peer, res.PeerIndex = p.ID, peer
	res.Offset = seconds(sumWO / sumW)
	res.PeerOffset = p.Offset
	selJitter := math.Sqrt(sumWD2 / sumW)
	res.Jitter = seconds(math.Hypot(p.Jitter.Seconds(), selJitter))
	res.Stratum = p.Stratum + 1
	if p.Addr.IsValid() {
		res.RefID = RefIDForAddr(p.Addr)
	} else {
		res.RefID = p.RefClockID
	}
	res.RootDelay = p.RootDelay + p.Delay
	res.RootDispersion = p.RootDispersion + p.Dispersion + res.Jitter + abs(res.Offset)
	res.Leap = clock.LeapNone
	switch {
	case 2*votes[clock.LeapInsert] > res.Truechimers:
		res.Leap = clock.LeapInsert
	case 2*votes[clock.LeapDelete] > res.Truechimers:
		res.Leap = clock.LeapDelete
	}
	return res
}

// filter applies the per-source checks of step 1.
func (s *Selector) filter(c *Candidate, dist time.Duration) Reason {
	switch {
	case c.NoSelect:
		return ReasonNoSelect
	case !c.Reachable:
		return ReasonUnreachable
	case c.Leap == clock.LeapUnsync || c.Stratum >= 16:
		return ReasonUnsynchronised
	case c.Stratum > s.cfg.MaxStratum:
		return ReasonStratum
	case slices.Contains(s.cfg.OwnRefIDs, c.RefID) && c.Stratum > 1:
		// Stratum ≤ 1 reference IDs are ASCII tags, not addresses.
		return ReasonLoop
	case dist > s.cfg.MaxDistance:
		return ReasonDistance
	case c.Jitter > s.cfg.MaxJitter:
		return ReasonJitter
	}
	return ReasonNone
}

// cluster prunes outliers (RFC 5905 §11.2.2, A.5.5.3): while more than
// MinSurvivors remain, drop the survivor with the largest selection jitter
// unless that is already below the smallest peer jitter.
func (s *Selector) cluster(cands []Candidate, surv []int, st []SourceStatus) []int {
	nmin := s.cfg.MinSurvivors
	if nmin == 0 {
		return surv
	}
	for len(surv) > nmin {
		worst, maxSel := -1, -1.0
		minPeer := math.Inf(1)
		for a, i := range surv {
			var sum float64
			for _, j := range surv {
				d := (cands[j].Offset - cands[i].Offset).Seconds()
				sum += d * d
			}
			sel := math.Sqrt(sum / float64(len(surv)-1))
			// Ties go to the larger root distance: the worse source.
			if sel > maxSel || sel == maxSel && s.dists[i] > s.dists[surv[worst]] {
				worst, maxSel = a, sel
			}
			minPeer = min(minPeer, cands[i].Jitter.Seconds())
		}
		if maxSel < minPeer {
			break
		}
		st[surv[worst]].Reason = ReasonOutlier
		surv = slices.Delete(surv, worst, worst+1)
	}
	return surv
}

// intersect runs the intersection over s.ivs, keeping the endpoint scratch.
func (s *Selector) intersect() (Interval, bool) {
	if need := 3 * len(s.ivs); cap(s.eps) < need {
		s.eps = make([]endpoint, 0, need)
	}
	return intersect(s.ivs, s.eps)
}

func interval(c *Candidate, dist time.Duration) Interval {
	return Interval{Lo: c.Offset - dist, Hi: c.Offset + dist}
}

func seconds(f float64) time.Duration { return time.Duration(math.Round(f * 1e9)) }

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
