package leap

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

func TestTAIOffset(t *testing.T) {
	tests := []struct {
		file string
		at   string
		want int
	}{
		{"leap-seconds.list", "1960-01-01T00:00:00Z", 10}, // before 1972: first entry's offset
		{"leap-seconds.list", "1972-01-01T00:00:00Z", 10},
		{"leap-seconds.list", "1972-06-30T23:59:59.999999999Z", 10},
		{"leap-seconds.list", "1972-07-01T00:00:00Z", 11},
		{"leap-seconds.list", "1999-01-01T00:00:00Z", 32},
		{"leap-seconds.list", "2016-12-31T23:59:59.999999999Z", 36},
		{"leap-seconds.list", "2017-01-01T00:00:00Z", 37},
		{"leap-seconds.list", "2026-11-23T00:00:00Z", 37}, // after expiry: last known
		{"right-UTC.tzif", "2015-06-30T12:00:00Z", 35},
		{"right-UTC.tzif", "2015-07-01T00:00:00Z", 36},
		{"future.list", "2026-12-31T23:59:59Z", 37},
		{"future.list", "2027-01-01T00:00:00Z", 38},
		{"negative.list", "2026-12-31T23:59:58Z", 37},
		{"negative.list", "2027-01-01T00:00:00Z", 36},
	}
	for _, tt := range tests {
		t.Run(tt.file+"@"+tt.at, func(t *testing.T) {
			if got := load(t, tt.file).TAIOffset(ts(t, tt.at)); got != tt.want {
				t.Errorf("TAIOffset = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLeapAt(t *testing.T) {
	ins, del, none := clock.LeapInsert, clock.LeapDelete, clock.LeapNone
	tests := []struct {
		name     string
		file     string
		at       string
		wantLeap clock.Leap
		wantOff  int
	}{
		{"day before the last day", "future.list", "2026-12-30T23:59:59.999999999Z", none, 37},
		{"start of the last day", "future.list", "2026-12-31T00:00:00Z", ins, 37},
		{"noon of the last day", "future.list", "2026-12-31T12:00:00Z", ins, 37},
		{"23:59:59 (and 23:59:60)", "future.list", "2026-12-31T23:59:59.999999999Z", ins, 37},
		{"after the leap", "future.list", "2027-01-01T00:00:00Z", none, 38},
		{"a month before", "future.list", "2026-12-01T00:00:00Z", none, 37},
		{"deletion last day", "negative.list", "2026-12-31T08:00:00Z", del, 37},
		{"after deletion", "negative.list", "2027-01-01T00:00:00Z", none, 36},
		{"tzif insertion", "zic-future.tzif", "2026-12-31T00:00:00Z", ins, 37},
		{"tzif deletion", "zic-negative.tzif", "2026-12-31T23:59:58Z", del, 37},
		// The 2016 list announced 2017-01-01 while it was valid.
		{"2016 list, last day of 2016", "expired.list", "2016-12-31T00:00:00Z", ins, 36},
		{"real list, quiet day", "leap-seconds.list", "2026-06-30T12:00:00Z", none, 37},
		{"real list, 1972-06-30", "leap-seconds.list", "1972-06-30T10:00:00Z", ins, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, off := load(t, tt.file).LeapAt(ts(t, tt.at))
			if l != tt.wantLeap || off != tt.wantOff {
				t.Errorf("LeapAt = %v, %d; want %v, %d", l, off, tt.wantLeap, tt.wantOff)
			}
		})
	}
}

func TestLeapAtNotJuneDecember(t *testing.T) {
	// IERS may use the end of March or September; gnomon counts such a leap
	// but never announces it (gpsd, chrony).
	in := withHash("#@ 3991593600\n2272060800 10\n2287785600 11\n2295734400 12 # 1 Oct 1972\n")
	tb, err := ParseList(bytes.NewReader([]byte(in)))
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := tb.Next(ts(t, "1972-09-30T00:00:00Z"))
	if !ok || !ev.At.Equal(ts(t, "1972-10-01T00:00:00Z")) || ev.Announceable() {
		t.Fatalf("Next = %v, %v", ev, ok)
	}
	if l, off := tb.LeapAt(ts(t, "1972-09-30T12:00:00Z")); l != clock.LeapNone || off != 11 {
		t.Errorf("LeapAt = %v, %d; want none, 11", l, off)
	}
	if off := tb.TAIOffset(ts(t, "1972-10-01T00:00:00Z")); off != 12 {
		t.Errorf("TAIOffset after = %d, want 12", off)
	}
}

func TestNext(t *testing.T) {
	tb := load(t, "leap-seconds.list")
	tests := []struct {
		after  string
		wantAt string // "" = none
	}{
		{"1900-01-01T00:00:00Z", "1972-07-01T00:00:00Z"}, // the 1972-01-01 origin is not a leap
		{"1972-01-01T00:00:00Z", "1972-07-01T00:00:00Z"},
		{"1972-07-01T00:00:00Z", "1973-01-01T00:00:00Z"}, // strictly after
		{"2016-12-31T12:00:00Z", "2017-01-01T00:00:00Z"},
		{"2017-01-01T00:00:00Z", ""},
		{"2026-01-01T00:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.after, func(t *testing.T) {
			ev, ok := tb.Next(ts(t, tt.after))
			if tt.wantAt == "" {
				if ok {
					t.Errorf("Next = %v, want none", ev)
				}
				return
			}
			if !ok || !ev.At.Equal(ts(t, tt.wantAt)) || ev.Leap != clock.LeapInsert {
				t.Errorf("Next = %v, %v; want insertion at %s", ev, ok, tt.wantAt)
			}
			if !ev.LastDay().Equal(ev.At.Add(-24 * time.Hour)) {
				t.Errorf("LastDay = %v", ev.LastDay())
			}
		})
	}
}

func TestParseSniffAndLoad(t *testing.T) {
	for _, tt := range []struct {
		file string
		want Format
	}{{"leap-seconds.list", FormatList}, {"right-UTC.tzif", FormatTZif}} {
		b, err := os.ReadFile("testdata/" + tt.file)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := Parse(bytes.NewReader(b))
		if err != nil || tb.Format() != tt.want {
			t.Errorf("Parse(%s) = %v, %v; want format %v", tt.file, tb, err, tt.want)
		}
		if tb, err := LoadFile("testdata/" + tt.file); err != nil || tb.Format() != tt.want {
			t.Errorf("LoadFile(%s) = %v, %v", tt.file, tb, err)
		}
	}
	if _, err := LoadFile("testdata/absent"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile(absent) err = %v, want ErrNotExist", err)
	}
	if _, err := Load(os.DirFS("testdata"), "absent"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(absent) err = %v, want ErrNotExist", err)
	}
	if _, err := Load(os.DirFS("testdata"), "badhash.list"); !errors.Is(err, ErrBadHash) {
		t.Errorf("Load(badhash) err = %v, want ErrBadHash", err)
	}
}

// TestHostFiles parses the host's files when present (Debian: package
// tzdata). It asserts nothing about their content, which changes with
// updates; the fixtures carry the content tests.
func TestHostFiles(t *testing.T) {
	for _, p := range []string{"/usr/share/zoneinfo/leap-seconds.list", "/usr/share/zoneinfo/right/UTC"} {
		if _, err := os.Stat(p); err != nil {
			t.Logf("%s: %v (skipped)", p, err)
			continue
		}
		tb, err := LoadFile(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		t.Logf("%s: %s, %d leaps, expires %v", p, tb.Format(), len(tb.Events()), tb.Expires())
	}
}
