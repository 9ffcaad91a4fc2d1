package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Oscillator describes a simulated clock's imperfections. The zero value is
// a perfect clock. See the package documentation for the model.
type Oscillator struct {
	// InitialError is the time error at the start, clock − true (a positive
	// value means the clock is ahead).
	InitialError time.Duration
	// FreqErrorPPB is the constant frequency error ν0 in ppb (positive =
	// the clock runs fast).
	FreqErrorPPB float64
	// RandomWalkPPB is the diffusion σ of the random-walk frequency noise
	// in ppb/√s: after t seconds the wander has standard deviation σ·√t ppb.
	RandomWalkPPB float64
	// TempAmplitudePPB and TempPeriod describe the periodic term
	// A·sin(2π·t/P), t since the timeline start. Amplitude 0 disables it.
	TempAmplitudePPB float64
	TempPeriod       time.Duration
	// ReadNoise is the standard deviation of the white Gaussian noise added
	// to every Now() reading (not to TimeError).
	ReadNoise time.Duration
	// NoiseStep is the true-time grid of the random walk (default 1 s).
	NoiseStep time.Duration
	// Steps are injected phase steps (in any order).
	Steps []StepEvent
}

// StepEvent makes the clock jump by By (positive = forward) when true time
// reaches At.
type StepEvent struct {
	At time.Time
	By time.Duration
}

// DefaultNoiseStep is the random-walk grid when Oscillator.NoiseStep is 0.
const DefaultNoiseStep = time.Second

// Validate reports every invalid field.
func (o *Oscillator) Validate() error {
	var errs []error
	finite := func(name string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s = %v: not finite", name, v))
		}
	}
	finite("freq_error_ppb", o.FreqErrorPPB)
	finite("random_walk_ppb", o.RandomWalkPPB)
	finite("temp_amplitude_ppb", o.TempAmplitudePPB)
	if o.RandomWalkPPB < 0 {
		errs = append(errs, fmt.Errorf("random_walk_ppb = %v: negative", o.RandomWalkPPB))
	}
	if o.TempAmplitudePPB != 0 && o.TempPeriod <= 0 {
		errs = append(errs, fmt.Errorf("temp_period = %v: must be positive when temp_amplitude_ppb is set", o.TempPeriod))
	}
	if o.ReadNoise < 0 {
		errs = append(errs, fmt.Errorf("read_noise = %v: negative", o.ReadNoise))
	}
	if o.NoiseStep < 0 {
		errs = append(errs, fmt.Errorf("noise_step = %v: negative", o.NoiseStep))
	}
	return errors.Join(errs...)
}

// Clock is a simulated steerable clock on a Timeline. It implements
// clock.Steerable. It is not safe for concurrent use.
type Clock struct {
	tl  *Timeline
	osc Oscillator
	h   time.Duration // random-walk grid step

	wander *rand.Rand // random-walk draws, one per grid cell
	read   *rand.Rand // read-noise draws, one per Now

	at      time.Duration // true time since tl.Start up to which te is integrated
	te      float64       // noise-free time error at `at`, ns
	corrPPB float64       // frequency correction u, ppb
	cell    time.Duration // start of the current random-walk cell
	rw0     float64       // random-walk frequency at cell start, ppb
	rw1     float64       // random-walk frequency at cell end, ppb
	steps   []StepEvent   // pending injected steps, sorted by At
	stepped time.Duration // sum of injected steps applied so far
}

var _ clock.Steerable = (*Clock)(nil)

// Stream identifiers keep the random sequences of the different noise
// terms independent of each other for one seed.
const (
	streamWander  = 0x57414e444552 // "WANDER"
	streamRead    = 0x52454144     // "READ"
	streamNetwork = 0x4e4554       // "NET"
)

// NewClock returns a clock on tl, which must be at its start, with the given
// imperfections; seed selects the noise realisation.
func NewClock(tl *Timeline, osc Oscillator, seed uint64) (*Clock, error) {
	if tl == nil {
		return nil, errors.New("sim: new clock: nil timeline")
	}
	if err := osc.Validate(); err != nil {
		return nil, fmt.Errorf("sim: new clock: %w", err)
	}
	c := &Clock{
		tl:     tl,
		osc:    osc,
		h:      osc.NoiseStep,
		wander: rand.New(rand.NewPCG(seed, streamWander)),
		read:   rand.New(rand.NewPCG(seed, streamRead)),
		te:     float64(osc.InitialError),
		at:     tl.Elapsed(),
	}
	if c.h == 0 {
		c.h = DefaultNoiseStep
	}
	c.cell = c.at
	c.rw1 = c.nextWander(0)
	c.steps = slices.Clone(osc.Steps)
	slices.SortStableFunc(c.steps, func(a, b StepEvent) int { return a.At.Compare(b.At) })
	// Steps scheduled before now are applied on the first advance.
	return c, nil
}

