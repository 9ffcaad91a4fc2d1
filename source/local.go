package source

import (
	"context"
	"time"

	"github.com/gnomon-time/gnomon/clock/engine"
)

// Fallback is a source that stands in when no reference is selectable
// instead of measuring anything: the engine then serves its clock as it
// is, declared synchronised (engine.ModeLocal). A Runner takes at most one.
type Fallback interface {
	Fallback() engine.Local
}

// Local is the local reference as a source (chrony's `local stratum N`):
// configured, built and run like every other source, it has no references
// to measure and offers itself as the engine's fallback. Through it the
// engine, the one publisher of SyncState, publishes the local state.
type Local struct {
	// Stratum to serve at (1 … 15).
	Stratum uint8
	// RootDispersion declared for the local clock.
	RootDispersion time.Duration
}

// Refs implements Source: the local reference measures nothing.
func (l *Local) Refs() []Ref { return nil }

// Run implements Source: there is nothing to do until ctx ends.
func (l *Local) Run(ctx context.Context, _ Sink) error {
	<-ctx.Done()
	return nil
}

// Fallback implements Fallback.
func (l *Local) Fallback() engine.Local {
	return engine.Local{Stratum: l.Stratum, RootDispersion: l.RootDispersion}
}
