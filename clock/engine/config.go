package engine

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/leap"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/clock/servo"
)

// LeapSource tells the engine about leap seconds from a table (clock/leap
// implements it with leap-seconds.list or the tz database). LeapAt returns
// the leap second scheduled at the end of t's UTC day (LeapNone outside
// the last day before a leap) and the TAI − UTC offset in force at t.
type LeapSource interface {
	LeapAt(t time.Time) (leap clock.Leap, taiOffset int)
}

// LeapMode says what the engine does to the clock at a leap second.
type LeapMode uint8

const (
	// LeapModeStep steps the steered clock at the leap (−1 s for an
	// insertion at 24:00:00, +1 s for a deletion at 23:59:59). The kernel
	// is never armed (chronyd leapsecmode step).
	LeapModeStep LeapMode = iota
	// LeapModeNone announces the leap in the published state but does not
	// touch the clock (chronyd leapsecmode ignore).
	LeapModeNone
	// LeapModeSystem lets the kernel insert or delete the second: the
	// steered clock must implement clock.LeapSetter (CLOCK_REALTIME); the
	// engine arms it (STA_INS/STA_DEL) on the last day, disarms it after
	// the leap or when the announcement goes away, and treats the kernel's
	// step as a change of timescale (chronyd leapsecmode system).
	LeapModeSystem
	// LeapModeSmear steps the engine's clock at the leap as LeapModeStep
	// does, but servers hand out smeared time (Engine.Served, Config.Smear,
	// chrony's smoothtime leaponly): LI is never announced and the
	// reference ID is leap.RefIDSmear while the smear is in progress.
	LeapModeSmear
)

func (m LeapMode) String() string {
	switch m {
	case LeapModeStep:
		return "step"
	case LeapModeNone:
		return "none"
	case LeapModeSystem:
		return "system"
	case LeapModeSmear:
		return "smear"
	}
	return fmt.Sprintf("leap_mode(%d)", uint8(m))
}

// Lock configures the step from locking to locked: the servo has
// converged when the offset at a clock update is within Threshold for
// Updates consecutive updates (linuxptp's servo_offset_threshold and
// servo_num_offset_values, its SERVO_LOCKED_STABLE; chrony has no such
// state). Until then the engine serves as locked but publishes PTP
// clockClass 248 and nothing traceable. Once locked, it falls back to
// locking after a makestep or when Updates consecutive offsets exceed
// Threshold (the same count both ways: one outlier does not flap the
// class).
type Lock struct {
	// Threshold on |offset| at an update (the combined offset, reference −
	// local, before the correction). 0 means DefaultLockThreshold; a
	// negative value disables the gate: locked at the first update.
	Threshold time.Duration
	// Updates is the number of consecutive updates; 0 means
	// DefaultLockUpdates.
	Updates int
}

// DefaultLockThreshold is 100 µs: the loosest figure that still tells a
// converged software-timestamped loop (µs on a LAN, tens of ns for PPS
// or a PHC) from one still slewing out its initial offset or acquiring
// its frequency (the default step threshold is 1 ms, so up to 1 ms is
// slewed), while a LAN NTP upstream (tens to hundreds of µs) still locks.
// A GNSS grandmaster that must claim clockClass 6 only within a telecom
// budget sets it lower (G.8272 PRTC-A: 100 ns).
const DefaultLockThreshold = 100 * time.Microsecond

// DefaultLockUpdates is 4 consecutive updates: 4 s for a PPS or PHC
// source at 1 Hz, about 4 min for an NTP server polled every 64 s.
// linuxptp's servo_num_offset_values defaults to 10 at PTP's 1–16 Hz;
// NTP's polls are 64 times longer, so fewer are asked for.
const DefaultLockUpdates = 4

