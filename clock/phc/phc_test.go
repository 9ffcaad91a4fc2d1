package phc

import (
	"errors"
	"math"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// manual is a hand-driven base clock.
type manual struct {
	mu sync.Mutex
	t  time.Time
}

func (m *manual) Now() time.Time      { m.mu.Lock(); defer m.mu.Unlock(); return m.t }
func (m *manual) add(d time.Duration) { m.mu.Lock(); m.t = m.t.Add(d); m.mu.Unlock() }

var _ clock.FrequencyLimits = (*PHC)(nil)

func newBase() *manual { return &manual{t: time.Unix(1_800_000_000, 0)} }

func newSimPHC(t *testing.T, cfg SimConfig) (*PHC, *Sim) {
	t.Helper()
	sim, err := NewSim(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(sim)
	if err != nil {
		t.Fatal(err)
	}
	return p, sim
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestNewSimValidates(t *testing.T) {
	base := newBase()
	for name, cfg := range map[string]SimConfig{
		"nil base":       {},
		"negative max":   {Base: base, MaxAdjPPB: -1},
		"NaN max":        {Base: base, MaxAdjPPB: math.NaN()},
		"freq error":     {Base: base, FreqErrorPPB: math.Inf(1)},
		"negative delay": {Base: base, ReadDelay: -1},
	} {
		if _, err := NewSim(cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := New(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("New(nil): %v", err)
	}
	p, _ := newSimPHC(t, SimConfig{Base: base})
	if p.MaxFrequency() != DefaultMaxAdjPPB {
		t.Errorf("default max_adj %v", p.MaxFrequency())
	}
}

func TestAdjustFrequencyLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		ppb  float64
		err  error
	}{
		{"in range", 12_345.5, nil},
		{"negative in range", -99_999, nil},
		{"at max_adj", 100_000, nil},
		{"beyond max_adj", 100_000.5, ErrFrequencyRange},
		{"beyond -max_adj", -200_000, ErrFrequencyRange},
		{"NaN", math.NaN(), ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newSimPHC(t, SimConfig{Base: newBase(), MaxAdjPPB: 100_000})
			if err := p.AdjustFrequency(777); err != nil {
				t.Fatal(err)
			}
			err := p.AdjustFrequency(tc.ppb)
			if !errors.Is(err, tc.err) {
				t.Fatalf("AdjustFrequency(%v) = %v, want %v", tc.ppb, err, tc.err)
			}
			want := tc.ppb
			if tc.err != nil {
				want = 777 // unchanged
			}
			if got, err := p.Frequency(); err != nil || math.Abs(got-want) >= 1/65.536 {
				t.Fatalf("Frequency() = %v, %v, want %v", got, err, want)
			}
		})
	}
}

// The sim steers like a PHC: the oscillator error accumulates phase, a
// correction of the opposite sign stops it, a step moves it (positive =
// forward), and frequency changes keep the phase continuous.
func TestSimSteering(t *testing.T) {
	base := newBase()
	p, sim := newSimPHC(t, SimConfig{Base: base, Offset: 37 * time.Second, FreqErrorPPB: 5_000})
	if got := sim.TrueOffset(); got != 37*time.Second {
		t.Fatalf("initial offset %v", got)
	}
	base.add(10 * time.Second) // +5 ppm × 10 s = +50 µs
	if got, want := sim.TrueOffset(), 37*time.Second+50*time.Microsecond; got != want {
		t.Fatalf("offset after 10 s at +5 ppm: %v, want %v", got, want)
	}
	before := p.Now()
	if err := p.AdjustFrequency(-5_000); err != nil {
		t.Fatal(err)
	}
	if jump := p.Now().Sub(before); jump != 0 {
		t.Fatalf("frequency change jumped the PHC by %v", jump)
	}
	base.add(100 * time.Second)
	if got, want := sim.TrueOffset(), 37*time.Second+50*time.Microsecond; got != want {
		t.Fatalf("corrected PHC drifted: %v, want %v", got, want)
	}
	before = p.Now()
	if err := p.Step(-50 * time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if moved := p.Now().Sub(before); moved != -50*time.Microsecond {
		t.Fatalf("Step(-50µs) moved the PHC by %v", moved)
	}
	if err := p.Step(0); err != nil || sim.Steps() != 1 {
		t.Fatalf("Step(0) = %v, steps %d, want no step", err, sim.Steps())
	}
	// Faster means ahead: +1000 ppb over 1 s = +1 µs.
	if err := p.AdjustFrequency(-4_000); err != nil {
		t.Fatal(err)
	}
	base.add(time.Second)
	if got, want := sim.TrueOffset(), 37*time.Second+time.Microsecond; got != want {
		t.Fatalf("offset %v, want %v", got, want)
	}
	sim.SetFreqError(0)
	sim.Jump(time.Millisecond)
	if sim.Steps() != 1 {
		t.Fatal("Jump counted as a step")
	}
}

func TestSysOffsetSign(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset time.Duration // PHC − system
	}{
		{"PHC on TAI ahead", 37*time.Second + 1234*time.Nanosecond},
		{"PHC behind", -2*time.Millisecond - 1},
		{"equal", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := newBase()
			const readDelay = 800 * time.Nanosecond
			p, sim := newSimPHC(t, SimConfig{Base: base, Offset: tc.offset, ReadDelay: readDelay})
			off, delay, at, err := p.SysOffset(5)
			if err != nil {
				t.Fatal(err)
			}
			if delay != readDelay {
				t.Fatalf("delay %v, want %v", delay, readDelay)
			}
			if off != tc.offset || sim.TrueOffsetAt(at) != tc.offset {
				t.Fatalf("SysOffset = %v, want PHC − system = %v", off, tc.offset)
			}
			if at.Before(base.Now()) || at.After(base.Now().Add(5*readDelay)) {
				t.Fatalf("at %v outside the reading window from %v", at, base.Now())
			}
		})
	}
}

// With jitter the shortest sample wins, and its error is within half of
// its extra span; a frequency error is followed correctly.
func TestSysOffsetPicksShortest(t *testing.T) {
	const (
		readDelay = time.Microsecond
		jitter    = 20 * time.Microsecond
		seed      = 42
	)
	cfg := func(base *manual) SimConfig {
		return SimConfig{Base: base, Offset: 3 * time.Millisecond, FreqErrorPPB: 20_000,
			ReadDelay: readDelay, ReadJitter: jitter, Seed: seed}
	}
	// The same seed gives the same samples: read them raw from a twin.
	twin, err := NewSim(cfg(newBase()))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 5, MaxSamples} {
		raw, err := twin.CrossTimestamps(n)
		if err != nil {
			t.Fatal(err)
		}
		minSpan := time.Duration(math.MaxInt64)
		var sumErr time.Duration
		for _, s := range raw {
			minSpan = min(minSpan, s.After.Sub(s.Before))
			mid := s.Before.Add(s.After.Sub(s.Before) / 2)
			sumErr += absDur(s.PHC.Sub(mid) - twin.TrueOffsetAt(mid))
		}
		base := newBase()
		p, sim := newSimPHC(t, cfg(base))
		// Advance the twin's RNG the same way as the PHC's sim will.
		for _, m := range []int{1, 5, MaxSamples} {
			if m == n {
				break
			}
			if _, err := sim.CrossTimestamps(m); err != nil {
				t.Fatal(err)
			}
		}
		off, delay, at, err := p.SysOffset(n)
		if err != nil {
			t.Fatal(err)
		}
		if delay != minSpan {
			t.Fatalf("n=%d: delay %v, want the shortest span %v", n, delay, minSpan)
		}
		e := absDur(off - sim.TrueOffsetAt(at))
		if bound := (delay-readDelay)/2 + 2*time.Nanosecond; e > bound {
			t.Fatalf("n=%d: error %v beyond (delay − ReadDelay)/2 = %v", n, e, bound)
		}
		if mean := sumErr / time.Duration(n); n == MaxSamples && e > mean {
			t.Fatalf("best-sample error %v worse than the mean over samples %v", e, mean)
		}
		t.Logf("n=%d: delay %v error %v", n, delay, e)
	}
}

