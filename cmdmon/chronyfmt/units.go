package chronyfmt

import (
	"fmt"
	"math"
	"strings"
)

// Never is the since-sample / last-hit value that means "never" (0xFFFFFFFF).
const Never = math.MaxUint32

// Interval is chronyc's %I: an age in seconds with a unit, 4 columns wide
// ("   -" for Never).
func Interval(s uint32) string {
	switch {
	case s == Never:
		return "   -"
	case s < 1200:
		return fmt.Sprintf("%4d", s)
	case s < 36000:
		return fmt.Sprintf("%3dm", s/60)
	case s < 345600:
		return fmt.Sprintf("%3dh", s/3600)
	}
	if d := s / 86400; d > 999 {
		return fmt.Sprintf("%3dy", d/365)
	} else {
		return fmt.Sprintf("%3dd", d)
	}
}

// Offset is chronyc's unsigned %S: |s| with a unit (ns, us, ms, s, m, h,
// d, y), 6 columns wide.
func Offset(s float64) string {
	s = math.Abs(s)
	switch {
	case s < 9999.5e-9:
		return fmt.Sprintf("%4.0fns", s*1e9)
	case s < 9999.5e-6:
		return fmt.Sprintf("%4.0fus", s*1e6)
	case s < 9999.5e-3:
		return fmt.Sprintf("%4.0fms", s*1e3)
	case s < 999.5:
		return fmt.Sprintf("%5.1fs", s)
	case s < 99999.5:
		return fmt.Sprintf("%5.0fs", s)
	case s < 99999.5*60:
		return fmt.Sprintf("%5.0fm", s/60)
	case s < 99999.5*3600:
		return fmt.Sprintf("%5.0fh", s/3600)
	case s < 99999.5*3600*24:
		return fmt.Sprintf("%5.0fd", s/(3600*24))
	}
	return fmt.Sprintf("%5.0fy", s/(3600*24*365))
}

// SignedOffset is chronyc's %+S: s with its sign and a unit, 7 columns wide.
func SignedOffset(s float64) string {
	x := math.Abs(s)
	switch {
	case x < 9999.5e-9:
		return fmt.Sprintf("%+5.0fns", s*1e9)
	case x < 9999.5e-6:
		return fmt.Sprintf("%+5.0fus", s*1e6)
	case x < 9999.5e-3:
		return fmt.Sprintf("%+5.0fms", s*1e3)
	case x < 999.5:
		return fmt.Sprintf("%+6.1fs", s)
	case x < 99999.5:
		return fmt.Sprintf("%+6.0fs", s)
	case x < 99999.5*60:
		return fmt.Sprintf("%+6.0fm", s/60)
	case x < 99999.5*3600:
		return fmt.Sprintf("%+6.0fh", s/3600)
	case x < 99999.5*3600*24:
		return fmt.Sprintf("%+6.0fd", s/(3600*24))
	}
	return fmt.Sprintf("%+6.0fy", s/(3600*24*365))
}

// PPM is chronyc's %P: a frequency in ppm, 10 columns wide.
func PPM(f float64) string {
	if math.Abs(f) < 99999.5 {
		return fmt.Sprintf("%10.3f", f)
	}
	return fmt.Sprintf("%10.0f", f)
}

// SignedPPM is chronyc's %+P.
func SignedPPM(f float64) string {
	if math.Abs(f) < 99999.5 {
		return fmt.Sprintf("%+10.3f", f)
	}
	return fmt.Sprintf("%+10.0f", f)
}

// Log2Interval is chronyc's %C: a client-log interval (log2 seconds), " -"
// when ≥ 127 (none).
func Log2Interval(rate int8) string {
	if rate >= 127 {
		return " -"
	}
	return fmt.Sprintf("%2d", rate)
}

// Leap is chronyc's %L (long) and %1L (short) for a leap status.
func Leap(v uint16, short bool) string {
	long := [...]string{"Normal", "Insert second", "Delete second", "Not synchronised"}
	shrt := [...]string{"N", "+", "-", "?"}
	if int(v) >= len(long) {
		if short {
			return "?"
		}
		return "Invalid"
	}
	if short {
		return shrt[v]
	}
	return long[v]
}

// Header is a column header line underlined with '=' to its length.
func Header(h string) string {
	return h + "\n" + strings.Repeat("=", len(h)) + "\n"
}

// RefIDString is chrony's UTI_RefidToString: the printable bytes of the
// reference ID, in order.
func RefIDString(id uint32) string {
	var b []byte
	for i := 0; i < 4; i++ {
		c := byte(id >> (24 - 8*i))
		if c >= 0x20 && c <= 0x7e {
			b = append(b, c)
		}
	}
	return string(b)
}

// bits is chronyc's %.Nb: the low n bits of v, most significant first.
func bits(v uint16, n int) string {
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		if v&(1<<i) != 0 {
			b[n-1-i] = '1'
		} else {
			b[n-1-i] = '0'
		}
	}
	return string(b)
}

// yesNo is chronyc's %B.
func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}