// Holdover configures what happens when updates stop: the state machine
// locked → holdover within specification (clockClass 7) → out of
// specification (OutOfSpecClass) → free-run (local or unsynchronised).
type Holdover struct {
	// After is how long without a clock update the engine stays locked
	// before entering holdover; 0 means three poll intervals of the system
	// peer (a missed poll or two is not holdover), at least 16 s.
	After time.Duration
	// Duration is how long holdover lasts, from its start, before the
	// engine degrades to local or unsynchronised. 0 means
	// DefaultHoldoverDuration; a negative value disables holdover.
	Duration time.Duration
	// StabilityPPB is the oscillator's frequency stability in holdover:
	// the error bound and root dispersion grow at StabilityPPB plus the
	// frequency estimate's uncertainty (Status.SkewPPB), in ppb = ns/s,
	// from the last update. 0 means MaxClockErrorPPB, the rate while
	// locked (chrony's maxclockerror). A TCXO is 100–1000, an OCXO 1–10,
	// a rubidium 0.01–0.1.
	StabilityPPB float64
	// WanderPPBPerHour bounds how fast the oscillator's frequency drifts
	// (aging, temperature) in holdover, in ppb per hour: the bound grows
	// by a further ½·w·t² after the last update (t in hours gives ppb·h
	// = 3.6 µs per unit). 0 (default): no such term.
	WanderPPBPerHour float64
	// InSpec is the longest holdover within specification (clockClass
	// 7, stratum kept), from the start of holdover; 0 means Duration
	// (all of holdover is within specification unless InSpecErrorBound
	// says otherwise).
	InSpec time.Duration
	// InSpecErrorBound ends holdover within specification as soon as the
	// error bound exceeds it (whichever of InSpec and this comes first);
	// 0 (default) means no such limit. G.8271.1's end-application budget
	// is 1.5 µs; an NTP service might use 1 ms.
	InSpecErrorBound time.Duration
	// OutOfSpecClass is the clockClass published in holdover out of
	// specification: clock.ClockClassDegradedA (52, default: IEEE 1588
	// degradation alternative A, "never a slave", which a gnomond with no
	// BMCA never is), clock.ClockClassDegradedB (187, alternative B, may
	// become a slave) or G.8275.1's clock.ClockClassHoldoverCat1/2/3
	// (140, 150, 160 by the category of frequency reference still held;
	// gnomon checks none, so 160 is the honest one for a free
	// oscillator). 0 means the default.
	OutOfSpecClass clock.ClockClass
	// OutOfSpecStratumAdd is added to the NTP stratum out of
	// specification, and OutOfSpecStratum is a floor for it: stratum =
	// max(stratum + OutOfSpecStratumAdd, OutOfSpecStratum), at most 15.
	// Both 0 (default): the stratum is kept. NTP clients choose by root
	// distance, which already grows at the holdover rate; stratum is a
	// hop count, so degrading it is a policy choice, not a measurement.
	OutOfSpecStratumAdd uint8
	OutOfSpecStratum    uint8
	// RecoverySlewLimit: when an update arrives during holdover (the
	// source is back) and |offset| ≤ RecoverySlewLimit the clock is
	// slewed (locked at once if within Lock.Threshold, else locking);
	// beyond it the update steps the clock if steps are allowed at all
	// (Policy.StepThreshold > 0: a recovery is a new acquisition, so
	// Policy.StepLimit's count does not apply), else slews. 0 means
	// Policy.StepThreshold, the makestep threshold.
	RecoverySlewLimit time.Duration
}

// DefaultDisruptionRatePPB is 100 ppm: twice the ±50 ppm by which a
// counter's frequency may step between hosts (phcsource's DisruptedBound
// makes the same allowance).
const DefaultDisruptionRatePPB = 100_000

// DefaultHoldoverDuration is one hour: with the default 1 ppm clock error
// allowance the error bound grows by 3.6 ms in that time.
const DefaultHoldoverDuration = time.Hour

// outOfSpecClasses returns the classes Holdover.OutOfSpecClass may name.
func outOfSpecClasses() [5]clock.ClockClass {
	return [...]clock.ClockClass{clock.ClockClassDegradedA, clock.ClockClassDegradedB,
		clock.ClockClassHoldoverCat1, clock.ClockClassHoldoverCat2, clock.ClockClassHoldoverCat3}
}

// Local is the `local` fallback (chrony `local stratum N`): with no
// selectable source, serve the clock as it is.
type Local struct {
	// Stratum to serve at (1…15; chrony's default is 10).
	Stratum uint8
	// RootDispersion declared for the local clock.
	RootDispersion time.Duration
}

