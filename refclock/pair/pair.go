package pair

import (
	"fmt"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/refclock"
)

// Outcome is one decision of the Pairer: an edge's or a report's verdict.
type Outcome struct {
	Verdict Verdict
	// Edge and Realtime (its approximate CLOCK_REALTIME) are set for
	// edge verdicts and an edge's VerdictOverflow.
	Edge     refclock.Edge
	Realtime time.Time
	// Report is the report of a report verdict, or for an edge verdict
	// the first report of its window (HasReport).
	Report    refclock.TimeOfDay
	HasReport bool
	// Label is the second that began at the edge, set (HasLabel) for
	// VerdictAccepted, VerdictUnconfirmed, VerdictLeapSecond,
	// VerdictNoTAIOffset, VerdictLabelJump and VerdictIntervalMismatch (there: what the report
	// said, which the chain contradicts).
	Label    Label
	HasLabel bool
	// Offset = reference − Edge.At on Config.Timescale (package clock's
	// sign: positive when the device is behind); VerdictAccepted only.
	Offset time.Duration
}

func (o Outcome) String() string {
	s := o.Verdict.String()
	if o.Verdict.Edge() {
		s += fmt.Sprintf(" edge %d", o.Edge.Seq)
	}
	if o.HasLabel {
		s += " " + o.Label.String()
	}
	if o.Verdict == VerdictAccepted {
		s += " offset " + o.Offset.String()
	}
	return s
}

const (
	maxEdges   = 8  // pending edges: a window is < 1 s, so 2 in steady state
	maxReports = 16 // pending reports: a few sentences per second
	// MaxOutcomes bounds the outcomes of one call: an out slice with this
	// much spare capacity is never grown.
	MaxOutcomes = maxEdges + maxReports
	// maxBridge is the longest gap (seconds) across which a chain keeps
	// its label: edges without a usable report in between still count
	// the seconds (their Seq and realtime do), so the next label must
	// have advanced by exactly the gap.
	maxBridge = 60
)

type pendingEdge struct {
	e    refclock.Edge
	real time.Time
}

// chain is the run of consecutive labelled edges the next label must
// continue.
type chain struct {
	ok   bool
	seq  uint64
	real time.Time
	l    label
	leap clock.Leap // announced by the report of l
	n    int        // length, ≤ maxConfirm
}

// Pairer pairs PPS edges with the time-of-day reports that follow them
// (the ts2phc role). It is sans-IO: time enters only as arguments, it
// starts no goroutines and, given an out slice with MaxOutcomes spare
// capacity, allocates nothing. It is not safe for concurrent use.
//
// Feed it every edge (Edge) and every report (TimeOfDay) as they arrive,
// each stream in its own order, and call Advance with the current
// CLOCK_REALTIME; decisions come out of Advance once the windows they
// depend on are closed (Deadline says when). Edge and TimeOfDay only
// report inputs rejected on arrival.
//
// Rules, in order, for an edge whose window [edge + MinDelay, edge +
// MaxDelay) has closed (Config):
//  1. At least one report in the window, else VerdictNoReport.
//  2. All reports in the window name the same time with the same validity
//     (the first one is used, the others are VerdictDuplicate), else
//     VerdictAmbiguous.
//  3. The report is valid (Valid, a fix other than none, a time), else
//     VerdictInvalidFix.
//  4. Its UTC is a whole second, else VerdictFractionalLabel: never
//     rounded.
//  5. The label (the report's time + LabelOffset) continues the chain: n
//     seconds after the chain's last label, leap seconds counted, where
//     n is both the edges' Seq difference and their realtime interval
//     rounded to seconds, else VerdictLabelJump and a new chain starts
//     here. Edges without a usable label in between do not break the
//     chain (up to 60 s), so a late report that slipped into the next
//     window is caught. A Seq that went back, or whose difference
//     disagrees with the interval, is VerdictIntervalMismatch and starts
//     a new chain here; so do, without a verdict of their own, a gap over
//     60 s and the lack of a chain. A chain may not
//     start within 2 s of a month's end while the report announces a
//     leap, where a reading cannot tell 23:59:60 from 00:00:00
//     (VerdictUnconfirmed).
//  6. On TAI, TAI − UTC is known, else VerdictNoTAIOffset.
//  7. The chain holds at least Confirm labels, else VerdictUnconfirmed.
//  8. On UTC, the label is not 23:59:60, else VerdictLeapSecond.
//  9. VerdictAccepted: Offset = label (+ TAI − UTC on TAI) − Edge.At.
//
// A report in no edge's window is VerdictOrphan once Grace has passed
// since it was received; one received before the settled horizon is
// VerdictStaleReport; an edge not after the previous one, or too late for
// its window, is VerdictStaleEdge.
type Pairer struct {
	cfg Config

	edges  [maxEdges]pendingEdge // by realtime
	nEdges int
	reps   [maxReports]refclock.TimeOfDay // by Received
	nReps  int

	// horizon: reports received at or before it are settled (paired or
	// orphaned); it only moves forward, to now − Grace at Advance.
	horizon  time.Time
	lastEdge time.Time // realtime of the last edge taken
	lastRecv time.Time // Received of the last report taken

	chain    chain
	tai      int // TAI − UTC, seconds, when taiKnown
	taiKnown bool

	counts Counts
}

