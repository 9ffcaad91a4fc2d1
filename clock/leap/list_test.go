package leap

import (
	"crypto/sha1" //nolint:gosec // format-mandated
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

func load(tb testing.TB, name string) *Table {
	tb.Helper()
	t, err := Load(os.DirFS("testdata"), name)
	if err != nil {
		tb.Fatalf("load %s: %v", name, err)
	}
	return t
}

func ts(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("parse %q: %v", s, err)
	}
	return t
}

func TestParseListReal(t *testing.T) {
	tb := load(t, "leap-seconds.list")
	if tb.Format() != FormatList {
		t.Errorf("format = %v", tb.Format())
	}
	// #$ 3960835200 and #@ 3991593600 in the Debian 12 tzdata 2025b file.
	if want := ts(t, "2025-07-07T00:00:00Z"); !tb.Updated().Equal(want) {
		t.Errorf("updated = %v, want %v", tb.Updated(), want)
	}
	if want := ts(t, "2026-06-28T00:00:00Z"); !tb.Expires().Equal(want) {
		t.Errorf("expires = %v, want %v", tb.Expires(), want)
	}
	evs := tb.Events()
	if len(evs) != 27 {
		t.Fatalf("%d leaps, want 27", len(evs))
	}
	for _, e := range evs {
		if e.Leap != clock.LeapInsert || !e.Announceable() {
			t.Errorf("event %v: want an announceable insertion", e)
		}
	}
	if first, last := evs[0], evs[len(evs)-1]; !first.At.Equal(ts(t, "1972-07-01T00:00:00Z")) || first.TAIOffset != 11 ||
		!last.At.Equal(ts(t, "2017-01-01T00:00:00Z")) || last.TAIOffset != 37 {
		t.Errorf("first %v, last %v", first, last)
	}
	if !tb.Expired(ts(t, "2026-11-23T00:00:00Z")) || tb.Expired(ts(t, "2026-06-27T23:59:59Z")) || !tb.Expired(tb.Expires()) {
		t.Error("expiry: want expired from 2026-06-28T00:00:00Z on, not before")
	}
}

func TestParseListFixtures(t *testing.T) {
	tests := []struct {
		file    string
		expires string
		last    Event // last event in the table
		wantErr error
	}{
		{file: "future.list", expires: "2027-06-28T00:00:00Z",
			last: Event{At: ts(t, "2027-01-01T00:00:00Z"), Leap: clock.LeapInsert, TAIOffset: 38}},
		{file: "negative.list", expires: "2027-06-28T00:00:00Z",
			last: Event{At: ts(t, "2027-01-01T00:00:00Z"), Leap: clock.LeapDelete, TAIOffset: 36}},
		{file: "expired.list", expires: "2017-06-28T00:00:00Z",
			last: Event{At: ts(t, "2017-01-01T00:00:00Z"), Leap: clock.LeapInsert, TAIOffset: 37}},
		// Hash words printed without leading zeros ("1827119").
		{file: "nopad.list", expires: "2027-06-28T00:00:00Z",
			last: Event{At: ts(t, "2027-01-01T00:00:00Z"), Leap: clock.LeapInsert, TAIOffset: 38}},
		// Real file with its expiry edited by hand: hash mismatch.
		{file: "badhash.list", wantErr: ErrBadHash},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			tb, err := Load(os.DirFS("testdata"), tt.file)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tb.Expires().Equal(ts(t, tt.expires)) {
				t.Errorf("expires %v, want %s", tb.Expires(), tt.expires)
			}
			evs := tb.Events()
			if got := evs[len(evs)-1]; !got.At.Equal(tt.last.At) || got.Leap != tt.last.Leap || got.TAIOffset != tt.last.TAIOffset {
				t.Errorf("last event %v, want %v", got, tt.last)
			}
		})
	}
}

// withHash appends a correct #h line to a list body. It reimplements the
// hash rule for the structural tests below; the rule itself is checked
// against independently hashed fixtures (mkfixtures.sh) and the real file.
func withHash(body string) string {
	h := sha1.New() //nolint:gosec // format-mandated
	for line := range strings.SplitSeq(body, "\n") {
		switch {
		case strings.HasPrefix(line, "#$") || strings.HasPrefix(line, "#@"):
			h.Write([]byte(strings.Join(strings.Fields(line[2:]), "")))
		case strings.HasPrefix(line, "#"):
		default:
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			h.Write([]byte(strings.Join(strings.Fields(line), "")))
		}
	}
	s := h.Sum(nil)
	var w [5]uint32
	for i := range w {
		w[i] = binary.BigEndian.Uint32(s[4*i:])
	}
	return body + fmt.Sprintf("#h %x %x %x %x %x\n", w[0], w[1], w[2], w[3], w[4])
}

