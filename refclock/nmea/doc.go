// Package nmea reads a GNSS receiver's time of day from NMEA 0183
// sentences: a sans-IO parser and epoch Decoder, a generator for tests and
// simulations, and a serial-port reader (Serial) that is a
// refclock.TimeOfDaySource.
//
// # What it parses
//
// Parse checks any line's framing ('$' or '!', printable ASCII, at most
// MaxLineLen bytes) and its checksum ("*hh", required: a line without one is
// rejected), and interprets three sentences from any talker (GP, GN, GL, GA,
// BD, GB, QZ, ...):
//
//   - RMC: time, status A/V, date (two-digit year: 1980–2079), the NMEA 2.3
//     mode indicator and the NMEA 4.1 navigational status when present;
//   - ZDA: time, day, month, four-digit year (the local zone is ignored);
//   - GGA: time, fix quality 0–8, satellites in use, whether the altitude
//     is filled. GGA has no date: it only adds the fix quality to the epoch
//     with the same time of day.
//
// Everything else (GSA, GSV, proprietary sentences) is checked and
// ignored. Rejections are typed (Reason, wrapped in *Error), with stable
// snake_case names for counters. Parse never panics (fuzzed: FuzzParse,
// FuzzDecoder, FuzzLines).
//
// Decoder groups one epoch's sentences by their time label into one
// refclock.TimeOfDay; see Decoder for when it reports and judge (in
// decoder.go) for how Valid and Fix follow from RMC and GGA.
//
// # Timescales and labels
//
// Every time here is UTC as the receiver labels it: the label names the
// second (or fraction) the receiver's epoch belongs to, normally the PPS
// edge that came before the sentence, which arrives 10–900 ms later
// depending on the receiver and the baud rate. Nothing here rounds: a
// fraction is kept exactly as written (at most nine digits; more is a
// rejection, not a rounding), and pairing a label with an edge is
// refclock/pair's job (reference §7: never the nearest second).
//
// An inserted leap second arrives as 23:59:60. time.Time cannot hold it,
// so a report carries UTC = 23:59:59.f with refclock.TimeOfDay.Second60
// set, the way CLOCK_REALTIME reads during the leap second; 23:59:59,
// 23:59:60 and 00:00:00 stay three distinct labels. Second 60 is accepted
// only at 23:59 and, when the sentence has a date, only on the last day of
// a month. NMEA's standard sentences announce neither leap seconds nor
// TAI − UTC, so Leap is always clock.LeapNone and TAIOffsetKnown false.
//
// TimeOfDay.Received is the arrival time of the epoch's first
// time-bearing sentence: the caller's clock when the sentence's first byte
// was read (Serial: CLOCK_REALTIME without a monotonic reading, or
// Config.Now).
//
// # Generator
//
// AppendRMC, AppendZDA, AppendGGA and AppendGSA write the sentences a
// receiver would send for an Epoch, with checksums; the Decoder reads them
// back (round-trip tests). They are for tests, gpsfake interop tests and
// simulated receivers.
//
// # Serial port
//
// Open (Linux only) opens the device read-only with O_NOCTTY and
// O_NONBLOCK, sets raw 8N1 without flow control at the configured baud
// (4800–921600; anything else is an error naming the value), discards
// buffered input, and reads the speed back. Run discards input again
// (bytes buffered before it have no usable arrival time), reads lines of
// at most MaxLineLen bytes, stamps each with Config.Now at the read that
// brought its first byte, feeds the Decoder and calls fn per report.
// Rejected lines are counted in Status, never fatal; a hang-up or read
// error ends Run with an error naming the path; the end of ctx closes the
// device, which interrupts a blocked read, and Run returns nil.
//
// A receiver that stops talking does not make Run return or hang anything
// else: Run just waits. Status().LastLine (any line) and
// Status().Last.Received (the last usable report) let a caller see how
// stale the receiver is; refclock/pair rejects an old time of day anyway.
//
// The core (sentence.go, decoder.go, encode.go, lines.go) does no I/O,
// reads no clock and starts no goroutine (a test parses those files to
// check); the shell is serial*.go.
//
// # What was tested how
//
// No real receiver has been attached. The parser is tested against
// sentences from published NMEA examples and hand-built edge cases, the
// serial reader against a pseudo-terminal pair (the real open, termios and
// read path, baud read back through TCGETS). Untested: USB-serial
// adapters' latency (FTDI's 16 ms latency timer adds directly to
// Received), real UARTs, hang-ups of a real line, and receivers' actual
// sentence orders and leap-second behaviour.
package nmea
