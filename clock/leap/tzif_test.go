package leap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/facebook/time/leapsectz"
	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/clock"
)

// tzifRec is one leap record as stored in a TZif file.
type tzifRec struct{ occ, corr int64 }

// tzifFile builds a TZif file holding only leap records (one time type
// "UTC"), with a version 1 block and, for version ≥ '2', a 64-bit block and
// footer. Used for what zic on the test host cannot write: version 4
// expiry and truncation.
func tzifFile(version byte, recs []tzifRec) []byte {
	var b bytes.Buffer
	block := func(timeSize int) {
		b.WriteString("TZif")
		b.WriteByte(version)
		b.Write(make([]byte, 15))
		for _, c := range []uint32{0, 0, uint32(len(recs)), 0, 1, 4} { // isut, isstd, leap, time, type, char
			_ = binary.Write(&b, binary.BigEndian, c)
		}
		b.Write(make([]byte, 6)) // utoff 0, isdst 0, desigidx 0
		b.WriteString("UTC\x00")
		for _, r := range recs {
			if timeSize == 8 {
				_ = binary.Write(&b, binary.BigEndian, r.occ)
			} else {
				_ = binary.Write(&b, binary.BigEndian, int32(r.occ))
			}
			_ = binary.Write(&b, binary.BigEndian, int32(r.corr))
		}
	}
	block(4)
	if version >= '2' {
		block(8)
		b.WriteString("\nUTC0\n")
	}
	return b.Bytes()
}

// recsOf turns a table's events into TZif records the way zic does
// (occurrence = 23:59:60 or 23:59:59 on the file's leap-counting scale).
func recsOf(t *Table) []tzifRec {
	var recs []tzifRec
	var corr int64
	for _, e := range t.Events() {
		prev := corr
		corr = int64(e.TAIOffset - tzifBaseOffset)
		occ := e.At.Unix() + prev
		if e.Leap == clock.LeapDelete {
			occ--
		}
		recs = append(recs, tzifRec{occ, corr})
	}
	return recs
}

func TestParseTZifReal(t *testing.T) {
	tz := load(t, "right-UTC.tzif")
	list := load(t, "leap-seconds.list")
	if tz.Format() != FormatTZif || !tz.Expires().IsZero() || tz.Expired(ts(t, "2100-01-01T00:00:00Z")) {
		t.Errorf("format %v, expires %v: want tzif without expiry", tz.Format(), tz.Expires())
	}
	// Both files of the same tzdata release describe the same leaps.
	if diff := cmp.Diff(list.Events(), tz.Events()); diff != "" {
		t.Errorf("tzif vs list events (-list +tzif):\n%s", diff)
	}
	// Independent oracle: facebook/time/leapsectz on the same file.
	oracle, err := leapsectz.Parse("testdata/right-UTC.tzif")
	if err != nil {
		t.Fatal(err)
	}
	evs := tz.Events()
	if len(oracle) != len(evs) {
		t.Fatalf("leapsectz: %d records, we: %d", len(oracle), len(evs))
	}
	for i, o := range oracle {
		if !o.Time().Equal(evs[i].At) || int(o.Nleap)+tzifBaseOffset != evs[i].TAIOffset {
			t.Errorf("record %d: leapsectz %v/%d, we %v", i, o.Time().UTC(), o.Nleap, evs[i])
		}
	}
}

func TestParseTZifZic(t *testing.T) {
	// Compiled by zic from the host's leapseconds file plus one Leap line
	// (mkfixtures.sh): a deletion must land on midnight too.
	tests := []struct {
		file string
		last Event
	}{
		{"zic-future.tzif", Event{At: ts(t, "2027-01-01T00:00:00Z"), Leap: clock.LeapInsert, TAIOffset: 38}},
		{"zic-negative.tzif", Event{At: ts(t, "2027-01-01T00:00:00Z"), Leap: clock.LeapDelete, TAIOffset: 36}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			tb := load(t, tt.file)
			evs := tb.Events()
			if len(evs) != 28 {
				t.Fatalf("%d events, want 28", len(evs))
			}
			if diff := cmp.Diff(tt.last, evs[27]); diff != "" {
				t.Errorf("last event (-want +got):\n%s", diff)
			}
			if got := tb.TAIOffset(ts(t, "2026-12-31T23:59:59.5Z")); got != 37 {
				t.Errorf("TAI-UTC on the last day = %d, want 37", got)
			}
			if got := tb.TAIOffset(tt.last.At); got != tt.last.TAIOffset {
				t.Errorf("TAI-UTC after the leap = %d, want %d", got, tt.last.TAIOffset)
			}
		})
	}
}

