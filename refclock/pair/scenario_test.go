package pair

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/refclock"
)

// TestNMEALate is the nmea-late case: for 1000 s, each second's
// sentence arrives 0.6–0.95 s after its edge (uniform, seeded), where
// ts2phc's nearest-second rounding labels every edge one second early.
// No edge may get a wrong label, and all but the first Confirm−1 are
// accepted.
func TestNMEALate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1000))
	cfg := DefaultConfig()
	var s script
	s.devOff = 250 * time.Microsecond // the device is 250 µs ahead of true time
	var rounded int                   // ts2phc 3.1.1's labels that would be wrong
	prevRecv := time.Duration(-1)
	for i := 1; i <= 1000; i++ {
		// Realtime of the edge jitters by ±2 ms around the second.
		at := sec(i) + time.Duration(rng.IntN(4000)-2000)*time.Microsecond
		d := 600*ms + time.Duration(rng.Int64N(int64(350*ms)))
		s.evs = append(s.evs, event{deliver: at, real: t0.Add(at),
			edge: &refclock.Edge{At: t0.Add(sec(i) + s.devOff), Seq: uint64(i)}})
		s.report(at+d, t0.Add(sec(i)))
		// ts2phc: at edge i, take the last RMC (second i−1, received at
		// prevRecv), add the time elapsed since, round to the nearest
		// second.
		if prevRecv >= 0 {
			tod := sec(i-1) + (at - prevRecv)
			if tod.Round(time.Second) != sec(i) {
				rounded++
			}
		}
		prevRecv = at + d
	}
	out, p := s.run(t, cfg)
	wrong, accepted := 0, 0
	for _, o := range out {
		if o.HasLabel && (o.Label.Second60 || !o.Label.UTC.Equal(t0.Add(sec(int(o.Edge.Seq))))) {
			wrong++
		}
		if o.Verdict == VerdictAccepted {
			accepted++
			if o.Offset != -s.devOff {
				t.Errorf("edge %d: offset %v, want %v", o.Edge.Seq, o.Offset, -s.devOff)
			}
		}
	}
	c := p.Counts()
	t.Logf("accepted %d of 1000, wrong labels %d; nearest-second rounding would mislabel %d of 999; counts %v",
		accepted, wrong, rounded, c)
	if wrong != 0 {
		t.Errorf("%d wrong-second labels, want 0", wrong)
	}
	if want := 1000 - (cfg.Confirm - 1); accepted != want {
		t.Errorf("accepted %d, want %d", accepted, want)
	}
	if rounded < 900 {
		t.Errorf("the baseline mislabels only %d: the scenario does not exercise the bug", rounded)
	}
}

// leapScript builds edges 0…n−1 across 2016-12-31 23:59:60 (an inserted
// leap second): edge i's true label is labels[i], its realtime t0-like
// seconds from a base (realtime is monotonic for the pairing), and the
// receiver prints reading(i), announcing the leap until the inserted
// second. The device clock reads TAI (36 s before the leap, 37 after)
// exactly.
func leapInsertion(t *testing.T, cfg Config, clamp bool) []Outcome {
	t.Helper()
	// Edges at UTC 23:59:55 … 00:00:04: 11 edges with the leap, i = 5 is
	// 23:59:60.
	base := time.Date(2016, 12, 31, 23, 59, 55, 0, time.UTC)
	var out []Outcome
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	realBase := time.Date(2016, 12, 31, 23, 59, 55, 0, time.UTC)
	for i := range 11 {
		real := realBase.Add(sec(i)) // realtime: a clock that does not leap
		// The receiver's print: 23:59:55…23:59:59, then 23:59:60
		// (normalised by time.Date to 00:00:00, or clamped to 23:59:59),
		// then 00:00:00…
		var utc time.Time
		var at time.Time // device time (TAI as POSIX-like seconds, or UTC)
		switch {
		case i < 5:
			utc = base.Add(sec(i))
		case i == 5:
			utc = time.Date(2016, 12, 31, 23, 59, 60, 0, time.UTC)
			if clamp {
				utc = time.Date(2016, 12, 31, 23, 59, 59, 0, time.UTC)
			}
		default:
			utc = base.Add(sec(i - 1))
		}
		lp := clock.LeapNone
		if i <= 5 {
			lp = clock.LeapInsert
		}
		if cfg.Timescale == TAI {
			at = base.Add(sec(i) + 36*time.Second)
		} else {
			// A kernel clock that inserted the leap: 23:59:59 twice.
			at = base.Add(sec(i))
			if i >= 5 {
				at = at.Add(-time.Second)
			}
		}
		out = p.Advance(real, out)
		out = p.Edge(refclock.Edge{At: at, Seq: uint64(i)}, real, out)
		out = p.Advance(real.Add(400*ms), out)
		out = p.TimeOfDay(refclock.TimeOfDay{UTC: utc, Received: real.Add(400 * ms), Valid: true, Leap: lp}, out)
	}
	out = p.Advance(realBase.Add(sec(20)), out)
	if n, ok := p.TAIOffset(); cfg.Timescale == TAI && (!ok || n != 37) {
		t.Errorf("TAI − UTC after the leap: %d %v, want 37", n, ok)
	}
	return out
}