// Config configures an Engine. Start from DefaultConfig.
type Config struct {
	Selection selection.Config
	// Servo names the servo: one of ServoNames (default "kalman").
	Servo string
	// Policy bounds steps and slews (servo.DefaultPolicy).
	Policy servo.Policy
	// Precision is log2 s of a reading of the steered clock.
	Precision int8
	// MaxClockErrorPPB is added to the frequency uncertainty in the rate
	// at which the error bound grows after an update (chrony
	// maxclockerror, default 1 ppm).
	MaxClockErrorPPB float64
	// TickInterval is the longest Tick asks to wait (default 1 s).
	TickInterval time.Duration
	// StartupWait: after New and after every step (which resets the
	// sources), nothing is selected while some source has no sample yet,
	// for up to this long (default 8 s, longer than an iburst's first
	// exchanges). Otherwise the first source to answer would be a majority
	// of one, falseticker or not, and could step the clock.
	StartupWait time.Duration
	// Lock says when a converging servo counts as locked.
	Lock     Lock
	Holdover Holdover
	// DisruptionRatePPB is the frequency error assumed for the local
	// clock after a disruption of its counter (Engine.Disrupt: a live
	// migration may move the counter to a host whose oscillator differs
	// by tens of ppm), in ppb: from the disruption until the next clock
	// update the error bound grows at this rate on top of the usual one;
	// after it, at the restarted servo's own uncertainty. 0 means
	// DefaultDisruptionRatePPB.
	DisruptionRatePPB float64
	// Local enables the local fallback; nil disables it.
	Local *Local
	// LeapMode says how leap seconds are carried out on the clock.
	LeapMode LeapMode
	// Smear shapes the smear of LeapModeSmear (Enabled is implied; zero
	// wander and maximum frequency mean chrony's defaults). Ignored in the
	// other modes.
	Smear leap.Smear
	// LeapSource, if set, is authoritative for leap seconds and the TAI
	// offset; otherwise the truechimers' majority decides the leap and
	// TAIOffset is kept (and moved by each leap carried out).
	LeapSource LeapSource
	// TAIOffset is TAI − UTC in seconds to assume without a LeapSource
	// (clock.DefaultTAIOffset). The published state marks it valid
	// (SyncState.UTCOffsetValid) only once a leap has been carried out:
	// until then it is a default, not knowledge.
	TAIOffset int
	// Sink receives events (steps, source changes, mode changes, leaps);
	// nil discards them.
	Sink EventSink
}

// DefaultConfig returns the defaults: chrony's selection defaults, the
// Kalman servo, servo.DefaultPolicy, precision −20, 1 ppm clock error,
// locked after 4 updates within 100 µs, one hour of holdover at the 1 ppm
// rate all within specification (then class 52 if a limit is set), no
// local fallback, leap seconds stepped, TAI − UTC 37 s.
func DefaultConfig() Config {
	return Config{
		Selection:        selection.DefaultConfig(),
		Servo:            "kalman",
		Policy:           servo.DefaultPolicy(),
		Precision:        -20,
		MaxClockErrorPPB: 1000,
		TickInterval:     time.Second,
		StartupWait:      8 * time.Second,
		Lock:             Lock{Threshold: DefaultLockThreshold, Updates: DefaultLockUpdates},
		Holdover:         Holdover{Duration: DefaultHoldoverDuration, OutOfSpecClass: clock.ClockClassDegradedA},
		LeapMode:         LeapModeStep,
		TAIOffset:        clock.DefaultTAIOffset,
	}
}

// ServoNames lists the servos NewServo builds.
func ServoNames() []string { return []string{"kalman", "pi", "pi-hw"} }

// NewServo builds the named servo for samples every interval, starting
// from the frequency correction freqPPB in force: "kalman" (the chosen
// servo), "pi" (linuxptp PI with software-timestamp gains, the baseline)
// or "pi-hw" (the same with facebook/time's default gains).
func NewServo(name string, interval time.Duration, p servo.Policy, freqPPB float64) (servo.Servo, error) {
	switch name {
	case "kalman":
		return servo.NewKalman(servo.DefaultKalmanConfig(interval), p, freqPPB)
	case "pi":
		return servo.NewPI(servo.LinuxptpSWGains(), interval, p, freqPPB)
	case "pi-hw":
		return servo.NewPI(servo.FacebookGains(), interval, p, freqPPB)
	}
	return nil, fmt.Errorf("unknown servo %q (want one of %v)", name, ServoNames())
}

// Validate reports every invalid field.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Selection.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !slices.Contains(ServoNames(), c.Servo) {
		errs = append(errs, fmt.Errorf("servo %q: want one of %v", c.Servo, ServoNames()))
	}
	if err := c.Policy.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("policy: %w", err))
	}
	if c.Precision < -32 || c.Precision > 0 {
		errs = append(errs, fmt.Errorf("precision %d: want −32…0", c.Precision))
	}
	if !(c.MaxClockErrorPPB >= 0) || math.IsInf(c.MaxClockErrorPPB, 0) {
		errs = append(errs, fmt.Errorf("max_clock_error_ppb %v: want ≥ 0 and finite", c.MaxClockErrorPPB))
	}
	if c.TickInterval <= 0 {
		errs = append(errs, fmt.Errorf("tick_interval %v: want > 0", c.TickInterval))
	}
	if !(c.DisruptionRatePPB >= 0) || math.IsInf(c.DisruptionRatePPB, 0) {
		errs = append(errs, fmt.Errorf("disruption_rate_ppb %v: want ≥ 0 and finite", c.DisruptionRatePPB))
	}
	if c.StartupWait < 0 {
		errs = append(errs, fmt.Errorf("startup_wait %v: want ≥ 0", c.StartupWait))
	}
	if c.Lock.Updates < 0 {
		errs = append(errs, fmt.Errorf("lock.updates %d: want ≥ 0", c.Lock.Updates))
	}
	errs = append(errs, c.Holdover.validate()...)
	if c.Local != nil {
		if c.Local.Stratum < 1 || c.Local.Stratum > 15 {
			errs = append(errs, fmt.Errorf("local.stratum %d: want 1…15", c.Local.Stratum))
		}
		if c.Local.RootDispersion < 0 {
			errs = append(errs, fmt.Errorf("local.root_dispersion %v: want ≥ 0", c.Local.RootDispersion))
		}
	}
	if c.LeapMode > LeapModeSmear {
		errs = append(errs, fmt.Errorf("leap_mode %v: unknown", c.LeapMode))
	}
	if err := c.Smear.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("smear: %w", err))
	}
	if c.TAIOffset < 0 || c.TAIOffset > 1000 {
		errs = append(errs, fmt.Errorf("tai_offset %d: want 0…1000", c.TAIOffset))
	}
	return errors.Join(errs...)
}

