// Package phc is a PTP hardware clock (/dev/ptpN) as a clock.Steerable:
// read it (clock_gettime on its clockid), correct its frequency
// (ADJ_FREQUENCY, within the max_adj of PTP_CLOCK_GETCAPS), step it
// (ADJ_SETOFFSET) and measure it against the system clock with
// cross-timestamps (PTP_SYS_OFFSET_PRECISE, then PTP_SYS_OFFSET_EXTENDED,
// then clock_gettime sandwiches), keeping the shortest sample as phc2sys
// does. The device calls go through github.com/facebook/time/phc.
//
// Everything above the kernel sits behind the Device interface, so the
// limits, signs and sample selection are tested against Sim, a simulated
// PHC over any clock.Clock with an initial offset, an oscillator frequency
// error, max_adj, and read delay and jitter. Sim is also what the
// reference-chain work steers when no PHC exists (none does on the
// development machine; real-device tests skip without /dev/ptp*).
//
// # Hardware timestamps
//
// Translator maps raw PHC readings, such as the NIC timestamps of NTP
// packets, to CLOCK_REALTIME from a cross-timestamp measurement every
// second (offset and its drift), and refuses once its mapping is stale;
// Translators holds one per PHC index for the NTP shell's lock-free,
// allocation-free lookups. Tested against Sim (a TAI PHC 40 ppm fast maps
// back within 3 µs, 0.3 µs after the first second).
//
// # Which PHC
//
// InterfaceDevice maps a network interface to its PHC (/dev/ptpN) with
// ETHTOOL_GET_TS_INFO on a plain datagram socket, the way `ethtool -T`
// does, so that configuration can name "eth0" instead of a device number
// that changes between boots. It fails with ErrNoInterface or ErrNoPHC.
//
// # Signs
//
// Frequencies are in ppb, positive = the PHC runs faster; Step(d) with
// positive d moves the PHC forward (clock package conventions).
// SysOffset returns offset = PHC − CLOCK_REALTIME: with the PHC as the
// reference for the system clock, gnomon's offset = reference − local
// (positive: the system clock is behind). phc2sys prints, and facebook/time
// returns, the opposite sign. A PHC on TAI includes TAI − UTC.
//
// # Not here
//
// PHC has no kernel status, leap or TAI-offset variables, so it implements
// none of those optional abilities; leap seconds on a TAI PHC need no
// action. EXTTS, PEROUT and PPS pins belong to the reference-chain work.
// See reference/ptp-gnss.md §9.3 for the ioctls.
package phc
