// Package gnsssource is a PPS input paired with a GNSS receiver's time of
// day as one source.Source: the reference "GPS" of a stratum-1 server.
//
// It runs a refclock.EdgeSource (a PHC's EXTTS channel, a kernel PPS
// device) and a refclock.TimeOfDaySource (NMEA, gpsd) on their own
// goroutines, pairs their inputs on a third with refclock/pair (which
// labels each edge with the UTC second it began, never rounding, and
// rejects what it cannot label with certainty), and delivers each
// accepted edge to the engine as a sample: Local = the disciplined clock's
// reading at the edge (Config.ToLocal of the device stamp), Offset =
// label − Local (package clock's sign), Dispersion = Config.Precision.
//
// Its one reference reports stratum 0 (the engine serves stratum 1),
// clock.TimeSourceGNSS, the receiver's leap announcement, and a clock
// filter (clock/filter) of the accepted samples; it is usable only while
// edges keep being accepted: once the last is older than Config.Timeout (a
// receiver that stopped talking, a pulled PPS, a lost fix) the engine
// selects another reference or, with none, enters holdover. Counts gives
// the pairing's outcomes by verdict for metrics.
//
// The package is named for what it serves (a GNSS reference), like
// source/ntpsource; the pairing is in refclock/pair and the devices in
// refclock's device packages.
//
// After a step of the clock the Runner calls Restart: pending pairs, the
// chain of labels and the queued inputs are dropped (they are stamped on
// the old timescale) and the next sample needs Pair.Confirm consistent
// labels again.
//
// # Not here
//
// Device I/O and parsing (refclock/pps, refclock/nmea, refclock/gpsd), the
// PHC↔system translation (passed in as Config.Realtime and
// Config.ToLocal), metrics registration, configuration keys.
package gnsssource
