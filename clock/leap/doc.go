// Package leap knows about leap seconds: when they happen, what TAI − UTC
// is, what leap indicator (LI) gnomon announces, how a server smears a leap
// instead of repeating a second, and which kernel status bits would arm the
// system clock.
//
// What it does:
//   - Table: TAI − UTC offsets and leap events read from the IERS/NIST
//     leap-seconds.list (NTP-era timestamps, #$ last update, #@ expiry, #h
//     SHA-1 hash, verified) or from a TZif file with leap records
//     (/usr/share/zoneinfo/right/UTC; RFC 8536, version 4 expiry of RFC
//     9636). Parsers read an io.Reader or fs.FS with bounded memory
//     (MaxFileSize, MaxEntries); LoadFile is a convenience for paths.
//     Table.LeapAt announces a leap only on the last UTC day before it and
//     only at the end of June or December, and never from an expired table.
//   - Vote: combines the sources' leap indicators (majority) with a table
//     (a verified, unexpired table is authoritative).
//   - Smear: chrony's server smear recipe (62,500 s quadratic ramp, 32 ppm
//     peak), LI suppression and RefIDSmear while smearing.
//   - KernelStatus: STA_INS/STA_DEL bits for the system-clock steering.
//
// What it does not do: no system calls (apart from LoadFile's open and
// read), no time.Now (every time is a parameter), no goroutines, no
// logging. It does not arm the kernel, step clocks or decide when the
// engine re-reads the table; an expired table is reported (Expired) and
// the engine logs it.
//
// Time values are UTC instants without leap seconds (time.Time cannot say
// 23:59:60). An Event's At is the first instant after the leap, 00:00:00
// UTC on July 1 or January 1; the leap is the last second of the day
// before. Signs: TAIOffset = TAI − UTC in seconds; Smear.Offset = smeared
// time − continuous clock (negative after an insertion: the smeared clock
// runs slow); Smear.FromUTC = smeared time − UTC.
//
// References: RFC 5905 §7.3 (LI), RFC 8536 and RFC 9636 (TZif), the
// comments in leap-seconds.list (format and hash), chrony.conf
// (leapsectz, leapseclist, leapsecmode, smoothtime) and gpsd timehint.c
// (June/December only), as summarised in reference/ntp.md §5.
package leap
