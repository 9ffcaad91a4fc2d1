package engine

import (
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/sim"
	"github.com/gnomon-time/gnomon/report"
)

// disruptWorld is locked to a server with a 10 ppm oscillator error under
// a 1 ms step threshold (steps allowed in the first 3 updates only).
func disruptWorld(t *testing.T) (*world, *stepRec) {
	t.Helper()
	rec := &stepRec{}
	w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), sim.Oscillator{FreqErrorPPB: 10_000}, func(c *Config) {
		c.Policy.StepThreshold = time.Millisecond
		c.Sink = rec
	})
	for range 120 {
		w.second()
	}
	if s := w.e.Status(); s.Mode != ModeLocked || s.Steps != 0 || s.Disrupted || s.Disruptions != 0 {
		t.Fatalf("not locked without steps: %+v", s)
	}
	return w, rec
}

// TestDisrupt: a live migration moves the clock 5 ms ahead and makes it
// 20 ppm slow against the server (the new host's counter). Engine.Disrupt
// (widen 10 ms) must at once publish a synchronised state marked Disrupted
// whose bound and root dispersion are widened by at least 10 ms, at PTP
// class 248 (locking); reset the sources; and let the next update step the
// clock (the makestep policy's first updates, although the engine stepped
// none of its 3 long ago). No state published after it may promise less
// than the true error; the flag clears when the engine is locked again;
// disruptions are counted. The control: the same migration without
// Disrupt is slewed (no step allowed) and served with the old bound.
func TestDisrupt(t *testing.T) {
	const widen = 10 * time.Millisecond
	for _, disrupt := range []bool{false, true} {
		w, rec := disruptWorld(t)
		before := w.e.State()
		now := w.rd.Now()
		b0, d0 := ErrorBoundAt(before, now), before.RootDispersionAt(now)
		// The migration, behind the engine's back.
		if err := w.clk.Step(5 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		drift := func() { w.shift += 20 * time.Microsecond } // the clock now runs 20 ppm slow against the server
		// te is |served − reference| now (the server's time is truth).
		te := func() time.Duration { return (w.clk.TimeError() - w.shift).Abs() }
		if disrupt {
			w.e.Disrupt(widen)
			st, s := w.e.State(), w.e.Status()
			now := w.rd.Now()
			b, d := ErrorBoundAt(st, now), st.RootDispersionAt(now)
			t.Logf("at Disrupt: bound %v → %v, root dispersion %v → %v, TE %v; status mode %v, skew %.0f ppb",
				b0, b, d0, d, te(), s.Mode, s.SkewPPB)
			if !st.Synchronized || !st.Disrupted || !s.Disrupted || s.Disruptions != 1 || s.DisruptedAt != now {
				t.Errorf("state %+v, status disrupted %v ×%d at %v: want synchronised, disrupted once, at %v",
					st, s.Disrupted, s.Disruptions, s.DisruptedAt, now)
			}
			if b < b0+widen || d < d0+widen {
				t.Errorf("bound %v, root dispersion %v: want ≥ %v and %v (widened by %v)", b, d, b0+widen, d0+widen, widen)
			}
			if s.Mode != ModeLocking || st.ClockClass != clock.ClockClassDefault || st.TimeTraceable {
				t.Errorf("mode %v class %v traceable %v: want locking, 248, not traceable", s.Mode, st.ClockClass, st.TimeTraceable)
			}
			if w.src.resets != 1 || s.Sources[0].NP != 0 || !w.e.resync || !w.e.disruptSteps {
				t.Errorf("resets %d, NP %d, resync %v, steps allowed %v: want the sources reset and the servo restarted",
					w.src.resets, s.Sources[0].NP, w.e.resync, w.e.disruptSteps)
			}
			if s.SkewPPB < DefaultDisruptionRatePPB {
				t.Errorf("skew %.0f ppb: want ≥ %d (frequency unknown)", s.SkewPPB, DefaultDisruptionRatePPB)
			}
			if rb := servedReportOK(t, st, now); !rb.Disrupted || rb.ErrorBound != b {
				t.Errorf("served report %+v: want disrupted, bound %v", rb, b)
			}
			if tr := s.TrackingReport(now); !tr.Disrupted || tr.Disruptions != 1 {
				t.Errorf("tracking report disrupted %v ×%d", tr.Disrupted, tr.Disruptions)
			}
		}
		uncovered, relocked := 0, 0
		worstMargin := time.Duration(1<<63 - 1)
		for i := 1; i <= 300; i++ {
			drift()
			w.second()
			st, now := w.e.State(), w.rd.Now()
			margin := ErrorBoundAt(st, now) - te()
			worstMargin = min(worstMargin, margin)
			if margin < 0 {
				uncovered++
			}
			s := w.e.Status()
			if disrupt && relocked == 0 && s.Mode == ModeLocked {
				relocked = i
			}
			if disrupt && (st.Disrupted != (relocked == 0) || s.Disrupted != st.Disrupted) {
				t.Errorf("%d s after: mode %v, state disrupted %v, status %v: want disrupted until locked", i, s.Mode, st.Disrupted, s.Disrupted)
			}
		}
		s := w.e.Status()
		t.Logf("disrupt=%v: steps %v; re-locked after %d s; %d states (one a second) below the true error; smallest bound − |TE| %v; TE now %v",
			disrupt, rec.by, relocked, uncovered, worstMargin, te())
		if !disrupt {
			if len(rec.by) != 0 || uncovered == 0 {
				t.Errorf("control: steps %v, %d states below the true error: want the migration slewed and uncovered", rec.by, uncovered)
			}
			continue
		}
		if len(rec.by) != 1 || (rec.by[0]+5*time.Millisecond).Abs() > 100*time.Microsecond {
			t.Errorf("steps %v: want one step of ≈ −5 ms", rec.by)
		}
		if uncovered != 0 {
			t.Errorf("%d states promised less than the true error after Disrupt (smallest margin %v)", uncovered, worstMargin)
		}
		if relocked == 0 || relocked > 120 || s.Disrupted || s.Disruptions != 1 {
			t.Errorf("re-locked after %d s, disrupted %v, disruptions %d", relocked, s.Disrupted, s.Disruptions)
		}
		if te() > 20*time.Microsecond {
			t.Errorf("TE %v 5 min after the migration", te())
		}
		// A second disruption is counted; the first's time is replaced.
		w.e.Disrupt(0)
		if s := w.e.Status(); s.Disruptions != 2 || !s.Disrupted || s.Mode != ModeLocking {
			t.Errorf("after a second Disrupt: %d disruptions, disrupted %v, mode %v", s.Disruptions, s.Disrupted, s.Mode)
		}
	}
}

// servedReportOK is ServedReport, which must succeed.
func servedReportOK(t *testing.T, st *clock.SyncState, now time.Time) report.Served {
	t.Helper()
	r, ok := ServedReport(st, now)
	if !ok {
		t.Fatal("no served report")
	}
	return r
}