func TestLeapSecondInsertion(t *testing.T) {
	wantLabels := []string{
		"2016-12-31T23:59:55Z", "2016-12-31T23:59:56Z", "2016-12-31T23:59:57Z", "2016-12-31T23:59:58Z",
		"2016-12-31T23:59:59Z", "2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z", "2017-01-01T00:00:01Z",
		"2017-01-01T00:00:02Z", "2017-01-01T00:00:03Z", "2017-01-01T00:00:04Z",
	}
	for _, tc := range []struct {
		name      string
		timescale Timescale
		clamp     bool
		edges     string
	}{
		{"TAI device, 23:59:60 normalised", TAI, false,
			"0:unconfirmed 1:unconfirmed 2:accepted 3:accepted 4:accepted 5:accepted 6:accepted 7:accepted 8:accepted 9:accepted 10:accepted"},
		{"TAI device, 23:59:60 clamped", TAI, true,
			"0:unconfirmed 1:unconfirmed 2:accepted 3:accepted 4:accepted 5:accepted 6:accepted 7:accepted 8:accepted 9:accepted 10:accepted"},
		{"UTC device", UTC, false,
			"0:unconfirmed 1:unconfirmed 2:accepted 3:accepted 4:accepted 5:leap_second 6:accepted 7:accepted 8:accepted 9:accepted 10:accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Timescale, cfg.TAIOffset = tc.timescale, 0
			if tc.timescale == TAI {
				cfg.TAIOffset = 36
			}
			out := leapInsertion(t, cfg, tc.clamp)
			if got := edgeVerdicts(out); got != tc.edges {
				t.Errorf("verdicts\n got %s\nwant %s", got, tc.edges)
			}
			for _, o := range out {
				if !o.Verdict.Edge() {
					continue
				}
				if !o.HasLabel || o.Label.String() != wantLabels[o.Edge.Seq] {
					t.Errorf("edge %d: label %v, want %s", o.Edge.Seq, o.Label, wantLabels[o.Edge.Seq])
				}
				if o.Verdict == VerdictAccepted && o.Offset != 0 {
					t.Errorf("edge %d (%v): offset %v, want 0", o.Edge.Seq, o.Label, o.Offset)
				}
			}
		})
	}
}

// TestLeapSecondNotInserted: a receiver announces a leap and then does not
// insert it. The chain expects 23:59:60, reads 00:00:00 as such (on TAI
// the offset is right either way), then rejects 00:00:01 and restarts.
func TestLeapSecondNotInserted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Timescale, cfg.TAIOffset = TAI, 36
	p, _ := New(cfg)
	base := time.Date(2016, 12, 31, 23, 59, 56, 0, time.UTC)
	var out []Outcome
	for i := range 8 {
		real := base.Add(sec(i))
		out = p.Edge(refclock.Edge{At: real.Add(36 * time.Second), Seq: uint64(i)}, real, out)
		out = p.TimeOfDay(refclock.TimeOfDay{UTC: real, Received: real.Add(300 * ms), Valid: true, Leap: clock.LeapInsert}, out)
		out = p.Advance(real.Add(300*ms), out)
	}
	out = p.Advance(base.Add(sec(20)), out)
	// 0 23:59:56, 1 :57, 2 :58, 3 :59, 4 "00:00:00" as 23:59:60, 5 00:00:01
	// against 00:00:00: jump; a chain may not restart within 2 s of the
	// month's start while a leap is announced, so 6 (00:00:02) cannot
	// start one, 7 (00:00:03) does.
	want := "0:unconfirmed 1:unconfirmed 2:accepted 3:accepted 4:accepted 5:label_jump 6:unconfirmed 7:unconfirmed"
	if got := edgeVerdicts(out); got != want {
		t.Errorf("verdicts\n got %s\nwant %s", got, want)
	}
	for _, o := range out {
		if o.Verdict == VerdictAccepted && o.Offset != 0 {
			t.Errorf("edge %d: offset %v", o.Edge.Seq, o.Offset)
		}
	}
}

// TestLeapSecondDeletion: 23:59:58 is followed by 00:00:00 on a day that
// announces a deletion; TAI − UTC drops by one.
func TestLeapSecondDeletion(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Timescale, cfg.TAIOffset = TAI, 37
	p, _ := New(cfg)
	base := time.Date(2030, 6, 30, 23, 59, 55, 0, time.UTC) // 55 56 57 58 | 00 01 02
	var out []Outcome
	for i := range 7 {
		real := base.Add(sec(i))
		utc := real
		if i >= 4 {
			utc = real.Add(time.Second) // 23:59:59 skipped
		}
		out = p.Edge(refclock.Edge{At: real.Add(37 * time.Second), Seq: uint64(i)}, real, out)
		out = p.TimeOfDay(refclock.TimeOfDay{UTC: utc, Received: real.Add(300 * ms), Valid: true, Leap: clock.LeapDelete}, out)
		out = p.Advance(real.Add(300*ms), out)
	}
	out = p.Advance(base.Add(sec(20)), out)
	if got, want := edgeVerdicts(out), "0:unconfirmed 1:unconfirmed 2:accepted 3:accepted 4:accepted 5:accepted 6:accepted"; got != want {
		t.Errorf("verdicts\n got %s\nwant %s", got, want)
	}
	for _, o := range out {
		if o.Verdict == VerdictAccepted && o.Offset != 0 {
			t.Errorf("edge %d (%v): offset %v", o.Edge.Seq, o.Label, o.Offset)
		}
	}
	if n, _ := p.TAIOffset(); n != 36 {
		t.Errorf("TAI − UTC %d, want 36", n)
	}
}