func (h *Holdover) validate() []error {
	var errs []error
	if h.After < 0 {
		errs = append(errs, fmt.Errorf("holdover.after %v: want ≥ 0", h.After))
	}
	if !(h.StabilityPPB >= 0) || math.IsInf(h.StabilityPPB, 0) {
		errs = append(errs, fmt.Errorf("holdover.stability_ppb %v: want ≥ 0 and finite", h.StabilityPPB))
	}
	if !(h.WanderPPBPerHour >= 0) || math.IsInf(h.WanderPPBPerHour, 0) {
		errs = append(errs, fmt.Errorf("holdover.wander_ppb_per_hour %v: want ≥ 0 and finite", h.WanderPPBPerHour))
	}
	if h.InSpec < 0 {
		errs = append(errs, fmt.Errorf("holdover.in_spec %v: want ≥ 0", h.InSpec))
	}
	if h.InSpecErrorBound < 0 {
		errs = append(errs, fmt.Errorf("holdover.in_spec_error_bound %v: want ≥ 0", h.InSpecErrorBound))
	}
	if cl := outOfSpecClasses(); h.OutOfSpecClass != 0 && !slices.Contains(cl[:], h.OutOfSpecClass) {
		errs = append(errs, fmt.Errorf("holdover.out_of_spec_class %d: want one of 52, 187, 140, 150, 160", h.OutOfSpecClass))
	}
	if h.OutOfSpecStratumAdd > 15 {
		errs = append(errs, fmt.Errorf("holdover.out_of_spec_stratum_add %d: want 0…15", h.OutOfSpecStratumAdd))
	}
	if h.OutOfSpecStratum > 15 {
		errs = append(errs, fmt.Errorf("holdover.out_of_spec_stratum %d: want 0…15", h.OutOfSpecStratum))
	}
	if h.RecoverySlewLimit < 0 {
		errs = append(errs, fmt.Errorf("holdover.recovery_slew_limit %v: want ≥ 0", h.RecoverySlewLimit))
	}
	return errs
}

// withDefaults resolves the fields whose zero value means a default.
func (c Config) withDefaults() Config {
	if c.Lock.Threshold == 0 {
		c.Lock.Threshold = DefaultLockThreshold
	}
	if c.Lock.Updates == 0 {
		c.Lock.Updates = DefaultLockUpdates
	}
	if c.DisruptionRatePPB == 0 {
		c.DisruptionRatePPB = DefaultDisruptionRatePPB
	}
	h := &c.Holdover
	if h.Duration == 0 {
		h.Duration = DefaultHoldoverDuration
	}
	if h.StabilityPPB == 0 {
		h.StabilityPPB = c.MaxClockErrorPPB
	}
	if h.InSpec == 0 && h.Duration > 0 {
		h.InSpec = h.Duration
	}
	if h.OutOfSpecClass == 0 {
		h.OutOfSpecClass = clock.ClockClassDegradedA
	}
	if h.RecoverySlewLimit == 0 {
		h.RecoverySlewLimit = c.Policy.StepThreshold
	}
	return c
}

// SourceConfig describes one source to the engine.
type SourceConfig struct {
	// ID names the source in status and logs; unique per engine.
	ID string
	// Addr is the source's address (for the reference ID); invalid for
	// reference clocks, which set RefClockID.
	Addr       netip.Addr
	RefClockID uint32
	// TimeSource is the PTP timeSource published while this source is the
	// system peer (and in holdover from it): clock.TimeSourceNTP for an
	// NTP server, TimeSourceGNSS for a GNSS receiver, TimeSourcePTP for a
	// PTP grandmaster. Zero (not given) is published as
	// clock.TimeSourceOther.
	TimeSource clock.TimeSource
	selection.Options
}
