package nts

import (
	"strings"
	"testing"
	"time"
)

func TestRotationSchedule(t *testing.T) {
	const week = 7 * 24 * time.Hour
	s := NewKeySet(testEpoch, testKey(1), testKey(2))
	if s.Current().ID != 1 {
		t.Fatalf("current %d, want 1", s.Current().ID)
	}
	if s.Due(testEpoch.Add(week-time.Second), week) || !s.Due(testEpoch.Add(week), week) {
		t.Fatal("Due wrong around one period")
	}
	if s.Due(testEpoch.Add(-time.Hour), week) {
		t.Fatal("due with the clock behind the last rotation")
	}
	if s.Due(testEpoch.Add(100*week), 0) {
		t.Fatal("due with rotation disabled")
	}
	if got := s.NextRotation(week); !got.Equal(testEpoch.Add(week)) {
		t.Fatalf("NextRotation %v", got)
	}
	now := testEpoch
	for i := range 20 {
		now = now.Add(week)
		prev := s
		s = s.Rotated(now, testKey(byte(i+3)), 2)
		if len(prev.Keys) != 2+min(i, 2) {
			t.Fatalf("rotation %d: rotated a copy of %d keys", i, len(prev.Keys))
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		if len(s.Keys) != min(i+3, 4) {
			t.Fatalf("rotation %d: %d keys, want %d", i, len(s.Keys), min(i+3, 4))
		}
		if s.Current().ID != uint32(i+2) || s.Keys[len(s.Keys)-1].ID != uint32(i+3) {
			t.Fatalf("rotation %d: current %d next %d", i, s.Current().ID, s.Keys[len(s.Keys)-1].ID)
		}
		if s.Due(now, week) || !s.Due(now.Add(week), week) {
			t.Fatalf("rotation %d: due wrong", i)
		}
	}
	if got := s.Rotated(now, testKey(0), 99); len(got.Keys) != RingSlots && len(got.Keys) != len(s.Keys)+1 {
		t.Fatalf("keep 99: %d keys", len(got.Keys))
	}
}

func TestKeyFileFormat(t *testing.T) {
	s := NewKeySet(testEpoch, testKey(1), testKey(2)).Rotated(testEpoch.Add(time.Hour), testKey(3), 2)
	text, err := s.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseKeySet(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Keys) != 3 || back.Keys[2] != s.Keys[2] || back.Current() != s.Current() {
		t.Fatalf("round trip: %+v", back)
	}
	bad := []struct{ name, text, want string }{
		{"empty", "", "empty"},
		{"no magic", "1 2 " + strings.Repeat("00", 32) + "\n", "want \"gnomon-nts-keys 1\" first"},
		{"short key", keyFileMagic + "\n1 2 0011\n", "line 2: key"},
		{"bad id", keyFileMagic + "\nx 2 " + strings.Repeat("00", 32) + "\n", "line 2: key ID"},
		{"fields", keyFileMagic + "\n1 2\n", "line 2: 2 fields"},
		{"same slot", keyFileMagic + "\n1 2 " + strings.Repeat("00", 32) + "\n17 2 " + strings.Repeat("11", 32) + "\n", "same low 4 bits"},
		{"no keys", keyFileMagic + "\n", "no keys"},
	}
	for _, tc := range bad {
		if _, err := ParseKeySet([]byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
