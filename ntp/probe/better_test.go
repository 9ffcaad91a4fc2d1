package probe

import (
	"testing"
	"time"

	beevik "github.com/beevik/ntp"
)

func TestBetter(t *testing.T) {
	resp := func(stratum uint8, rtt time.Duration) *beevik.Response {
		return &beevik.Response{Stratum: stratum, RTT: rtt, Version: 4}
	}
	valid, invalid := uint8(2), uint8(0)
	if resp(valid, time.Millisecond).Validate() != nil || resp(invalid, time.Millisecond).Validate() == nil {
		t.Fatal("test responses do not (in)validate as intended")
	}
	tests := []struct {
		name string
		a, b *beevik.Response
		want bool
	}{
		{"first", resp(valid, time.Second), nil, true},
		{"smaller delay", resp(valid, time.Millisecond), resp(valid, 2*time.Millisecond), true},
		{"larger delay", resp(valid, 3*time.Millisecond), resp(valid, 2*time.Millisecond), false},
		{"equal delay keeps the first", resp(valid, time.Millisecond), resp(valid, time.Millisecond), false},
		{"valid beats a faster invalid", resp(valid, time.Second), resp(invalid, time.Millisecond), true},
		{"invalid loses to a slower valid", resp(invalid, time.Millisecond), resp(valid, time.Second), false},
		{"among invalid, smaller delay", resp(invalid, time.Millisecond), resp(invalid, time.Second), true},
	}
	for _, tt := range tests {
		if got := better(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: better = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestGuard(t *testing.T) {
	ok := make([]byte, 48)
	ok[2], ok[3] = 6, 0xec // poll 6, precision −20
	if err := (guard{}).ProcessResponse(ok); err != nil {
		t.Errorf("normal reply refused: %v", err)
	}
	for _, i := range []int{2, 3} {
		b := append([]byte(nil), ok...)
		b[i] = 0x80
		if err := (guard{}).ProcessResponse(b); err == nil {
			t.Errorf("byte %d = −128 passed the guard (beevik v1.6.0 panics on it)", i)
		}
	}
	if err := (guard{}).ProcessResponse(nil); err != nil {
		t.Errorf("short reply: %v (beevik itself refuses it)", err)
	}
}
