// Package todsim is a simulated GNSS receiver's time of day, a
// refclock.TimeOfDaySource for daemons and tests without hardware: after
// every true second it reports that second's UTC label, as a receiver's
// RMC or gpsd's TPV does, a configurable random delay later (serial ToD
// arrives 10–700 ms after its edge through gpsd). Its Received stamps are
// the true time of arrival, which for a daemon is CLOCK_REALTIME: the
// truth of a simulation whose pulses are timed by the host clock
// (refclock/pps.Sim).
package todsim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

// Config shapes the reports.
type Config struct {
	// Now returns true time (UTC). Required.
	Now func() time.Time
	// MinDelay and MaxDelay bound each report's delay after its second,
	// drawn uniformly (defaults 100 ms and 300 ms).
	MinDelay, MaxDelay time.Duration
	// TAIOffset, when non-zero, is reported as known TAI − UTC (as gpsd's
	// leapseconds + 19).
	TAIOffset int
	// Seed seeds the delays.
	Seed uint64
	// Sleep waits for d or until ctx ends (nil: a timer; a synctest
	// bubble fakes it).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Receiver is the simulated receiver.
type Receiver struct {
	cfg     Config
	rng     *rand.Rand
	silent  atomic.Bool
	reports atomic.Uint64
}

// New checks cfg and returns a Receiver.
func New(cfg Config) (*Receiver, error) {
	if cfg.Now == nil {
		return nil, errors.New("todsim: Now is required")
	}
	if cfg.MinDelay == 0 && cfg.MaxDelay == 0 {
		cfg.MinDelay, cfg.MaxDelay = 100*time.Millisecond, 300*time.Millisecond
	}
	if cfg.MinDelay < 0 || cfg.MaxDelay < cfg.MinDelay || cfg.MaxDelay >= time.Second {
		return nil, fmt.Errorf("todsim: delays %v … %v: want 0 ≤ min ≤ max < 1 s", cfg.MinDelay, cfg.MaxDelay)
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	return &Receiver{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x746f64))}, nil
}

// SetSilent makes the receiver stop (true) or resume (false) talking.
func (r *Receiver) SetSilent(on bool) { r.silent.Store(on) }

// Reports counts the reports delivered.
func (r *Receiver) Reports() uint64 { return r.reports.Load() }

// Run delivers a report for every true second until ctx ends.
func (r *Receiver) Run(ctx context.Context, fn func(refclock.TimeOfDay)) error {
	next := r.cfg.Now().Truncate(time.Second).Add(time.Second)
	for {
		now := r.cfg.Now()
		if now.Sub(next) >= time.Second { // fell behind: resume at the current second
			next = now.Truncate(time.Second).Add(time.Second)
		}
		sec := next
		next = next.Add(time.Second)
		d := r.cfg.MinDelay
		if span := r.cfg.MaxDelay - r.cfg.MinDelay; span > 0 {
			d += time.Duration(r.rng.Int64N(int64(span)))
		}
		at := sec.Add(d)
		if err := r.cfg.Sleep(ctx, max(at.Sub(now), 0)); err != nil {
			return nil
		}
		if r.silent.Load() {
			continue
		}
		t := refclock.TimeOfDay{UTC: sec, Received: r.cfg.Now(), Valid: true, Fix: refclock.Fix3D}
		if r.cfg.TAIOffset != 0 {
			t.TAIOffset, t.TAIOffsetKnown = r.cfg.TAIOffset, true
		}
		r.reports.Add(1)
		fn(t)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
