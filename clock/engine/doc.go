// Package engine is gnomon's clock discipline core: the one place that
// decides what time it is, how sure it is, and how to steer the clock.
//
// It is sans-IO in the sense of package ntp: it owns no sockets, starts no
// goroutines and never sleeps. The shell (source.Runner, or the simulator
// in package scenario) feeds it
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
// The servo is told when its decision takes effect
// (servo.Measurement.ApplyAt = the engine's now: a PPS edge reaches the
// engine ~1.05 s after it, once its pairing window has closed, i.e. after
// the next edge) and the sample's Dispersion (a reference clock's stated
// precision lowers the Kalman servo's noise floor). A discarded sample's
// frequency is still set: the Kalman servo ends there the phase slew that
// was meant to last only until that sample.
//
// # Modes (Status.Mode, SyncState)
//
// free-run (unsynchronised or local) → locking → locked → holdover
// (within specification → out of it) → free-run; an update during
// holdover recovers to locking or locked.
//
//   - unsynchronised: nothing ever selected (or holdover expired) and no
//     local fallback: LI=3, stratum 16 (servers put 0 on the wire),
//     clock.ClockClassDefault (248).
//   - locking: a source is selected and the servo updates the clock, but
//     its offset has not yet been within Lock.Threshold (100 µs) for
//     Lock.Updates (4) consecutive updates (linuxptp's
//     servo_offset_threshold / servo_num_offset_values). Served exactly
//     as locked (stratum = peer + 1, the peer's reference ID: chrony's
//     clients expect them as soon as a source is selected) except for
//     PTP: clockClass 248, nothing traceable. 248 and not a
//     holdover-out-of-specification class because the clock has not been
//     locked, which those classes say it was (G.8275.1: a T-GM is at 248
//     until locked). A makestep, or Lock.Updates consecutive offsets
//     beyond the threshold, brings a locked engine back here.
//   - locked: the lock criterion holds and the servo has made a clock
//     update within Holdover.After (default three poll intervals of the
//     peer, at least 16 s). Stratum = peer + 1, reference ID of the peer
//     (a reference clock's own: "GPS", "PPS", "PHC" at stratum 1),
//     reference time = last update, clock.ClockClassLocked (6).
//   - holdover: no update for Holdover.After: the clock keeps the last
//     frequency estimate (the servo's phase slew is removed), the state
//     keeps the last reference time, and root dispersion and error bound
//     grow at Holdover.StabilityPPB (default MaxClockErrorPPB) plus the
//     estimate's uncertainty, plus ½·Holdover.WanderPPBPerHour·t² (t from
//     the last update; published as the secant slope to the next tick, so
//     the linear SyncState covers it). The state is re-based at the entry
//     so that the bound is continuous there. Within specification
//     (Holdover.InSpec from the start of holdover, default all of it, and
//     the bound ≤ Holdover.InSpecErrorBound if set): clockClass 7,
//     stratum kept. Past it: Holdover.OutOfSpecClass (52 by default; 187,
//     or G.8275.1's 140/150/160), timeTraceable off (frequencyTraceable
//     kept only at 140/150, which claim a physical-layer frequency
//     reference), stratum max(stratum + OutOfSpecStratumAdd,
//     OutOfSpecStratum) ≤ 15. A holdover entered while still locking is
//     out of specification from its start at class 248. After
//     Holdover.Duration (from its start) the engine degrades to local or
//     unsynchronised.
//   - recovery: the first update during holdover slews the clock when
//     the combined offset is within Holdover.RecoverySlewLimit (default
//     the makestep threshold): locked at once if it is also within
//     Lock.Threshold, else locking. Beyond the limit the update steps the
//     clock by it, as chronyc makestep does, when steps are allowed at all
//     (Policy.StepThreshold > 0; a recovery is a new acquisition, so
//     StepLimit's count does not apply), and the engine is locking.
//     EventSink.Recovered reports it; Status counts RecoveriesSlewed and
//     RecoveriesStepped (and HoldoverEntries, HoldoverOutOfSpecs). An
//     update after holdover has expired (free-run) is no recovery: the
//     servo restarts and slews, as before.
//   - local: chrony's `local stratum N`: with no source, serve the clock
//     as it is at stratum N, reference ID 127.127.1.1,
//     clock.ClockClassDefault (248).
//
// The rest of the PTP quality follows the mode. Locked and holdover: the
// TimeSource of the system peer (SourceConfig.TimeSource: source/ntpsource
// says clock.TimeSourceNTP for NTP upstreams; a source that does not say is
// published as clock.TimeSourceOther), ClockAccuracy = clock.ClockAccuracyFor
// the error bound grown to the instant the state is built (so in holdover
// it worsens from tick to tick), TimeTraceable and FrequencyTraceable set
// while locked and in holdover within specification, as a telecom
// grandmaster's clockClass 7 does (not while locking or out of
// specification, see above). Local and unsynchronised: the
// clock runs free, so TimeSourceInternalOscillator, ClockAccuracyUnknown
// (a local reference declares its bound, it does not measure it) and
// nothing traceable. OffsetScaledLogVariance is clock.VarianceNotComputed
// in every mode: no stability estimate is made yet.
//
// # Disruption (Engine.Disrupt)
//
// A disruption of the counter under the clock (a VMClock device's marker
// changed: live migration, snapshot restore; source.Runner.Disrupt, wired
// by gnomond to phcsource's OnDisruption) is an input like MakeStep and
// ResetSources, on the owner goroutine. The published state is re-based
// at once: its bound and root dispersion at that instant plus the widen
// given (an allowance for the unknown jump), growing at
// Config.DisruptionRatePPB (100 ppm) more than before until the next clock
// update, and Disrupted (SyncState, Status, report.Served and Tracking)
// until the engine is locked again. The state stays synchronised rather
// than unsynchronised: NTP clients keep a server whose dispersion says how
// unsure it is, and ClockBound readers are told "disrupted" by the
// Disrupted flag (package clockbound) whatever the bound; an unsynchronised
// state would have made package clockbound serve the pre-disruption bound
// as free-running. The sources are reset (as ResetSources); the servo is
// rebuilt at the next update from the clock's current frequency with the
// step policy of a fresh start (Policy.StepLimit counts again); locked
// falls back to locking (class 248), a holdover leaves its specification;
// Status.Disruptions counts. The engine cannot know of a disruption
// before it is told (up to one poll of the source that reads the marker).
//
// # Events
//
// State changes go to Config.Sink (an EventSink; gnomond's LogSink logs
// them): steps, system peer changes, mode changes, leaps armed and
// cancelled, holdover leaving its specification, recoveries, and a source
// becoming a falseticker (outside the majority's intersection, or no
// majority at all, when nothing is selected) or ceasing to be one, and a
// clock update that finds the clock more than 1 s off (chronyd's
// logchange) without stepping it: once the makestep limit is spent, a
// source that jumps by an hour is slewed toward at servo.maxslew, never
// stepped to, and the published root dispersion and error bound hold the
// offset.
//
// # Error bound
//
// ErrorBound = |offset| + root dispersion + root delay / 2 at the reference
// time (the definition; RFC 5905's root dispersion already holds
// |offset|, so this is conservative). It grows at DispersionRate =
// MaxClockErrorPPB + the frequency uncertainty (the Kalman servo's σ, or
// for other servos the spread of the recent frequency corrections) per
// second after the reference time (in holdover, the holdover rate above);
// ErrorBoundAt evaluates it.
//
// # Leap seconds
//
// The leap indicator is the majority of the truechimers (selection), or,
// when a LeapSource (a leap-seconds table, clock/leap) is configured, the
// table's. TAI − UTC (SyncState.UTCOffset, Status.TAIOffset) is the
// table's when there is one, otherwise Config.TAIOffset
// (clock.DefaultTAIOffset) moved by each leap carried out. It is published
// as valid (UTCOffsetValid, Status.TAIOffsetValid; PTP's
// currentUtcOffsetValid) when it comes from a table that does not report
// itself expired (a LeapSource with an Expired method, as leap.Table has),
// or once a leap has been carried out; never while it is only the
// configured default. Validity says where the number comes from in every
// mode, not whether the clock is right (that is TimeTraceable). A leap is armed only on the last day of a month (RFC 5905
// §7.3) and nothing is cancelled in the last 2 s before it. What happens
// at the leap is Config.LeapMode, named after chronyd's leapsecmode:
//
//   - LeapModeStep: the engine steps the steered clock at its UTC
//     midnight: −1 s at 24:00:00 for an insertion (23:59:59 is repeated,
//     as the kernel does), +1 s at 23:59:59 for a deletion. Upstream
//     servers jump at the same instant, so the leap step is a change of
//     timescale, not a correction: it is not shown to the servo, the
//     sources' sample histories are reset (a sample straddling the leap
//     would be off by 0.5 s with a negative delay), and samples taken from
//     1 ms before to 2 s after the leap instant are discarded.
//   - LeapModeSystem: the kernel does it. The steered clock must be a
//     clock.LeapSetter (CLOCK_REALTIME, clock.mode system). The engine
//     arms it (SetLeap: STA_INS/STA_DEL) while a leap is armed, i.e. only
//     on the last day, disarms it when the announcement goes away, and
//     after the leap (the kernel waits in TIME_WAIT until then). The
//     kernel steps at its own midnight, exactly; the engine sees it only
//     when its clock reads 24:00:00 a second time and then does the
//     bookkeeping of a step (counted as a leap step, sources reset). From
//     1 s before the armed instant on, samples are discarded, and LI keeps
//     being published during the repeated 23:59:59 (the engine cannot
//     tell it from the first; the day has not ended). This is chronyd's
//     default, leapsecmode system.
//   - LeapModeSmear: the engine's clock follows UTC exactly as in
//     LeapModeStep, but servers read Served, a SmearClock: continuous
//     time (the engine's clock + 1 s from the leap step on, for an
//     insertion) plus leap.Smear.Offset, chrony's quadratic smear
//     (smoothtime 400 0.001024 leaponly: 62,500 s, ≤ 32 ppm). The step
//     and the SmearClock's new shift are published as one change under a
//     sequence counter, so served time never jumps, whenever the step
//     happens; at the end of the smear served time equals the engine's
//     clock exactly and the parameters are dropped. The published state
//     never carries LI 1 or 2 and its reference ID is leap.RefIDSmear
//     (127.127.1.255) while the smear is in progress (leap.Smear.Apply,
//     judged on the continuous clock; Tick returns the smear's end so the
//     reference ID changes on time); Status.Leap keeps the engine's
//     decision. Why not the alternative (leave the engine's clock
//     continuous for the 17 h, add 1 s to every measured offset, step at
//     the end): that needs the same atomic step-and-swap at the end, a
//     second sample path, and leaves the disciplined (possibly system)
//     clock 1 s off UTC for hours; this way the clock, the sample path
//     and the leap bookkeeping are those of LeapModeStep.
//   - LeapModeNone announces the leap but leaves the clock alone.
//
// The kernel is armed in LeapModeSystem only; a clock with the kernel's
// abilities is disarmed at the first Tick or Sample in every mode (a bit
// left by an earlier daemon would fire at the next midnight). Such a
// clock (clock.SyncSetter) is also marked unsynchronised at the start and
// on the way to unsynchronised or local, and synchronised after every
// clock update with maxerror = the error bound and esterror = the RMS of
// the last offsets; with a LeapSource, clock.TAISetter gets TAI − UTC.
// New does no I/O.
//
// # Reports
//
// report.go fills package report's structs from the published snapshots:
// Status.TrackingReport, SourcesReport, SourceStatsReport and
// SelectDataReport (chronyc's tracking, sources, sourcestats, selectdata)
// and ServedReport for any published SyncState (source.Runner serves them
// to readers). They read only snapshots, so
// they are safe from any goroutine; the caller passes the time, read from
// the served clock.
//
// # Sources and the loop around the engine
//
// The engine sees a source as a SourceConfig and a Reporter, and receives
// its samples through Sample; it imports nothing of the sources. The
// plug-in point is package source: every time source implements
// source.Source, and source.Runner owns the Engine on its discipline
// goroutine, registers the sources' references, forwards their samples
// over a bounded channel and restarts them after a step.
//
// # Not here
//
// The UDP transport (ntp/upstream), the I/O loop (package source),
// gnomond wiring and config keys (cmd/gnomond, config), orphan mode
// between several local servers. A smear in progress is not restored
// after a restart (neither does chrony's): a restarted smearing server
// serves UTC at once.
package engine
