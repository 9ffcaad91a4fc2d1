package phc

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Errors callers can branch on.
var (
	// ErrFrequencyRange: the correction exceeds the device's max_adj;
	// nothing was changed. The same value as clock.ErrFrequencyRange.
	ErrFrequencyRange = clock.ErrFrequencyRange
	// ErrInvalid: a bad argument; nothing was done.
	ErrInvalid = errors.New("invalid argument")
)

// MaxSamples is the most cross-timestamps one PTP_SYS_OFFSET_EXTENDED
// request returns (PTP_MAX_SAMPLES).
const MaxSamples = 25

// DefaultMaxAdjPPB is assumed when a device reports max_adj 0
// (linuxptp's and facebook/time's fallback, 500 ppm).
const DefaultMaxAdjPPB = 500_000

// Sample is one cross-timestamp of a PHC against CLOCK_REALTIME: the system
// clock read just before and just after the PHC. A hardware cross-timestamp
// (PTP_SYS_OFFSET_PRECISE) has Before == After.
type Sample struct {
	Before, PHC, After time.Time
}

// Device is the kernel side of a PHC: what /dev/ptpN offers through
// clock_gettime/clock_adjtime on its clockid and the PTP ioctls. The real
// one wraps github.com/facebook/time/phc (Open); Sim simulates one. PHC adds
// the validation, limits and sign conventions on top, so they are tested
// against the simulation.
type Device interface {
	// Name identifies the device in errors and logs ("/dev/ptp0").
	Name() string
	// Time reads the PHC (clock_gettime).
	Time() (time.Time, error)
	// FreqPPB reads the frequency correction in force (positive = faster).
	FreqPPB() (float64, error)
	// AdjFreq sets the frequency correction (ADJ_FREQUENCY → adjfine).
	AdjFreq(ppb float64) error
	// Step moves the PHC by d, positive = forward (ADJ_SETOFFSET).
	Step(d time.Duration) error
	// MaxFreqAdjPPB returns max_adj from PTP_CLOCK_GETCAPS.
	MaxFreqAdjPPB() (float64, error)
	// CrossTimestamps returns up to n (1…MaxSamples) samples of the PHC
	// against CLOCK_REALTIME, by the best method the device supports.
	CrossTimestamps(n int) ([]Sample, error)
	Close() error
}

// PHC is a PTP hardware clock as a clock.Steerable. Frequencies are in ppb,
// positive = the PHC runs faster; steps positive = forward. It is safe for
// concurrent use if its Device is (both provided ones are).
type PHC struct {
	dev    Device
	maxPPB float64
}

var _ clock.Steerable = (*PHC)(nil)

// New wraps dev, reading its max_adj.
func New(dev Device) (*PHC, error) {
	if dev == nil {
		return nil, fmt.Errorf("phc: nil device: %w", ErrInvalid)
	}
	maxPPB, err := dev.MaxFreqAdjPPB()
	if err != nil {
		return nil, fmt.Errorf("phc %s: read max_adj: %w", dev.Name(), err)
	}
	if math.IsNaN(maxPPB) || maxPPB < 0 {
		return nil, fmt.Errorf("phc %s: max_adj %v: %w", dev.Name(), maxPPB, ErrInvalid)
	}
	if maxPPB == 0 {
		maxPPB = DefaultMaxAdjPPB
	}
	return &PHC{dev: dev, maxPPB: maxPPB}, nil
}

// Name returns the device name.
func (p *PHC) Name() string { return p.dev.Name() }

// Close releases the device.
func (p *PHC) Close() error { return p.dev.Close() }

// Time reads the PHC. It runs on the PHC's own timescale, normally TAI for a
// PTP clock (37 s ahead of CLOCK_REALTIME since 2017).
func (p *PHC) Time() (time.Time, error) {
	t, err := p.dev.Time()
	if err != nil {
		return time.Time{}, fmt.Errorf("phc %s: read time: %w", p.dev.Name(), err)
	}
	return t, nil
}

