// Package wire is the NTP packet format (RFC 5905 §6, §7) and nothing else:
// the one definition of the header layout, timestamps and field encodings
// that the server core (ntp), the client core (ntp/client) and the load
// generator (ntp/loadgen) share. It is sans-IO: bytes and values in, bytes
// and values out.
//
// # Header (RFC 5905 §7.3)
//
// Every NTP packet starts with a 48-byte (HeaderLen) big-endian header:
//
//	offset  size  field
//	     0     1  LI (2 bits) | VN (3 bits) | Mode (3 bits)   OffLVM, LVM, ParseLVM
//	     1     1  Stratum                                     OffStratum
//	     2     1  Poll, int8 log2 s                           OffPoll
//	     3     1  Precision, int8 log2 s                      OffPrecision
//	     4     4  Root Delay, 16.16 s                         OffRootDelay
//	     8     4  Root Dispersion, 16.16 s                    OffRootDisp
//	    12     4  Reference ID                                OffRefID
//	    16     8  Reference Timestamp                         OffReference
//	    24     8  Origin Timestamp                            OffOrigin
//	    32     8  Receive Timestamp                           OffReceive
//	    40     8  Transmit Timestamp                          OffTransmit
//
// Header, ParseHeader and Header.Put decode and encode it without
// allocating; the Off* constants serve code that touches single fields in
// place. The LI values are clock.Leap's (0 none, 1 insert, 2 delete, 3
// alarm = clock.LeapUnsync): the clock package defines the leap warning once
// and its numbers are the wire's. Mode holds the association modes; stratum
// 0 is "unspecified" (and marks a Kiss-o'-Death), 1…MaxStratum synchronised,
// StratumUnsync and above unsynchronised.
//
// After the header may come RFC 7822 extension fields and a legacy MAC
// (key ID + digest). ScanTrailer classifies them the way chrony's
// parse_packet does and CheckTrailer turns a fault into an error; both
// leave the decision of what to do with a MAC to the caller.
//
// # Timestamps: era-aware 32.32 (RFC 5905 §6)
//
// Time is the 64-bit timestamp: seconds since 1900 modulo 2^32 (one era, 136
// years; era 1 starts 2036-02-07 06:28:16 UTC) and a fraction in 2^-32 s.
// The wire carries no era: Time.Time and Time.UnixNano place a value in the
// 136-year window around a pivot (DefaultEraPivot, or a recent receive
// time), like chrony's NTP era split. Differences are era-safe within 68
// years: Time.Diff gives the exact signed 32.32 Delta (what offset and delay
// are computed in), Time.Sub the rounded time.Duration. The zero Time means
// "unknown" on the wire; NonZero and PutTransmit never produce it.
//
// # Short format (16.16) and log2 fields
//
// Root delay and root dispersion are unsigned 16.16 seconds. ShortFromDuration
// rounds up (an error bound is never understated, as in chrony) and
// saturates; ShortDuration rounds to the nearest nanosecond. Poll and
// precision are signed log2 seconds: Log2Duration. Requests that say
// nothing about the client's clock send PrecisionNotGiven.
//
// # Kiss codes (RFC 5905 §7.4)
//
// A reply with stratum 0 carries a KissCode in its Reference ID: RATE, DENY,
// RSTR and the rest of RFC 5905's Figure 13 are named constants. KissCode's
// String renders all four bytes; RefIDString renders a Reference ID the way
// chronyc does (NULs dropped).
//
// # What it does not do
//
// No policy: it does not decide whether a request is answered, a reply is
// accepted or a MAC is acceptable (ntp and ntp/client do), it builds no
// whole requests or replies, and it knows no authentication (no MAC or NTS
// checks), no extension field contents and no control (mode 6/7) messages.
// It reads no clock and does no I/O: it imports no net, os or syscall and
// never calls time.Now (a test checks this mechanically); time comes in as
// arguments.
package wire
