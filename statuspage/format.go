package statuspage

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/gnomon-time/gnomon/ntp/wire"
)

// fmtSeconds formats s seconds with three significant digits in the
// largest SI unit (s, ms, µs, ns) that keeps the number ≥ 1; signed adds
// "+" to positive values.
func fmtSeconds(s float64, signed bool) string {
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return "∞"
	}
	sign := ""
	if s < 0 {
		sign, s = "-", -s
	} else if signed && s > 0 {
		sign = "+"
	}
	if s == 0 {
		return "0 s"
	}
	unit, v := "s", s
	for _, u := range []struct {
		name  string
		scale float64
	}{{"ms", 1e-3}, {"µs", 1e-6}, {"ns", 1e-9}} {
		if v >= 1 {
			break
		}
		unit, v = u.name, s/u.scale
	}
	prec := 2
	switch {
	case v >= 100:
		prec = 0
	case v >= 10:
		prec = 1
	}
	return sign + strconv.FormatFloat(v, 'f', prec, 64) + " " + unit
}

// fmtDur formats a duration as fmtSeconds does; math.MaxInt64 (the
// reports' "unknown") is "∞".
func fmtDur(d time.Duration, signed bool) string {
	if d == math.MaxInt64 {
		return "∞"
	}
	return fmtSeconds(d.Seconds(), signed)
}

// fmtPPM formats a frequency in ppb as ppm with three decimals.
func fmtPPM(ppb float64, signed bool) string {
	f := "%.3f ppm"
	if signed {
		f = "%+.3f ppm"
	}
	return fmt.Sprintf(f, ppb/1000)
}

// fmtTime formats a time on the served clock as UTC with milliseconds;
// the zero time is "never".
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

// fmtRefID formats a reference ID as NTP does: four ASCII characters at
// stratum 0 and 1 (a reference clock's name, a kiss code), else the IPv4
// address (or the hash of an IPv6 one) in dotted quad.
func fmtRefID(id uint32, stratum uint8) string {
	if stratum <= 1 {
		return wire.RefIDString(id)
	}
	return netip.AddrFrom4([4]byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}).String()
}

// fmtBool is "yes" or "no".
func fmtBool(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
