// Package driver runs the discipline engine (clock/engine) against real
// upstream NTP servers polled by ntp/upstream: the one I/O loop of gnomond's
// clock discipline.
//
// # Goroutines and ownership
//
// Driver.Run starts two goroutines. ntp/upstream's owner goroutine polls the
// servers, owns the ntp/client cores and calls the Sink. The discipline
// goroutine (Driver.loop) owns the Engine: it alone calls Engine.Sample and
// Engine.Tick, and so it alone steers the clock and publishes the SyncState
// the NTP server reads from the StateCell.
//
// The Sink is an upstream.Cache in front of a forwarder. The Cache keeps each
// source's latest client.Estimate under a mutex; the engine's Reporters read
// it (Cache.Estimate ages it to the evaluation time) and never touch a core.
// The forwarder hands each accepted sample to the discipline goroutine over a
// bounded channel; when the channel is full the sample is dropped and counted
// (Stats.Dropped) so that upstream's goroutine never blocks. The clock filter
// already holds the sample, so a dropped sample costs the servo one update,
// not selection its estimate.
//
// # Steps
//
// When the engine steps the clock (makestep or leap second; Engine.Stepped
// changes, also when it accounts for a leap the kernel carried out in
// engine.LeapModeSystem), every stored sample and every request in flight is on the old
// timescale. The engine clears its own histories and calls ResetSamples on
// every Reporter; the driver then asks upstream to restart all associations
// (Upstream.RestartAll) and marks the restart done only when a Status request
// queued after it has been served (upstream's control queue is FIFO). Each
// forwarded sample carries the restart generation in force when upstream
// produced it; samples of an older generation straddle the step or predate
// it and are discarded (Stats.Straddled). Until a source delivers a sample of
// the new generation its Reporter says it is not usable.
//
// # Host names
//
// The reference ID served while a source is the system peer comes from its
// address. For a source configured by host name, a third goroutine
// (watchAddrs) copies the address upstream resolved from upstream's Status
// into the source's Reporter (atomically): every 2 s until every name is
// resolved, then every 64 s.
//
// # Not here
//
// Reference clocks (PHC, PPS, GNSS), per-source sockets, and steering the
// servo from a combination of several sources' samples.
package driver
