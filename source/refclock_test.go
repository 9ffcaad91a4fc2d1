package source_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/report"
	"github.com/gnomon-time/gnomon/source"
)

// refIDPPS is "PPS\0", the reference ID of the scripted reference clock.
const refIDPPS = 0x50505300

// oscillator is a free-running local oscillator inside a synctest bubble:
// it reads true time (the bubble's fake time) plus a start offset plus a
// constant frequency error.
type oscillator struct {
	start  time.Time
	offset time.Duration
	ppb    float64
}

func (o *oscillator) Now() time.Time {
	t := time.Now().Round(0)
	return t.Add(o.offset + time.Duration(float64(t.Sub(o.start))*o.ppb*1e-9))
}

// scriptedRefclock is a reference clock that a test scripts: once a second
// it measures the disciplined clock against true time (the bubble's
// clock) with Gaussian noise of sigma, as a PPS or PHC driver would, and
// delivers the sample. It keeps no history across samples, so it is no
// source.Restarter. It uses nothing but the source.Source interface.
type scriptedRefclock struct {
	clk   clock.Clock
	sigma time.Duration
	rng   *rand.Rand

	mu   sync.Mutex
	last engine.Report
}

func (s *scriptedRefclock) Refs() []source.Ref {
	return []source.Ref{{
		Config:   engine.SourceConfig{ID: "PPS0", RefClockID: refIDPPS, TimeSource: clock.TimeSourceGNSS},
		Reporter: s,
	}}
}

func (s *scriptedRefclock) Run(ctx context.Context, out source.Sink) error {
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
		local := s.clk.Now()
		noise := time.Duration(math.Round(s.rng.NormFloat64() * float64(s.sigma)))
		smp := engine.Sample{Local: local, Offset: time.Now().Round(0).Sub(local) + noise, Dispersion: s.sigma}
		s.mu.Lock()
		s.last = engine.Report{Usable: true, Offset: smp.Offset, SampleTime: local, Dispersion: smp.Dispersion,
			Jitter: s.sigma, Stratum: 0, Reach: s.last.Reach<<1 | 1, Samples: min(s.last.Samples+1, 16)}
		s.mu.Unlock()
		out.Sample(0, smp)
	}
}

// Report implements engine.Reporter: the last sample, its dispersion grown
// at 15 ppm since.
func (s *scriptedRefclock) Report(now time.Time) engine.Report {
	s.mu.Lock()
	r := s.last
	s.mu.Unlock()
	if r.Usable && now.After(r.SampleTime) {
		r.Dispersion += time.Duration(float64(now.Sub(r.SampleTime)) * clock.DefaultDispersionRate)
	}
	return r
}

// TestScriptedRefclockScenario plugs a scripted reference clock into an
// engine through the source interface alone (no change to the engine, no
// access to the Runner's internals) and runs a scenario on simulated time
// (testing/synctest: the bubble's clock advances only when every goroutine
// waits): the local oscillator starts 5 ms ahead and runs 20 ppm fast; the
// reference measures with 50 ns of noise once a second. Within 30 minutes
// the engine must have stepped once (makestep), locked, served stratum 1
// with the reference's ID, and held the clock within 100 ns of true time (2σ of the noise)
// over the last 10 minutes.
func TestScriptedRefclockScenario(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now().Round(0)
		osc := &oscillator{start: start, offset: 5 * time.Millisecond, ppb: 20_000}
		v := clock.NewVirtual(osc)
		ref := &scriptedRefclock{clk: v, sigma: 50 * time.Nanosecond, rng: rand.New(rand.NewPCG(1, 2))}
		cell := new(clock.StateCell)
		r, err := source.New(source.Config{Engine: engine.DefaultConfig()}, v, cell, nil, ref)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()

		time.Sleep(20 * time.Minute)
		var worst time.Duration
		for range 60 {
			time.Sleep(10 * time.Second)
			worst = max(worst, (v.Now().Sub(time.Now().Round(0))).Abs())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		st, s, stats := cell.Load(), r.Status(), r.Stats()
		t.Logf("worst |TE| over the last 10 min %v; frequency %.1f ppb; steps %d; updates %d; stats %+v",
			worst, s.FrequencyPPB, s.Steps, s.Updates, stats)
		if s.Mode != engine.ModeLocked || !st.Synchronized || st.Stratum != 1 || st.RefID != refIDPPS || s.Peer != "PPS0" {
			t.Errorf("mode %v peer %q, state %+v: want locked to PPS0 at stratum 1", s.Mode, s.Peer, st)
		}
		if st.TimeSource != clock.TimeSourceGNSS || st.ClockClass != clock.ClockClassLocked || !st.TimeTraceable {
			t.Errorf("time source %v class %v traceable %v: want GNSS, locked, traceable", st.TimeSource, st.ClockClass, st.TimeTraceable)
		}
		// chronyc sources shows it as a reference clock ('#'), named by
		// its reference ID.
		if rows := r.Sources(context.Background()); len(rows) != 1 || rows[0].Mode != report.SourceRefClock || rows[0].RefID != refIDPPS || rows[0].State != report.StateSelected {
			t.Errorf("sources report %+v: want one selected reference clock PPS0", rows)
		}
		if s.Steps != 1 {
			t.Errorf("steps %d, want 1 (the initial 5 ms)", s.Steps)
		}
		if worst > 100*time.Nanosecond {
			t.Errorf("worst |TE| over the last 10 min %v, want < 100 ns", worst)
		}
		if want := 0.9 * 30 * 60; float64(stats.Samples) < want || stats.Dropped != 0 || stats.Restarts != 0 {
			t.Errorf("stats %+v: want ≥ %.0f samples, none dropped, no restarts (no history to restart)", stats, want)
		}
		if math.Abs(s.FrequencyPPB+20_000) > 50 {
			t.Errorf("frequency correction %.1f ppb, want −20000 ± 50 (the oscillator's error)", s.FrequencyPPB)
		}
	})
}
