package client

import (
	"encoding/binary"
	"time"
)

// RequestLen is the length of the requests Poll builds (a bare NTP header).
const RequestLen = 48

// Header field offsets (RFC 5905 §7.3).
const (
	offLVM       = 0
	offStratum   = 1
	offPoll      = 2
	offPrecision = 3
	offRootDelay = 4
	offRootDisp  = 8
	offRefID     = 12
	offReference = 16
	offOrigin    = 24
	offReceive   = 32
	offTransmit  = 40

	modeClient = 3
	modeServer = 4
)

// unixToNTP is the NTP seconds value of the Unix epoch (2,208,988,800 s).
const unixToNTP = 2208988800

// ntpTime converts t into the 32.32 wire format, truncating below 2^-32 s
// and wrapping modulo one era as on the wire. These private helpers keep
// the package independent of the server core; the conversions are the same
// as ntp.TimeFromTime.
func ntpTime(t time.Time) uint64 {
	sec := uint32(t.Unix() + unixToNTP)
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return uint64(sec)<<32 | frac
}

// fixed is a signed 32.32 difference of two timestamps.
type fixed int64

// diff returns a − b as a signed 32.32 value; exact when |a − b| < 68 years
// (RFC 5905 era-safe arithmetic).
func diff(a, b uint64) fixed { return fixed(int64(a - b)) }

// duration converts a 32.32 value to nanoseconds, rounding to nearest.
func (f fixed) duration() time.Duration {
	sec := int64(f) >> 32
	frac := int64(f) & (1<<32 - 1)
	return time.Duration(sec)*time.Second + time.Duration((frac*1e9+1<<31)>>32)
}

// short converts an unsigned 16.16 wire value (root delay, root
// dispersion) into a duration, rounding to nearest.
func short(v uint32) time.Duration {
	return time.Duration((uint64(v)*1e9 + 1<<15) >> 16)
}

// log2Duration returns 2^p seconds, with p clamped to [−32, 17] so that
// hostile precision or poll fields cannot overflow.
func log2Duration(p int8) time.Duration {
	p = max(-32, min(17, p))
	if p >= 0 {
		return time.Second << p
	}
	// 2^p s = 1e9 >> −p ns, rounded; 0 below 2^-30 s.
	return time.Duration((uint64(time.Second) + 1<<(-p-1)) >> -p)
}

func u32(b []byte, off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }
func u64(b []byte, off int) uint64 { return binary.BigEndian.Uint64(b[off:]) }

// kissCode renders a KoD reference ID as its ASCII code ("RATE").
func kissCode(refid uint32) string {
	b := []byte{byte(refid >> 24), byte(refid >> 16), byte(refid >> 8), byte(refid)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// Kiss codes (RFC 5905 §7.4) that change the association.
const (
	kissRATE = 0x52415445
	kissDENY = 0x44454E59
	kissRSTR = 0x52535452
)
