package gpsd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

// ProtoMajor is the gpsd JSON protocol major version this package speaks
// (gpsd 3.x; 3.22 announces proto_major 3, proto_minor 14).
const ProtoMajor = 3

// MaxLine is the longest line Decode and the Splitter accept, in bytes
// without the line end. gpsd's own client buffer (GPS_JSON_RESPONSE_MAX) is
// 4096 bytes; a SKY report with many satellites is the longest line it
// writes, well below this.
const MaxLine = 8 << 10

// Errors Decode and the Splitter return. Callers branch with errors.Is; a
// gpsd ERROR message is a *ServerError instead.
var (
	// ErrLineTooLong: a line longer than MaxLine. The Splitter drops it up
	// to the next newline and goes on.
	ErrLineTooLong = errors.New("gpsd: line too long")
	// ErrMalformed: not a JSON object, no "class", or a field of the
	// wrong type or missing where the class requires it.
	ErrMalformed = errors.New("gpsd: malformed message")
	// ErrBadTime: a TPV "time" that is not ISO 8601 UTC
	// (YYYY-MM-DDThh:mm:ss[.f…]Z), or a TOFF/PPS nanosecond field outside
	// [0, 1e9).
	ErrBadTime = errors.New("gpsd: bad time")
	// ErrProtocol: a VERSION whose proto_major is not ProtoMajor.
	ErrProtocol = errors.New("gpsd: unsupported protocol version")
)

// ServerError is gpsd's ERROR message: it did not understand a command.
type ServerError struct {
	Message string
}

func (e *ServerError) Error() string { return "gpsd: server error: " + e.Message }

// Class is the class of a gpsd JSON message, as far as gnomon cares.
type Class uint8

const (
	// ClassOther is a well-formed message of a class gnomon ignores (SKY,
	// GST, ATT, …).
	ClassOther Class = iota
	ClassVersion
	ClassDevices
	ClassDevice
	ClassWatch
	ClassTPV
	ClassTOFF
	ClassPPS
	ClassError

	// NumClasses is the number of classes, for counter arrays.
	NumClasses int = iota
)

// String returns the snake_case name of c, for logs and metric labels.
func (c Class) String() string {
	switch c {
	case ClassOther:
		return "other"
	case ClassVersion:
		return "version"
	case ClassDevices:
		return "devices"
	case ClassDevice:
		return "device"
	case ClassWatch:
		return "watch"
	case ClassTPV:
		return "tpv"
	case ClassTOFF:
		return "toff"
	case ClassPPS:
		return "pps"
	case ClassError:
		return "error"
	}
	return "class_" + strconv.Itoa(int(c))
}

// Version is gpsd's VERSION message, the first line on every connection.
type Version struct {
	Release    string // e.g. "3.22"
	ProtoMajor int
	ProtoMinor int
}

// Watch is gpsd's echo of the WATCH settings in force.
type Watch struct {
	Enable, JSON, PPS bool
	Device            string // empty: all devices
}

// Message is one decoded gpsd line. Class says which fields are set.
type Message struct {
	Class Class
	// Name is the "class" string as sent (useful for ClassOther).
	Name string

	// Device is the device path the message is about (TPV, TOFF, PPS,
	// DEVICE), empty if gpsd did not say.
	Device string

	Version Version  // ClassVersion
	Devices []string // ClassDevices: the device paths gpsd has
	Driver  string   // ClassDevice: the driver gpsd identified, if any
	Watch   Watch    // ClassWatch

	// ClassTPV. Mode is TPV "mode" (0 unknown, 1 no fix, 2 2D, 3 3D) and
	// Status TPV "status" (0 when absent; 2 DGPS, 7 surveyed time, 8
	// simulated, …), as sent. TimeOfDay is the report (see TimeOfDay
	// below for Valid).
	Mode      int
	Status    int
	TimeOfDay refclock.TimeOfDay

	// ClassTOFF, ClassPPS: Real is the GNSS time, Clock the system
	// clock's time of the same instant (PPS: the edge; TOFF: the arrival
	// of the cycle's first timing sentence). Precision only for PPS (and
	// TOFF from gpsd 3.24), 0 otherwise.
	Offset refclock.PPSReport

	// ClassError.
	Err *ServerError
}

// TPV status values (gpsd_json "status") that change what a fix means.
const (
	statusTime      = 7 // surveyed time: a timing receiver in position hold
	statusSimulated = 8 // simulated fix: never trust its time
)

// WatchCommand returns the command that makes gpsd stream JSON reports and
// PPS/TOFF messages, for one device or (device empty) all of them:
// ?WATCH={"enable":true,"json":true,"pps":true};\n. The device path is JSON
// escaped.
func WatchCommand(device string) []byte {
	b := []byte(`?WATCH={"enable":true,"json":true,"pps":true`)
	if device != "" {
		d, _ := json.Marshal(device) // a string always marshals
		b = append(b, `,"device":`...)
		b = append(b, d...)
	}
	return append(b, "};\n"...)
}