func TestParseListErrors(t *testing.T) {
	const (
		upd = "#$ 3960835200\n"
		exp = "#@ 3991593600\n"
		d72 = "2272060800 10 # 1 Jan 1972\n"
		j72 = "2287785600 11 # 1 Jul 1972\n"
	)
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrNoExpiry},
		{"no expiry", withHash(upd + d72 + j72), ErrNoExpiry},
		{"no hash", upd + exp + d72 + j72, ErrNoHash},
		{"no entries", withHash(upd + exp), ErrMalformed},
		{"two expiry lines", withHash(upd + exp + exp + d72), ErrMalformed},
		{"two hash lines", withHash(withHash(upd + exp + d72)), ErrMalformed},
		{"expiry not a number", withHash(upd + "#@ soon\n" + d72), ErrMalformed},
		{"expiry two fields", withHash(upd + "#@ 1 2\n" + d72), ErrMalformed},
		{"hash four words", upd + exp + d72 + "#h 1 2 3 4\n", ErrMalformed},
		{"hash word too long", upd + exp + d72 + "#h 123456789 2 3 4 5\n", ErrMalformed},
		{"hash not hex", upd + exp + d72 + "#h 1 2 3 4 zz\n", ErrMalformed},
		{"one field", withHash(upd + exp + "2272060800\n"), ErrMalformed},
		{"three fields", withHash(upd + exp + "2272060800 10 12\n"), ErrMalformed},
		{"offset not a number", withHash(upd + exp + "2272060800 ten\n"), ErrMalformed},
		{"offset huge", withHash(upd + exp + "2272060800 100000\n"), ErrMalformed},
		{"negative time", withHash(upd + exp + "-1 10\n"), ErrMalformed},
		{"time too large", withHash(upd + exp + "99999999999999999999 10\n"), ErrMalformed},
		{"not midnight", withHash(upd + exp + d72 + "2287785601 11\n"), ErrMalformed},
		{"not first of month", withHash(upd + exp + d72 + "2287872000 11\n"), ErrMalformed},
		{"jump by two", withHash(upd + exp + d72 + "2287785600 12\n"), ErrMalformed},
		{"same offset twice", withHash(upd + exp + d72 + "2287785600 10\n"), ErrMalformed},
		{"not increasing", withHash(upd + exp + j72 + d72), ErrMalformed},
		{"entry after expiry", withHash(upd + "#@ 2287785599\n" + d72 + j72), ErrMalformed},
		{"long line", withHash(upd + exp + d72 + "# " + strings.Repeat("x", maxLineLen) + "\n"), ErrMalformed},
		{"too large", upd + exp + strings.Repeat("#\n", MaxFileSize/2+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseList(strings.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseListAccepts(t *testing.T) {
	// Minimal valid list: no #$ line, CRLF line ends, comment-only lines,
	// blank lines, unknown special comment lines.
	in := withHash("#@ 3991593600\r\n\r\n#\n#unknown special\n  \n  # indented comment\n2272060800\t10\r\n2287785600 11 # 1 Jul 1972\n")
	tb, err := ParseList(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if !tb.Updated().IsZero() || len(tb.Events()) != 1 || tb.TAIOffset(ts(t, "1980-01-01T00:00:00Z")) != 11 {
		t.Errorf("updated %v, events %v", tb.Updated(), tb.Events())
	}
	// Changing any hashed character breaks the hash; comments do not.
	if _, err := ParseList(strings.NewReader(strings.Replace(in, "# 1 Jul 1972", "# first July", 1))); err != nil {
		t.Errorf("comment edit: %v", err)
	}
	if _, err := ParseList(strings.NewReader(strings.Replace(in, "2287785600 11", "2287785600 9", 1))); !errors.Is(err, ErrBadHash) {
		t.Errorf("data edit: err = %v, want ErrBadHash", err)
	}
}
