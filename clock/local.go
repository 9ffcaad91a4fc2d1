package clock

import "time"

// RefIDLocal is the reference ID chrony uses in `local` mode (127.127.1.1).
const RefIDLocal uint32 = 0x7F7F0101

// Local is the "local" reference: it declares the served clock correct as
// it is, like chrony's `local stratum N`. It only describes the state; the
// discipline engine publishes it (engine.Config.Local) when no source is
// selectable, so that the engine is the one publisher of SyncState.
type Local struct {
	Stratum   uint8
	Precision int8
	// RootDispersion declared for the local clock itself.
	RootDispersion time.Duration
}

// State returns the SyncState of the local reference at time now.
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
		ClockAccuracy:  ClockAccuracyUnknown,
		// The local reference's error is declared, not measured.
		OffsetScaledLogVariance: VarianceNotComputed,
		TimeSource:              TimeSourceInternalOscillator,
		UTCOffset:               DefaultTAIOffset,
		Source:                  "local",
	}
}
