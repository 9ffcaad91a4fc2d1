// Package source is the plug-in point of time sources and the lifecycle
// that runs them: sources → engine → SyncState. A Source (an NTP poller, a
// PHC, PPS, GNSS time of day, a scripted reference in a test) lists its
// references and runs; a Runner registers those references with one
// discipline engine (clock/engine), runs every source and the engine's one
// owner goroutine, and hands the sources' samples to the engine. The
// engine is sans-IO and knows nothing of this package; sub-packages adapt
// concrete sources (source/ntpsource: ntp/upstream).
//
// # Goroutines and ownership
//
// Runner.Run starts one goroutine per Source (Source.Run, which may start
// its own) and the discipline goroutine (Runner.loop). The discipline
// goroutine owns the Engine: it alone calls Engine.Sample and Engine.Tick,
// and so it alone steers the clock and publishes the SyncState the servers
// read from the StateCell. The engine is the only publisher of that cell,
// for every clock mode, the local reference included.
//
// A source reaches the engine two ways. Each reference's engine.Reporter
// answers "what do you know now" on the discipline goroutine at every
// selection round (it must be safe against the source's own goroutines;
// the NTP source reads an upstream.Cache under a mutex). Each accepted
// sample goes to the Sink the source was given, which puts it on a bounded
// channel to the discipline goroutine; when the channel is full the sample
// is dropped and counted (Stats.Dropped) so that a source never blocks. A
// source's own history (a clock filter) already holds the sample, so a
// dropped sample costs the servo one update, not selection its estimate.
//
// # Steps
//
// When the engine steps the clock (makestep or leap second; Engine.Stepped
// changes, also when it accounts for a leap the kernel carried out in
// engine.LeapModeSystem), every stored sample and every measurement in
// flight is on the old timescale. The engine clears its own histories and
// calls ResetSamples on every Reporter; the Runner marks every reference
// unusable and calls Restart on every source that implements Restarter (in
// a goroutine, retried while the source refuses). Each forwarded sample
// carries its source's restart generation at the time it was delivered;
// samples of an older generation straddle the step or predate it and are
// discarded (Stats.Straddled). A reference is usable again with its first
// sample of the new generation. Sources without history skip the restart:
// their generation moves at once.
//
// # More than one clock
//
// One Runner disciplines one clock. A daemon that steers a PHC from PPS and
// the system (or virtual) clock from that PHC runs two Runners, each with
// its own engine and StateCell, chained through a source of the second that
// measures its clock against the first's.
//
// # Not here
//
// Selection, the servo and the SyncState (clock/engine); the protocol
// cores (ntp/client); sockets (ntp/upstream, hwts).
package source
