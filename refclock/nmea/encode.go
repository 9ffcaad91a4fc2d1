package nmea

import (
	"fmt"
	"math"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

// Epoch is what the generator writes for one receiver epoch: the sentences
// a receiver would send for the time label UTC. It is the inverse of what
// the Decoder reports (see judge): feeding AppendRMC, AppendZDA and
// AppendGGA of an Epoch to a Decoder reports UTC, Second60, Valid and Fix
// back, with Fix2D, Fix3D and FixTimeOnly exact (FixUnknown comes back as
// Fix3D from GGA; any Fix of an epoch not Valid comes back as FixNone).
type Epoch struct {
	// UTC is the label (converted with UTC()). With Second60 it must be
	// 23:59:59.f and the label written is 23:59:60.f.
	UTC      time.Time
	Second60 bool
	// Digits is the number of fractional digits written for the seconds,
	// 0–9 (receivers write 0–3); the fraction is truncated, not rounded.
	Digits int
	// Valid: RMC status A and a mode other than N; GGA quality other
	// than 0. Not valid: status V, mode N, quality 0.
	Valid bool
	// Fix: FixTimeOnly is written as RMC mode M and GGA quality 7; Fix2D
	// as GGA quality 1 with an empty altitude; anything else valid as
	// quality 1 with the altitude.
	Fix        refclock.Fix
	Satellites int // GGA's satellites in use (and GSA's PRN list), 0–12 written as is
	// Talker is the talker ID, "GP" when empty.
	Talker string
	// Lat and Lon are degrees (north and east positive), Altitude metres
	// above mean sea level.
	Lat, Lon, Altitude float64
}

func (e *Epoch) talker() string {
	if e.Talker == "" {
		return "GP"
	}
	return e.Talker
}

// AppendSentence appends "$" body "*hh" CR LF to dst, hh being body's
// checksum. body is the address and fields ("GPZDA,...") and must not
// contain '$', '*', CR or LF.
func AppendSentence(dst []byte, body []byte) []byte {
	dst = append(dst, '$')
	dst = append(dst, body...)
	return fmt.Appendf(dst, "*%02X\r\n", Checksum(body))
}

// appendTime writes hhmmss[.f] for e's label.
func (e *Epoch) appendTime(b []byte) []byte {
	t := e.UTC.UTC()
	sec := t.Second()
	if e.Second60 {
		sec = 60
	}
	b = fmt.Appendf(b, "%02d%02d%02d", t.Hour(), t.Minute(), sec)
	if d := min(max(e.Digits, 0), 9); d > 0 {
		b = append(b, fmt.Sprintf(".%09d", t.Nanosecond())[:d+1]...)
	}
	return b
}

func (e *Epoch) appendPosition(b []byte) []byte {
	b = appendDegrees(b, e.Lat, 2, 'N', 'S')
	b = append(b, ',')
	return appendDegrees(b, e.Lon, 3, 'E', 'W')
}

// appendDegrees writes ddmm.mmmmm,H (dddmm.mmmmm for longitude).
func appendDegrees(b []byte, v float64, width int, pos, neg byte) []byte {
	h := pos
	if v < 0 {
		v, h = -v, neg
	}
	deg := math.Floor(v)
	minutes := math.Floor((v-deg)*60*1e5) / 1e5
	return fmt.Appendf(b, "%0*d%08.5f,%c", width, int(deg), minutes, h)
}

// AppendRMC appends e's RMC sentence (NMEA 2.3, with the mode indicator):
// time, status, position, speed and course 0, date (two-digit year),
// no magnetic variation, mode.
func AppendRMC(dst []byte, e Epoch) []byte {
	b := make([]byte, 0, 80)
	b = append(b, e.talker()...)
	b = append(b, "RMC,"...)
	b = e.appendTime(b)
	status, mode := byte('V'), byte('N')
	if e.Valid {
		status, mode = 'A', 'A'
		if e.Fix == refclock.FixTimeOnly {
			mode = 'M'
		}
	}
	t := e.UTC.UTC()
	b = fmt.Appendf(b, ",%c,", status)
	b = e.appendPosition(b)
	b = fmt.Appendf(b, ",0.0,0.0,%02d%02d%02d,,,%c", t.Day(), int(t.Month()), t.Year()%100, mode)
	return AppendSentence(dst, b)
}

// AppendZDA appends e's ZDA sentence: time, day, month, four-digit year,
// local zone 00,00.
func AppendZDA(dst []byte, e Epoch) []byte {
	b := make([]byte, 0, 40)
	b = append(b, e.talker()...)
	b = append(b, "ZDA,"...)
	b = e.appendTime(b)
	t := e.UTC.UTC()
	b = fmt.Appendf(b, ",%02d,%02d,%04d,00,00", t.Day(), int(t.Month()), t.Year())
	return AppendSentence(dst, b)
}

// ggaQuality is the GGA fix quality for e (see Epoch.Fix).
func (e *Epoch) ggaQuality() int {
	switch {
	case !e.Valid:
		return 0
	case e.Fix == refclock.FixTimeOnly:
		return 7
	}
	return 1
}

// AppendGGA appends e's GGA sentence: time, position, fix quality,
// satellites, HDOP 1.0, altitude (empty for Fix2D and when not valid),
// geoid separation 0.0, no DGPS.
func AppendGGA(dst []byte, e Epoch) []byte {
	b := make([]byte, 0, 80)
	b = append(b, e.talker()...)
	b = append(b, "GGA,"...)
	b = e.appendTime(b)
	b = append(b, ',')
	b = e.appendPosition(b)
	b = fmt.Appendf(b, ",%d,%02d,1.0,", e.ggaQuality(), e.Satellites)
	if e.Valid && e.Fix != refclock.Fix2D {
		b = fmt.Appendf(b, "%.1f", e.Altitude)
	}
	b = append(b, ",M,0.0,M,,"...)
	return AppendSentence(dst, b)
}

// AppendGSA appends a GSA sentence for e (automatic mode; fix 1 none, 2 2D,
// 3 3D; PRNs 1..Satellites, at most 12; PDOP, HDOP, VDOP 1.0). It carries
// no time, so the Decoder ignores it; gpsd takes its fix mode from it.
func AppendGSA(dst []byte, e Epoch) []byte {
	b := make([]byte, 0, 70)
	b = append(b, e.talker()...)
	b = append(b, "GSA,A,"...)
	mode := 3
	switch {
	case !e.Valid:
		mode = 1
	case e.Fix == refclock.Fix2D:
		mode = 2
	}
	b = fmt.Appendf(b, "%d", mode)
	for i := 1; i <= 12; i++ {
		b = append(b, ',')
		if mode > 1 && i <= e.Satellites {
			b = fmt.Appendf(b, "%02d", i)
		}
	}
	b = append(b, ",1.0,1.0,1.0"...)
	return AppendSentence(dst, b)
}
