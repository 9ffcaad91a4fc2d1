// Package refclock is the vocabulary of gnomon's reference clocks, the parts
// of a stratum-1 box below the discipline engine: PPS edges as a device
// timestamped them (a PHC's external-timestamp channel, a kernel PPS
// device), time-of-day reports from a GNSS receiver (gpsd, an NMEA serial
// port), and the pairing of the two (the ts2phc role).
//
// The types here are plain values, shared by the devices
// (refclock/pps, refclock/nmea, refclock/gpsd), the pure pairing
// (refclock/pair) and the sources that feed an engine. Nothing here does
// I/O.
//
// # Timescales
//
// An Edge's At is on the timescale of the device that stamped it: a PHC's
// time (usually TAI) for EXTTS, CLOCK_REALTIME (UTC) for kernel PPS. A
// TimeOfDay's UTC is what the receiver says, in UTC; its Received is
// CLOCK_REALTIME when the report arrived (for pairing only: it carries the
// serial and software latency, 10–700 ms for NMEA through gpsd). Offsets
// follow package clock: offset = reference − local.
package refclock
