package trial

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// seeds are the traces every servo is compared on.
var seeds = []uint64{1, 2, 3, 4, 5}

// TestStepAtStart asserts issue 3's servo limits on the step-at-start
// scenario (StepAtStart: 10 ms initial error, +25 ppm, 1 ppb/√s wander,
// 100 ppb / 30 min temperature swing, 1 s polls, exponential jitter of
// mean 20 µs each way, one simulated hour), on every one of five seeds —
// no median, no retries:
//
//  1. The chosen servo (kalman) locks — |TE| < 10 µs from some poll on for
//     at least 60 s — within 120 s. Reasoning: the offset noise is
//     σ ≈ 14 µs per sample, and after its 1 ms makestep the filter needs
//     tens of samples to average the phase below a few µs; 120 s is the
//     issue's requirement, ~8× what it needs (measured worst 16 s), so a
//     failure means a real regression, not bad luck.
//  2. Its RMS TE after lock is at most half the PI baseline's on the same
//     trace, against both PI tunings. Reasoning: the PI with linuxptp's
//     software gains (kp 0.1) passes ≈ √(kp/(2−kp)) ≈ 0.23 of the offset
//     noise into the phase, ≈ 3.3 µs; a Kalman filter that weighs samples
//     by their delay excess averages far more (measured ≈ 1.1–1.3 µs), a
//     ratio ≈ 0.35. The 0.5 limit is the issue's, and is met per seed.
//  3. The PI baseline (software gains) still locks within 120 s and both
//     servos end with |TE| under the lock threshold: the comparison is
//     against a working PI, not a broken one.
func TestStepAtStart(t *testing.T) {
	sc := StepAtStart()
	rs, err := Compare(sc, Servos(), seeds)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + Table(rs))
	by := map[string]map[uint64]Result{}
	for _, r := range rs {
		if by[r.Servo] == nil {
			by[r.Servo] = map[uint64]Result{}
		}
		by[r.Servo][r.Seed] = r
	}
	const lockLimit = 120 * time.Second
	for _, seed := range seeds {
		k := by["kalman"][seed]
		if !k.Locked || k.LockTime > lockLimit {
			t.Errorf("seed %d: kalman locked=%v at %v, want within %v", seed, k.Locked, k.LockTime, lockLimit)
		}
		for _, base := range []string{"pi", "pi-hw"} {
			p := by[base][seed]
			if ratio := float64(k.RMSTE) / float64(p.RMSTE); !(ratio <= 0.5) {
				t.Errorf("seed %d: kalman RMS TE %v is %.2f × %s's %v, want ≤ 0.5", seed, k.RMSTE, ratio, base, p.RMSTE)
			}
		}
		p := by["pi"][seed]
		if !p.Locked || p.LockTime > lockLimit {
			t.Errorf("seed %d: PI baseline locked=%v at %v: baseline broken?", seed, p.Locked, p.LockTime)
		}
		for _, r := range []Result{k, p} {
			if te := r.Trace[len(r.Trace)-1].TE; te.Abs() >= sc.LockThreshold {
				t.Errorf("seed %d: %s ends with TE %v", seed, r.Servo, te)
			}
		}
	}
}

// Same seed, same servo: identical results, trace included. Different
// seeds: different traces. Running other servos in between changes nothing
// (no shared state).
func TestDeterminism(t *testing.T) {
	sc := StepAtStart()
	sc.Duration = 10 * time.Minute
	for _, f := range Servos() {
		a, err := Run(sc, f, 42)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Compare(sc, Servos(), []uint64{42, 43}); err != nil {
			t.Fatal(err)
		}
		b, err := Run(sc, f, 42)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(a, b); d != "" {
			t.Errorf("%s: seed 42 twice differs (-first +second):\n%s", f.Name, d)
		}
		c, err := Run(sc, f, 43)
		if err != nil {
			t.Fatal(err)
		}
		if cmp.Equal(a.Trace, c.Trace) {
			t.Errorf("%s: seeds 42 and 43 gave the same trace", f.Name)
		}
	}
}

