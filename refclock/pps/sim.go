package pps

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

// SimConfig describes a simulated PPS input.
type SimConfig struct {
	// Now returns true time (the GNSS timescale the pulses mark, on UTC
	// seconds). Required. time.Now for a daemon without hardware; a
	// simulated timeline's clock in scenarios.
	Now func() time.Time
	// DeviceTime maps a true time to the stamping device's reading at
	// that instant (nil: the device reads true time). For a simulated
	// PHC over true time: func(t time.Time) time.Time { return
	// t.Add(sim.TrueOffsetAt(t)) }, with phc.Sim's Base reading true time.
	DeviceTime func(time.Time) time.Time
	// SignalDelay is the physical delay of the pulse (cable, antenna):
	// the device sees the edge of true second s at s + SignalDelay. Within
	// [0, MaxDelay].
	SignalDelay time.Duration
	// Delay is the compensation configured, as on the real devices: At =
	// stamp − Delay. Equal to SignalDelay when the installation is
	// calibrated.
	Delay time.Duration
	// Jitter is the σ of the Gaussian noise on each stamp (e.g. 20 ns for
	// a timing receiver into a NIC's SMA).
	Jitter time.Duration
	// MissProbability is the chance, in [0, 1), that a pulse is stamped
	// but not delivered (a gap in Seq, counted in Stats.Missed).
	MissProbability float64
	// Disconnected starts the simulation with the signal pulled.
	Disconnected bool
	// Seed seeds jitter and misses (deterministic for a given sequence of
	// calls).
	Seed uint64
	// Sleep waits for d or until ctx ends (nil: a timer, for real time
	// and for testing/synctest bubbles). A discrete-event simulation
	// passes its own, or drives Pulse directly.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Sim is a simulated PPS input: an edge at each true second, as a device
// on DeviceTime's timescale stamped it, with jitter, misses, and a signal
// that can be pulled and restored. Safe for concurrent use.
type Sim struct {
	cfg SimConfig

	mu        sync.Mutex
	connected bool
	seq       uint64
	last      time.Time // the latest true second pulsed
	rng       *rand.Rand
	n         counters
}

var _ refclock.EdgeSource = (*Sim)(nil)

// NewSim validates cfg and returns the simulated input.
func NewSim(cfg SimConfig) (*Sim, error) {
	var errs []error
	if cfg.Now == nil {
		errs = append(errs, fmt.Errorf("Now is nil: %w", ErrInvalid))
	}
	if cfg.SignalDelay < 0 || cfg.SignalDelay > MaxDelay {
		errs = append(errs, fmt.Errorf("SignalDelay %v: want 0…%v: %w", cfg.SignalDelay, MaxDelay, ErrInvalid))
	}
	if err := checkDelay("Delay", cfg.Delay); err != nil {
		errs = append(errs, err)
	}
	if cfg.Jitter < 0 || cfg.Jitter > MaxDelay {
		errs = append(errs, fmt.Errorf("Jitter %v: want 0…%v: %w", cfg.Jitter, MaxDelay, ErrInvalid))
	}
	if !(cfg.MissProbability >= 0 && cfg.MissProbability < 1) {
		errs = append(errs, fmt.Errorf("MissProbability %v: want [0, 1): %w", cfg.MissProbability, ErrInvalid))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pps sim: %w", err)
	}
	if cfg.DeviceTime == nil {
		cfg.DeviceTime = func(t time.Time) time.Time { return t }
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepTimer
	}
	return &Sim{
		cfg:       cfg,
		connected: !cfg.Disconnected,
		rng:       rand.New(rand.NewPCG(cfg.Seed, 0x5eed_0f_9095)),
	}, nil
}

// sleepTimer waits for d on a timer, or until ctx ends.
func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetConnected pulls (false) or restores (true) the signal: while pulled,
// no pulses reach the device and its sequence does not advance (a kernel
// PPS device counts only the pulses it sees).
func (s *Sim) SetConnected(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected = on
}

// Connected reports whether the signal is connected.
func (s *Sim) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Stats returns the counters.
func (s *Sim) Stats() Stats { return s.n.stats() }

// Pulse produces the pulse of true second sec (sec is truncated to the
// second): the edge as delivered, and whether it is delivered (false when
// the signal is pulled, or the pulse is missed; a missed pulse still
// advances Seq). Run calls it at each second; a discrete-event simulation
// may call it itself, once per second in order.
//
//	At = DeviceTime(sec + SignalDelay) + N(0, Jitter²) − Delay
func (s *Sim) Pulse(sec time.Time) (refclock.Edge, bool) {
	sec = sec.Truncate(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = sec
	if !s.connected {
		return refclock.Edge{}, false
	}
	s.seq++
	noise := time.Duration(math.Round(s.rng.NormFloat64() * float64(s.cfg.Jitter)))
	if s.cfg.MissProbability > 0 && s.rng.Float64() < s.cfg.MissProbability {
		s.n.missed.Add(1)
		return refclock.Edge{}, false
	}
	stamp := s.cfg.DeviceTime(sec.Add(s.cfg.SignalDelay)).Add(noise)
	s.n.edges.Add(1)
	return refclock.Edge{At: compensate(stamp, s.cfg.Delay), Seq: s.seq}, true
}

// Run sleeps until each true second (plus SignalDelay) and delivers its
// pulse, until ctx ends (then it returns nil). A true clock stepped back
// does not repeat seconds; stepped forward, the seconds skipped are not
// pulsed.
func (s *Sim) Run(ctx context.Context, fn func(refclock.Edge)) error {
	for {
		now := s.cfg.Now()
		next := now.Truncate(time.Second).Add(time.Second)
		s.mu.Lock()
		if !s.last.IsZero() && !next.After(s.last) {
			next = s.last.Add(time.Second)
		}
		s.mu.Unlock()
		if err := s.cfg.Sleep(ctx, next.Add(s.cfg.SignalDelay).Sub(now)); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("pps sim: sleep: %w", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if e, ok := s.Pulse(next); ok {
			fn(e)
		}
	}
}