// head is the first decoding pass: the class alone, so that a field of one
// class never fails the decoding of another.
type head struct {
	Class *string `json:"class"`
}

type versionMsg struct {
	Release    string `json:"release"`
	ProtoMajor *int   `json:"proto_major"`
	ProtoMinor int    `json:"proto_minor"`
}

type devicesMsg struct {
	Devices []struct {
		Path string `json:"path"`
	} `json:"devices"`
}

type deviceMsg struct {
	Path   string `json:"path"`
	Driver string `json:"driver"`
}

type watchMsg struct {
	Enable bool   `json:"enable"`
	JSON   bool   `json:"json"`
	PPS    bool   `json:"pps"`
	Device string `json:"device"`
}

type tpvMsg struct {
	Device      string  `json:"device"`
	Mode        *int    `json:"mode"`
	Time        *string `json:"time"`
	Status      int     `json:"status"`
	LeapSeconds *int    `json:"leapseconds"`
}

type offsetMsg struct {
	Device    string `json:"device"`
	RealSec   *int64 `json:"real_sec"`
	RealNsec  *int64 `json:"real_nsec"`
	ClockSec  *int64 `json:"clock_sec"`
	ClockNsec *int64 `json:"clock_nsec"`
	Precision int    `json:"precision"`
}

type errorMsg struct {
	Message string `json:"message"`
}

// Decode decodes one line from gpsd (without its line end; surrounding
// white space is ignored). rx is CLOCK_REALTIME when the line arrived; it
// becomes a TPV's TimeOfDay.Received.
//
// Rules:
//   - Longer than MaxLine: ErrLineTooLong. Not a JSON object with a string
//     "class", or a known class with a field of the wrong type:
//     ErrMalformed. Unknown classes are ClassOther, not errors.
//   - VERSION: proto_major must be ProtoMajor (3), else ErrProtocol (the
//     Message is still filled in).
//   - TPV: "mode" is required. "time", when present, must be ISO 8601 UTC
//     ending in Z (ErrBadTime otherwise) and becomes TimeOfDay.UTC exactly,
//     every fraction digit kept. "leapseconds" (GPS − UTC) gives
//     TAIOffset = leapseconds + 19. Fix follows mode (0 unknown, 1 none, 2
//     2D, 3 3D) and is FixTimeOnly for status 7 (surveyed time) with a 2D/3D
//     mode. Valid requires a time, mode ≥ 2 and a status other than 8
//     (simulated). A TPV without time (gpsd sends a few before it knows the
//     cycle, and none without a fix on some receivers) decodes with a zero
//     UTC and Valid false; a TPV in mode 1 with a time (RMC status V)
//     carries that time with Valid false.
//   - TOFF, PPS: real_sec, real_nsec, clock_sec and clock_nsec are required
//     (ErrMalformed), nanoseconds in [0, 1e9) (ErrBadTime); precision is
//     optional.
//   - ERROR: returned as a *ServerError (and in Message.Err).
//
// It never panics, whatever line holds.
func Decode(line []byte, rx time.Time) (Message, error) {
	if len(line) > MaxLine {
		return Message{}, ErrLineTooLong
	}
	line = bytes.TrimSpace(line)
	var h head
	if err := json.Unmarshal(line, &h); err != nil || h.Class == nil {
		return Message{}, fmt.Errorf("%w: %s", ErrMalformed, why(err, "no class"))
	}
	m := Message{Name: *h.Class}
	bad := func(err error) (Message, error) {
		return m, fmt.Errorf("%w: %s: %v", ErrMalformed, m.Name, err)
	}
	switch *h.Class {
	case "VERSION":
		m.Class = ClassVersion
		var v versionMsg
		if err := json.Unmarshal(line, &v); err != nil {
			return bad(err)
		}
		if v.ProtoMajor == nil {
			return bad(errors.New("no proto_major"))
		}
		m.Version = Version{Release: v.Release, ProtoMajor: *v.ProtoMajor, ProtoMinor: v.ProtoMinor}
		if *v.ProtoMajor != ProtoMajor {
			return m, fmt.Errorf("%w: gpsd %s speaks %d.%d, want %d.x", ErrProtocol,
				v.Release, *v.ProtoMajor, v.ProtoMinor, ProtoMajor)
		}
	case "DEVICES":
		m.Class = ClassDevices
		var d devicesMsg
		if err := json.Unmarshal(line, &d); err != nil {
			return bad(err)
		}
		m.Devices = make([]string, 0, len(d.Devices))
		for _, dev := range d.Devices {
			m.Devices = append(m.Devices, dev.Path)
		}
	case "DEVICE":
		m.Class = ClassDevice
		var d deviceMsg
		if err := json.Unmarshal(line, &d); err != nil {
			return bad(err)
		}
		m.Device, m.Driver = d.Path, d.Driver
	case "WATCH":
		m.Class = ClassWatch
		var w watchMsg
		if err := json.Unmarshal(line, &w); err != nil {
			return bad(err)
		}
		m.Watch = Watch{Enable: w.Enable, JSON: w.JSON, PPS: w.PPS, Device: w.Device}
	case "TPV":
		m.Class = ClassTPV
		return decodeTPV(m, line, rx)
	case "TOFF", "PPS":
		m.Class = ClassTOFF
		if *h.Class == "PPS" {
			m.Class = ClassPPS
		}
		return decodeOffset(m, line)
	case "ERROR":
		m.Class = ClassError
		var e errorMsg
		if err := json.Unmarshal(line, &e); err != nil {
			return bad(err)
		}
		m.Err = &ServerError{Message: e.Message}
		return m, m.Err
	default:
		m.Class = ClassOther
	}
	return m, nil
}

