package leap

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func addSeeds(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkTable asserts the invariants every parsed table must hold and
// exercises the query methods on it.
func checkTable(t *testing.T, tb *Table) {
	t.Helper()
	evs := tb.Events()
	for i, e := range evs {
		if !e.At.Equal(e.At.Truncate(24*time.Hour)) || e.At.Day() != 1 {
			t.Fatalf("event %d at %v: not a month start", i, e.At)
		}
		if i > 0 && !e.At.After(evs[i-1].At) {
			t.Fatalf("events not increasing: %v, %v", evs[i-1], e)
		}
		if tb.TAIOffset(e.At) != e.TAIOffset || tb.TAIOffset(e.At.Add(-time.Nanosecond))+int(leapSign(e.Leap)) != e.TAIOffset {
			t.Fatalf("event %v inconsistent with TAIOffset", e)
		}
		if n, ok := tb.Next(e.LastDay()); !ok || !n.At.Equal(e.At) {
			t.Fatalf("Next(%v) = %v, %v", e.LastDay(), n, ok)
		}
		l, _ := tb.LeapAt(e.LastDay())
		if e.Announceable() != (l == e.Leap) {
			t.Fatalf("LeapAt(%v) = %v for %v", e.LastDay(), l, e)
		}
		if !tb.Expires().IsZero() && e.At.After(tb.Expires()) {
			t.Fatalf("event %v after expiry %v", e, tb.Expires())
		}
	}
	_ = Vote(nil, tb, tb.Expires())
}

// FuzzParseList: no panic on any input; whatever parses is a consistent
// table. Memory is bounded by MaxFileSize and MaxEntries.
func FuzzParseList(f *testing.F) {
	addSeeds(f, "*.list")
	f.Add([]byte("#@ 3991593600\n2272060800 10\n#h 0 0 0 0 0\n"))
	f.Add([]byte("#h\n#$\n#@\n#"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// As given, and re-hashed so that mutated data also reaches the
		// table validation instead of stopping at ErrBadHash.
		var lines []string
		for l := range strings.SplitSeq(string(b), "\n") {
			if !strings.HasPrefix(l, "#h") {
				lines = append(lines, l)
			}
		}
		for _, in := range [][]byte{b, []byte(withHash(strings.Join(lines, "\n") + "\n"))} {
			tb, err := ParseList(bytes.NewReader(in))
			if err != nil {
				continue
			}
			if tb.Expires().IsZero() || tb.Format() != FormatList {
				t.Fatalf("list without expiry or wrong format accepted")
			}
			checkTable(t, tb)
		}
	})
}

// FuzzParseTZif: as FuzzParseList for TZif input.
func FuzzParseTZif(f *testing.F) {
	addSeeds(f, "*.tzif")
	recs := []tzifRec{{78796800, 1}, {94694401, 2}}
	f.Add(tzifFile('4', append(recs, tzifRec{94694401 + 86400*100, 2})))
	f.Add(tzifFile(0, recs))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := Parse(bytes.NewReader(b)) // sniffs the magic: both parsers
		if err != nil {
			return
		}
		checkTable(t, tb)
	})
}
