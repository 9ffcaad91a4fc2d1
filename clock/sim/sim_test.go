package sim

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mustClock(t *testing.T, tl *Timeline, o Oscillator, seed uint64) *Clock {
	t.Helper()
	c, err := NewClock(tl, o, seed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func advance(t *testing.T, tl *Timeline, d time.Duration) {
	t.Helper()
	if err := tl.Advance(d); err != nil {
		t.Fatal(err)
	}
}

// trace runs a fixed scenario and records every observable.
func trace(t *testing.T, seed uint64) []int64 {
	tl := NewTimeline(t0)
	c := mustClock(t, tl, Oscillator{
		InitialError: 3 * time.Millisecond, FreqErrorPPB: 1234, RandomWalkPPB: 2,
		TempAmplitudePPB: 50, TempPeriod: 10 * time.Minute, ReadNoise: 100 * time.Nanosecond,
		Steps: []StepEvent{{At: t0.Add(50 * time.Second), By: time.Millisecond}},
	}, seed)
	ch, err := NewChannel(Network{
		Out:         Path{Base: 100 * time.Microsecond, Jitter: DistExponential, Scale: 20 * time.Microsecond},
		Back:        Path{Base: 120 * time.Microsecond, Jitter: DistGaussian, Scale: 10 * time.Microsecond},
		OutlierProb: 0.05, OutlierDelay: time.Millisecond,
	}, seed)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for i := range 100 {
		s, err := ch.Exchange(tl, c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, int64(s.Offset), int64(s.Delay), s.T4.UnixNano(), int64(c.TimeError()))
		if i%10 == 0 {
			if err := c.AdjustFrequency(-float64(s.Offset) / 1000); err != nil {
				t.Fatal(err)
			}
		}
		advance(t, tl, 700*time.Millisecond)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	a, b := trace(t, 7), trace(t, 7)
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("same seed, different traces (-first +second):\n%s", d)
	}
	if cmp.Equal(a, trace(t, 8)) {
		t.Fatal("seeds 7 and 8 gave identical traces")
	}
}

// The random-walk trace must not depend on when the clock is looked at, so
// that two servos polling at different instants see the same oscillator.
func TestWanderIndependentOfReadPattern(t *testing.T) {
	o := Oscillator{RandomWalkPPB: 5, TempAmplitudePPB: 20, TempPeriod: time.Minute}
	tl1, tl2 := NewTimeline(t0), NewTimeline(t0)
	c1, c2 := mustClock(t, tl1, o, 3), mustClock(t, tl2, o, 3)
	advance(t, tl1, 1000*time.Second)
	for range 3333 {
		advance(t, tl2, 300*time.Millisecond)
		c2.TimeError()
	}
	advance(t, tl2, 1000*time.Second-tl2.Elapsed())
	if a, b := c1.TimeErrorNS(), c2.TimeErrorNS(); math.Abs(a-b) > 1e-3*math.Max(1, math.Abs(a)) {
		t.Fatalf("TE after 1000 s: one read %v ns, many reads %v ns", a, b)
	}
	if a, b := c1.OscillatorPPB(), c2.OscillatorPPB(); math.Abs(a-b) > 1e-9 {
		t.Fatalf("oscillator after 1000 s: %v vs %v ppb", a, b)
	}
}

func TestFrequencyErrorGrowsLinearly(t *testing.T) {
	tl := NewTimeline(t0)
	c := mustClock(t, tl, Oscillator{InitialError: -5 * time.Microsecond, FreqErrorPPB: 25000}, 1)
	for i := range 20 {
		// TE(t) = TE0 + ν0·t: 25 000 ppb = 25 µs per second.
		want := -5000 + 25000*float64(i)*7.5
		if got := c.TimeErrorNS(); math.Abs(got-want) > 1e-3 {
			t.Fatalf("t=%v: TE = %v ns, want %v", tl.Elapsed(), got, want)
		}
		if got := c.Now().Sub(tl.Now()); math.Abs(float64(got)-want) > 1 {
			t.Fatalf("t=%v: Now − true = %v, want %v ns", tl.Elapsed(), got, want)
		}
		advance(t, tl, 7500*time.Millisecond)
	}
}

func TestSteering(t *testing.T) {
	tl := NewTimeline(t0)
	c := mustClock(t, tl, Oscillator{FreqErrorPPB: 25000}, 1)
	advance(t, tl, 10*time.Second) // TE = 250 µs
	if err := c.AdjustFrequency(-25000); err != nil {
		t.Fatal(err)
	}
	if f, _ := c.Frequency(); f != -25000 {
		t.Fatalf("Frequency = %v, want -25000", f)
	}
	if r := c.RateError(); r != 0 {
		t.Fatalf("RateError after cancelling = %v ppb, want 0", r)
	}
	advance(t, tl, time.Hour)
	if got := c.TimeErrorNS(); math.Abs(got-250000) > 1e-3 {
		t.Fatalf("TE after cancelled frequency error = %v ns, want 250000 (frozen)", got)
	}
	if err := c.Step(-250 * time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if got := c.TimeError(); got != 0 {
		t.Fatalf("TE after Step = %v, want 0", got)
	}
	// Slewing: +1000 ppb more for 10 s moves TE by 10 µs.
	if err := c.AdjustFrequency(-24000); err != nil {
		t.Fatal(err)
	}
	advance(t, tl, 10*time.Second)
	if got := c.TimeErrorNS(); math.Abs(got-10000) > 1e-3 {
		t.Fatalf("TE after slewing = %v ns, want 10000", got)
	}
	if err := c.AdjustFrequency(math.NaN()); err == nil {
		t.Fatal("AdjustFrequency(NaN) accepted")
	}
}

func TestInjectedSteps(t *testing.T) {
	tl := NewTimeline(t0)
	c := mustClock(t, tl, Oscillator{Steps: []StepEvent{
		{At: t0.Add(20 * time.Second), By: -time.Millisecond},
		{At: t0.Add(10 * time.Second), By: 3 * time.Millisecond},
	}}, 1)
	for _, tc := range []struct {
		at   time.Duration
		want time.Duration
	}{{9 * time.Second, 0}, {10 * time.Second, 3 * time.Millisecond}, {15 * time.Second, 3 * time.Millisecond}, {25 * time.Second, 2 * time.Millisecond}} {
		advance(t, tl, tc.at-tl.Elapsed())
		if got := c.TimeError(); got != tc.want {
			t.Errorf("t=%v: TE = %v, want %v", tc.at, got, tc.want)
		}
	}
	if got := c.InjectedSteps(); got != 2*time.Millisecond {
		t.Errorf("InjectedSteps = %v, want 2ms", got)
	}
}

func TestTemperatureTerm(t *testing.T) {
	tl := NewTimeline(t0)
	const a = 200.0 // ppb
	p := 20 * time.Minute
	c := mustClock(t, tl, Oscillator{TempAmplitudePPB: a, TempPeriod: p}, 1)
	advance(t, tl, p/4)
	if got := c.OscillatorPPB(); math.Abs(got-a) > 1e-9 {
		t.Fatalf("frequency at a quarter period = %v, want %v", got, a)
	}
	// ∫0^{P/2} A sin = A·P/π.
	advance(t, tl, p/4)
	if got, want := c.TimeErrorNS(), a*p.Seconds()/math.Pi; math.Abs(got-want) > 1e-3 {
		t.Fatalf("TE at half period = %v ns, want %v", got, want)
	}
	advance(t, tl, p/2)
	if got := c.TimeErrorNS(); math.Abs(got) > 1e-3 {
		t.Fatalf("TE after a full period = %v ns, want 0", got)
	}
}

// meanVar returns the sample mean and unbiased variance.
func meanVar(x []float64) (float64, float64) {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var s float64
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return m, s / float64(len(x)-1)
}

// With random-walk FM of diffusion σ, the frequency after t seconds is
// N(0, σ²t). Over n independent seeds the sample variance has relative
// standard error √(2/(n−1)) ≈ 7.1 % for n = 400; the test allows 4.5 of
// those (±32 %), so it fails by chance with probability < 1e-5 and catches
// a wrong √t scaling (which would be off by ≥ 2× at one of the two times).
func TestRandomWalkVariance(t *testing.T) {
	const n, sigma = 400, 3.0 // ppb/√s
	times := []time.Duration{100 * time.Second, 400 * time.Second}
	freqs := make([][]float64, len(times))
	for seed := range uint64(n) {
		tl := NewTimeline(t0)
		c := mustClock(t, tl, Oscillator{RandomWalkPPB: sigma}, seed)
		for i, at := range times {
			advance(t, tl, at-tl.Elapsed())
			freqs[i] = append(freqs[i], c.OscillatorPPB())
		}
	}
	tol := 4.5 * math.Sqrt(2.0/(n-1))
	for i, at := range times {
		m, v := meanVar(freqs[i])
		want := sigma * sigma * at.Seconds()
		t.Logf("t=%v: mean %.2f ppb, variance %.0f ppb², expected %.0f", at, m, v, want)
		if math.Abs(v/want-1) > tol {
			t.Errorf("t=%v: variance %.0f ppb², want %.0f ± %.0f%%", at, v, want, 100*tol)
		}
		// The mean has standard error √(want/n); allow 4.5 of those.
		if math.Abs(m) > 4.5*math.Sqrt(want/n) {
			t.Errorf("t=%v: mean %.2f ppb, want 0 ± %.2f", at, m, 4.5*math.Sqrt(want/n))
		}
	}
}

// Read noise is white: Now − true − TE has mean 0 and standard deviation
// ReadNoise. With n = 20000 readings the relative standard error of the
// standard deviation is 1/√(2n) ≈ 0.5 %; ±4 % is 8 of those.
func TestReadNoise(t *testing.T) {
	const n = 20000
	sigma := 500 * time.Nanosecond
	tl := NewTimeline(t0)
	c := mustClock(t, tl, Oscillator{FreqErrorPPB: 100, ReadNoise: sigma}, 9)
	x := make([]float64, 0, n)
	for range n {
		advance(t, tl, 10*time.Millisecond)
		x = append(x, float64(c.Now().Sub(tl.Now())-c.TimeError()))
	}
	m, v := meanVar(x)
	if sd := math.Sqrt(v); math.Abs(sd/float64(sigma)-1) > 0.04 {
		t.Errorf("read noise σ = %.1f ns, want %v ± 4%%", sd, sigma)
	}
	if math.Abs(m) > 5*float64(sigma)/math.Sqrt(n) {
		t.Errorf("read noise mean = %.1f ns, want 0", m)
	}
}

func TestExchangeGeometry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		out, back  time.Duration
		proc       time.Duration
		te         time.Duration
		wantOffset time.Duration
	}{
		{"symmetric", 100 * time.Microsecond, 100 * time.Microsecond, 0, 2 * time.Millisecond, -2 * time.Millisecond},
		{"behind", 50 * time.Microsecond, 50 * time.Microsecond, 10 * time.Microsecond, -time.Millisecond, time.Millisecond},
		// offset = −TE + (out − back)/2.
		{"asymmetric", 300 * time.Microsecond, 100 * time.Microsecond, 0, 0, 100 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := NewTimeline(t0)
			c := mustClock(t, tl, Oscillator{InitialError: tc.te}, 1)
			ch, err := NewChannel(Network{Out: Path{Base: tc.out}, Back: Path{Base: tc.back}, Processing: tc.proc}, 1)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ch.Exchange(tl, c)
			if err != nil {
				t.Fatal(err)
			}
			if s.Offset != tc.wantOffset {
				t.Errorf("offset = %v, want %v", s.Offset, tc.wantOffset)
			}
			if want := tc.out + tc.back; s.Delay != want {
				t.Errorf("delay = %v, want %v", s.Delay, want)
			}
			if want := tc.out + tc.back + tc.proc; tl.Elapsed() != want {
				t.Errorf("timeline advanced by %v, want %v", tl.Elapsed(), want)
			}
		})
	}
}

