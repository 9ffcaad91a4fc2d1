// Package report holds gnomond's status reports as plain structs, the way
// chrony's reports.h does: each part of the daemon fills the report it
// knows about on request (at a scrape, at a control-socket query), and the
// consumers — the Prometheus collector (metrics), the chronyc-compatible
// control socket — read the structs and nothing else. A consumer of a
// report needs no import of the part that filled it.
//
// The package is vocabulary only: types, their String and Char methods,
// no logic that needs the daemon's internals. It imports clock for
// clock.Leap and nothing else of gnomon, so every package may import it.
//
// # Who fills what
//
//   - Served: what servers send right now (gnomon_sync_*): clock/engine's
//     ServedReport from the published clock.SyncState (source.Runner's
//     Served reads its engine's).
//   - Tracking, Source, SourceStats, SelectData (chronyc tracking, sources,
//     sourcestats, selectdata): clock/engine, from its published Status
//     snapshot (Status.TrackingReport and friends);
//     safe from any goroutine. Source.Polls and Source.Timeouts come from
//     the sources that count their polls (the NTP poller): source.Runner's
//     Sources merges them.
//   - DriverStats: the discipline loop's own counters (source.Runner's
//     DriverStats).
//   - ServerStats (chronyc serverstats and gnomon_ntp_*): ntp/serve's
//     Service.ServerStats; its ClientLog part is ntp/clientlog's
//     Log.ClientLogStats.
//   - Client (chronyc clients): ntp/clientlog's Log.Clients pages through
//     the client log's records by slot index.
//   - GNSSStats (gnomon_gnss_*): cmd/gnomond, from source/gnsssource's
//     Counts (pairing verdicts) and what the time-of-day input delivered
//     (gpsd's Client.Status for reconnects).
//
// # Signs and units
//
// As everywhere in gnomon (package clock): offset = reference − local, so a
// positive offset means the local clock is behind and must go forward;
// frequencies are in ppb, a positive correction makes the clock faster.
// Durations are time.Duration; times are on the served clock unless a
// field says otherwise. chronyc prints several of these with the opposite
// sign or in other units; the control socket converts, as follows:
//
//   - tracking "Last offset", sources "Last sample" (both numbers),
//     sourcestats "Offset": chronyc prints local − reference; negate
//     Tracking.LastOffset, Source.Offset, Source.LastSampleOffset and
//     SourceStats.Offset.
//   - tracking "System time" (current_correction) has our sign: positive
//     means the clock is slow of NTP time. Tracking.SystemTimeOffset is not
//     computed yet (see Tracking).
//   - tracking "Frequency" is the error of the uncorrected clock in ppm;
//     Tracking.FreqEstimatePPB is the correction that cancels it. Same
//     magnitude (ppb / 1000), opposite meaning of the sign: a positive
//     estimate (the oscillator is slow, so it is sped up) is chronyc's
//     "ppm slow".
//   - tracking "Residual freq" and sourcestats "Frequency": chronyc's
//     value is the rate of change of local − reference; ours
//     (ResidualFreqPPB, SourceStats.ResidFreqPPB) of reference − local:
//     negate and divide by 1000. "Skew" and "Freq Skew": divide by 1000.
//   - selectdata's interval: chronyc's limits are in its sign: negate and
//     swap SelectData.Lo and Hi.
//   - tracking "Stratum": we report 16 when unsynchronised (as
//     gnomon_sync_stratum does); chronyd sends 0.
//   - Leap status: clock.Leap has chrony's values (0 normal, 1 insert,
//     2 delete, 3 unsynchronised).
//
// # Not computed (yet)
//
// Rather than numbers that look plausible, these are left out or zero and
// say so at their fields: Tracking.SystemTimeOffset (the engine slews by
// frequency and keeps no account of an outstanding correction);
// SourceStats.Runs and SourceStats.Span (the engine's Status snapshot keeps
// only the regression's results); chrony's selection score (Distance and
// Weight are given instead). ServerStats has no fields for command packets
// (the control socket counts those itself), NTS-KE and authenticated NTP
// (not served) or interleaved timestamps held and their span (the client
// log keeps them per record, uncounted). Client has no NTS-KE or command
// columns, and the client log cannot reset its per-client counters.
package report
