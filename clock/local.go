package clock

import (
	"context"
	"time"
)

// RefIDLocal is the reference ID chrony uses in `local` mode (127.127.1.1).
const RefIDLocal uint32 = 0x7F7F0101

// Local is the "local" time source: it declares the served clock correct as
// it is, like chrony's `local stratum N`. Until the discipline engine exists
// it is the only source. It republishes its state every Interval so that the
// reference time advances but is never "now" (chronyd and ntpd flag a
// reference time equal to the transmit time as an inconsistent host).
type Local struct {
	Clock     Clock
	Cell      *StateCell
	Stratum   uint8
	Precision int8
	// RootDispersion declared for the local clock itself.
	RootDispersion time.Duration
	Interval       time.Duration
}

// State returns the SyncState the local source publishes at time now.
func (l *Local) State(now time.Time) *SyncState {
	disp := l.RootDispersion
	return &SyncState{
		Synchronized:   true,
		Leap:           LeapNone,
		Stratum:        l.Stratum,
		RefID:          RefIDLocal,
		RefTime:        now,
		RootDispersion: disp,
		DispersionRate: DefaultDispersionRate,
		Precision:      l.Precision,
		ErrorBound:     disp,
		ClockClass:     ClockClassDefault,
		UTCOffset:      DefaultTAIOffset,
		Source:         "local",
	}
}

// Run publishes the local state now and then every Interval until ctx ends.
func (l *Local) Run(ctx context.Context) error {
	iv := l.Interval
	if iv <= 0 {
		iv = 16 * time.Second
	}
	l.Cell.Store(l.State(l.Clock.Now()))
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			l.Cell.Store(l.State(l.Clock.Now()))
		}
	}
}
