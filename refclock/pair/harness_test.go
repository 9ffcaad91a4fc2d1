package pair

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/refclock"
)

// t0 is the realtime of edge 0 in the scripted tests: a whole second.
var t0 = time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)

// event is one scripted input, delivered to the Pairer at realtime
// t0 + deliver (Advance(deliver) first, so time moves as in a source).
type event struct {
	deliver time.Duration
	edge    *refclock.Edge
	real    time.Time // edge's realtime
	rep     *refclock.TimeOfDay
}

// script builds events. Edge i is at realtime t0 + i s and device time
// t0 + i s + devOff; its report names utc(i) and is received delay later.
type script struct {
	devOff time.Duration
	evs    []event
}

func sec(i int) time.Duration { return time.Duration(i) * time.Second }

func (s *script) edge(seq uint64, at time.Duration) {
	real := t0.Add(at)
	s.evs = append(s.evs, event{deliver: at, edge: &refclock.Edge{At: real.Add(s.devOff), Seq: seq}, real: real})
}

// report is a valid 3D report naming utc, received at t0 + at.
func (s *script) report(at time.Duration, utc time.Time, mod ...func(*refclock.TimeOfDay)) {
	r := refclock.TimeOfDay{UTC: utc, Received: t0.Add(at), Valid: true, Fix: refclock.Fix3D}
	for _, m := range mod {
		m(&r)
	}
	s.evs = append(s.evs, event{deliver: at, rep: &r})
}

// steady adds edges from..to (Seq = i) with a report naming t0 + i s
// received d after each.
func (s *script) steady(from, to int, d time.Duration) {
	for i := from; i <= to; i++ {
		s.edge(uint64(i), sec(i))
		s.report(sec(i)+d, t0.Add(sec(i)))
	}
}

// run feeds the events in delivery order (stable) to a Pairer with cfg and
// returns every outcome after a final Advance long after the last event.
func (s *script) run(t *testing.T, cfg Config) ([]Outcome, *Pairer) {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	evs := slices.Clone(s.evs)
	slices.SortStableFunc(evs, func(a, b event) int { return int(a.deliver - b.deliver) })
	var out []Outcome
	for _, e := range evs {
		out = p.Advance(t0.Add(e.deliver), out)
		if e.edge != nil {
			out = p.Edge(*e.edge, e.real, out)
		} else {
			out = p.TimeOfDay(*e.rep, out)
		}
	}
	var last time.Duration
	if len(evs) > 0 {
		last = evs[len(evs)-1].deliver
	}
	out = p.Advance(t0.Add(last+10*time.Second), out)
	if _, ok := p.Deadline(); ok {
		t.Errorf("something still pending after the final Advance")
	}
	return out, p
}

// edgeVerdicts lists the edge outcomes as "seq:verdict".
func edgeVerdicts(out []Outcome) string {
	var b []string
	for _, o := range out {
		if o.Verdict.Edge() || (o.Verdict == VerdictOverflow && !o.HasReport) {
			b = append(b, strconv.FormatUint(o.Edge.Seq, 10)+":"+o.Verdict.String())
		}
	}
	return strings.Join(b, " ")
}

// reportVerdicts lists the report outcomes' verdicts in order.
func reportVerdicts(out []Outcome) string {
	var b []string
	for _, o := range out {
		if o.Verdict.Report() || (o.Verdict == VerdictOverflow && o.HasReport) {
			b = append(b, o.Verdict.String())
		}
	}
	return strings.Join(b, " ")
}

func leap(l clock.Leap) func(*refclock.TimeOfDay) { return func(r *refclock.TimeOfDay) { r.Leap = l } }

func tai(n int) func(*refclock.TimeOfDay) {
	return func(r *refclock.TimeOfDay) { r.TAIOffset, r.TAIOffsetKnown = n, true }
}
