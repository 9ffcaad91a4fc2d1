package clock

import "time"

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
