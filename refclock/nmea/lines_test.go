package nmea

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type gotLine struct {
	Line    string
	At      time.Duration
	TooLong bool
}

func TestLineSplitter(t *testing.T) {
	long := strings.Repeat("x", MaxLineLen)
	tests := []struct {
		name   string
		chunks []string // chunk i is read at i ms
		want   []gotLine
	}{
		{name: "one_line_one_chunk", chunks: []string{"$A*00\r\n"}, want: []gotLine{{Line: "$A*00"}}},
		{name: "stamped_at_first_byte", chunks: []string{"$A", "*0", "0\r\n$B*00\r", "\n"},
			want: []gotLine{{Line: "$A*00"}, {Line: "$B*00", At: 2 * time.Millisecond}}},
		{name: "bare_lf_and_empty_lines", chunks: []string{"\r\n\n$A\n\r\n"}, want: []gotLine{{Line: "$A"}}},
		{name: "partial_line_kept", chunks: []string{"$A\n$B"}, want: []gotLine{{Line: "$A"}}},
		{name: "at_limit", chunks: []string{long + "\r\n"}, want: []gotLine{{Line: long}}},
		{name: "at_limit_no_cr", chunks: []string{long + "\n"}, want: []gotLine{{Line: long}}},
		{name: "over_limit", chunks: []string{long + "y\r\n$A\n"}, want: []gotLine{{TooLong: true}, {Line: "$A"}}},
		{name: "over_limit_across_chunks", chunks: []string{long, "yy", strings.Repeat("z", 5000), "\n$A\n"},
			want: []gotLine{{TooLong: true}, {Line: "$A", At: 3 * time.Millisecond}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s lineSplitter
			var got []gotLine
			for i, c := range tc.chunks {
				s.push([]byte(c), t0.Add(time.Duration(i)*time.Millisecond), func(l []byte, first time.Time, tooLong bool) {
					got = append(got, gotLine{Line: string(l), At: first.Sub(t0), TooLong: tooLong})
				})
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if cap(s.buf) > MaxLineLen+1 {
				t.Errorf("buffer grew to %d", cap(s.buf))
			}
		})
	}
}
