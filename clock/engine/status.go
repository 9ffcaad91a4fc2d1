package engine

import (
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/clock/servo"
)

// Status is an immutable snapshot of the engine for status displays
// (chronyc tracking, sources, sourcestats) and metrics. It is published
// with every change, alongside the SyncState.
type Status struct {
	// Now is the local time of the snapshot.
	Now  time.Time
	Mode Mode
	// Servo and its state.
	Servo      string
	ServoState servo.State
	// Peer is the system peer's ID ("" for none).
	Peer string
	// From the last clock update (tracking):
	Stratum        uint8
	RefID          uint32
	RefTime        time.Time
	RootDelay      time.Duration
	RootDispersion time.Duration
	// LastOffset is the combined offset at the last update (reference −
	// local, before the correction); RMSOffset the RMS of the last 16.
	LastOffset time.Duration
	RMSOffset  time.Duration
	// ErrorBound at RefTime and the rate (s/s) at which it grows.
	ErrorBound     time.Duration
	DispersionRate float64
	// FrequencyPPB is the correction in force; FreqEstimatePPB the
	// correction that cancels the oscillator's estimated error (what
	// holdover keeps); SkewPPB its uncertainty.
	FrequencyPPB    float64
	FreqEstimatePPB float64
	SkewPPB         float64
	// UpdateInterval is the mean time between clock updates.
	UpdateInterval time.Duration
	// Leap is the engine's decision (LeapUnsync when unsynchronised),
	// announced to clients except in LeapModeSmear.
	Leap clock.Leap
	// LeapAt is the local time an armed leap happens (zero if none).
	LeapAt time.Time
	// TAIOffset is TAI − UTC in seconds; TAIOffsetValid says it comes
	// from the leap table or a leap carried out, not the default
	// (SyncState.UTCOffsetValid).
	TAIOffset      int
	TAIOffsetValid bool
	// KernelLeap is what the kernel is armed with (LeapModeSystem).
	KernelLeap clock.Leap
	// Smearing is true while a leap smear is in progress (LeapModeSmear);
	// SmearOffset is served − steered clock now (0 … −1 s after an
	// insertion, counting down to the end of the smear).
	Smearing    bool
	SmearOffset time.Duration
	// ClockClass is the PTP clockClass published (SyncState.ClockClass);
	// HoldoverOutOfSpec is true in holdover past its specification
	// (Config.Holdover.InSpec, InSpecErrorBound) or entered while still
	// locking; HoldoverStart is when the current holdover began (zero
	// outside holdover).
	ClockClass        clock.ClockClass
	HoldoverOutOfSpec bool
	HoldoverStart     time.Time
	// Counters since start.
	Updates   uint64 // clock updates (servo decisions applied)
	Steps     uint64 // makestep steps
	LastStep  time.Duration
	Discarded uint64 // samples the servo discarded
	LeapSteps uint64
	// HoldoverEntries counts entries into holdover, HoldoverOutOfSpecs
	// departures from its specification; RecoveriesSlewed and
	// RecoveriesStepped count sources returning during holdover by how
	// the clock was brought back (Config.Holdover.RecoverySlewLimit). A
	// recovery step is also counted in Steps.
	HoldoverEntries    uint64
	HoldoverOutOfSpecs uint64
	RecoveriesSlewed   uint64
	RecoveriesStepped  uint64
	// Disrupted is true from a disruption of the clock's counter
	// (Engine.Disrupt) until the engine is locked again; Disruptions
	// counts them since start and DisruptedAt is the local time of the
	// last (zero if none).
	Disrupted   bool
	Disruptions uint64
	DisruptedAt time.Time
	Sources     []SourceStatus
}

// SourceStatus is one source's line in chronyc sources / sourcestats.
type SourceStatus struct {
	ID   string
	Addr netip.Addr
	// RefClockID is a reference clock's ID (SourceConfig.RefClockID; 0 for
	// an NTP server).
	RefClockID uint32
	State      selection.State
	// Options are the source's selection options (as configured; nothing
	// changes them at run time).
	Options selection.Options
	// Reason says why (selection.Reason.Char gives chronyc's letter).
	Reason selection.Reason
	Weight float64
	// From the source's report.
	Usable         bool
	Stratum        uint8
	RefID          uint32
	Leap           clock.Leap
	Poll           int8
	Reach          uint8
	RootDelay      time.Duration
	RootDispersion time.Duration
	// Offset is the clock-filter estimate referred to now (reference −
	// local); Delay, Dispersion and Jitter are the filter's; Distance is
	// the root distance λ.
	Offset     time.Duration
	Delay      time.Duration
	Dispersion time.Duration
	Jitter     time.Duration
	Distance   time.Duration
	// LastSample is the latest raw sample (chronyc sources' "last sample").
	LastSample Sample
	// Sourcestats, by regression over the last 16 samples: NP samples,
	// residual frequency (the rate at which the offset changes, ppb) and
	// its standard error (skew), the offset estimated for now and the
	// residuals' standard deviation.
	NP           int
	ResidFreqPPB float64
	SkewPPB      float64
	EstOffset    time.Duration
	StdDev       time.Duration
}
