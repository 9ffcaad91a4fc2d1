package gpsd

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// drain returns every line Next yields, with "ERR" for ErrLineTooLong.
func drain(t testing.TB, s *Splitter) []string {
	var out []string
	for {
		line, err := s.Next()
		if errors.Is(err, ErrLineTooLong) {
			out = append(out, "ERR")
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if line == nil {
			return out
		}
		out = append(out, string(line))
	}
}

func TestSplitter(t *testing.T) {
	long := strings.Repeat("x", MaxLine+1)
	for _, tc := range []struct {
		name   string
		chunks []string
		want   []string
		held   int
	}{
		{"one line", []string{"{\"a\":1}\n"}, []string{`{"a":1}`}, 0},
		{"crlf and blank lines", []string{"a\r\n\r\n\nb\n"}, []string{"a", "b"}, 0},
		{"split across writes", []string{"ab", "c\nd", "e\n"}, []string{"abc", "de"}, 0},
		{"partial tail held", []string{"a\nbc"}, []string{"a"}, 2},
		{"exactly MaxLine", []string{strings.Repeat("y", MaxLine) + "\r\n"}, []string{strings.Repeat("y", MaxLine)}, 0},
		{"too long in one write", []string{long + "\nok\n"}, []string{"ERR", "ok"}, 0},
		{"too long across writes", []string{long[:5000], long[5000:], "tail\nok\n"}, []string{"ERR", "ok"}, 0},
		{"too long without end", []string{long, long, long}, []string{"ERR"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Splitter
			var got []string
			for _, c := range tc.chunks {
				_, _ = s.Write([]byte(c))
				got = append(got, drain(t, &s)...)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if s.Buffered() != tc.held {
				t.Errorf("Buffered = %d, want %d", s.Buffered(), tc.held)
			}
		})
	}
}

// TestSplitterBounded: a stream without newlines never grows the buffer
// past MaxLine plus one write.
func TestSplitterBounded(t *testing.T) {
	var s Splitter
	chunk := bytes.Repeat([]byte("z"), 4096)
	for range 100 {
		_, _ = s.Write(chunk)
		drain(t, &s)
		if s.Buffered() > MaxLine+len(chunk) {
			t.Fatalf("Buffered = %d", s.Buffered())
		}
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second}
	var got []time.Duration
	for range 9 {
		got = append(got, b.Next())
	}
	ms := time.Millisecond
	want := []time.Duration{500 * ms, 1000 * ms, 2000 * ms, 4000 * ms, 8000 * ms, 16000 * ms, 30000 * ms, 30000 * ms, 30000 * ms}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}
	b.Reset()
	if d := b.Next(); d != 500*ms {
		t.Errorf("after Reset: %v", d)
	}
}

// FuzzDecode: Decode and the Splitter never panic; a decoded TPV with a
// time is in UTC; a Splitter never returns a line longer than MaxLine or
// one containing '\n'.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"gpsd-3.22-fix.jsonl", "gpsd-3.22-nofix.jsonl"} {
		for _, line := range goldenLines(f, name) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"class":"PPS","device":"/dev/pps0","real_sec":1795334402,"real_nsec":0,"clock_sec":1795334402,"clock_nsec":120,"precision":-20}`))
	f.Add([]byte(`{"class":"ERROR","message":"x"}`))
	f.Add([]byte(`{"class":"TPV","mode":3,"time":"2026-11-22T08:00:02.123456789Z","leapseconds":18}`))
	f.Add([]byte("{\"class\":\"VERSION\",\"proto_major\":3}\r\n{\"class\":\"TPV\",\"mode\":2}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b, rx)
		if err == nil && m.Class == ClassTPV && !m.TimeOfDay.UTC.IsZero() && m.TimeOfDay.UTC.Location() != time.UTC {
			t.Errorf("TPV time not UTC: %v", m.TimeOfDay.UTC)
		}
		if err == nil && m.TimeOfDay.Valid && (m.Mode < 2 || m.TimeOfDay.UTC.IsZero()) {
			t.Errorf("Valid TPV with mode %d, time %v", m.Mode, m.TimeOfDay.UTC)
		}
		var s Splitter
		// Feed in uneven chunks.
		for len(b) > 0 {
			n := min(len(b), 1+int(b[0])%13)
			_, _ = s.Write(b[:n])
			b = b[n:]
			for {
				line, err := s.Next()
				if err != nil {
					continue
				}
				if line == nil {
					break
				}
				if len(line) > MaxLine || bytes.IndexByte(line, '\n') >= 0 || len(line) == 0 {
					t.Fatalf("bad line %q", line)
				}
				_, _ = Decode(line, rx)
			}
		}
	})
}
