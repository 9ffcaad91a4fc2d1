package clock

import (
	"errors"
	"time"
)

// Clock is a readable clock. Now returns wall time with no monotonic reading.
type Clock interface {
	Now() time.Time
}

// Served is a clock that servers hand out. Besides reading it, servers
// convert kernel timestamps, which are taken on CLOCK_REALTIME, into its
// timescale.
type Served interface {
	Clock
	// FromRealtime converts a CLOCK_REALTIME reading (for example a kernel
	// software packet timestamp) to this clock's time.
	FromRealtime(t time.Time) time.Time
}

// Steerable is a clock whose rate and phase can be adjusted.
type Steerable interface {
	Clock
	// AdjustFrequency sets the frequency correction in ppb (positive = faster).
	AdjustFrequency(ppb float64) error
	// Frequency returns the current frequency correction in ppb.
	Frequency() (float64, error)
	// Step moves the clock by d (positive = forward).
	Step(d time.Duration) error
}

// ErrFrequencyRange is returned (wrapped) by AdjustFrequency beyond the
// clock's limit; nothing was changed.
var ErrFrequencyRange = errors.New("clock: frequency correction out of range")

// Optional abilities of a steerable clock, beyond Steerable. Callers
// type-assert a Steerable against them.

// FrequencyLimits is a clock with a hard limit on its frequency correction;
// AdjustFrequency beyond it fails with ErrFrequencyRange.
type FrequencyLimits interface {
	// MaxFrequency returns the largest |correction| in ppb.
	MaxFrequency() float64
}

// LeapSetter is a clock whose kernel inserts or deletes a leap second itself
// at the next UTC midnight when armed (CLOCK_REALTIME).
type LeapSetter interface {
	// SetLeap arms (LeapInsert, LeapDelete) or disarms (LeapNone) the
	// clock's leap second, changing nothing else.
	SetLeap(l Leap) error
}

// SyncSetter is a clock that carries a synchronisation status and error
// bounds for other readers (adjtimex: STA_UNSYNC, maxerror, esterror).
type SyncSetter interface {
	// SetSync marks the clock synchronised with the given maximum and
	// estimated error.
	SetSync(maxErr, estErr time.Duration) error
	// SetUnsync marks the clock unsynchronised.
	SetUnsync() error
}

// TAISetter is a clock that keeps TAI − UTC (the kernel's CLOCK_TAI offset).
type TAISetter interface {
	// SetTAIOffset sets TAI − UTC in seconds.
	SetTAIOffset(sec int) error
}
