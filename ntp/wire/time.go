package wire

import (
	"encoding/binary"
	"time"
)

// Time is an NTP timestamp on the wire (RFC 5905 §6): the upper 32 bits count
// seconds since 1900-01-01 00:00:00 UTC modulo 2^32 (one era is 136 years; era
// 0 ends 2036-02-07 06:28:16 UTC), the lower 32 bits are the fraction of a
// second in units of 2^-32 s (≈ 233 ps). The zero value means "unknown".
//
// A Time carries no era: converting it to an absolute time needs a pivot (see
// Time.Time). Differences between two Times within 68 years of each other are
// era-safe (Time.Sub).
type Time uint64

const (
	// unixToNTP is the NTP seconds value of the Unix epoch: 70 years of which
	// 17 are leap years, 2,208,988,800 s (0x83AA7E80).
	unixToNTP = 2208988800
	// eraSeconds is the length of one NTP era, 2^32 s.
	eraSeconds = 1 << 32
	nsPerSec   = 1_000_000_000
)

// DefaultEraPivot is the default centre of the era window, 2026-01-01 UTC in
// Unix seconds: timestamps map to 1958-01-13 … 2094-01-19, which covers the
// 2036 rollover. chrony's default window is build year − 50 … + 86.
const DefaultEraPivot int64 = 1767225600

// TimeFromTime returns the NTP timestamp of t, truncated to the 2^-32 s below
// it. Times outside era 0 wrap modulo 2^32 s as on the wire (2036-02-07
// 06:28:16 UTC becomes 0 seconds of era 1). The monotonic reading of t, if
// any, is ignored.
func TimeFromTime(t time.Time) Time {
	// uint32 conversion of the int64 seconds is the modulo-2^32 era wrap,
	// also for times before 1900 (era −1).
	sec := uint32(t.Unix() + unixToNTP)
	// ns < 1e9, so ns<<32 < 4.3e18 fits in a uint64; the division truncates,
	// and Time.Time rounds to nearest, which makes the round trip exact to
	// the nanosecond.
	frac := (uint64(t.Nanosecond()) << 32) / nsPerSec
	return Time(uint64(sec)<<32 | frac)
}

// Seconds returns the era seconds field (upper 32 bits).
func (t Time) Seconds() uint32 { return uint32(t >> 32) }

// Fraction returns the fraction field (lower 32 bits, units of 2^-32 s).
func (t Time) Fraction() uint32 { return uint32(t) }

// Time returns the absolute time that t denotes in the 136-year window
// [pivot − 2^31 s, pivot + 2^31 s): the era is chosen so that the result is
// within 68 years of pivot. chrony does the same with a fixed window starting
// 50 years before its build date (--with-ntp-era); a pivot of "now" or of a
// recent receive timestamp gives the right answer across the 2036 rollover.
// The result is in UTC, rounded to the nearest nanosecond, and has no
// monotonic reading. The zero Time is converted like any other value; callers
// that treat zero as "unknown" must check first.
func (t Time) Time(pivot time.Time) time.Time {
	sec, ns := t.unix(pivot.Unix())
	return time.Unix(sec, ns).UTC()
}

// unix converts t into Unix seconds and nanoseconds within 2^31 s of the Unix
// time pivotUnix. ns may be 1e9 after rounding (time.Unix normalises it).
func (t Time) unix(pivotUnix int64) (sec, ns int64) {
	pivotNTP := pivotUnix + unixToNTP
	// Signed 32-bit difference between t's seconds and the pivot's seconds
	// modulo 2^32: this picks the era nearest to the pivot.
	d := int64(int32(t.Seconds() - uint32(pivotNTP)))
	sec = pivotNTP + d - unixToNTP
	ns = int64((uint64(t.Fraction())*nsPerSec + 1<<31) >> 32)
	return sec, ns
}