func decodeTPV(m Message, line []byte, rx time.Time) (Message, error) {
	var t tpvMsg
	if err := json.Unmarshal(line, &t); err != nil {
		return m, fmt.Errorf("%w: TPV: %v", ErrMalformed, err)
	}
	if t.Mode == nil {
		return m, fmt.Errorf("%w: TPV: no mode", ErrMalformed)
	}
	m.Device, m.Mode, m.Status = t.Device, *t.Mode, t.Status
	tod := refclock.TimeOfDay{Received: rx, Fix: fixOf(*t.Mode, t.Status)}
	if t.LeapSeconds != nil {
		tod.TAIOffset = *t.LeapSeconds + 19 // TAI − GPS = 19 s
		tod.TAIOffsetKnown = true
	}
	if t.Time != nil {
		utc, err := ParseTime(*t.Time)
		if err != nil {
			return m, err
		}
		tod.UTC = utc
		tod.Valid = *t.Mode >= 2 && t.Status != statusSimulated
	}
	m.TimeOfDay = tod
	return m, nil
}

// fixOf maps TPV mode and status to a refclock.Fix.
func fixOf(mode, status int) refclock.Fix {
	switch {
	case mode >= 2 && status == statusTime:
		return refclock.FixTimeOnly
	case mode == 3:
		return refclock.Fix3D
	case mode == 2:
		return refclock.Fix2D
	case mode == 1:
		return refclock.FixNone
	}
	return refclock.FixUnknown
}

func decodeOffset(m Message, line []byte) (Message, error) {
	var o offsetMsg
	if err := json.Unmarshal(line, &o); err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrMalformed, m.Name, err)
	}
	if o.RealSec == nil || o.RealNsec == nil || o.ClockSec == nil || o.ClockNsec == nil {
		return m, fmt.Errorf("%w: %s: want real_sec, real_nsec, clock_sec and clock_nsec", ErrMalformed, m.Name)
	}
	for _, ns := range []int64{*o.RealNsec, *o.ClockNsec} {
		if ns < 0 || ns >= 1e9 {
			return m, fmt.Errorf("%w: %s: nanoseconds %d outside [0, 1e9)", ErrBadTime, m.Name, ns)
		}
	}
	m.Device = o.Device
	m.Offset = refclock.PPSReport{
		Real:      time.Unix(*o.RealSec, *o.RealNsec).UTC(),
		Clock:     time.Unix(*o.ClockSec, *o.ClockNsec).UTC(),
		Precision: o.Precision,
	}
	return m, nil
}

// ParseTime parses a gpsd ISO 8601 UTC time, YYYY-MM-DDThh:mm:ss with an
// optional fraction of 1–9 digits and a final Z, exactly: the fraction is
// kept digit for digit, nothing is rounded. gpsd prints POSIX time through
// gmtime, so it never sends a leap second's 23:59:60; that is rejected like
// any other out-of-range field.
func ParseTime(s string) (time.Time, error) {
	if !strings.HasSuffix(s, "Z") || len(s) < len("2006-01-02T15:04:05Z") || s[10] != 'T' {
		return time.Time{}, fmt.Errorf("%w: %q: want YYYY-MM-DDThh:mm:ss[.fff]Z", ErrBadTime, s)
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-2 > 9 {
		// time.Parse would silently truncate past nanoseconds.
		return time.Time{}, fmt.Errorf("%w: %q: more than 9 fraction digits", ErrBadTime, s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q: %v", ErrBadTime, s, err)
	}
	return t.UTC(), nil
}

func why(err error, otherwise string) string {
	if err != nil {
		return err.Error()
	}
	return otherwise
}
