package engine

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/leap"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// tickBase is a base clock that advances 1 µs per reading, safe for
// concurrent use.
type tickBase struct{ ns atomic.Int64 }

func (b *tickBase) Now() time.Time {
	return time.Unix(0, 1_700_000_000_000_000_000+b.ns.Add(1000)).UTC()
}

// Readers never see the stepped clock with the old shift or the reverse:
// the writer steps the virtual clock by ∓1 s and moves the shift by ±1 s
// under the sequence counter, so served time stays the base plus a
// constant, and every reader's sequence of readings must increase.
func TestSmearClockStepAndSwapIsAtomic(t *testing.T) {
	v := clock.NewVirtual(&tickBase{})
	c := newSmearClock(v)
	far := leap.Event{At: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), Leap: clock.LeapInsert}
	sm := leap.Smear{Enabled: true}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range 4 {
		wg.Go(func() {
			prev := c.Now()
			for n := 0; !stop.Load() && n < 1_000_000; n++ {
				now := c.Now()
				if !now.After(prev) {
					bad.Store(int64(prev.Sub(now)))
					return
				}
				prev = now
			}
		})
	}
	for i := range 2000 {
		by, shift := -time.Second, time.Second
		if i%2 == 1 {
			by, shift = time.Second, 0
		}
		if err := c.stepAndSet(func() error { return v.Step(by) }, &smearParams{smear: sm, ev: far, shift: shift}); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if d := bad.Load(); d != 0 {
		t.Errorf("served time went back by %v", time.Duration(d))
	}
}

// The packet path's readings allocate nothing, with a smear in progress.
func TestSmearClockAllocs(t *testing.T) {
	v := clock.NewVirtual(&tickBase{})
	c := newSmearClock(v)
	now := v.Now()
	c.set(&smearParams{smear: leap.Smear{Enabled: true}, ev: leap.Event{At: now.Add(-time.Hour), Leap: clock.LeapInsert}, shift: time.Second})
	var sink time.Time
	if n := testing.AllocsPerRun(1000, func() { sink = c.Now(); sink = c.FromRealtime(sink) }); n != 0 {
		t.Errorf("%v allocations per reading", n)
	}
	if off := c.OffsetAt(v.Now()); off <= 0 || off >= time.Second {
		t.Errorf("offset 1 h into the smear %v, want in (0, 1 s)", off)
	}
}

func BenchmarkSmearClockNow(b *testing.B) {
	v := clock.NewVirtual(&tickBase{})
	c := newSmearClock(v)
	now := v.Now()
	c.set(&smearParams{smear: leap.Smear{Enabled: true}, ev: leap.Event{At: now.Add(-time.Hour), Leap: clock.LeapInsert}, shift: time.Second})
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Now()
	}
}

// LeapModeSmear through the engine: the engine's clock follows UTC (one
// leap step), the served clock is UTC + leap.Smear.FromUTC (continuous,
// absorbing the second over the smear's duration), LI is never published,
// the reference ID is RefIDSmear exactly while the smear is in progress,
// and afterwards served time is the engine's clock again.
func TestSmearMode(t *testing.T) {
	at := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	// 1 ppm/s reaches the 400 ppm bound after 400 s: a trapezoid of
	// 2900 s, short enough to run through.
	sm := leap.Smear{Enabled: true, WanderPPMPerSecond: 1}
	ev := leap.Event{At: at, Leap: clock.LeapInsert}
	w := newWorld(t, at.Add(-2*time.Minute), sim.Oscillator{}, func(c *Config) {
		c.LeapMode = LeapModeSmear
		c.Smear = sm
	})
	w.leapAt = at
	w.leap = clock.LeapInsert
	served := w.e.Served()
	prev := served.Now()
	sawSmear := false
	end := at.Add(sm.Duration())
	for range 120 + int(sm.Duration()/time.Second) + 100 {
		w.second()
		st, s := w.e.State(), w.e.Status()
		now := w.tl.Now() // true time: the continuous clock (the clock has no error)
		got := served.Now()
		if !got.After(prev) {
			t.Fatalf("at %v served time went from %v to %v", now, prev, got)
		}
		prev = got
		if want := now.Add(sm.Offset(now, ev)); got.Sub(want).Abs() > 5*time.Microsecond {
			t.Fatalf("at %v served %v, want %v", now, got, want)
		}
		if st.Synchronized && st.Leap != clock.LeapNone {
			t.Fatalf("at %v published LI %v", now, st.Leap)
		}
		active := !now.Before(at) && now.Before(end)
		if st.Synchronized && (st.RefID == leap.RefIDSmear) != active {
			t.Fatalf("at %v refid %#x, smear active %v", now, st.RefID, active)
		}
		if s.Smearing != active {
			t.Fatalf("at %v status smearing %v", now, s.Smearing)
		}
		sawSmear = sawSmear || active
		if now.Before(at) && s.Leap != clock.LeapInsert && st.Synchronized {
			t.Fatalf("at %v the engine's own leap decision is %v", now, s.Leap)
		}
	}
	if !sawSmear {
		t.Fatal("never smeared")
	}
	if s := w.e.Status(); s.LeapSteps != 1 || s.SmearOffset != 0 || w.e.smear != nil {
		t.Errorf("after: leap steps %d, smear offset %v, params %+v", s.LeapSteps, s.SmearOffset, w.e.smear)
	}
	if d := served.Now().Sub(w.clk.Now()); d != 0 {
		t.Errorf("served − clock %v after the smear", d)
	}
	if te := w.clk.Now().Sub(w.utc(w.tl.Now())); te.Abs() > 10*time.Microsecond {
		t.Errorf("TE vs UTC %v", te)
	}
}

// A leap cancelled before it happens withdraws the smear parameters.
func TestSmearCancelled(t *testing.T) {
	at := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newWorld(t, at.Add(-2*time.Minute), sim.Oscillator{}, func(c *Config) { c.LeapMode = LeapModeSmear })
	w.leap = clock.LeapInsert
	for range 30 {
		w.second()
	}
	if w.e.smear == nil {
		t.Fatal("no smear scheduled")
	}
	w.leap = clock.LeapNone
	for range 30 {
		w.second()
	}
	if w.e.smear != nil || w.e.served.p.Load() != nil {
		t.Error("smear still scheduled after the announcement went away")
	}
}

// Outside a smear the wrapper's cost over the bare virtual clock.
func BenchmarkServedNoSmear(b *testing.B) {
	v := clock.NewVirtual(&tickBase{})
	b.Run("virtual", func(b *testing.B) {
		for b.Loop() {
			_ = v.Now()
		}
	})
	c := newSmearClock(v)
	b.Run("served", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Now()
		}
	})
}

// Served is the steered clock itself outside smear mode (nothing added to
// the packet path), the SmearClock in it.
func TestServedClock(t *testing.T) {
	v := clock.NewVirtual(&tickBase{})
	for _, mode := range []LeapMode{LeapModeStep, LeapModeSmear} {
		cfg := DefaultConfig()
		cfg.LeapMode = mode
		e, err := New(cfg, v, &clock.StateCell{})
		if err != nil {
			t.Fatal(err)
		}
		_, isSmear := e.Served().(*SmearClock)
		if got := e.Served() == clock.Served(v); got == (mode == LeapModeSmear) || isSmear != (mode == LeapModeSmear) {
			t.Errorf("%v: served %T", mode, e.Served())
		}
	}
}
