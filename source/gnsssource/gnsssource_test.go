package gnsssource_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/refclock"
	"github.com/gnomon-time/gnomon/refclock/pair"
	"github.com/gnomon-time/gnomon/source"
	"github.com/gnomon-time/gnomon/source/gnsssource"
)

// oscillator is a free-running local oscillator inside a synctest bubble:
// true time (the bubble's clock) plus a start offset plus a constant
// frequency error.
type oscillator struct {
	start  time.Time
	offset time.Duration
	ppb    float64
}

func (o *oscillator) Now() time.Time {
	t := time.Now().Round(0)
	return t.Add(o.offset + time.Duration(float64(t.Sub(o.start))*o.ppb*1e-9))
}

// untilSecond sleeps until the next whole second of true time and returns
// it.
func untilSecond() time.Time {
	now := time.Now().Round(0)
	next := now.Truncate(time.Second).Add(time.Second)
	time.Sleep(next.Sub(now))
	return next
}

// pps is a PPS input on the disciplined clock (a PHC's EXTTS channel on the
// PHC the engine steers): at every true second it stamps the clock's
// reading plus Gaussian noise of sigma. After stop it stays silent (a
// pulled cable).
type pps struct {
	clk   clock.Clock
	sigma time.Duration
	rng   *rand.Rand
	stop  atomic.Bool
}

func (p *pps) Run(ctx context.Context, fn func(refclock.Edge)) error {
	var seq uint64
	for ctx.Err() == nil {
		untilSecond()
		if p.stop.Load() {
			continue
		}
		seq++
		noise := time.Duration(math.Round(p.rng.NormFloat64() * float64(p.sigma)))
		fn(refclock.Edge{At: p.clk.Now().Add(noise), Seq: seq})
	}
	return nil
}

// nmea is a receiver whose sentence for second N arrives 0.6–0.95 s after
// edge N (seeded), received on CLOCK_REALTIME (the bubble's clock).
type nmea struct {
	rng *rand.Rand
}

func (n *nmea) Run(ctx context.Context, fn func(refclock.TimeOfDay)) error {
	for ctx.Err() == nil {
		sec := untilSecond()
		time.Sleep(600*time.Millisecond + time.Duration(n.rng.Int64N(int64(350*time.Millisecond))))
		fn(refclock.TimeOfDay{UTC: sec.UTC(), Received: time.Now().Round(0), Valid: true, Fix: refclock.Fix3D})
	}
	return nil
}

// TestLockAndHoldover runs the GNSS source inside a Runner on simulated
// time: the steered clock starts 5 ms ahead and 20 ppm fast; the PPS is
// stamped on it with 20 ns of noise; NMEA arrives 0.6–0.95 s late. Within
// 20 minutes the engine must lock to "GPS" at stratum 1 and keep the clock
// within 100 ns of true time over the following 10 minutes; then the PPS
// is pulled, the reference turns unusable after its 5 s timeout, and the
// engine enters holdover.
func TestLockAndHoldover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now().Round(0)
		v := clock.NewVirtual(&oscillator{start: start, offset: 5 * time.Millisecond, ppb: 20_000})
		dev := &pps{clk: v, sigma: 20 * time.Nanosecond, rng: rand.New(rand.NewPCG(3, 4))}
		cfg := gnsssource.DefaultConfig()
		cfg.Precision = 50 * time.Nanosecond
		// Realtime of an edge: the PHC↔system translation, here the
		// clock's current distance from true time (ms accuracy needed).
		cfg.Realtime = func(at time.Time) time.Time { return at.Add(time.Now().Round(0).Sub(v.Now())) }
		src, err := gnsssource.New(cfg, dev, &nmea{rng: rand.New(rand.NewPCG(5, 6))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		cell := new(clock.StateCell)
		r, err := source.New(source.Config{Engine: engine.DefaultConfig()}, v, cell, nil, src)
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
			worst = max(worst, v.Now().Sub(time.Now().Round(0)).Abs())
		}
		st, s := cell.Load(), r.Status()
		t.Logf("locked: worst |TE| over 10 min %v; frequency %.1f ppb; steps %d; counts %v", worst, s.FrequencyPPB, s.Steps, src.Counts())
		if s.Mode != engine.ModeLocked || s.Peer != "GPS" || !st.Synchronized || st.Stratum != 1 || st.RefID != gnsssource.RefIDGPS ||
			st.TimeSource != clock.TimeSourceGNSS {
			t.Errorf("mode %v peer %q state %+v: want locked to GPS at stratum 1, GNSS", s.Mode, s.Peer, st)
		}
		if worst > 100*time.Nanosecond {
			t.Errorf("worst |TE| %v, want < 100 ns", worst)
		}
		if math.Abs(s.FrequencyPPB+20_000) > 50 {
			t.Errorf("frequency %.1f ppb, want −20000 ± 50", s.FrequencyPPB)
		}
		c := src.Counts()
		// The restart after the initial step drops what was pending: an
		// edge or report may lose its partner there, nowhere else.
		if bad := c[pair.VerdictLabelJump] + c[pair.VerdictAmbiguous] + c[pair.VerdictIntervalMismatch]; bad != 0 ||
			c[pair.VerdictNoReport]+c[pair.VerdictOrphan] > 2 {
			t.Errorf("counts %v: want no jumps, ambiguities or mismatches, ≤ 2 unpaired inputs", c)
		}
		if c[pair.VerdictAccepted] < 1780 {
			t.Errorf("accepted %d, want ≥ 1780 of 1800", c[pair.VerdictAccepted])
		}

		// Pull the PPS.
		dev.stop.Store(true)
		time.Sleep(4 * time.Second)
		if rows := r.Sources(t.Context()); len(rows) != 1 || !rows[0].Usable {
			t.Errorf("4 s after the pull: %+v, want still usable (timeout 5 s)", rows)
		}
		time.Sleep(3 * time.Second)
		if rows := r.Sources(t.Context()); len(rows) != 1 || rows[0].Usable {
			t.Errorf("7 s after the pull: %+v, want unusable", rows)
		}
		time.Sleep(time.Minute)
		s = r.Status()
		c = src.Counts()
		t.Logf("pulled: mode %v, counts %v", s.Mode, c)
		if s.Mode != engine.ModeHoldover {
			t.Errorf("mode %v a minute after the pull, want holdover", s.Mode)
		}
		if c[pair.VerdictOrphan] < 60 {
			t.Errorf("orphans %d, want the minute's reports", c[pair.VerdictOrphan])
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}
