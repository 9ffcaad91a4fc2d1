package nmea

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

func fuzzSeeds() [][]byte {
	e := Epoch{UTC: time.Date(2016, 12, 31, 23, 59, 59, 250_000_000, time.UTC), Digits: 3, Valid: true, Fix: refclock.Fix3D, Satellites: 9}
	leap := e
	leap.Second60 = true
	seeds := [][]byte{
		[]byte("$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A"),
		[]byte("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"),
		[]byte("$GPRMC,,V,,,,,,,,,,N*53\r\n"),
		[]byte(line("GNRMC,235960.999999999,A,,,,,,,311216,,,D,S")),
		[]byte(line("PUBX,04,073731.00,091202,113851.00,1196,15D,1930035,-2660.664,43")),
		[]byte("$GPZDA,201530.00,04,07,2002,00,00*6"),
		[]byte("$*00"),
	}
	for _, x := range []Epoch{e, leap} {
		seeds = append(seeds, AppendRMC(nil, x), AppendZDA(nil, x), AppendGGA(nil, x), AppendGSA(nil, x))
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		s, err := Parse(b)
		if !bytes.Equal(in, b) {
			t.Fatal("Parse modified its input")
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || int(e.Reason) >= NumReasons {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if s.HasTime {
			tm := s.Time
			if tm.Hour > 23 || tm.Minute > 59 || tm.Second > 60 || tm.Nanosecond >= 1e9 || tm.Digits > 9 ||
				(tm.Second == 60 && (tm.Hour != 23 || tm.Minute != 59)) {
				t.Fatalf("time out of range: %+v", tm)
			}
		}
		if s.HasDate && (s.Date.Month < 1 || s.Date.Month > 12 || s.Date.Day < 1 || s.Date.Day > daysIn(s.Date.Year, s.Date.Month)) {
			t.Fatalf("date out of range: %+v", s.Date)
		}
		if s.Quality > 8 || s.Satellites > 999 {
			t.Fatalf("GGA out of range: %+v", s)
		}
		if s2, err := Parse(b); err != nil || s2 != s {
			t.Fatalf("not deterministic: %+v / %+v %v", s, s2, err)
		}
	})
}

// FuzzDecoder feeds the lines of b (split at '\n') one millisecond apart.
func FuzzDecoder(f *testing.F) {
	seeds := fuzzSeeds()
	f.Add(bytes.Join(seeds, nil))
	f.Add(bytes.Join(seeds[7:], nil))
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Decoder
		var out []refclock.TimeOfDay
		lines := bytes.Split(b, []byte("\n"))
		for i, l := range lines {
			out, _ = d.Feed(out, l, t0.Add(time.Duration(i)*time.Millisecond))
		}
		out = d.Flush(out)
		if d.Pending() {
			t.Fatal("pending after Flush")
		}
		c := d.Counts()
		if c.Reports != uint64(len(out)) || c.Reports+c.NoDate != c.Epochs {
			t.Fatalf("counts %+v for %d reports", c, len(out))
		}
		for _, tod := range out {
			off := tod.Received.Sub(t0)
			if off < 0 || off%time.Millisecond != 0 || off >= time.Duration(len(lines))*time.Millisecond {
				t.Fatalf("Received %v is no line's arrival", tod.Received)
			}
			if tod.UTC.Location() != time.UTC {
				t.Fatalf("UTC in %v", tod.UTC.Location())
			}
			if tod.Second60 && (tod.UTC.Hour() != 23 || tod.UTC.Minute() != 59 || tod.UTC.Second() != 59) {
				t.Fatalf("Second60 with UTC %v", tod.UTC)
			}
			if tod.Valid && tod.Fix == refclock.FixNone {
				t.Fatalf("valid without a fix: %+v", tod)
			}
		}
	})
}

// FuzzLines cuts b into chunks of sizes taken from cuts.
func FuzzLines(f *testing.F) {
	f.Add(bytes.Join(fuzzSeeds(), nil), []byte{1, 7, 200, 3})
	f.Add(bytes.Repeat([]byte("x"), 3*MaxLineLen), []byte{255, 255, 1})
	f.Fuzz(func(t *testing.T, b, cuts []byte) {
		var s lineSplitter
		n := 0
		fn := func(l []byte, _ time.Time, tooLong bool) {
			if tooLong != (l == nil) || len(l) > MaxLineLen || bytes.IndexByte(l, '\n') >= 0 || (l != nil && len(l) == 0) {
				t.Fatalf("line %q tooLong %v", l, tooLong)
			}
			n++
		}
		for i := 0; len(b) > 0; i++ {
			k := len(b)
			if len(cuts) > 0 {
				k = min(k, int(cuts[i%len(cuts)])+1)
			}
			s.push(b[:k], t0, fn)
			b = b[k:]
		}
		if cap(s.buf) > MaxLineLen+1 {
			t.Fatalf("buffer grew to %d", cap(s.buf))
		}
	})
}
