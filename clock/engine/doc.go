// Package engine is gnomon's clock discipline core: the one place that
// decides what time it is, how sure it is, and how to steer the clock.
//
// It is sans-IO in the sense of package ntp: it owns no sockets, starts no
// goroutines and never sleeps. The shell (or the simulator in
// clock/scenario) feeds it
//
//   - raw samples of each source as they arrive (Engine.Sample), and
//   - a periodic tick (Engine.Tick), which returns when it wants the next,
//
// and the engine runs selection (clock/selection) over every source's
// current estimate, feeds the system peer's new samples to the servo
// (clock/servo), applies the servo's decisions and the step policy to the
// injected clock.Steerable, and publishes an immutable *clock.SyncState to
// a clock.StateCell and a richer *Status (tracking, sources, sourcestats)
// through an atomic pointer. The only time it reads is the injected
// clock's Now. One goroutine owns an Engine; the published snapshots are
// safe to read from any goroutine.
//
// # Signs and units
//
// As in package clock: offset = reference − local (positive: the clock is
// behind), frequencies in ppb with positive meaning faster, steps positive
// forward.
//
// # Steering and the samples of the other sources
//
// The servo is fed raw samples of the system peer (offset, delay and
// local receive time, exactly as measured), never a filtered or combined
// value: a servo that knows the delay of each sample (the Kalman servo)
// weighs them better than a clock filter that throws seven in eight away.
// Selection runs over each source's clock-filter estimate, which may be
// several polls old; the engine refers those offsets to the present by
// removing what it did to the clock since (steps and the integral of the
// frequency correction, relative to its current frequency estimate), as
// chrony's SRC_SlewSamples does for slews. After a step (makestep or
// leap) the sources' histories are reset instead: their clock filters'
// offsets and jitter, and requests in flight, are on the old timescale.
// The combined offset of the survivors (RFC 5905 §11.2.3) goes into the
// published offset, root dispersion and error bound. For steering, a
// combined source's sample is used when the peer has not produced an
// update for a poll interval (Engine.steers); a weighted combination of
// several sources' samples for the servo is not done yet.
//
// # Modes (Status.Mode, SyncState)
//
//   - unsynchronised: nothing ever selected (or holdover expired) and no
//     local fallback: LI=3, stratum 16 (servers put 0 on the wire),
//     clockClass 248.
//   - locked: the servo has made a clock update within Holdover.After
//     (default three poll intervals of the peer, at least 16 s). Stratum = peer + 1,
//     reference ID of the peer, reference time = last update, clockClass 6.
//   - holdover: no update for Holdover.After: the clock keeps the last
//     frequency estimate (the servo's phase slew is removed), the state
//     keeps the last reference time so that root dispersion and error
//     bound grow at DispersionRate, clockClass 7. After Holdover.Duration
//     more the engine degrades to local or unsynchronised.
//   - local: chrony's `local stratum N`: with no source, serve the clock
//     as it is at stratum N, reference ID 127.127.1.1, clockClass 248.
//
// # Error bound
//
// ErrorBound = |offset| + root dispersion + root delay / 2 at the reference
// time (the definition; RFC 5905's root dispersion already holds
// |offset|, so this is conservative). It grows at DispersionRate =
// MaxClockErrorPPB + the frequency uncertainty (the Kalman servo's σ, or
// for other servos the spread of the recent frequency corrections) per
// second after the reference time; ErrorBoundAt evaluates it.
//
// # Leap seconds
//
// The leap indicator is the majority of the truechimers (selection), or,
// when a LeapSource (a leap-seconds table, clock/leap) is configured, the
// table's. A leap is armed only on the last day of a month (RFC 5905
// §7.3), announced in the published state until it happens, and with
// LeapModeStep carried out on the steered clock at the UTC midnight of the
// local clock: −1 s at 24:00:00 for an insertion (23:59:59 is repeated,
// as the kernel does), +1 s at 23:59:59 for a deletion. Upstream servers
// jump at the same instant, so the leap step is a change of timescale, not
// a correction: it is not shown to the servo, the sources' sample
// histories are reset (a sample straddling the leap would be off by
// 0.5 s with a negative delay), and samples taken within a second after
// the leap instant are discarded. LeapModeNone announces the leap but
// leaves the clock alone (for a clock whose kernel inserts it, or smeared
// serving, both still to come).
//
// # Driver
//
// The I/O loop around an Engine for NTP upstreams is clock/engine/driver:
// ntp/upstream polls the servers on its own goroutine, the driver's
// discipline goroutine owns the Engine, Reporters read an upstream.Cache,
// and samples cross over a bounded channel.
//
// # Not here
//
// The UDP transport (ntp/upstream), the I/O loop (clock/engine/driver),
// gnomond wiring and config keys (cmd/gnomond, config), kernel leap arming
// (STA_INS), leap smearing, orphan mode between several local servers.
package engine