func (c *Clock) nextWander(from float64) float64 {
	if c.osc.RandomWalkPPB == 0 {
		return from
	}
	return from + c.osc.RandomWalkPPB*math.Sqrt(c.h.Seconds())*c.wander.NormFloat64()
}

// advance integrates the time error up to the timeline's present.
func (c *Clock) advance() {
	to := c.tl.Elapsed()
	for {
		// Injected steps due at or before the integration point.
		for len(c.steps) > 0 && c.tl.Start().Add(c.at).Compare(c.steps[0].At) >= 0 {
			c.te += float64(c.steps[0].By)
			c.stepped += c.steps[0].By
			c.steps = c.steps[1:]
		}
		if c.at >= to {
			return
		}
		b := min(to, c.cell+c.h)
		if len(c.steps) > 0 {
			if s := c.steps[0].At.Sub(c.tl.Start()); s < b {
				b = s
			}
		}
		c.te += c.integral(c.at, b)
		c.at = b
		if c.at == c.cell+c.h {
			c.cell = c.at
			c.rw0 = c.rw1
			c.rw1 = c.nextWander(c.rw0)
		}
	}
}

// integral returns ∫ν(s)·1e-9 ds over [a, b] within one random-walk cell,
// in ns (ppb × s = ns).
func (c *Clock) integral(a, b time.Duration) float64 {
	dt := (b - a).Seconds()
	sum := (c.osc.FreqErrorPPB + c.corrPPB) * dt
	// Random walk: linear from rw0 at cell start to rw1 at cell end.
	ha, hb := (a - c.cell).Seconds(), (b - c.cell).Seconds()
	sum += c.rw0*dt + (c.rw1-c.rw0)/c.h.Seconds()*(hb*hb-ha*ha)/2
	if c.osc.TempAmplitudePPB != 0 {
		w := 2 * math.Pi / c.osc.TempPeriod.Seconds()
		sum += c.osc.TempAmplitudePPB / w * (math.Cos(w*a.Seconds()) - math.Cos(w*b.Seconds()))
	}
	return sum
}

// Now reads the clock: true time + time error + read noise.
func (c *Clock) Now() time.Time {
	c.advance()
	e := c.te
	if c.osc.ReadNoise > 0 {
		e += float64(c.osc.ReadNoise) * c.read.NormFloat64()
	}
	return c.tl.Now().Add(time.Duration(math.Round(e)))
}

// AdjustFrequency sets the frequency correction u in ppb (positive = faster)
// from the present true time on.
func (c *Clock) AdjustFrequency(ppb float64) error {
	if math.IsNaN(ppb) || math.IsInf(ppb, 0) {
		return fmt.Errorf("sim: adjust frequency to %v ppb: not finite", ppb)
	}
	c.advance()
	c.corrPPB = ppb
	return nil
}

// Frequency returns the frequency correction u in ppb.
func (c *Clock) Frequency() (float64, error) { return c.corrPPB, nil }

// Step moves the clock by d (positive = forward) at the present true time.
func (c *Clock) Step(d time.Duration) error {
	c.advance()
	c.te += float64(d)
	return nil
}

// TimeError returns the noise-free time error now, clock − true. It is for
// scoring a simulation, not for the servo under test.
func (c *Clock) TimeError() time.Duration {
	c.advance()
	return time.Duration(math.Round(c.te))
}

// TimeErrorNS is TimeError in float nanoseconds (no rounding).
func (c *Clock) TimeErrorNS() float64 {
	c.advance()
	return c.te
}

// OscillatorPPB returns the uncorrected frequency error now, ν0 + νrw + νT,
// in ppb (positive = fast).
func (c *Clock) OscillatorPPB() float64 {
	c.advance()
	at := c.at.Seconds()
	rw := c.rw0 + (c.rw1-c.rw0)*(c.at-c.cell).Seconds()/c.h.Seconds()
	f := c.osc.FreqErrorPPB + rw
	if c.osc.TempAmplitudePPB != 0 {
		f += c.osc.TempAmplitudePPB * math.Sin(2*math.Pi*at/c.osc.TempPeriod.Seconds())
	}
	return f
}

// RateError returns the net frequency error now, oscillator + correction,
// in ppb: how fast the clock's time error is growing.
func (c *Clock) RateError() float64 { return c.OscillatorPPB() + c.corrPPB }

// InjectedSteps returns the sum of injected StepEvents applied so far.
func (c *Clock) InjectedSteps() time.Duration {
	c.advance()
	return c.stepped
}
