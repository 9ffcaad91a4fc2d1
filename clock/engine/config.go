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

// Holdover configures what happens when updates stop.
type Holdover struct {
	// After is how long without a clock update the engine stays locked
	// before entering holdover; 0 means three poll intervals of the system
	// peer (a missed poll or two is not holdover), at least 16 s.
	After time.Duration
	// Duration is how long holdover (clockClass 7) lasts before the engine
	// degrades to local or unsynchronised. 0 means DefaultHoldoverDuration;
	// a negative value disables holdover.
	Duration time.Duration
}

// DefaultHoldoverDuration is one hour: with the default 1 ppm clock error
// allowance the error bound grows by 3.6 ms in that time.
const DefaultHoldoverDuration = time.Hour

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
	Holdover    Holdover
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
// one hour of holdover, no local fallback, leap seconds stepped, TAI − UTC
// 37 s.
func DefaultConfig() Config {
	return Config{
		Selection:        selection.DefaultConfig(),
		Servo:            "kalman",
		Policy:           servo.DefaultPolicy(),
		Precision:        -20,
		MaxClockErrorPPB: 1000,
		TickInterval:     time.Second,
		StartupWait:      8 * time.Second,
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
	if c.StartupWait < 0 {
		errs = append(errs, fmt.Errorf("startup_wait %v: want ≥ 0", c.StartupWait))
	}
	if c.Holdover.After < 0 {
		errs = append(errs, fmt.Errorf("holdover.after %v: want ≥ 0", c.Holdover.After))
	}
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