// Exponential jitter of mean m in each direction: offset noise
// (out − back)/2 has mean 0 and σ = m/√2; delay has mean 2·base + 2m.
// n = 20000: standard errors are ≈ 0.7 % of σ for the mean and 1 % for σ
// (Laplace kurtosis 6: √(5/4n)); margins are ≥ 5 standard errors.
func TestExchangeJitterStatistics(t *testing.T) {
	const n = 20000
	m := 20 * time.Microsecond
	tl := NewTimeline(t0)
	c := mustClock(t, tl, Oscillator{}, 1)
	ch, err := NewChannel(Network{
		Out:  Path{Base: 50 * time.Microsecond, Jitter: DistExponential, Scale: m},
		Back: Path{Base: 50 * time.Microsecond, Jitter: DistExponential, Scale: m},
	}, 5)
	if err != nil {
		t.Fatal(err)
	}
	var off, del []float64
	for range n {
		s, err := ch.Exchange(tl, c)
		if err != nil {
			t.Fatal(err)
		}
		off = append(off, float64(s.Offset))
		del = append(del, float64(s.Delay))
		advance(t, tl, time.Second)
	}
	om, ov := meanVar(off)
	dm, _ := meanVar(del)
	wantSD := float64(m) / math.Sqrt2
	if math.Abs(om) > 0.05*wantSD {
		t.Errorf("offset mean = %.1f ns, want 0 ± %.0f", om, 0.05*wantSD)
	}
	if sd := math.Sqrt(ov); math.Abs(sd/wantSD-1) > 0.06 {
		t.Errorf("offset σ = %.1f ns, want %.1f ± 6%%", sd, wantSD)
	}
	if want := float64(100*time.Microsecond + 2*m); math.Abs(dm/want-1) > 0.02 {
		t.Errorf("delay mean = %.1f ns, want %.1f ± 2%%", dm, want)
	}
}

