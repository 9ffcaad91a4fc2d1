package clock

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

// manual is a hand-driven clock for tests.
type manual struct {
	mu sync.Mutex
	t  time.Time
}

func (m *manual) Now() time.Time      { m.mu.Lock(); defer m.mu.Unlock(); return m.t }
func (m *manual) add(d time.Duration) { m.mu.Lock(); m.t = m.t.Add(d); m.mu.Unlock() }

func TestVirtualFollowsBaseUntilSteered(t *testing.T) {
	base := &manual{t: time.Unix(1_800_000_000, 0)}
	v := NewVirtual(base)
	if got := v.Now(); !got.Equal(base.Now()) {
		t.Fatalf("unsteered virtual = %v, base = %v", got, base.Now())
	}
	base.add(time.Hour)
	if v.Offset() != 0 {
		t.Fatalf("offset after an hour unsteered = %v", v.Offset())
	}
}

func TestVirtualStepAndFrequency(t *testing.T) {
	base := &manual{t: time.Unix(1_800_000_000, 0)}
	v := NewVirtual(base)
	if err := v.Step(3 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := v.Offset(); got != 3*time.Millisecond {
		t.Fatalf("offset after step = %v, want 3ms", got)
	}
	if err := v.AdjustFrequency(25_000); err != nil { // +25 ppm
		t.Fatal(err)
	}
	base.add(10 * time.Second) // +25 ppm over 10 s = +250 µs
	want := 3*time.Millisecond + 250*time.Microsecond
	if got := v.Offset(); absDur(got-want) > time.Nanosecond {
		t.Fatalf("offset after 10 s at +25 ppm = %v, want %v", got, want)
	}
	// Changing frequency keeps the phase continuous.
	before := v.Now()
	if err := v.AdjustFrequency(-10_000); err != nil {
		t.Fatal(err)
	}
	if after := v.Now(); absDur(after.Sub(before)) > time.Nanosecond {
		t.Fatalf("frequency change jumped the clock by %v", after.Sub(before))
	}
	if f, _ := v.Frequency(); f != -10_000 {
		t.Fatalf("Frequency() = %v", f)
	}
	// FromRealtime maps a base reading the same way Now does.
	b := base.Now()
	if got, want := v.FromRealtime(b), v.Now(); !got.Equal(want) {
		t.Fatalf("FromRealtime(base now) = %v, Now() = %v", got, want)
	}
}

func TestRootDispersionGrows(t *testing.T) {
	ref := time.Unix(1_800_000_000, 0)
	s := &SyncState{RefTime: ref, RootDispersion: time.Millisecond, DispersionRate: 15e-6}
	got := s.RootDispersionAt(ref.Add(1000 * time.Second))
	want := time.Millisecond + 15*time.Millisecond
	if math.Abs(float64(got-want)) > float64(time.Microsecond) {
		t.Fatalf("RootDispersionAt = %v, want %v", got, want)
	}
	if got := s.RootDispersionAt(ref.Add(-time.Second)); got != time.Millisecond {
		t.Fatalf("dispersion before RefTime = %v, want unchanged", got)
	}
}

// The local reference's state; the engine publishes it (engine's local
// mode tests and source's TestRunnerNoSources check the publishing).
func TestLocalState(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := &Local{Stratum: 3, Precision: -24}
	st := l.State(now)
	if st == nil || !st.Synchronized || st.Stratum != 3 || st.RefID != RefIDLocal || st.Leap != LeapNone {
		t.Fatalf("local state = %+v", st)
	}
	if !st.RefTime.Equal(now) || st.Precision != -24 {
		t.Fatalf("local state at %v = %+v", now, st)
	}
	if st.ClockClass != ClockClassDefault || st.ClockAccuracy != ClockAccuracyUnknown ||
		st.OffsetScaledLogVariance != VarianceNotComputed || st.TimeSource != TimeSourceInternalOscillator ||
		st.TimeTraceable || st.FrequencyTraceable {
		t.Fatalf("local state quality = %+v, want free-running", st)
	}
}

func TestUnsynchronised(t *testing.T) {
	s := Unsynchronised(-20)
	if s.Synchronized || s.Leap != LeapUnsync || s.Stratum != 16 {
		t.Fatalf("Unsynchronised = %+v", s)
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestUnsteered(t *testing.T) {
	u := Unsteered{Served: NewVirtual(&manual{t: time.Unix(1_800_000_000, 0)})}
	if f, err := u.Frequency(); f != 0 || err != nil {
		t.Fatalf("Frequency = %v, %v", f, err)
	}
	if err := u.AdjustFrequency(0); err != nil {
		t.Fatalf("AdjustFrequency(0) = %v", err)
	}
	if err := u.AdjustFrequency(1); !errors.Is(err, ErrNotSteerable) {
		t.Fatalf("AdjustFrequency(1) = %v", err)
	}
	if err := u.Step(time.Millisecond); !errors.Is(err, ErrNotSteerable) {
		t.Fatalf("Step = %v", err)
	}
}

func TestParseRefID(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
		ok   bool
	}{{"GPS", 0x47505300, true}, {"PHC", 0x50484300, true}, {"LOCL", 0x4C4F434C, true}, {"P", 0x50000000, true},
		{"", 0, false}, {"TOOLONG", 0, false}, {"P\x00", 0, false}, {"GPS\x7f", 0, false}} {
		got, err := ParseRefID(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseRefID(%q) = %#x, %v; want %#x, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}