// New validates cfg and returns a Pairer.
func New(cfg Config) (*Pairer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Pairer{cfg: cfg}
	if cfg.TAIOffset != 0 {
		p.tai, p.taiKnown = cfg.TAIOffset, true
	}
	return p, nil
}

// Config returns the configuration the Pairer runs with.
func (p *Pairer) Config() Config { return p.cfg }

// Counts returns the number of outcomes per verdict since New.
func (p *Pairer) Counts() Counts { return p.counts }

// TAIOffset returns TAI − UTC as the Pairer currently carries it.
func (p *Pairer) TAIOffset() (int, bool) { return p.tai, p.taiKnown }

// Reset forgets every pending input, the chain and the horizons (after a
// step of the clock that stamps realtime or edges: everything pending is
// on the old timescale). It keeps the counters and TAI − UTC.
func (p *Pairer) Reset() {
	p.nEdges, p.nReps = 0, 0
	p.horizon, p.lastEdge, p.lastRecv = time.Time{}, time.Time{}, time.Time{}
	p.chain = chain{}
}

func (p *Pairer) emit(out []Outcome, o Outcome) []Outcome {
	p.counts[o.Verdict]++
	return append(out, o)
}

// Edge takes an edge and its approximate CLOCK_REALTIME (for kernel PPS
// Edge.At itself; for a PHC its translation to the system clock;
// millisecond accuracy suffices). It appends an outcome only when it
// rejects the edge at once (VerdictStaleEdge, VerdictOverflow).
func (p *Pairer) Edge(e refclock.Edge, realtime time.Time, out []Outcome) []Outcome {
	realtime = realtime.Round(0)
	if (!p.lastEdge.IsZero() && !realtime.After(p.lastEdge)) ||
		(!p.horizon.IsZero() && realtime.Add(p.cfg.MinDelay).Before(p.horizon)) {
		return p.emit(out, Outcome{Verdict: VerdictStaleEdge, Edge: e, Realtime: realtime})
	}
	if p.nEdges == maxEdges {
		return p.emit(out, Outcome{Verdict: VerdictOverflow, Edge: e, Realtime: realtime})
	}
	p.edges[p.nEdges] = pendingEdge{e: e, real: realtime}
	p.nEdges++
	p.lastEdge = realtime
	return out
}

// TimeOfDay takes a report. It appends an outcome only when it rejects the
// report at once (VerdictStaleReport, VerdictOverflow).
func (p *Pairer) TimeOfDay(r refclock.TimeOfDay, out []Outcome) []Outcome {
	r.Received = r.Received.Round(0)
	if r.Received.Before(p.lastRecv) || (!p.horizon.IsZero() && r.Received.Before(p.horizon)) {
		return p.emit(out, Outcome{Verdict: VerdictStaleReport, Report: r, HasReport: true})
	}
	if p.nReps == maxReports {
		return p.emit(out, Outcome{Verdict: VerdictOverflow, Report: r, HasReport: true})
	}
	p.reps[p.nReps] = r
	p.nReps++
	p.lastRecv = r.Received
	return out
}

