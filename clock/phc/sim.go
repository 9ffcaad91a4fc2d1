package phc

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"syscall"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// SimConfig describes a simulated PHC.
type SimConfig struct {
	// Name of the device (default "sim-phc").
	Name string
	// Base is the system clock (CLOCK_REALTIME) the PHC is compared with
	// and whose time drives it. Required.
	Base clock.Clock
	// Offset is PHC − Base at creation (37 s for a PHC on TAI).
	Offset time.Duration
	// FreqErrorPPB is the oscillator's own frequency error: positive = the
	// PHC runs fast relative to Base before any correction.
	FreqErrorPPB float64
	// MaxAdjPPB is the max_adj the device reports (0 = DefaultMaxAdjPPB).
	MaxAdjPPB float64
	// ReadDelay is the span of one cross-timestamp (system clock read
	// before → after), with the PHC read in its middle.
	ReadDelay time.Duration
	// ReadJitter adds to each sample an extra delay, uniform in
	// [0, ReadJitter), spent between the first system read and the PHC
	// read (as an interrupt there would): it lengthens the span and shifts
	// the PHC read late by the extra, so the midpoint estimate is off by
	// half of it.
	ReadJitter time.Duration
	// Precise makes the device answer like PTP_SYS_OFFSET_PRECISE: one
	// hardware cross-timestamp with no span.
	Precise bool
	// Seed seeds the jitter (deterministic).
	Seed uint64
}

// Sim is a simulated PHC, a Device over a base clock:
//
//	phc(b) = b + off + (FreqErrorPPB + correction)·1e−9·(b − anchor)
//
// where b is the base reading, and off the phase at anchor (the last
// frequency change). It is what tests here and the reference-chain work
// steer instead of a /dev/ptpN. It never touches the host clock. Safe for
// concurrent use.
type Sim struct {
	mu     sync.Mutex
	cfg    SimConfig
	maxAdj float64
	anchor time.Time     // base time of the last frequency change
	off    time.Duration // PHC − base at anchor
	adj    float64       // frequency correction in force, ppb
	ferr   float64       // oscillator error, ppb
	steps  int
	fail   error
	rng    *rand.Rand
}

var _ Device = (*Sim)(nil)

// NewSim returns a simulated PHC.
func NewSim(cfg SimConfig) (*Sim, error) {
	var errs []error
	if cfg.Base == nil {
		errs = append(errs, errors.New("Base is nil"))
	}
	if math.IsNaN(cfg.MaxAdjPPB) || math.IsInf(cfg.MaxAdjPPB, 0) || cfg.MaxAdjPPB < 0 {
		errs = append(errs, fmt.Errorf("MaxAdjPPB %v", cfg.MaxAdjPPB))
	}
	if math.IsNaN(cfg.FreqErrorPPB) || math.IsInf(cfg.FreqErrorPPB, 0) || math.Abs(cfg.FreqErrorPPB) >= 1e9 {
		errs = append(errs, fmt.Errorf("FreqErrorPPB %v", cfg.FreqErrorPPB))
	}
	if cfg.ReadDelay < 0 || cfg.ReadJitter < 0 {
		errs = append(errs, fmt.Errorf("ReadDelay %v ReadJitter %v", cfg.ReadDelay, cfg.ReadJitter))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("phc sim: %w: %w", ErrInvalid, err)
	}
	if cfg.Name == "" {
		cfg.Name = "sim-phc"
	}
	s := &Sim{
		cfg:    cfg,
		maxAdj: cfg.MaxAdjPPB,
		anchor: cfg.Base.Now(),
		off:    cfg.Offset,
		ferr:   cfg.FreqErrorPPB,
		rng:    rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
	}
	if s.maxAdj == 0 {
		s.maxAdj = DefaultMaxAdjPPB
	}
	return s, nil
}

// at returns the PHC time for base reading b. Callers hold mu.
func (s *Sim) at(b time.Time) time.Time {
	d := s.off
	if r := s.ferr + s.adj; r != 0 {
		d += time.Duration(math.Round(float64(b.Sub(s.anchor)) * r * 1e-9))
	}
	return b.Add(d)
}

// reanchor moves the anchor to base time b, keeping the phase. Callers hold mu.
func (s *Sim) reanchor(b time.Time) {
	s.off = s.at(b).Sub(b)
	s.anchor = b
}

// Name implements Device.
func (s *Sim) Name() string { return s.cfg.Name }

// Close implements Device.
func (s *Sim) Close() error { return nil }

// Now reads the simulated PHC at the base clock's now (clock.Clock).
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at(s.cfg.Base.Now())
}

// Time implements Device.
func (s *Sim) Time() (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return time.Time{}, s.fail
	}
	return s.at(s.cfg.Base.Now()), nil
}

// FreqPPB implements Device: the correction in force, not the oscillator
// error.
func (s *Sim) FreqPPB() (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	return s.adj, nil
}

// AdjFreq implements Device. Like the kernel, it returns ERANGE beyond
// max_adj, and it quantises the correction as the real path does.
func (s *Sim) AdjFreq(ppb float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if math.IsNaN(ppb) || math.Abs(ppb) > s.maxAdj {
		return syscall.ERANGE
	}
	s.reanchor(s.cfg.Base.Now())
	// The kernel keeps the correction as timex scaled ppm (1/65.536 ppb);
	// facebook/time converts by truncation. The sim keeps what a real
	// device would dial.
	s.adj = math.Trunc(ppb*65.536) / 65.536
	return nil
}

// Step implements Device.
func (s *Sim) Step(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.off += d
	s.steps++
	return nil
}

// MaxFreqAdjPPB implements Device.
func (s *Sim) MaxFreqAdjPPB() (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	return s.maxAdj, nil
}

// CrossTimestamps implements Device: n consecutive samples starting at the
// base clock's now, each ReadDelay plus jitter long (one zero-span sample
// when Precise).
func (s *Sim) CrossTimestamps(n int) ([]Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	if n < 1 || n > MaxSamples {
		return nil, syscall.EINVAL
	}
	b := s.cfg.Base.Now()
	if s.cfg.Precise {
		return []Sample{{Before: b, PHC: s.at(b), After: b}}, nil
	}
	out := make([]Sample, n)
	for i := range out {
		var extra time.Duration
		if s.cfg.ReadJitter > 0 {
			extra = time.Duration(s.rng.Int64N(int64(s.cfg.ReadJitter)))
		}
		read := b.Add(s.cfg.ReadDelay/2 + extra)
		after := b.Add(s.cfg.ReadDelay + extra)
		out[i] = Sample{Before: b, PHC: s.at(read), After: after}
		b = after
	}
	return out, nil
}

// TrueOffset returns PHC − base at the base clock's now: the truth that
// SysOffset estimates.
func (s *Sim) TrueOffset() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.cfg.Base.Now()
	return s.at(b).Sub(b)
}

// TrueOffsetAt returns PHC − base at base time b.
func (s *Sim) TrueOffsetAt(b time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at(b).Sub(b)
}

// SetFreqError changes the oscillator's own error (wander, temperature),
// keeping the phase continuous.
func (s *Sim) SetFreqError(ppb float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reanchor(s.cfg.Base.Now())
	s.ferr = ppb
}

// Jump moves the PHC by d without counting a step: a disturbance, not a
// correction.
func (s *Sim) Jump(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.off += d
}

// Steps returns how many steps were applied through Step.
func (s *Sim) Steps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.steps
}

// SetError makes every Device call fail with err (nil restores): a device
// that went away.
func (s *Sim) SetError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}