// Now reads the PHC (clock.Clock). A PHC read fails only when the device is
// gone; Now then returns the zero Time, and callers that must tell use Time.
func (p *PHC) Now() time.Time {
	t, err := p.dev.Time()
	if err != nil {
		return time.Time{}
	}
	return t
}

// MaxFrequency returns the device's max_adj in ppb.
func (p *PHC) MaxFrequency() float64 { return p.maxPPB }

// AdjustFrequency sets the frequency correction (positive = faster). Beyond
// ±max_adj it fails with ErrFrequencyRange and changes nothing (the kernel
// would return ERANGE).
func (p *PHC) AdjustFrequency(ppb float64) error {
	if math.IsNaN(ppb) || math.IsInf(ppb, 0) {
		return fmt.Errorf("phc %s: adjust frequency %v ppb: %w", p.dev.Name(), ppb, ErrInvalid)
	}
	if math.Abs(ppb) > p.maxPPB {
		return fmt.Errorf("phc %s: adjust frequency %.3f ppb, max_adj %.0f: %w", p.dev.Name(), ppb, p.maxPPB, ErrFrequencyRange)
	}
	if err := p.dev.AdjFreq(ppb); err != nil {
		return fmt.Errorf("phc %s: adjust frequency %.3f ppb: %w", p.dev.Name(), ppb, err)
	}
	return nil
}

// Frequency reads the frequency correction in force, in ppb.
func (p *PHC) Frequency() (float64, error) {
	f, err := p.dev.FreqPPB()
	if err != nil {
		return 0, fmt.Errorf("phc %s: read frequency: %w", p.dev.Name(), err)
	}
	return f, nil
}

// Step moves the PHC by d (positive = forward).
func (p *PHC) Step(d time.Duration) error {
	if d == 0 {
		return nil
	}
	if err := p.dev.Step(d); err != nil {
		return fmt.Errorf("phc %s: step %v: %w", p.dev.Name(), d, err)
	}
	return nil
}

// SysOffset measures the PHC against the system clock (CLOCK_REALTIME) from
// up to samples cross-timestamps (1…MaxSamples) and keeps the one read in
// the shortest time, as phc2sys does:
//
//	offset = PHC − CLOCK_REALTIME, at the midpoint of the system readings
//	delay  = the span of the system readings of that sample (0 for a
//	         hardware cross-timestamp)
//	at     = that midpoint, on CLOCK_REALTIME
//
// With the PHC as the reference for the system clock this is gnomon's
// offset = reference − local: positive means the system clock is behind.
// It is the negation of phc2sys's printed offset and of facebook/time's
// SysoffResult.Offset (both system − PHC). A PHC on TAI shows TAI − UTC
// (37 s) in it; the caller removes it. The error of the midpoint is at most
// delay/2.
func (p *PHC) SysOffset(samples int) (offset, delay time.Duration, at time.Time, err error) {
	if samples < 1 || samples > MaxSamples {
		return 0, 0, time.Time{}, fmt.Errorf("phc %s: %d samples, want 1…%d: %w", p.dev.Name(), samples, MaxSamples, ErrInvalid)
	}
	ss, err := p.dev.CrossTimestamps(samples)
	if err != nil {
		return 0, 0, time.Time{}, fmt.Errorf("phc %s: cross-timestamp: %w", p.dev.Name(), err)
	}
	best, ok := bestSample(ss)
	if !ok {
		return 0, 0, time.Time{}, fmt.Errorf("phc %s: none of %d cross-timestamps is usable (system clock stepped while reading?)", p.dev.Name(), len(ss))
	}
	delay = best.After.Sub(best.Before)
	at = best.Before.Add(delay / 2)
	return best.PHC.Sub(at), delay, at, nil
}

// bestSample returns the sample with the shortest system-clock span,
// skipping those whose span is negative (the system clock was stepped
// between the readings).
func bestSample(ss []Sample) (Sample, bool) {
	var best Sample
	found := false
	for _, s := range ss {
		d := s.After.Sub(s.Before)
		if d < 0 {
			continue
		}
		if !found || d < best.After.Sub(best.Before) {
			best, found = s, true
		}
	}
	return best, found
}