// inWindow reports whether a report received at recv is in the window of
// an edge at realtime real.
func (p *Pairer) inWindow(real, recv time.Time) bool {
	return !recv.Before(real.Add(p.cfg.MinDelay)) && recv.Before(real.Add(p.cfg.MaxDelay))
}

// claimed reports whether a pending edge's window holds recv.
func (p *Pairer) claimed(recv time.Time) bool {
	for i := range p.nEdges {
		if p.inWindow(p.edges[i].real, recv) {
			return true
		}
	}
	return false
}

// Advance settles, at CLOCK_REALTIME now, every edge whose window closed
// at least Grace ago and every report received at least Grace ago that
// no pending edge's window holds, and appends their outcomes to out.
func (p *Pairer) Advance(now time.Time, out []Outcome) []Outcome {
	if h := now.Round(0).Add(-p.cfg.Grace); h.After(p.horizon) {
		p.horizon = h
	}
	for p.nEdges > 0 && !p.edges[0].real.Add(p.cfg.MaxDelay).After(p.horizon) {
		out = p.settle(out)
	}
	// Orphans: settled by the horizon and in no pending window. Reports
	// are in order of reception; keep the rest in order.
	k := 0
	for i := range p.nReps {
		r := &p.reps[i]
		if !r.Received.After(p.horizon) && !p.claimed(r.Received) {
			out = p.emit(out, Outcome{Verdict: VerdictOrphan, Report: *r, HasReport: true})
			continue
		}
		p.reps[k] = *r
		k++
	}
	p.nReps = k
	return out
}

// Deadline returns the earliest CLOCK_REALTIME at which Advance will
// settle something; ok is false when nothing is pending.
func (p *Pairer) Deadline() (t time.Time, ok bool) {
	take := func(d time.Time) {
		if !ok || d.Before(t) {
			t, ok = d, true
		}
	}
	for i := range p.nEdges {
		take(p.edges[i].real.Add(p.cfg.MaxDelay + p.cfg.Grace))
	}
	for i := range p.nReps {
		if r := p.reps[i].Received; !p.claimed(r) {
			take(r.Add(p.cfg.Grace))
		}
	}
	return t, ok
}

// settle decides the oldest pending edge, whose window has closed: it
// takes the reports in the window (rules 1–2) and judges the edge.
func (p *Pairer) settle(out []Outcome) []Outcome {
	pe := p.edges[0]
	copy(p.edges[:], p.edges[1:p.nEdges])
	p.nEdges--

	var first refclock.TimeOfDay
	have, ambiguous := false, false
	k := 0
	for i := range p.nReps {
		r := p.reps[i]
		if !p.inWindow(pe.real, r.Received) {
			p.reps[k] = r
			k++
			continue
		}
		switch {
		case !have:
			first, have = r, true
			out = p.emit(out, Outcome{Verdict: VerdictPaired, Report: r, HasReport: true})
		case r.UTC.Equal(first.UTC) && r.Valid == first.Valid && (r.Fix == refclock.FixNone) == (first.Fix == refclock.FixNone):
			out = p.emit(out, Outcome{Verdict: VerdictDuplicate, Report: r, HasReport: true})
		default:
			ambiguous = true
			out = p.emit(out, Outcome{Verdict: VerdictPaired, Report: r, HasReport: true})
		}
	}
	p.nReps = k
	return p.emit(out, p.judge(pe, first, have, ambiguous))
}

