package nmea

import (
	"fmt"
	"strconv"
)

// MaxLineLen is the longest line Parse and the serial reader accept, in
// bytes, without the line ending. NMEA 0183 limits a sentence to 82
// characters including "$" and CR LF (79 between them); receivers' own
// proprietary sentences (u-blox PUBX, for one) run longer, and a line that
// is merely long is not a reason to call the receiver broken. Longer lines
// are rejected (ReasonTooLong) so that a babbling device, or a port at the
// wrong baud rate that never sends a line feed, cannot grow a buffer.
const MaxLineLen = 256

// maxFields bounds the fields Parse looks at; later fields are ignored
// (RMC, ZDA and GGA have at most 15, and later NMEA versions only append).
const maxFields = 24

// Reason says why a line was rejected. The String values are stable
// snake_case names for metric labels and log values. A Reason is also an
// error, so errors.Is(err, ReasonBadChecksum) works on what Parse returns.
type Reason uint8

const (
	// ReasonTooLong: longer than MaxLineLen.
	ReasonTooLong Reason = iota
	// ReasonNoStart: empty, or the first byte is not '$' or '!'.
	ReasonNoStart
	// ReasonNoChecksum: no "*hh" at the end. NMEA makes the checksum
	// optional for some sentences; gnomon does not, since a line without
	// one cannot be told from line noise.
	ReasonNoChecksum
	// ReasonBadChecksum: the checksum does not match the sentence.
	ReasonBadChecksum
	// ReasonBadChar: a byte outside printable ASCII inside the sentence.
	ReasonBadChar
	// ReasonBadAddress: the address field is not a two-letter talker plus
	// a three-letter formatter (or a proprietary "P..." address).
	ReasonBadAddress
	// ReasonShort: an RMC, ZDA or GGA with fewer fields than it must have.
	ReasonShort
	// ReasonBadTime: a time or date field that is not a time or date
	// (hour 24, second 60 other than at 23:59, 31 April, more than nine
	// fractional digits, a leap second not at the end of a month, ...).
	ReasonBadTime
	// ReasonBadField: another field of RMC, ZDA or GGA that is malformed
	// (status not A/V, fix quality not 0–8, ...).
	ReasonBadField

	// NumReasons is the number of reasons, for counter arrays.
	NumReasons int = iota
)

// String returns the snake_case name of r.
func (r Reason) String() string {
	switch r {
	case ReasonTooLong:
		return "too_long"
	case ReasonNoStart:
		return "no_start"
	case ReasonNoChecksum:
		return "no_checksum"
	case ReasonBadChecksum:
		return "bad_checksum"
	case ReasonBadChar:
		return "bad_char"
	case ReasonBadAddress:
		return "bad_address"
	case ReasonShort:
		return "short"
	case ReasonBadTime:
		return "bad_time"
	case ReasonBadField:
		return "bad_field"
	}
	return "reason_" + strconv.Itoa(int(r))
}

// Error makes a Reason usable as a sentinel error.
func (r Reason) Error() string { return "nmea: " + r.String() }

// Error is a rejected line: its Reason and what exactly was wrong.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Reason.Error()
	}
	return e.Reason.Error() + ": " + e.Detail
}

// Unwrap returns the Reason, for errors.Is.
func (e *Error) Unwrap() error { return e.Reason }

func fail(r Reason, format string, a ...any) error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, a...)}
}

// Kind is a sentence this package understands.
type Kind uint8

const (
	KindOther Kind = iota // valid framing and checksum, not interpreted
	KindRMC               // recommended minimum: time, status, date
	KindZDA               // time and date
	KindGGA               // fix data: time, fix quality, satellites
)

func (k Kind) String() string {
	switch k {
	case KindRMC:
		return "RMC"
	case KindZDA:
		return "ZDA"
	case KindGGA:
		return "GGA"
	}
	return "other"
}

// Time is a UTC time of day as a receiver labels it. Second is 0–60: 60 is
// an inserted leap second and is accepted only at 23:59. Nanosecond and
// Digits keep the fraction exactly as written: "123456.50" is Second 56,
// Nanosecond 500000000, Digits 2.
type Time struct {
	Hour, Minute, Second int
	Nanosecond           int
	Digits               int // fractional digits as written, 0–9
}

// String formats t as hh:mm:ss[.f], with the fraction as written.
func (t Time) String() string {
	s := fmt.Sprintf("%02d:%02d:%02d", t.Hour, t.Minute, t.Second)
	if t.Digits > 0 {
		s += fmt.Sprintf(".%09d", t.Nanosecond)[:t.Digits+1]
	}
	return s
}

// Date is a UTC calendar date (Year with four digits).
type Date struct {
	Year, Month, Day int
}

