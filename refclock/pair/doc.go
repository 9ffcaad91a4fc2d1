// Package pair labels PPS edges with the UTC second they began, from the
// GNSS time-of-day reports that follow them: the role of linuxptp's
// ts2phc, without its known failure modes (reference ptp-gnss §7).
//
// A Pairer takes edges (refclock.Edge on the device's timescale, with the
// edge's approximate CLOCK_REALTIME, which the caller supplies) and
// reports (refclock.TimeOfDay, received on CLOCK_REALTIME), and decides,
// per input, a typed Verdict (String values are metric labels; Counts
// counts them). An accepted edge comes with its label and the offset for
// the discipline engine: offset = label (+ TAI − UTC when the offset is on
// TAI) − Edge.At, package clock's sign (reference − local).
//
// # What it does differently from ts2phc
//
//   - Late NMEA mislabelling the second: ts2phc took the latest RMC and
//     rounded its time plus the elapsed interval to the nearest second,
//     one second wrong once sentences came more than 500 ms after the
//     edge. Here an edge is paired with the report received in the window
//     [edge + MinDelay, edge + MaxDelay) that follows it (default 0…950
//     ms), the report names the second that began at the edge (or the one
//     before or after: LabelOffset), a label is never rounded (a
//     fractional one is rejected), and every label must continue the
//     chain of previous labels by exactly the seconds elapsed: a report
//     that slipped into the next edge's window breaks the chain instead of
//     shifting the time by a second.
//   - Ambiguity: two different reports in one window, an edge without a
//     report, a report without an edge, an invalid fix, a report that
//     arrives after its window was settled: each is rejected with its own
//     verdict, never guessed. (Edge polarity is the device's business: an
//     Edge is an assert edge.)
//   - Leap seconds: time.Time cannot say 23:59:60 (ts2phc's mktime
//     overflowed on it). A receiver's 23:59:60 reaches the Pairer
//     normalised to 00:00:00 of the next day or clamped to a repeated
//     23:59:59; on a day whose reports announce an insertion
//     (TimeOfDay.Leap) the chain expects 23:59:60 after 23:59:59 and
//     00:00:00 after that, and carries TAI − UTC across. On TAI the leap
//     second is an ordinary second; on UTC its edge is labelled but yields
//     no sample (VerdictLeapSecond). Deletions skip 23:59:59 likewise.
//     A report marked TimeOfDay.Second60 that no earlier report announced
//     (NMEA carries no announcement) ends the chain: its edge gets
//     VerdictLeapSecond and no chain starts from it.
//   - A new chain needs Config.Confirm consecutive consistent labels
//     before its edges are accepted (default 3), so a single bad report
//     after a start or a break cannot steer the clock.
//
// # Timing
//
// Decisions depend on windows closing, so they come out of Advance(now),
// which settles what has been quiet for Config.Grace; Deadline says when
// to call it next. The caller's realtime readings must come from one
// clock; after that clock is stepped, Reset.
//
// # Not here
//
// No I/O, no time.Now, no goroutines, no allocation with an out slice of
// MaxOutcomes spare capacity; not safe for concurrent use. Parsing NMEA or
// gpsd, reading PPS devices, translating PHC time and filtering offsets
// belong to refclock's device packages and to the sources
// (source/gnsssource) that run them.
package pair
