package clock

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotSteerable is returned (wrapped) by Unsteered's steering methods.
var ErrNotSteerable = errors.New("clock: not steerable")

// Unsteered presents a clock that gnomond must not adjust (clock.mode none:
// CLOCK_REALTIME served as it is) as a Steerable, so that the discipline
// engine can publish its state (local reference or unsynchronised) like
// for any other clock. Its frequency correction is 0; every request to
// change it or to step fails with ErrNotSteerable, so an engine that tried
// would stop with an error rather than pretend. An engine without sources
// never steers.
type Unsteered struct {
	Served
}

// AdjustFrequency accepts only 0, the correction in force.
func (u Unsteered) AdjustFrequency(ppb float64) error {
	if ppb != 0 {
		return fmt.Errorf("adjust frequency by %g ppb: %w", ppb, ErrNotSteerable)
	}
	return nil
}

// Frequency returns 0: the clock runs as it is.
func (u Unsteered) Frequency() (float64, error) { return 0, nil }

// Step always fails.
func (u Unsteered) Step(d time.Duration) error {
	return fmt.Errorf("step by %v: %w", d, ErrNotSteerable)
}