// Sentence is one parsed line. Fields a sentence does not have are zero
// (HasTime, HasDate false; Status, Mode, NavStatus 0; Quality and
// Satellites −1).
type Sentence struct {
	// Talker is the two-letter talker ID ("GP", "GN", "GL", "GA", "BD",
	// "GB", "QZ", ...), or "P" for a proprietary sentence.
	Talker string
	// Type is the formatter ("RMC"), or for a proprietary sentence the
	// rest of its address ("UBX").
	Type string
	Kind Kind

	Time    Time // RMC, ZDA, GGA
	HasTime bool // false when the time field is empty (no fix yet)
	Date    Date // RMC (two-digit year, see Parse), ZDA
	HasDate bool

	// Status is RMC's status: 'A' valid, 'V' warning.
	Status byte
	// Mode is RMC's mode indicator (NMEA 2.3+): A autonomous,
	// D differential, E estimated, F float RTK, M manual input, N not
	// valid, P precise, R RTK, S simulator.
	Mode byte
	// NavStatus is RMC's navigational status (NMEA 4.1+): S safe,
	// C caution, U unsafe, V not valid.
	NavStatus byte

	// Quality is GGA's fix quality: 0 invalid, 1 GNSS, 2 differential,
	// 3 PPS, 4 RTK fixed, 5 RTK float, 6 estimated, 7 manual input,
	// 8 simulator.
	Quality int
	// Satellites is GGA's number of satellites in use.
	Satellites int
	// HasAltitude: GGA's altitude field is not empty.
	HasAltitude bool
}

// Checksum is the NMEA checksum of body: the XOR of its bytes (the bytes
// between '$' and '*').
func Checksum(body []byte) byte {
	var c byte
	for _, b := range body {
		c ^= b
	}
	return c
}

// Parse checks one line (with or without its CR LF) and interprets RMC,
// ZDA and GGA from any talker. Other sentences with valid framing and
// checksum come back as KindOther. It never panics and does not keep line.
//
// RMC's two-digit year yy is 2000+yy for yy < 80 and 1900+yy otherwise
// (GPS time began in 1980).
func Parse(line []byte) (Sentence, error) {
	s := Sentence{Quality: -1, Satellites: -1}
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if len(line) > MaxLineLen {
		return s, fail(ReasonTooLong, "%d bytes, limit %d", len(line), MaxLineLen)
	}
	if len(line) == 0 || (line[0] != '$' && line[0] != '!') {
		return s, &Error{Reason: ReasonNoStart}
	}
	star := -1
	for i := 1; i < len(line); i++ {
		b := line[i]
		if b == '*' {
			star = i
			break
		}
		if b < 0x20 || b > 0x7e {
			return s, fail(ReasonBadChar, "byte %#02x at %d", b, i)
		}
	}
	if star < 0 || len(line) != star+3 {
		return s, &Error{Reason: ReasonNoChecksum}
	}
	body := line[1:star]
	want, ok := hexByte(line[star+1], line[star+2])
	if !ok {
		return s, fail(ReasonNoChecksum, "%q is not a hex checksum", line[star+1:])
	}
	if got := Checksum(body); got != want {
		return s, fail(ReasonBadChecksum, "sentence says %02X, computed %02X", want, got)
	}

	var f [maxFields][]byte
	n := 0
	start := 0
	for i := 0; i <= len(body) && n < maxFields; i++ {
		if i == len(body) || body[i] == ',' {
			f[n] = body[start:i]
			n++
			start = i + 1
		}
	}
	addr := f[0]
	if len(addr) >= 2 && addr[0] == 'P' {
		s.Talker, s.Type = "P", string(addr[1:])
		return s, nil
	}
	if len(addr) != 5 || !upperAlnum(addr) {
		return s, fail(ReasonBadAddress, "%q", addr)
	}
	s.Talker, s.Type = string(addr[:2]), string(addr[2:])
	switch s.Type {
	case "RMC":
		s.Kind = KindRMC
		return s, parseRMC(&s, f[1:n])
	case "ZDA":
		s.Kind = KindZDA
		return s, parseZDA(&s, f[1:n])
	case "GGA":
		s.Kind = KindGGA
		return s, parseGGA(&s, f[1:n])
	}
	return s, nil
}

// parseRMC: time, status, lat, N/S, lon, E/W, speed, course, date, magvar,
// E/W, [mode (2.3+), [nav status (4.1+)]].
func parseRMC(s *Sentence, f [][]byte) error {
	if len(f) < 9 {
		return fail(ReasonShort, "RMC with %d fields, need at least 9", len(f))
	}
	if err := parseTime(s, f[0]); err != nil {
		return err
	}
	switch st := f[1]; {
	case len(st) == 0:
	case len(st) == 1 && (st[0] == 'A' || st[0] == 'V'):
		s.Status = st[0]
	default:
		return fail(ReasonBadField, "RMC status %q", st)
	}
	if d := f[8]; len(d) > 0 {
		if len(d) != 6 || !digits(d) {
			return fail(ReasonBadTime, "RMC date %q", d)
		}
		yy := atoi(d[4:6])
		if yy < 80 {
			yy += 2000
		} else {
			yy += 1900
		}
		if err := setDate(s, yy, atoi(d[2:4]), atoi(d[0:2])); err != nil {
			return err
		}
	}
	if len(f) > 11 {
		if s.Mode, _ = letter(f[11]); len(f[11]) > 0 && s.Mode == 0 {
			return fail(ReasonBadField, "RMC mode %q", f[11])
		}
	}
	if len(f) > 12 {
		if s.NavStatus, _ = letter(f[12]); len(f[12]) > 0 && s.NavStatus == 0 {
			return fail(ReasonBadField, "RMC navigational status %q", f[12])
		}
	}
	return checkSecond60(s)
}