func TestOutliers(t *testing.T) {
	const n = 10000
	tl := NewTimeline(t0)
	c := mustClock(t, tl, Oscillator{}, 1)
	ch, err := NewChannel(Network{
		Out: Path{Base: 50 * time.Microsecond}, Back: Path{Base: 50 * time.Microsecond},
		OutlierProb: 0.1, OutlierDelay: 5 * time.Millisecond,
	}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var k int
	for range n {
		s, err := ch.Exchange(tl, c)
		if err != nil {
			t.Fatal(err)
		}
		if s.Outlier {
			k++
		} else if s.Offset != 0 || s.Delay != 100*time.Microsecond {
			t.Fatalf("non-outlier sample %+v disturbed", s)
		}
	}
	// Binomial(10000, 0.1): σ = 30; allow 5σ.
	if k < 850 || k > 1150 {
		t.Errorf("%d outliers in %d exchanges, want 1000 ± 150", k, n)
	}
}

func TestValidation(t *testing.T) {
	tl := NewTimeline(t0)
	if err := tl.Advance(-time.Second); err == nil {
		t.Error("negative Advance accepted")
	}
	if err := tl.AdvanceTo(t0.Add(-time.Second)); err == nil {
		t.Error("AdvanceTo the past accepted")
	}
	for _, o := range []Oscillator{
		{RandomWalkPPB: -1},
		{FreqErrorPPB: math.Inf(1)},
		{TempAmplitudePPB: 5},
		{ReadNoise: -1},
		{NoiseStep: -1},
	} {
		if _, err := NewClock(tl, o, 1); err == nil {
			t.Errorf("NewClock(%+v) accepted", o)
		}
	}
	if _, err := NewClock(nil, Oscillator{}, 1); err == nil {
		t.Error("NewClock(nil timeline) accepted")
	}
	for _, n := range []Network{
		{Out: Path{Base: -1}},
		{Back: Path{Scale: -1}},
		{Out: Path{Jitter: 9}},
		{OutlierProb: 1.5},
		{OutlierProb: math.NaN()},
		{Processing: -1},
	} {
		if _, err := NewChannel(n, 1); err == nil {
			t.Errorf("NewChannel(%+v) accepted", n)
		}
	}
	ch, _ := NewChannel(Network{}, 1)
	c := mustClock(t, tl, Oscillator{}, 1)
	if _, err := ch.Exchange(NewTimeline(t0), c); err == nil {
		t.Error("Exchange with a clock on another timeline accepted")
	}
}
