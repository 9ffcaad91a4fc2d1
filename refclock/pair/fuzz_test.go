package pair

import (
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/refclock"
)

// FuzzPairer feeds arbitrary sequences of edges, reports and clock
// readings, under a configuration taken from the first byte, and checks
// the invariants: no panic; every edge and report gets exactly one
// verdict in the end; the counters match the outcomes; an accepted edge
// has a whole-second label; and when two edges settled one after the
// other with consecutive Seq are both accepted, their labels are exactly
// one second apart (leap seconds counted as the receiver announced them).
//
// Each input is 4 bytes: op, a, b, c. op%4: 0 edge (realtime advances by
// a·10 ms, Seq by b%3), 1 report (received a·10 ms after the last input,
// naming the last edge's second + (b%5 − 2) s, with c's bits for
// validity, fraction, leap), 2 and 3 advance the clock by a·20 ms.
func FuzzPairer(f *testing.F) {
	steady := []byte{0x01}
	for range 8 {
		steady = append(steady, 0, 100, 1, 0, 1, 30, 2, 0, 2, 40, 0, 0)
	}
	f.Add(steady)
	f.Add([]byte{0x12, 0, 100, 1, 0, 1, 90, 3, 0, 0, 5, 1, 0, 1, 1, 2, 0x1c, 3, 255, 0, 0})
	f.Add([]byte{0x27, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 2, 0, 0, 0})
	// Across the leap at the end of 2016.
	leapSeed := []byte{0x00}
	for range 12 {
		leapSeed = append(leapSeed, 0, 100, 1, 0, 1, 30, 2, 0x10, 2, 40, 0, 0)
	}
	f.Add(leapSeed)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		cfg := DefaultConfig()
		cfg.Confirm = 1 + int(data[0]%4)
		cfg.LabelOffset = int(data[0]>>2%3) - 1
		cfg.Timescale = Timescale(data[0] >> 4 % 2)
		cfg.TAIOffset = 36 * int(data[0]>>5%2)
		cfg.MinDelay = time.Duration(data[0]>>6) * 20 * time.Millisecond
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		base := time.Date(2016, 12, 31, 23, 59, 50, 0, time.UTC)
		now := base
		var seq uint64
		lastUTC := base
		var out []Outcome
		edges, reports := 0, 0
		for d := data[1:]; len(d) >= 4; d = d[4:] {
			op, a, b, c := d[0]%4, d[1], d[2], d[3]
			switch op {
			case 0:
				now = now.Add(time.Duration(a) * 10 * time.Millisecond)
				seq += uint64(b % 3)
				lastUTC = lastUTC.Add(time.Duration(a) * 10 * time.Millisecond).Truncate(time.Second)
				out = p.Edge(refclock.Edge{At: now.Add(time.Duration(c) * time.Microsecond), Seq: seq}, now, out)
				edges++
			case 1:
				now = now.Add(time.Duration(a) * 10 * time.Millisecond)
				r := refclock.TimeOfDay{UTC: lastUTC.Add(time.Duration(int(b%5)-2) * time.Second),
					Received: now, Valid: c&1 == 0, Fix: refclock.Fix(c >> 1 % 5)}
				if c&8 != 0 {
					r.UTC = r.UTC.Add(time.Duration(b) * time.Millisecond)
				}
				r.Leap = clock.Leap(c >> 4 % 3)
				if c&0x40 != 0 {
					r.TAIOffset, r.TAIOffsetKnown = 36+int(c>>7), true
				}
				if c&0x80 != 0 && b&1 == 1 {
					r.Received = r.Received.Add(-time.Duration(a) * 20 * time.Millisecond) // late delivery
				}
				out = p.TimeOfDay(r, out)
				reports++
			default:
				now = now.Add(time.Duration(a) * 20 * time.Millisecond)
			}
			out = p.Advance(now, out)
		}
		out = p.Advance(now.Add(time.Minute), out)
		if _, ok := p.Deadline(); ok {
			t.Fatal("pending after the final Advance")
		}
		var counts Counts
		var gotEdges, gotReports int
		var prev *Outcome
		for i := range out {
			o := &out[i]
			counts[o.Verdict]++
			switch {
			case o.Verdict.Edge() || o.Verdict == VerdictOverflow && !o.HasReport:
				gotEdges++
			default:
				gotReports++
			}
			if !o.Verdict.Edge() || o.Verdict == VerdictStaleEdge {
				continue // not a settled edge
			}
			if o.Verdict == VerdictAccepted {
				if !o.HasLabel || o.Label.UTC.Nanosecond() != 0 {
					t.Fatalf("accepted without a whole-second label: %v", o)
				}
				if prev != nil && prev.Verdict == VerdictAccepted && o.Edge.Seq == prev.Edge.Seq+1 &&
					!oneSecondApart(prev.Label, o.Label) {
					t.Fatalf("consecutive accepted edges %v then %v", prev, o)
				}
			}
			prev = o
		}
		if counts != p.Counts() {
			t.Fatalf("counts %v, outcomes %v", p.Counts(), counts)
		}
		if gotEdges != edges || gotReports != reports {
			t.Fatalf("%d edge and %d report outcomes for %d edges and %d reports", gotEdges, gotReports, edges, reports)
		}
	})
}

// oneSecondApart reports whether b can follow a by one second: the next
// POSIX second, or across an inserted leap 23:59:59 → 23:59:60 →
// 00:00:00, or across a deleted one 23:59:58 → 00:00:00.
func oneSecondApart(a, b Label) bool {
	au, bu := a.UTC.Unix(), b.UTC.Unix()
	switch {
	case a.Second60:
		return !b.Second60 && bu == au+1
	case b.Second60:
		return bu == au && monthStart(au+1)
	case bu == au+2:
		return monthStart(bu)
	}
	return bu == au+1
}
