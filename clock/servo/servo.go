package servo

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Action is what the caller must do to the clock besides setting the
// frequency.
type Action uint8

const (
	// ActionNone: set the frequency correction to Decision.FreqPPB.
	ActionNone Action = iota
	// ActionStep: step the clock by Decision.Step, then set the frequency.
	ActionStep
	// ActionDiscard: the sample was not used (outlier, or too early to
	// use). The caller still sets Decision.FreqPPB: a servo may end there
	// a phase slew that was meant to last only until this sample.
	ActionDiscard
)

func (a Action) String() string {
	switch a {
	case ActionNone:
		return "none"
	case ActionStep:
		return "step"
	case ActionDiscard:
		return "discard"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// State says whether a servo trusts its estimates.
type State uint8

const (
	StateUnlocked State = iota // acquiring: frequency not yet known
	StateLocked                // tracking
)

func (s State) String() string {
	switch s {
	case StateUnlocked:
		return "unlocked"
	case StateLocked:
		return "locked"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Decision is a servo's answer to one sample.
type Decision struct {
	Action Action
	// Step is the phase step to apply when Action is ActionStep (positive
	// = move the clock forward, as clock.Steerable.Step).
	Step time.Duration
	// FreqPPB is the absolute frequency correction to set, in ppb
	// (positive = faster, as clock.Steerable.AdjustFrequency).
	FreqPPB float64
	State   State
}

// Measurement is one offset sample of the steered clock against a reference.
type Measurement struct {
	// Offset = reference − local (positive: the clock is behind).
	Offset time.Duration
	// Delay is the round-trip delay of the exchange that produced Offset
	// (NTP's δ), or 0 when the source has none (PPS, PHC). Because each
	// direction's queueing delay is non-negative, the offset error of a
	// sample whose delay exceeds the path's minimum by s is within ±s/2
	// (RFC 5905 §10's correctness interval); servos may weight by it.
	Delay time.Duration
	// Local is the steered clock's reading when the offset applies (T4
	// for NTP).
	Local time.Time
	// Dispersion is the error allowance the source states for the sample
	// (engine.Sample.Dispersion: a reference clock's configured
	// precision, tens of ns for PPS on a PHC; µs and more for NTP), or 0
	// when it states none. Servos may take it as a lower bound of what
	// they cannot measure of the noise.
	Dispersion time.Duration
	// ApplyAt is the steered clock's reading when the caller will apply
	// the Decision: a sample may be delivered well after Local (a PPS
	// edge is paired with its time of day only once its window has
	// closed, ~1.05 s after the edge, so after the next edge). The zero
	// value (or a time before Local) means at Local. A servo that models
	// its corrections must know when they take effect: one that assumes
	// they act from Local while they act a sample later runs a loop with
	// an unmodelled delay of one sample, which rings and, with a fast
	// filter, diverges.
	ApplyAt time.Time
}

// Servo turns offset measurements into clock corrections. Implementations
// are not safe for concurrent use: one goroutine (the discipline engine)
// owns a servo. The caller must apply every Decision (Apply) before the
// next Sample, and must not steer the clock behind the servo's back.
type Servo interface {
	// Name identifies the algorithm in logs and tables ("pi", "kalman").
	Name() string
	// Sample feeds one measurement.
	Sample(m Measurement) Decision
	// State is the current lock state.
	State() State
	// Frequency is the frequency correction last decided, in ppb.
	Frequency() float64
}

// Apply carries out d on c: the step first (if any), then the frequency.
func Apply(c clock.Steerable, d Decision) error {
	if d.Action == ActionStep && d.Step != 0 {
		if err := c.Step(d.Step); err != nil {
			return fmt.Errorf("servo: step clock by %v: %w", d.Step, err)
		}
	}
	if err := c.AdjustFrequency(d.FreqPPB); err != nil {
		return fmt.Errorf("servo: set frequency to %.3f ppb: %w", d.FreqPPB, err)
	}
	return nil
}

// Policy bounds what a servo may do to the clock. It follows chrony's
// `makestep threshold limit`, `maxdrift` and `maxslewrate`.
type Policy struct {
	// StepThreshold: a correction larger than this is made by stepping,
	// if allowed by StepLimit; 0 never steps (always slews).
	StepThreshold time.Duration
	// StepLimit: steps are allowed only in the first StepLimit clock
	// updates; a negative value allows them at any update.
	StepLimit int
	// MaxFreqPPB bounds the absolute frequency correction (chrony
	// maxdrift, linuxptp max_frequency). Must be positive.
	MaxFreqPPB float64
	// MaxSlewPPB bounds the part of the correction that removes a phase
	// offset, on top of the estimated frequency error (chrony maxslewrate).
	// 0 means no limit beyond MaxFreqPPB.
	MaxSlewPPB float64
}

// DefaultPolicy steps offsets over 1 ms in the first 3 updates (chrony's
// usual `makestep 1 3` uses 1 s; a precision daemon can afford to step
// smaller offsets while it is still acquiring, and a 1 ms slew at
// 500 ppm takes only 2 s anyway), limits the frequency correction to
// ±500 ppm (the kernel's adjtimex tolerance) and the phase slew to ±500 ppm.
func DefaultPolicy() Policy {
	return Policy{
		StepThreshold: time.Millisecond,
		StepLimit:     3,
		MaxFreqPPB:    500_000,
		MaxSlewPPB:    500_000,
	}
}

// Validate reports every invalid field.
func (p Policy) Validate() error {
	var errs []error
	if p.StepThreshold < 0 {
		errs = append(errs, fmt.Errorf("step_threshold = %v: negative", p.StepThreshold))
	}
	if !(p.MaxFreqPPB > 0) || math.IsInf(p.MaxFreqPPB, 0) {
		errs = append(errs, fmt.Errorf("max_freq_ppb = %v: must be positive and finite", p.MaxFreqPPB))
	}
	if !(p.MaxSlewPPB >= 0) || math.IsInf(p.MaxSlewPPB, 0) {
		errs = append(errs, fmt.Errorf("max_slew_ppb = %v: must be ≥ 0 and finite", p.MaxSlewPPB))
	}
	return errors.Join(errs...)
}

// MayStep tells whether a correction of offset at the update-th clock
// update (1-based) is to be made by stepping.
func (p Policy) MayStep(offset time.Duration, update int) bool {
	if p.StepThreshold <= 0 || offset.Abs() <= p.StepThreshold {
		return false
	}
	return p.StepLimit < 0 || update <= p.StepLimit
}

// ClampFreq limits an absolute frequency correction to ±MaxFreqPPB.
func (p Policy) ClampFreq(ppb float64) float64 {
	return math.Max(-p.MaxFreqPPB, math.Min(p.MaxFreqPPB, ppb))
}

// ClampSlew limits a phase-correcting rate to ±MaxSlewPPB (if set).
func (p Policy) ClampSlew(ppb float64) float64 {
	if p.MaxSlewPPB <= 0 {
		return ppb
	}
	return math.Max(-p.MaxSlewPPB, math.Min(p.MaxSlewPPB, ppb))
}
