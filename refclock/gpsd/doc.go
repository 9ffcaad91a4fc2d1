// Package gpsd is gnomon's gpsd client: the time of day (and any PPS) of a
// GNSS receiver as gpsd reports it over its JSON protocol (TCP 2947,
// protocol 3.x; ntpsec/gpsd man/gpsd_json.adoc; reference/ptp-gnss.md §8).
//
// # What it does
//
// The core is sans-IO: WatchCommand builds ?WATCH={"enable":true,
// "json":true,"pps":true}; (with "device" when one is named), a Splitter
// cuts the stream into lines of at most MaxLine bytes (an over-long line is
// reported once and dropped up to the next newline), and Decode turns one
// line and its arrival time into a Message by class: VERSION (proto_major
// must be 3), DEVICES, DEVICE, WATCH, TPV (a refclock.TimeOfDay), TOFF and
// PPS (refclock.PPSReport), ERROR (a *ServerError). Other classes (SKY,
// GST, …) are ClassOther. Errors are the sentinels ErrLineTooLong,
// ErrMalformed, ErrBadTime and ErrProtocol. Decode never panics (a fuzz
// target checks it and the Splitter).
//
// The shell, Client, is a refclock.TimeOfDaySource: Run connects, sends
// the WATCH, stamps each read with Client.Now (CLOCK_REALTIME) and delivers
// every TPV to its callback, PPS and TOFF to optional callbacks. A session
// ends on a closed connection, a VERSION of another protocol, or silence:
// no TPV for Client.Silence (gpsd says nothing at all when the receiver
// stops talking, so silence is how a dead receiver shows). Run then logs
// at Warn, records the reason in Status and reconnects after 0.5 s
// doubling to 30 s (reset after a session that delivered a TPV). When ctx
// ends Run closes the connection, which unblocks the read, and returns nil.
//
// # TPV semantics
//
//   - UTC is the "time" field exactly as printed (gpsd 3.22 prints
//     milliseconds), never rounded. Received is when the read that
//     completed the line returned: it includes the receiver's serial
//     latency and gpsd's cycle handling (100 ms to 1 s), so it is for
//     pairing a TimeOfDay with a PPS edge, not a time source on its own.
//   - TPVs are delivered, not skipped, when they cannot be trusted, with
//     Valid false, so that a caller sees a receiver that talks but has no
//     fix: no "time" (gpsd's first TPVs on a new device, zero UTC), mode
//     0/1 (RMC status V: gpsd 3.22 still sends the receiver's time, kept
//     in UTC), or status 8 (simulated).
//   - Fix follows mode; status 7 (surveyed time) with a 2D/3D mode is
//     refclock.FixTimeOnly.
//   - TAIOffset = leapseconds + 19 when gpsd sends "leapseconds" (GPS −
//     UTC); gpsd 3.22 sends it only for receivers that report it (u-blox
//     binary, not NMEA). Leap stays clock.LeapNone: gpsd's JSON carries
//     no leap warning.
//   - The same epoch can appear in two or three TPVs while gpsd learns a
//     receiver's cycle (a TPV per sentence until it knows which sentence
//     ends the cycle); consumers pair by label and must tolerate repeats.
//
// # What it does not do
//
// No NTP SHM or chrony SOCK (gpsd's other outputs), no serial ports (that
// is refclock/nmea), no PPS devices (refclock/pps), no pairing
// (refclock/pair), no position. It never touches the system clock. The
// "timing" WATCH flag (undocumented in 3.22) is not sent.
package gpsd
