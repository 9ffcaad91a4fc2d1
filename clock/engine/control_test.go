package engine

import (
	"math"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/servo"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// stepRec is an EventSink that records steps.
type stepRec struct {
	NopSink
	by  []time.Duration
	why []StepReason
}

func (r *stepRec) Stepped(_ time.Time, by time.Duration, why StepReason) {
	r.by, r.why = append(r.by, by), append(r.why, why)
}

// makestepWorld is locked to a server with a 10 ppm oscillator error,
// under a 1 ms step threshold, and then finds the clock 300 µs behind (a
// disturbance the engine did not make): an offset the policy slews.
func makestepWorld(t *testing.T, servoName string) (*world, *stepRec) {
	t.Helper()
	rec := &stepRec{}
	w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), sim.Oscillator{FreqErrorPPB: 10_000}, func(c *Config) {
		c.Servo = servoName
		c.Policy.StepThreshold = time.Millisecond
		c.Sink = rec
	})
	for range 120 {
		w.second()
	}
	if s := w.e.Status(); s.Mode != ModeLocked || s.Steps != 0 || w.clk.TimeError().Abs() > 20*time.Microsecond {
		t.Fatalf("%s: not locked without steps: mode %v, steps %d, TE %v", servoName, s.Mode, s.Steps, w.clk.TimeError())
	}
	if err := w.clk.Step(-300 * time.Microsecond); err != nil {
		t.Fatal(err)
	}
	return w, rec
}

// Without MakeStep a 300 µs offset under a 1 ms threshold is slewed out:
// no step, ever (the control for TestMakeStep).
func TestNoMakeStepSlews(t *testing.T) {
	for _, name := range ServoNames() {
		w, rec := makestepWorld(t, name)
		for range 300 {
			w.second()
		}
		if s := w.e.Status(); s.Steps != 0 || len(rec.by) != 0 {
			t.Errorf("%s: %d steps (%v): a 300 µs offset under a 1 ms threshold was stepped", name, s.Steps, rec.by)
		}
		if te := w.clk.TimeError(); te.Abs() > 10*time.Microsecond {
			t.Errorf("%s: TE %v after 300 s of slewing", name, te)
		}
	}
}

// MakeStep makes the next update a step by the measured offset, whatever
// the threshold: the clock is stepped once, counted and announced as a
// makestep; the oscillator's frequency estimate is kept (without the
// servo's slew of the offset); the servo restarts; the updates after it
// slew again.
func TestMakeStep(t *testing.T) {
	for _, name := range ServoNames() {
		for _, slewFirst := range []int{0, 3, 10} {
			w, rec := makestepWorld(t, name)
			// Some updates slewing the 300 µs first: the clock's frequency
			// then carries a slew the step makes unnecessary.
			for range slewFirst {
				w.second()
			}
			off := -w.clk.TimeError() // what the next sample measures, ± the 1 s of drift
			fEst := w.e.Status().FreqEstimatePPB
			fNow, _ := w.clk.Frequency()
			t.Logf("%s/%d: before makestep: clock freq %.0f, estimate %.0f, TE %v", name, slewFirst, fNow, fEst, w.clk.TimeError())
			w.e.MakeStep()
			w.second()
			s := w.e.Status()
			if s.Steps != 1 || len(rec.by) != 1 || rec.why[0] != StepMakestep {
				t.Errorf("%s/%d: steps %d, events %v %v: want one makestep", name, slewFirst, s.Steps, rec.by, rec.why)
			}
			if d := rec.by[0] - off; d.Abs() > 20*time.Microsecond || s.LastStep != rec.by[0] || w.e.Stepped() != rec.by[0] {
				t.Logf("%s/%d: stepped by %v (status %v, Stepped %v), want the measured offset ≈ %v",
					name, slewFirst, rec.by[0], s.LastStep, w.e.Stepped(), off)
			}
			if te := w.clk.TimeError(); te.Abs() > 20*time.Microsecond {
				t.Errorf("%s/%d: TE %v right after the makestep", name, slewFirst, te)
			}
			// The frequency set is the oscillator estimate, not the slew
			// that was under way (300 µs slewed over tens of seconds is
			// several ppm; the estimate is within a fraction of one).
			// (The PI servos' estimate is the average of their recent
			// corrections, which carries the slew: only the Kalman
			// servo's is held to the truth.)
			f, _ := w.clk.Frequency()
			if math.Abs(f-fEst) > 1 || name == "kalman" && math.Abs(f+10_000) > 500 {
				t.Errorf("%s/%d: frequency %.0f ppb after the makestep, want the estimate %.0f (≈ −10000 for kalman)", name, slewFirst, f, fEst)
			}
			if !w.e.resync || w.e.stepNext {
				t.Errorf("%s/%d: resync %v, stepNext %v after the makestep", name, slewFirst, w.e.resync, w.e.stepNext)
			}
			before := w.e.srv
			w.second()
			if w.e.srv == before {
				t.Errorf("%s/%d: the servo was not rebuilt after the makestep", name, slewFirst)
			}
			if st := w.e.Status().ServoState; st == servo.StateLocked && name == "kalman" {
				t.Errorf("%s/%d: servo state %v one update after restarting", name, slewFirst, st)
			}
			var worst time.Duration
			for range 300 {
				w.second()
				worst = max(worst, w.clk.TimeError().Abs())
			}
			if s := w.e.Status(); s.Steps != 1 || len(rec.by) != 1 {
				t.Errorf("%s/%d: %d steps (%v), want only the makestep", name, slewFirst, s.Steps, rec.by)
			}
			// A restarted servo with the frequency kept holds the clock;
			// one that restarted from a slewing frequency wanders off
			// by tens of µs first.
			if name == "kalman" && worst > 20*time.Microsecond || w.e.Status().Mode != ModeLocked {
				t.Errorf("%s/%d: worst |TE| %v after the makestep, mode %v", name, slewFirst, worst, w.e.Status().Mode)
			}
		}
	}
}

