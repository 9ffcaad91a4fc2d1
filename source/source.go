package source

import (
	"context"

	"github.com/gnomon-time/gnomon/clock/engine"
)

// Source is a time source plugged into a discipline engine through a
// Runner: an NTP poller, a PHC, a PPS input, a GNSS receiver's time of day,
// a scripted reference in a test. It measures one or more references, each
// of which becomes one engine source (an NTP poller has one per server).
//
// The Runner calls Refs once, before Run, and registers every reference with
// the engine; it then calls Run once. Run measures until ctx ends (and then
// returns nil) or fails (and returns why). Everything it learns reaches the
// engine in two ways, both safe against Run's goroutines:
//   - each reference's Reporter says what the reference knows now (offset
//     estimate, delay, dispersion, stratum, reference ID, leap, reach); the
//     engine asks it on its own goroutine at every selection round;
//   - each accepted measurement goes to out.Sample, which may steer the
//     clock when the reference is the system peer.
type Source interface {
	Refs() []Ref
	Run(ctx context.Context, out Sink) error
}

// Ref is one reference of a Source as the engine sees it.
type Ref struct {
	// Config is the engine's view of the reference: a unique ID, its
	// address (the reference ID served while it is the system peer) and
	// its selection options.
	Config engine.SourceConfig
	// Reporter answers for the reference on the engine's goroutine. The
	// Runner hides its estimate after a step of the clock until the
	// reference delivers a sample taken after the step.
	Reporter engine.Reporter
}

// Sink receives a source's accepted samples. Sample never blocks: when the
// engine's queue is full the sample is dropped and counted (the source's own
// history, such as a clock filter, still has it, so selection loses
// nothing; the servo loses one update). ref is the index of the reference
// in Refs. It is safe from any goroutine.
type Sink interface {
	Sample(ref int, s engine.Sample)
}

// Restarter is a source whose history must be cleared when the clock is
// stepped (makestep or a leap second): its stored samples and its
// measurements in flight are on the old timescale. Restart clears the
// history of every reference and returns once every sample the source
// delivers afterwards is on the new timescale; until then the Runner
// discards what the source delivers. A source that keeps no history across
// samples need not implement it.
type Restarter interface {
	Restart(ctx context.Context) error
}