func TestParseTZifLeapsectzWrite(t *testing.T) {
	// Files written by leapsectz.Write (version 2 and version 1 only).
	recs := recsOf(load(t, "future.list"))
	var ls []leapsectz.LeapSecond
	for _, r := range recs {
		ls = append(ls, leapsectz.LeapSecond{Tleap: uint64(r.occ), Nleap: int32(r.corr)})
	}
	want := load(t, "future.list").Events()
	for _, ver := range []byte{0, '2'} {
		var b bytes.Buffer
		if err := leapsectz.Write(&b, ver, ls, "UTC"); err != nil {
			t.Fatal(err)
		}
		tb, err := ParseTZif(&b)
		if err != nil {
			t.Fatalf("version %q: %v", ver, err)
		}
		if diff := cmp.Diff(want, tb.Events()); diff != "" {
			t.Errorf("version %q (-want +got):\n%s", ver, diff)
		}
	}
}

func TestParseTZifVersion4(t *testing.T) {
	real := recsOf(load(t, "leap-seconds.list"))
	expiry := ts(t, "2026-06-28T00:00:00Z")
	expRec := tzifRec{expiry.Unix() + 27, 27} // zic: expiry + last correction, same correction

	t.Run("expiry", func(t *testing.T) {
		tb, err := ParseTZif(bytes.NewReader(tzifFile('4', append(append([]tzifRec{}, real...), expRec))))
		if err != nil {
			t.Fatal(err)
		}
		if !tb.Expires().Equal(expiry) || len(tb.Events()) != 27 {
			t.Errorf("expires %v, %d events", tb.Expires(), len(tb.Events()))
		}
	})
	t.Run("truncated with expiry", func(t *testing.T) {
		tb, err := ParseTZif(bytes.NewReader(tzifFile('4', []tzifRec{real[25], real[26], expRec})))
		if err != nil {
			t.Fatal(err)
		}
		evs := tb.Events()
		if len(evs) != 1 || !evs[0].At.Equal(ts(t, "2017-01-01T00:00:00Z")) ||
			tb.TAIOffset(ts(t, "2016-01-01T00:00:00Z")) != 36 || !tb.Expires().Equal(expiry) {
			t.Errorf("events %v, expires %v", evs, tb.Expires())
		}
	})
	errs := []struct {
		name string
		file []byte
	}{
		{"truncated table in version 3", tzifFile('3', []tzifRec{real[25], real[26]})},
		{"repeated correction in version 2", tzifFile('2', append(append([]tzifRec{}, real...), expRec))},
		{"expiry before last leap", tzifFile('4', append(append([]tzifRec{}, real...), tzifRec{real[26].occ - 86400, 27}))},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseTZif(bytes.NewReader(tt.file)); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseTZifErrors(t *testing.T) {
	real, err := os.ReadFile("testdata/right-UTC.tzif")
	if err != nil {
		t.Fatal(err)
	}
	recs := recsOf(load(t, "leap-seconds.list"))
	shifted := append([]tzifRec{}, recs...)
	shifted[5].occ++ // not midnight any more
	gap := append([]tzifRec{}, recs...)
	gap[5].corr++ // correction jumps by 2
	hugeLeap := tzifFile('2', recs[:1])
	binary.BigEndian.PutUint32(hugeLeap[20+8:], 0xFFFFFFFF)
	badVersion := append([]byte{}, real...)
	badVersion[4] = '1'

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"bad magic", append([]byte("TZXX"), real[4:]...), ErrMalformed},
		{"version 1 byte", badVersion, ErrMalformed},
		{"no leap records", tzifFile('2', nil), ErrMalformed},
		{"not midnight", tzifFile('2', shifted), ErrMalformed},
		{"correction jumps", tzifFile('2', gap), ErrMalformed},
		{"not increasing", tzifFile('2', []tzifRec{recs[0], {recs[0].occ - 184*86400, 2}}), ErrMalformed},
		{"huge count", hugeLeap, ErrMalformed},
		{"too large", append(append([]byte{}, real...), make([]byte, MaxFileSize)...), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseTZif(bytes.NewReader(tt.in)); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Every prefix that cuts into the leap records must fail cleanly. In
	// this file (no std/UT indicators) the 64-bit leap records are followed
	// only by the empty footer "\n\n", so every shorter prefix cuts them.
	if !bytes.HasSuffix(real, []byte("\x00\x00\x00\x1b\n\n")) {
		t.Fatal("fixture layout changed: last record (correction 27) + empty footer expected")
	}
	for n := range len(real) - 2 {
		if _, err := ParseTZif(bytes.NewReader(real[:n])); err == nil {
			t.Fatalf("prefix of %d bytes parsed without error", n)
		}
	}
}
