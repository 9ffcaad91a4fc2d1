package leap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Format says which kind of file a Table was read from.
type Format uint8

const (
	FormatList Format = iota + 1 // IERS/NIST leap-seconds.list
	FormatTZif                   // tz database TZif file with leap records (right/UTC)
)

func (f Format) String() string {
	switch f {
	case FormatList:
		return "leap-seconds.list"
	case FormatTZif:
		return "tzif"
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// Sentinel errors callers may branch on (wrapped with context).
var (
	// ErrBadHash: the #h line of a leap-seconds.list does not match its data.
	ErrBadHash = errors.New("leap-seconds.list hash mismatch")
	// ErrNoHash: a leap-seconds.list has no #h line, so it cannot be verified.
	ErrNoHash = errors.New("leap-seconds.list has no #h hash line")
	// ErrNoExpiry: a leap-seconds.list has no #@ expiry line.
	ErrNoExpiry = errors.New("leap-seconds.list has no #@ expiry line")
	// ErrTooLarge: the input exceeds MaxFileSize.
	ErrTooLarge = errors.New("leap table file too large")
	// ErrMalformed: the input is not a well-formed table.
	ErrMalformed = errors.New("malformed leap table")
)

// Limits that bound the memory a parser may use on hostile input. The real
// files are about 5 KB (list) and 1 KB (TZif) with 28 entries.
const (
	MaxFileSize = 1 << 20 // bytes
	MaxEntries  = 1000    // leap entries
)

// Event is one leap second.
type Event struct {
	// At is the first instant after the leap: 00:00:00 UTC on the first
	// day of the month following the leap (the NTP timestamp of the
	// leap-seconds.list line). The leap itself is the last second of the
	// UTC day before At: 23:59:60 inserted or 23:59:59 deleted.
	At time.Time
	// Leap is LeapInsert or LeapDelete.
	Leap clock.Leap
	// TAIOffset is TAI − UTC in seconds from At on (37 after the leap at
	// the end of 2016).
	TAIOffset int
}

// LastDay returns 00:00:00 UTC of the UTC day that ends with the leap:
// the start of the window in which LI announces it. Time values have no
// leap seconds, so this is At − 24 h for insertions and deletions alike.
func (e Event) LastDay() time.Time { return e.At.Add(-24 * time.Hour) }

// Announceable reports whether the leap falls at the end of June or
// December, the only dates ever used and the only ones gnomon announces
// (gpsd's rule in timehint.c and chrony's is_leap_second_day). IERS may
// in principle also use March and September; such a leap is still counted
// by TAIOffset but never announced.
func (e Event) Announceable() bool {
	m := e.At.UTC().Month()
	return isMonthStart(e.At) && (m == time.January || m == time.July)
}

func (e Event) String() string {
	return fmt.Sprintf("%s before %s (TAI-UTC %d s)", e.Leap, e.At.UTC().Format(time.RFC3339), e.TAIOffset)
}

// entry: TAI − UTC = offset from start on.
type entry struct {
	start  time.Time
	offset int
}

// Table is an immutable table of TAI − UTC offsets and leap seconds read
// from a leap-seconds.list or a TZif file. It is safe for concurrent use.
type Table struct {
	format  Format
	entries []entry // strictly increasing start; offsets of neighbours differ by exactly 1
	updated time.Time
	expires time.Time
}

// newTable validates entries (already sorted by the parsers) and builds a
// Table. Every entry must start at 00:00:00 UTC on the first of a month,
// consecutive offsets must differ by exactly one second, and no entry may
// lie after the expiry.
func newTable(f Format, entries []entry, updated, expires time.Time) (*Table, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: no entries", ErrMalformed)
	}
	for i, e := range entries {
		if !isMonthStart(e.start) {
			return nil, fmt.Errorf("%w: entry %d at %s is not 00:00:00 UTC on the first of a month",
				ErrMalformed, i+1, e.start.UTC().Format(time.RFC3339))
		}
		if i == 0 {
			continue
		}
		p := entries[i-1]
		if !e.start.After(p.start) {
			return nil, fmt.Errorf("%w: entry %d (%s) does not follow entry %d (%s)", ErrMalformed,
				i+1, e.start.UTC().Format(time.RFC3339), i, p.start.UTC().Format(time.RFC3339))
		}
		if d := e.offset - p.offset; d != 1 && d != -1 {
			return nil, fmt.Errorf("%w: TAI-UTC jumps from %d to %d at %s (one leap second at a time)",
				ErrMalformed, p.offset, e.offset, e.start.UTC().Format(time.RFC3339))
		}
	}
	if !expires.IsZero() && entries[len(entries)-1].start.After(expires) {
		return nil, fmt.Errorf("%w: last entry %s lies after the expiry %s", ErrMalformed,
			entries[len(entries)-1].start.UTC().Format(time.RFC3339), expires.UTC().Format(time.RFC3339))
	}
	return &Table{format: f, entries: entries, updated: updated, expires: expires}, nil
}

func isMonthStart(t time.Time) bool {
	u := t.UTC()
	return u.Day() == 1 && u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0
}

// Format returns the kind of file the table came from.
func (t *Table) Format() Format { return t.format }

// Updated returns the last-update time of a leap-seconds.list (#$ line), or
// the zero time if unknown (TZif files carry none).
func (t *Table) Updated() time.Time { return t.updated }

// Expires returns the expiry of the table (leap-seconds.list #@ line, TZif
// version 4 expiry record) or the zero time if the file states none
// (TZif versions 1–3, as shipped by Debian 12's tzdata).
func (t *Table) Expires() time.Time { return t.expires }

// Expired reports whether now is at or after a known expiry. A table
// without a known expiry never reports expired; Vote treats it as
// incomplete instead (it may announce, but not veto).
func (t *Table) Expired(now time.Time) bool {
	return !t.expires.IsZero() && !now.Before(t.expires)
}

// TAIOffset returns TAI − UTC in seconds at utc (37 since 2017-01-01).
// During an inserted leap second a time.Time cannot say 23:59:60; such
// instants read as 23:59:59.x and get the offset before the leap. Before
// the first entry (1972-01-01 in the IERS list) the first entry's offset
// is returned: UTC had no integer offset to TAI before 1972. After the
// expiry the last known offset is returned; whether to trust it is the
// caller's decision (see Expired).
func (t *Table) TAIOffset(utc time.Time) int {
	i := t.index(utc)
	if i < 0 {
		return t.entries[0].offset
	}
	return t.entries[i].offset
}

// index returns the index of the entry in force at utc, or −1 before the
// first entry.
func (t *Table) index(utc time.Time) int {
	// First entry starting after utc, minus one.
	return sort.Search(len(t.entries), func(i int) bool { return t.entries[i].start.After(utc) }) - 1
}

// LeapAt returns the leap indicator for time t and the TAI − UTC offset in
// force at t.
//
// The indicator is LeapInsert or LeapDelete only during the last UTC day
// before an announceable leap (June 30 or December 31), from 00:00:00 to
// 23:59:60 (or 23:59:58 for a deletion) — as time.Time values, t in
// [At − 24 h, At). This is the window RFC 5905 §7.3 defines (LI warns of a
// leap "in the last minute of the current day") and the one chrony uses.
// Announcing earlier, as some servers do for the whole month, is unsafe:
// clients that arm the Linux kernel on receipt (STA_INS) get the leap
// inserted at the next UTC midnight, which would be the wrong one.
//
// An expired table never announces: the parsers reject tables that list a
// leap after their own expiry, so once a table has expired it has no
// future leap left to announce. What expiry does change is whether the
// table's silence can be trusted; see Vote.
func (t *Table) LeapAt(at time.Time) (clock.Leap, int) {
	off := t.TAIOffset(at)
	ev, ok := t.Next(at)
	if !ok || !ev.Announceable() || at.Before(ev.LastDay()) {
		return clock.LeapNone, off
	}
	return ev.Leap, off
}

// Next returns the first leap strictly after the instant after, whatever
// the expiry (callers announcing leaps check Expired or use LeapAt).
func (t *Table) Next(after time.Time) (Event, bool) {
	i := t.index(after) + 1
	if i < 1 { // before the first entry: the first entry is the origin, not a leap
		i = 1
	}
	if i >= len(t.entries) {
		return Event{}, false
	}
	return t.event(i), true
}

func (t *Table) event(i int) Event {
	e := t.entries[i]
	l := clock.LeapInsert
	if e.offset < t.entries[i-1].offset {
		l = clock.LeapDelete
	}
	return Event{At: e.start, Leap: l, TAIOffset: e.offset}
}

// Events returns every leap in the table, oldest first.
func (t *Table) Events() []Event {
	evs := make([]Event, 0, len(t.entries)-1)
	for i := 1; i < len(t.entries); i++ {
		evs = append(evs, t.event(i))
	}
	return evs
}

// Parse reads a leap-seconds.list or, if the input starts with the TZif
// magic, a TZif file.
func Parse(r io.Reader) (*Table, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read leap table: %w", err)
	}
	if bytes.Equal(head, []byte(tzifMagic)) {
		return ParseTZif(br)
	}
	return ParseList(br)
}

// Load reads and parses name from fsys (either format).
func Load(fsys fs.FS, name string) (*Table, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open leap table: %w", err)
	}
	defer f.Close()
	t, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("leap table %s: %w", name, err)
	}
	return t, nil
}

// LoadFile reads and parses the file at path (either format), for example
// /usr/share/zoneinfo/leap-seconds.list or /usr/share/zoneinfo/right/UTC.
func LoadFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open leap table: %w", err)
	}
	defer f.Close()
	t, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("leap table %s: %w", path, err)
	}
	return t, nil
}

// readAll reads r up to MaxFileSize bytes.
func readAll(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read leap table: %w", err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxFileSize)
	}
	return b, nil
}