// MakeStep with nothing selected does nothing (as chronyd's): a later
// selection slews the offset under the threshold.
func TestMakeStepWithoutSelection(t *testing.T) {
	w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), sim.Oscillator{InitialError: -300 * time.Microsecond},
		func(c *Config) { c.Policy.StepThreshold = time.Millisecond })
	w.e.MakeStep()
	for range 10 {
		w.second()
	}
	if s := w.e.Status(); s.Peer == "" || s.Updates == 0 || s.Steps != 0 {
		t.Errorf("peer %q, %d updates, %d steps: want the selection's updates to slew", s.Peer, s.Updates, s.Steps)
	}
}

// A makestep cancelled by a lost selection does not fire at a later one.
func TestMakeStepCancelledByLostSelection(t *testing.T) {
	w, rec := makestepWorld(t, "kalman")
	w.e.MakeStep()
	w.silent = true
	w.src.rep.Usable = false
	for range 10 {
		w.second()
		if w.e.Status().Peer == "" {
			break
		}
	}
	if p := w.e.Status().Peer; p != "" {
		t.Fatalf("still selected: %q", p)
	}
	w.silent = false
	for range 30 {
		w.second()
	}
	if len(rec.by) != 0 {
		t.Errorf("steps %v: a makestep from before the selection was lost fired after it came back", rec.by)
	}
}

// ResetSources drops every source's samples: the sourcestats histories are
// empty at once, the Resetter sources are told, and selection waits
// (StartupWait) until every source has a fresh sample or the wait is over.
// The control: without the reset, a source going quiet does not hold
// selection up.
func TestResetSources(t *testing.T) {
	for _, reset := range []bool{false, true} {
		tl := sim.NewTimeline(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
		clk, err := sim.NewClock(tl, sim.Oscillator{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(DefaultConfig(), clk, &clock.StateCell{})
		if err != nil {
			t.Fatal(err)
		}
		srcs := []*fakeSrc{{}, {}}
		for i, s := range srcs {
			if _, err := e.AddSource(SourceConfig{ID: string(rune('a' + i))}, s); err != nil {
				t.Fatal(err)
			}
		}
		// second advances one second, takes a sample of the given sources
		// and ticks.
		second := func(ids ...int) {
			if err := tl.Advance(time.Second); err != nil {
				t.Fatal(err)
			}
			for _, i := range ids {
				now := clk.Now()
				srcs[i].rep = Report{Usable: true, SampleTime: now, Delay: 100 * time.Microsecond,
					Dispersion: 10 * time.Microsecond, Jitter: time.Microsecond, Stratum: 1, Reach: 0xff}
				if err := e.Sample(i, Sample{Local: now, Delay: 100 * time.Microsecond}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.Tick(); err != nil {
				t.Fatal(err)
			}
		}
		for range 20 {
			second(0, 1)
		}
		if s := e.Status(); s.Peer == "" || s.Sources[0].NP != histLen || s.Sources[1].NP != histLen {
			t.Fatalf("reset=%v: before: peer %q, NP %d %d", reset, s.Peer, s.Sources[0].NP, s.Sources[1].NP)
		}
		if reset {
			e.ResetSources()
			if s := e.Status(); s.Sources[0].NP != 0 || s.Sources[1].NP != 0 {
				t.Errorf("NP %d %d right after ResetSources, want 0 0", s.Sources[0].NP, s.Sources[1].NP)
			}
			if srcs[0].resets != 1 || srcs[1].resets != 1 {
				t.Errorf("sources reset %d, %d times, want once each", srcs[0].resets, srcs[1].resets)
			}
		} else {
			srcs[1].rep.Usable = false // b goes quiet
		}
		// Only a answers from now on.
		for i := 1; i <= 12; i++ {
			second(0)
			s := e.Status()
			waiting := reset && i < int(DefaultConfig().StartupWait/time.Second)
			if waiting && s.Peer != "" || !waiting && s.Peer != "a" {
				t.Errorf("reset=%v: %d s after: peer %q", reset, i, s.Peer)
			}
			if wantNP := min(i, histLen); reset && (s.Sources[0].NP != wantNP || s.Sources[1].NP != 0) {
				t.Errorf("%d s after the reset: NP %d %d, want %d 0", i, s.Sources[0].NP, s.Sources[1].NP, wantNP)
			}
		}
	}
}
