package hostname

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	// 4 labels of 63 + 3 dots = 255 > 253; trim to exactly 253.
	long253 := strings.Join([]string{label63, label63, label63, label63}, ".")[:253]
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"time.example.org", true},
		{"localhost", true},
		{"ntp-1_a.EXAMPLE", true},
		{"a.", true}, // trailing dot (fully qualified) is accepted
		{label63 + ".org", true},
		{long253, true},
		{"", false},
		{".", false},
		{".example", false},
		{"a..b", false},
		{label63 + "a.org", false},
		{long253 + "a", false},
		{"bad host", false},
		{"ex*ample.org", false},
		{"tïme.org", false},
	} {
		if got := Valid(tc.in); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