func TestSysOffsetPrecise(t *testing.T) {
	base := newBase()
	p, _ := newSimPHC(t, SimConfig{Base: base, Offset: 37 * time.Second, Precise: true, ReadDelay: time.Microsecond})
	off, delay, at, err := p.SysOffset(9)
	if err != nil {
		t.Fatal(err)
	}
	if off != 37*time.Second || delay != 0 || !at.Equal(base.Now()) {
		t.Fatalf("precise: offset %v delay %v at %v", off, delay, at)
	}
}

func TestSysOffsetSamplesRange(t *testing.T) {
	p, _ := newSimPHC(t, SimConfig{Base: newBase()})
	for _, n := range []int{0, -1, MaxSamples + 1} {
		if _, _, _, err := p.SysOffset(n); !errors.Is(err, ErrInvalid) {
			t.Errorf("SysOffset(%d) = %v, want ErrInvalid", n, err)
		}
	}
}

// canned is a Device returning fixed samples.
type canned struct {
	*Sim
	ss []Sample
}

func (c canned) CrossTimestamps(int) ([]Sample, error) { return c.ss, nil }

func TestSysOffsetSkipsSteppedSamples(t *testing.T) {
	base := newBase()
	sim, _ := NewSim(SimConfig{Base: base})
	t0 := base.Now()
	ss := []Sample{
		{Before: t0, PHC: t0.Add(time.Second), After: t0.Add(-time.Millisecond)}, // system stepped back
		{Before: t0, PHC: t0.Add(5 * time.Microsecond), After: t0.Add(10 * time.Microsecond)},
		{Before: t0, PHC: t0.Add(3 * time.Microsecond), After: t0.Add(4 * time.Microsecond)},
	}
	p, err := New(canned{sim, ss})
	if err != nil {
		t.Fatal(err)
	}
	off, delay, at, err := p.SysOffset(3)
	if err != nil {
		t.Fatal(err)
	}
	if delay != 4*time.Microsecond || off != time.Microsecond || !at.Equal(t0.Add(2*time.Microsecond)) {
		t.Fatalf("offset %v delay %v at %v", off, delay, at)
	}
	p, _ = New(canned{sim, ss[:1]})
	if _, _, _, err := p.SysOffset(1); err == nil {
		t.Fatal("only a stepped sample: want an error")
	}
}