// judge applies rules 1–9 to edge pe and the report r of its window.
func (p *Pairer) judge(pe pendingEdge, r refclock.TimeOfDay, have, ambiguous bool) Outcome {
	o := Outcome{Edge: pe.e, Realtime: pe.real}
	// Rule 1.
	if !have {
		o.Verdict = VerdictNoReport
		return o
	}
	o.Report, o.HasReport = r, true
	// Rule 2.
	if ambiguous {
		o.Verdict = VerdictAmbiguous
		return o
	}
	// Rule 3.
	if !r.Valid || r.Fix == refclock.FixNone || r.UTC.IsZero() {
		o.Verdict = VerdictInvalidFix
		return o
	}
	// Rule 4.
	if r.UTC.Nanosecond() != 0 {
		o.Verdict = VerdictFractionalLabel
		return o
	}
	// Rule 5.
	l, v, ok := p.continueChain(pe, r)
	o.Label, o.HasLabel = l.export(), true
	if !ok {
		o.Verdict = v
		return o
	}
	// Rule 6.
	if p.cfg.Timescale == TAI && !p.taiKnown {
		if !r.TAIOffsetKnown {
			o.Verdict = VerdictNoTAIOffset
			return o
		}
		p.tai, p.taiKnown = r.TAIOffset, true
	}
	// Rule 7.
	if p.chain.n < p.cfg.Confirm {
		o.Verdict = VerdictUnconfirmed
		return o
	}
	// Rule 8.
	if l.s60 && p.cfg.Timescale == UTC {
		o.Verdict = VerdictLeapSecond
		return o
	}
	// Rule 9.
	ref := l.unix
	if p.cfg.Timescale == TAI {
		ref += int64(p.tai)
		if l.s60 {
			ref++
		}
	}
	o.Verdict = VerdictAccepted
	o.Offset = time.Unix(ref, 0).Sub(pe.e.At)
	return o
}

// continueChain is rule 5: it labels edge pe from report r (a valid
// whole second) and extends or restarts the chain. ok is false with the
// verdict when the edge must be rejected here; l is the label either way
// (on a jump, what the report said).
func (p *Pairer) continueChain(pe pendingEdge, r refclock.TimeOfDay) (l label, v Verdict, ok bool) {
	u := r.UTC.Unix()
	k := p.cfg.LabelOffset
	c := &p.chain
	if c.ok && (pe.e.Seq <= c.seq || pe.e.Seq-c.seq <= maxBridge) {
		n := int64(pe.e.Seq - c.seq) // negative when Seq went back
		m := int64((pe.real.Sub(c.real) + time.Second/2) / time.Second)
		if pe.e.Seq > c.seq && n == m {
			want, dtai := advance(c.l, int(n), c.leap)
			if reads(u, shift(want, -k, c.leap)) {
				c.seq, c.real, c.l, c.leap = pe.e.Seq, pe.real, want, r.Leap
				c.n = min(c.n+1, maxConfirm)
				if p.taiKnown {
					p.tai += dtai
				}
				return want, 0, true
			}
			if r.Second60 {
				return p.unexpectedSecond60(u, k)
			}
			l = label{unix: u + int64(k)}
			p.start(pe, l, r)
			return l, VerdictLabelJump, false
		}
		l = label{unix: u + int64(k)}
		p.start(pe, l, r)
		return l, VerdictIntervalMismatch, false
	}
	// No chain to continue: start one (not from a 23:59:60 that nothing
	// announced).
	if r.Second60 {
		return p.unexpectedSecond60(u, k)
	}
	l = label{unix: u + int64(k)}
	p.start(pe, l, r)
	if !c.ok {
		return l, VerdictUnconfirmed, false
	}
	return l, 0, true
}

// unexpectedSecond60 rejects an edge whose report names 23:59:60
// (TimeOfDay.Second60: a receiver inserting a leap second no earlier report
// announced, as NMEA never does): the chain ends, and the edge is labelled
// 23:59:60 but yields no sample. Starting a chain from it would label it
// 23:59:59, a second early.
func (p *Pairer) unexpectedSecond60(u int64, k int) (label, Verdict, bool) {
	p.chain = chain{}
	return label{unix: u + int64(k), s60: true}, VerdictLeapSecond, false
}

// start begins a new chain at pe with label l, unless l is next to a
// month's end while r announces a leap.
func (p *Pairer) start(pe pendingEdge, l label, r refclock.TimeOfDay) {
	if r.Leap != clock.LeapNone && nearLeap(l.unix) {
		p.chain = chain{}
		return
	}
	p.chain = chain{ok: true, seq: pe.e.Seq, real: pe.real, l: l, leap: r.Leap, n: 1}
}