func TestScore(t *testing.T) {
	sc := Scenario{Poll: time.Second, LockThreshold: 10, LockSustain: 3 * time.Second}
	mk := func(te ...time.Duration) Result {
		var r Result
		for i, v := range te {
			r.Trace = append(r.Trace, Point{T: time.Duration(i) * time.Second, TE: v})
		}
		r.score(sc)
		return r
	}
	for _, tc := range []struct {
		name   string
		te     []time.Duration
		locked bool
		lock   time.Duration
		max    time.Duration
	}{
		// A good run of 3 s from t=1 s (1..4) counts; the 20 at 5 s is after
		// lock and shows in max.
		{"locks then spike", []time.Duration{50, 1, -2, 3, 4, 20, 1, 1}, true, time.Second, 20},
		{"run too short", []time.Duration{50, 1, 1, 50, 1, 1}, false, 0, 50},
		{"locked from start", []time.Duration{0, 0, 0, 0}, true, 0, 0},
		{"threshold is exclusive", []time.Duration{10, 10, 10, 10}, false, 0, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mk(tc.te...)
			if r.Locked != tc.locked || (tc.locked && r.LockTime != tc.lock) {
				t.Errorf("locked=%v at %v, want %v at %v", r.Locked, r.LockTime, tc.locked, tc.lock)
			}
			if r.MaxTE != tc.max {
				t.Errorf("max TE %v, want %v", r.MaxTE, tc.max)
			}
		})
	}
}

func TestScenarioValidate(t *testing.T) {
	if err := StepAtStart().Validate(); err != nil {
		t.Fatal(err)
	}
	sc := StepAtStart()
	sc.Poll = 0
	if _, err := Run(sc, Kalman(), 1); err == nil {
		t.Error("zero poll accepted")
	}
	sc = StepAtStart()
	sc.LockThreshold = 0
	if err := sc.Validate(); err == nil {
		t.Error("zero lock threshold accepted")
	}
	sc = StepAtStart()
	sc.Policy.MaxFreqPPB = -1
	if err := sc.Validate(); err == nil {
		t.Error("bad policy accepted")
	}
}

// TestRoughPath checks the Kalman servo's outlier and jump handling on
// RoughPath, on every seed: 2 % outliers must not break lock, and after the
// 1 ms clock step at 40 min the clock must be back within the 50 µs lock
// threshold 30 s later and stay there to the end. Reasoning: the servo
// discards MaxRejects − 1 = 7 samples as outliers (7 s), restarts on the
// 8th, slews 1 ms at the 500 ppm slew limit (2 s) and re-converges in a
// few samples; 30 s is 3× that. The acquisition (first 120 s) is left
// out as well. The 50 µs bound holds the ≈ −20 µs bias the asymmetric
// jitter causes (low-delay samples are those whose Gaussian out delay was
// short) plus the excursions of the remaining noise; measured: at most
// 37 µs on these seeds.
func TestRoughPath(t *testing.T) {
	sc := RoughPath()
	rs, err := Compare(sc, Servos(), seeds)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + Table(rs))
	stepAt := sc.Oscillator.Steps[0].At.Sub(Start)
	for _, r := range rs {
		if r.Servo != "kalman" {
			continue
		}
		if !r.Locked || r.LockTime > 120*time.Second {
			t.Errorf("seed %d: locked=%v at %v, want within 120 s", r.Seed, r.Locked, r.LockTime)
		}
		var worst time.Duration
		for _, p := range r.Trace {
			if p.T >= stepAt+30*time.Second || (p.T >= 120*time.Second && p.T < stepAt) {
				worst = max(worst, p.TE.Abs())
			}
		}
		t.Logf("seed %d: max |TE| from 120 s on, outside the 30 s after the step: %v", r.Seed, worst)
		if worst >= sc.LockThreshold {
			t.Errorf("seed %d: |TE| reached %v outside the step transient, want < %v", r.Seed, worst, sc.LockThreshold)
		}
	}
}