func TestDeviceErrorsWrapped(t *testing.T) {
	p, sim := newSimPHC(t, SimConfig{Base: newBase()})
	sim.SetError(syscall.ENODEV)
	for name, f := range map[string]func() error{
		"time":      func() error { _, err := p.Time(); return err },
		"freq":      func() error { _, err := p.Frequency(); return err },
		"adjust":    func() error { return p.AdjustFrequency(1) },
		"step":      func() error { return p.Step(time.Second) },
		"sysoffset": func() error { _, _, _, err := p.SysOffset(3); return err },
	} {
		if err := f(); !errors.Is(err, syscall.ENODEV) {
			t.Errorf("%s: %v, want ENODEV wrapped", name, err)
		}
	}
	if !p.Now().IsZero() {
		t.Error("Now on a failed device should be the zero time")
	}
	if _, err := New(sim); !errors.Is(err, syscall.ENODEV) {
		t.Errorf("New on a failed device: %v", err)
	}
	// The kernel's own range check is still reported if PHC's is bypassed.
	sim.SetError(nil)
	if err := sim.AdjFreq(1e6); !errors.Is(err, syscall.ERANGE) {
		t.Errorf("sim AdjFreq beyond max_adj: %v, want ERANGE", err)
	}
}

func TestSimConcurrent(t *testing.T) {
	base := newBase()
	p, _ := newSimPHC(t, SimConfig{Base: base, ReadDelay: time.Microsecond, ReadJitter: time.Microsecond})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 500 {
			_ = p.AdjustFrequency(float64(i))
			_ = p.Step(time.Nanosecond)
			base.add(time.Millisecond)
		}
	})
	for range 2 {
		wg.Go(func() {
			for range 500 {
				if _, _, _, err := p.SysOffset(5); err != nil {
					t.Error(err)
					return
				}
				_ = p.Now()
			}
		})
	}
	wg.Wait()
}