// UnixNano returns t as nanoseconds since the Unix epoch, with the era chosen
// within 2^31 s of pivotUnix (Unix seconds). Results beyond the range of
// int64 nanoseconds (1677–2262) wrap; keep the pivot before 2190.
func (t Time) UnixNano(pivotUnix int64) int64 {
	sec, ns := t.unix(pivotUnix)
	return sec*nsPerSec + ns
}

// Sub returns t − u, assuming the two are less than 68 years apart (the RFC
// 5905 era-safe difference, like chrony's UTI_DiffNtp64ToDouble), rounded to
// the nearest nanosecond. It is t.Diff(u).Duration().
func (t Time) Sub(u Time) time.Duration { return t.Diff(u).Duration() }

// Delta is a signed difference of two Times in 32.32 fixed point (units of
// 2^-32 s), as RFC 5905 computes offset and delay: exact, and era-safe when
// the two Times are less than 2^31 s (68 years) apart. Sums and halves of
// Deltas stay exact where durations would round.
type Delta int64

// Diff returns t − u as a Delta, exact when |t − u| < 2^31 s.
func (t Time) Diff(u Time) Delta {
	// Two's complement difference of the 64-bit values is the 32.32 signed
	// difference modulo 2^64, which is exact when |t − u| < 2^31 s.
	return Delta(int64(uint64(t) - uint64(u)))
}

// Duration converts d to nanoseconds, rounded to nearest. Every Delta fits:
// |d| < 2^31 s ≈ 68 years, well inside time.Duration's ±292 years.
func (d Delta) Duration() time.Duration {
	// Split into seconds and fraction to avoid overflowing d × 1e9.
	sec := int64(d) >> 32
	frac := int64(d) & (1<<32 - 1)
	return time.Duration(sec)*time.Second + time.Duration((frac*nsPerSec+1<<31)>>32)
}

// Add returns t + d, wrapping modulo one era like the wire format.
func (t Time) Add(d time.Duration) Time {
	sec := int64(d / time.Second)
	ns := int64(d % time.Second)
	if ns < 0 {
		sec--
		ns += nsPerSec
	}
	return Time(uint64(t) + uint64(sec)<<32 + (uint64(ns)<<32)/nsPerSec)
}

// String formats t as its era-0/1-agnostic wire value, seconds.fraction in hex,
// which is what packet dumps show; use Time.Time for a calendar date.
func (t Time) String() string {
	const hexdigits = "0123456789abcdef"
	var b [17]byte
	for i := range 8 {
		b[7-i] = hexdigits[(t>>(32+4*i))&0xf]
		b[16-i] = hexdigits[(t>>(4*i))&0xf]
	}
	b[8] = '.'
	return string(b[:])
}

// NonZero maps the one value that means "unknown" on the wire to the nearest
// value that does not, two fraction units (≈ 0.5 ns) later, keeping bit 0
// clear so the low-bit trick still holds. Only the exact instant of an era
// boundary is affected.
func NonZero(t Time) Time {
	if t == 0 {
		return 2
	}
	return t
}

// PutTransmit writes t into the Transmit field (bytes 40..48) of the reply in
// out, with bit 0 of the fraction cleared (chrony's low-bit trick: only
// Receive timestamps have bit 0 set, so an Origin with bit 0 set names one of
// our receive timestamps). It does nothing if out is shorter than a header.
// Call it as late as possible before sending (for the server core: only
// when ntp.Verdict.NeedsTransmit says so).
func PutTransmit(out []byte, t Time) {
	if len(out) < HeaderLen {
		return
	}
	binary.BigEndian.PutUint64(out[OffTransmit:], uint64(NonZero(t&^1)))
}

// ReceiveField returns the Receive timestamp (bytes 32..40) of pkt, or 0 if
// pkt is too short to hold one. The server shell reads it from a reply it
// sent and passes it to ntp.Server.RecordTX together with that reply's TX
// timestamp.
func ReceiveField(pkt []byte) Time {
	if len(pkt) < OffReceive+8 {
		return 0
	}
	return Time(binary.BigEndian.Uint64(pkt[OffReceive:]))
}
