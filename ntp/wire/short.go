package wire

import "time"

// maxShort is the largest 16.16 value, 65535.99998 s.
const maxShort = 1<<32 - 1

// ShortFromDuration converts d to 16.16 fixed-point seconds as chrony does
// for Root delay and Root dispersion: rounded up to the next 2^-16 s
// (15.2588 µs), so the value never understates an error, 0 for d ≤ 0 and
// saturated at 0xFFFFFFFF.
func ShortFromDuration(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	sec := int64(d / time.Second)
	if sec >= 1<<16 {
		return maxShort
	}
	rem := int64(d % time.Second)
	// rem < 1e9, so rem<<16 < 6.6e13: no overflow. Ceiling division.
	frac := (rem<<16 + nsPerSec - 1) / nsPerSec
	v := sec<<16 + frac
	if v > maxShort {
		return maxShort
	}
	return uint32(v)
}

// ShortDuration converts a 16.16 fixed-point seconds value to a Duration,
// rounded to the nearest nanosecond.
func ShortDuration(v uint32) time.Duration {
	sec := time.Duration(v>>16) * time.Second
	frac := (int64(v&0xffff)*nsPerSec + 1<<15) >> 16
	return sec + time.Duration(frac)
}

// Log2Duration returns 2^p seconds for a log2-seconds field (poll,
// precision), with p clamped to [−32, 17] so that hostile fields cannot
// overflow. Negative powers are rounded to the nearest nanosecond, 0 below
// 2^-30 s.
func Log2Duration(p int8) time.Duration {
	p = max(-32, min(17, p))
	if p >= 0 {
		return time.Second << p
	}
	// 2^p s = 1e9 >> −p ns, rounded; 0 below 2^-30 s.
	return time.Duration((uint64(time.Second) + 1<<(-p-1)) >> -p)
}