// parseZDA: time, day, month, year, [local zone hours, minutes]. The local
// zone does not change the UTC fields and is ignored.
func parseZDA(s *Sentence, f [][]byte) error {
	if len(f) < 4 {
		return fail(ReasonShort, "ZDA with %d fields, need at least 4", len(f))
	}
	if err := parseTime(s, f[0]); err != nil {
		return err
	}
	d, m, y := f[1], f[2], f[3]
	if len(d)+len(m)+len(y) > 0 {
		if len(d) != 2 || len(m) != 2 || len(y) != 4 || !digits(d) || !digits(m) || !digits(y) {
			return fail(ReasonBadTime, "ZDA date %q,%q,%q", d, m, y)
		}
		if err := setDate(s, atoi(y), atoi(m), atoi(d)); err != nil {
			return err
		}
	}
	return checkSecond60(s)
}

// parseGGA: time, lat, N/S, lon, E/W, quality, satellites, HDOP, altitude,
// M, geoid separation, M, DGPS age, DGPS station.
func parseGGA(s *Sentence, f [][]byte) error {
	if len(f) < 7 {
		return fail(ReasonShort, "GGA with %d fields, need at least 7", len(f))
	}
	if err := parseTime(s, f[0]); err != nil {
		return err
	}
	if q := f[5]; len(q) > 0 {
		if len(q) != 1 || q[0] < '0' || q[0] > '8' {
			return fail(ReasonBadField, "GGA fix quality %q", q)
		}
		s.Quality = int(q[0] - '0')
	}
	if n := f[6]; len(n) > 0 {
		if len(n) > 3 || !digits(n) {
			return fail(ReasonBadField, "GGA satellites %q", n)
		}
		s.Satellites = atoi(n)
	}
	s.HasAltitude = len(f) > 8 && len(f[8]) > 0
	return nil
}

// parseTime parses hhmmss[.f{1,9}]; an empty field leaves HasTime false.
func parseTime(s *Sentence, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) < 6 || !digits(b[:6]) {
		return fail(ReasonBadTime, "time %q", b)
	}
	t := Time{Hour: atoi(b[0:2]), Minute: atoi(b[2:4]), Second: atoi(b[4:6])}
	if frac := b[6:]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 || !digits(frac[1:]) {
			return fail(ReasonBadTime, "time %q (at most nine fractional digits)", b)
		}
		t.Digits = len(frac) - 1
		ns := atoi(frac[1:])
		for range 9 - t.Digits {
			ns *= 10
		}
		t.Nanosecond = ns
	}
	if t.Hour > 23 || t.Minute > 59 || t.Second > 60 || (t.Second == 60 && (t.Hour != 23 || t.Minute != 59)) {
		return fail(ReasonBadTime, "time %q out of range", b)
	}
	s.Time, s.HasTime = t, true
	return nil
}

func setDate(s *Sentence, y, m, d int) error {
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return fail(ReasonBadTime, "date %04d-%02d-%02d out of range", y, m, d)
	}
	s.Date, s.HasDate = Date{Year: y, Month: m, Day: d}, true
	return nil
}

// checkSecond60 rejects a leap second on a day that is not the last of its
// month: leap seconds are inserted only there (ITU-R TF.460).
func checkSecond60(s *Sentence) error {
	if s.HasTime && s.HasDate && s.Time.Second == 60 && s.Date.Day != daysIn(s.Date.Year, s.Date.Month) {
		return fail(ReasonBadTime, "second 60 on %04d-%02d-%02d, not the last day of a month", s.Date.Year, s.Date.Month, s.Date.Day)
	}
	return nil
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// atoi of ASCII digits already checked by digits (at most nine).
func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

func upperAlnum(b []byte) bool {
	for _, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// letter returns the single upper-case letter of b; ok is false for an
// empty field, c is 0 for anything else.
func letter(b []byte) (c byte, ok bool) {
	if len(b) == 1 && b[0] >= 'A' && b[0] <= 'Z' {
		return b[0], true
	}
	return 0, false
}

func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexDigit(hi)
	l, ok2 := hexDigit(lo)
	return h<<4 | l, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
