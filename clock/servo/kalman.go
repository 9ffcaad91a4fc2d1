package servo

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// KalmanConfig tunes the Kalman servo. The defaults need no knowledge of
// the network or the oscillator: the measurement noise comes from each
// sample's delay (or is estimated from the samples when there is no
// delay), and the oscillator wander is chosen by likelihood among a bank
// of filters.
type KalmanConfig struct {
	// Interval is the nominal time between samples; it sets the phase
	// time constant until the real spacing has been observed.
	Interval time.Duration
	// Wanders are the random-walk frequency noise levels σ (ppb/√s) of the
	// filter bank; the filter whose recent innovations are the most likely
	// steers the clock.
	Wanders []float64
	// MeasurementNoise is the offset noise σ assumed for samples without a
	// delay until NoiseWindow samples give an estimate.
	MeasurementNoise time.Duration
	// NoiseFloor is added (as a variance) to every sample's noise: clock
	// reading and timestamping noise that the delay does not reveal. A
	// sample that states a smaller Dispersion (a PPS or PHC source's
	// precision) gets that instead.
	NoiseFloor time.Duration
	// InitialFreqStdPPB is the prior σ of the frequency error at start.
	InitialFreqStdPPB float64
	// Gate rejects a sample whose innovation exceeds Gate standard
	// deviations (after warm-up); MaxRejects consecutive rejections
	// restart the filter on the current sample (the reference moved).
	Gate       float64
	MaxRejects int
	// PhaseTimeConstant is the time over which an estimated phase offset is
	// slewed out, in sample intervals (1 = by the next sample).
	PhaseTimeConstant float64
	// NoiseWindow is the number of recent samples behind the minimum
	// delay, the noise estimate and the bank's likelihood scores.
	NoiseWindow int
	// LockFreqStdPPB: the servo reports locked once the frequency
	// estimate's σ is below this.
	LockFreqStdPPB float64
}

// DefaultKalmanConfig returns the defaults for samples every interval.
// The bank spans 0.01–100 ppb/√s in steps of √10: from a temperature-
// stabilised oscillator to a cheap crystal next to a fan that cycles.
func DefaultKalmanConfig(interval time.Duration) KalmanConfig {
	return KalmanConfig{
		Interval:          interval,
		Wanders:           []float64{0.01, 0.0316, 0.1, 0.316, 1, 3.16, 10, 31.6, 100},
		MeasurementNoise:  100 * time.Microsecond,
		NoiseFloor:        100 * time.Nanosecond,
		InitialFreqStdPPB: 100_000,
		Gate:              5,
		MaxRejects:        8,
		PhaseTimeConstant: 1,
		NoiseWindow:       64,
		LockFreqStdPPB:    1000,
	}
}

// Validate reports every invalid field.
func (c KalmanConfig) Validate() error {
	var errs []error
	pos := func(name string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s = %v: must be positive and finite", name, v))
		}
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval = %v: must be positive", c.Interval))
	}
	if len(c.Wanders) == 0 {
		errs = append(errs, errors.New("wanders: empty"))
	}
	for i, w := range c.Wanders {
		pos(fmt.Sprintf("wanders[%d]", i), w)
	}
	if c.MeasurementNoise <= 0 {
		errs = append(errs, fmt.Errorf("measurement_noise = %v: must be positive", c.MeasurementNoise))
	}
	if c.NoiseFloor < 0 {
		errs = append(errs, fmt.Errorf("noise_floor = %v: negative", c.NoiseFloor))
	}
	pos("initial_freq_std_ppb", c.InitialFreqStdPPB)
	pos("gate", c.Gate)
	if c.MaxRejects < 1 {
		errs = append(errs, fmt.Errorf("max_rejects = %d: must be ≥ 1", c.MaxRejects))
	}
	pos("phase_time_constant", c.PhaseTimeConstant)
	if c.NoiseWindow < 16 {
		errs = append(errs, fmt.Errorf("noise_window = %d: must be ≥ 16", c.NoiseWindow))
	}
	pos("lock_freq_std_ppb", c.LockFreqStdPPB)
	return errors.Join(errs...)
}

// filter is one two-state Kalman filter of the bank.
type filter struct {
	q             float64 // wander², ppb²/s
	th, nu        float64 // phase θ (ns), frequency ν (ppb)
	p00, p01, p11 float64 // covariance: ns², ns·ppb, ppb²
	score         float64 // exponentially weighted log-likelihood
}

// predict moves the filter dt seconds ahead under correction u (ppb).
//
//	θ⁻ = θ − (ν + u)·dt,  ν⁻ = ν  (ppb × s = ns)
//	P⁻ = F·P·Fᵀ + q·[dt³/3, −dt²/2; −dt²/2, dt],  F = [1, −dt; 0, 1]
func (f *filter) predict(dt, u float64) {
	f.th -= (f.nu + u) * dt
	f.p00 += -2*dt*f.p01 + dt*dt*f.p11 + f.q*dt*dt*dt/3
	f.p01 += -dt*f.p11 - f.q*dt*dt/2
	f.p11 += f.q * dt
}

// update folds in measurement z of variance r (Joseph form).
func (f *filter) update(z, r float64) {
	y := z - f.th
	s := f.p00 + r
	k0, k1 := f.p00/s, f.p01/s
	f.th += k0 * y
	f.nu += k1 * y
	p00, p01, p11 := f.p00, f.p01, f.p11
	f.p00 = (1-k0)*(1-k0)*p00 + k0*k0*r
	f.p01 = (1-k0)*(p01-k1*p00) + k0*k1*r
	f.p11 = k1*k1*p00 - 2*k1*p01 + p11 + k1*k1*r
}

// Kalman is a two-state (phase, frequency) Kalman filter servo in the
// spirit of ntpd-rs. It estimates θ = reference − local (ns) and the
// oscillator's uncorrected frequency error ν (ppb, positive = fast),
// knowing the correction u it applied itself, and steers u = −ν̂ + θ̂/τ
// (τ = PhaseTimeConstant sample intervals), within the Policy's limits.
//
// Measurement noise. An NTP offset is wrong by (e→ − e←)/2 where e are
// the queueing delays of the two directions, so a sample whose delay
// exceeds the path minimum by s is wrong by at most s/2 (RFC 5905 §10).
// Its variance is taken as (s + s₀)²/12 (uniform within the bound) plus
// NoiseFloor², where the minimum is over the last NoiseWindow samples and
// s₀, the excess of the 4th-smallest delay in the window, accounts for the
// minimum itself being above the true path minimum. Low-delay samples thus
// weigh much more than queued ones, which is what chrony's and ntpd's
// delay-based filtering exploit. Without a delay (PPS, PHC), the variance
// is estimated as the robust (MAD) variance of normalised second
// differences of the free-running phase, which cancel phase and frequency.
// The floor is NoiseFloor (100 ns: clock reads and software timestamps),
// or the sample's stated Dispersion when that is smaller: a PPS edge
// stamped by a PHC states its receiver's precision (tens of ns), and a
// 100 ns floor there overstated the noise of 20 ns edges fivefold, so the
// bank's likelihood could not tell the wander models apart and the clock
// kept ≈ 13 ns RMS of the 20 ns (pps-phc: max |TE| 32–48 ns; with the
// stated 20 ns, 18–29 ns, docs/simulation.md). NTP samples state µs and
// keep the 100 ns floor.
//
// Timing. A decision takes effect when the caller applies it
// (Measurement.ApplyAt), which for a PPS edge is ~1.05 s after the edge:
// after the next one. The servo keeps the corrections it decided with
// the time each took effect, predicts its filters from sample to sample
// through them, and steers by the phase predicted to the time the new
// correction takes effect. Assuming instead that each correction acts
// from its sample's time put an unmodelled one-sample delay in the loop:
// the deadbeat phase correction then rang, and diverged when the bank
// chose a fast filter (gnss-loss-holdover after its recovery, 2.7 ms).
//
// Process noise. One oscillator model never fits every machine, so the
// servo runs a bank of filters with random-walk FM wanders from Wanders
// on the same samples and corrections, and steers by the one whose
// exponentially weighted predictive log-likelihood over ~NoiseWindow
// samples is highest (a multiple-model estimator without mixing). A
// temperature swing thus moves the choice to a faster filter and back.
//
// Outliers. A sample whose innovation exceeds Gate σ of the steering
// filter is discarded; MaxRejects in a row restart the bank on the new
// phase (a step of the reference), which the Policy may step. A discarded
// sample still gets a decision on the prediction alone (ActionDiscard
// with the new FreqPPB): the phase slew of the last update was to end by
// then, and left in force it would move the clock by the slewed phase
// again at every rejected sample.
type Kalman struct {
	cfg    KalmanConfig
	policy Policy

	bank    []filter
	best    int
	n       int       // samples accepted since (re)start; 0 = not started
	updates int       // clock updates made (for the step policy)
	last    time.Time // local time of the filters' state: the last sample
	u       float64   // frequency correction last decided, ppb
	// log holds the corrections decided, from the one in force at last
	// on, ascending by the time they take effect (Measurement.ApplyAt):
	// with a delivery delay, the next sample may be taken before the
	// last decision is applied.
	log     []corrEnt
	dtMean  float64 // mean sample spacing, s
	rejects int
	state   State

	// Noise estimation without delays: free-running phase y = offset +
	// corr at t seconds since the first sample.
	r       float64 // measurement variance estimate for delay-less samples, ns²
	corr    float64 // ∫u dt + steps applied so far, ns
	t0      time.Time
	hist    []phasePoint
	delays  []float64 // recent delays, ns (ring, oldest first)
	scratch []float64
}

type phasePoint struct{ t, y float64 }

// corrEnt is one decision as applied: from local time at on, the
// frequency correction u (ppb) is in force, and the clock was stepped by
// step (ns, positive forward) at at.
type corrEnt struct {
	at   time.Time
	u    float64
	step float64
}

// NewKalman returns a Kalman servo starting from the frequency correction
// freqPPB currently applied to the clock.
func NewKalman(cfg KalmanConfig, p Policy, freqPPB float64) (*Kalman, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("servo: new kalman: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("servo: new kalman: %w", err)
	}
	if math.IsNaN(freqPPB) || math.IsInf(freqPPB, 0) {
		return nil, fmt.Errorf("servo: new kalman: initial frequency %v: not finite", freqPPB)
	}
	m := float64(cfg.MeasurementNoise)
	k := &Kalman{cfg: cfg, policy: p, u: freqPPB, r: m * m, dtMean: cfg.Interval.Seconds()}
	k.bank = make([]filter, len(cfg.Wanders))
	for i, w := range cfg.Wanders {
		k.bank[i].q = w * w
	}
	return k, nil
}

// Name implements Servo.
func (*Kalman) Name() string { return "kalman" }

// State implements Servo.
func (k *Kalman) State() State { return k.state }

// Frequency implements Servo.
func (k *Kalman) Frequency() float64 { return k.u }

// Estimate returns the steering filter's phase (reference − local) and
// oscillator frequency error (ppb, positive = fast) with their standard
// deviations, and its wander (ppb/√s).
func (k *Kalman) Estimate() (phase, phaseStd time.Duration, freqPPB, freqStdPPB, wanderPPB float64) {
	f := &k.bank[k.best]
	return time.Duration(f.th), time.Duration(math.Sqrt(f.p00)), f.nu, math.Sqrt(f.p11), math.Sqrt(f.q)
}

// Sample implements Servo.
func (k *Kalman) Sample(m Measurement) Decision {
	z := float64(m.Offset)
	if m.Delay < 0 {
		return Decision{Action: ActionDiscard, FreqPPB: k.u, State: k.state}
	}
	at := m.ApplyAt
	if at.Before(m.Local) {
		at = m.Local
	}
	if k.n == 0 {
		k.t0 = m.Local
		k.log = append(k.log[:0], corrEnt{at: m.Local, u: k.u})
		r := k.noise(m, z)
		k.restart(z, r, m.Local, k.cfg.InitialFreqStdPPB*k.cfg.InitialFreqStdPPB, -k.u)
		return k.decide(at)
	}
	dt := m.Local.Sub(k.last).Seconds()
	if dt <= 0 {
		return Decision{Action: ActionDiscard, FreqPPB: k.u, State: k.state}
	}
	// Predict to the sample with the corrections that were in force.
	k.advance(m.Local)
	k.dtMean += (dt - k.dtMean) / 8
	r := k.noise(m, z)

	b := &k.bank[k.best]
	y, s := z-b.th, b.p00+r
	if k.n >= 8 && math.Abs(y) > k.cfg.Gate*math.Sqrt(s) {
		k.rejects++
		if k.rejects < k.cfg.MaxRejects {
			// Steer on the prediction: the phase slew decided at the
			// last update was to end by now, and left in force it
			// would run on (a run of rejections would move the clock
			// by the slewed phase once per sample).
			return Decision{Action: ActionDiscard, FreqPPB: k.steer(at, false), State: k.state}
		}
		// The phase really moved: start again from this sample, keeping
		// the frequency but doubting it.
		k.restart(z, r, m.Local, math.Max(b.p11, 1e6), b.nu)
		return k.decide(at)
	}
	k.rejects = 0
	decay := 1 / float64(k.cfg.NoiseWindow)
	for i := range k.bank {
		f := &k.bank[i]
		y, s := z-f.th, f.p00+r
		f.score += decay * (-0.5*(math.Log(s)+y*y/s) - f.score)
		f.update(z, r)
		if f.score > k.bank[k.best].score {
			k.best = i
		}
	}
	k.n++
	return k.decide(at)
}

func (k *Kalman) restart(z, r float64, local time.Time, p11, nu float64) {
	for i := range k.bank {
		f := &k.bank[i]
		f.th, f.nu = z, nu
		f.p00, f.p01, f.p11 = r, 0, p11
		f.score = 0
	}
	k.last = local
	k.n = 1
	k.rejects = 0
	k.state = StateUnlocked
}

// decide makes one clock update, applied at local time at, from the
// steering filter's estimate.
func (k *Kalman) decide(at time.Time) Decision {
	k.updates++
	d := Decision{}
	th := k.phaseAt(&k.bank[k.best], at)
	if st := time.Duration(math.Round(th)); k.policy.MayStep(st, k.updates) {
		d.Action, d.Step = ActionStep, st
	}
	d.FreqPPB = k.steer(at, d.Action == ActionStep)
	if k.n >= 4 && math.Sqrt(k.bank[k.best].p11) < k.cfg.LockFreqStdPPB {
		k.state = StateLocked
	}
	d.State = k.state
	return d
}

// steer decides the correction applied from local time at: the steering
// filter's phase predicted to at (after the step, if step) is slewed out
// over the phase time constant on top of −ν̂. It records the decision and
// returns the correction.
func (k *Kalman) steer(at time.Time, step bool) float64 {
	b := &k.bank[k.best]
	th := k.phaseAt(b, at)
	var st float64
	if step {
		st = math.Round(th)
		th -= st
	}
	tau := k.cfg.PhaseTimeConstant * k.dtMean
	k.u = k.policy.ClampFreq(-b.nu + k.policy.ClampSlew(th/tau))
	k.push(at, k.u, st)
	return k.u
}

// push records a decision taking effect at local time at (≥ last).
func (k *Kalman) push(at time.Time, u, step float64) {
	if !at.After(k.last) {
		// In force at the filters' own time: step their state now.
		for i := range k.bank {
			k.bank[i].th -= step
		}
		k.corr += step
		step = 0
	}
	if n := len(k.log); n > 0 && !at.After(k.log[n-1].at) {
		// Not later than the last decision (which then never took
		// effect): it replaces it, steps added.
		k.log[n-1].u, k.log[n-1].step = u, k.log[n-1].step+step
		return
	}
	k.log = append(k.log, corrEnt{at: at, u: u, step: step})
}

// walk calls seg(dt, u) for each piece of [from, to] during which the
// correction u was in force (dt in s), and step(ns) for each step made in
// (from, to], in order.
func (k *Kalman) walk(from, to time.Time, seg func(dt, u float64), step func(st float64)) {
	i := 0
	for i+1 < len(k.log) && !k.log[i+1].at.After(from) {
		i++
	}
	cur := from
	for {
		end, next := to, i+1 < len(k.log) && !k.log[i+1].at.After(to)
		if next {
			end = k.log[i+1].at
		}
		if dt := end.Sub(cur).Seconds(); dt > 0 {
			seg(dt, k.log[i].u)
		}
		if !next {
			return
		}
		i++
		cur = end
		if k.log[i].step != 0 {
			step(k.log[i].step)
		}
	}
}

// advance predicts every filter from last to t under the corrections in
// force, and forgets the corrections no longer needed.
func (k *Kalman) advance(t time.Time) {
	k.walk(k.last, t, func(dt, u float64) {
		k.corr += u * dt
		for i := range k.bank {
			k.bank[i].predict(dt, u)
		}
	}, func(st float64) {
		k.corr += st
		for i := range k.bank {
			k.bank[i].th -= st
		}
	})
	k.last = t
	i := 0
	for i+1 < len(k.log) && !k.log[i+1].at.After(t) {
		i++
	}
	k.log = k.log[:copy(k.log, k.log[i:])]
}

// phaseAt is filter f's phase predicted from last to local time t (≥ last)
// under the corrections decided.
func (k *Kalman) phaseAt(f *filter, t time.Time) float64 {
	th := f.th
	k.walk(k.last, t, func(dt, u float64) { th -= (f.nu + u) * dt }, func(st float64) { th -= st })
	return th
}

// noise returns the variance (ns²) to give the sample, and records what the
// estimators need.
func (k *Kalman) noise(m Measurement, z float64) float64 {
	fl := k.cfg.NoiseFloor
	if m.Dispersion > 0 {
		fl = min(fl, m.Dispersion)
	}
	floor := float64(fl) * float64(fl)
	k.pushPhase(m.Local, z)
	if m.Delay <= 0 {
		return k.r + floor
	}
	w := k.cfg.NoiseWindow
	if len(k.delays) == w {
		copy(k.delays, k.delays[1:])
		k.delays = k.delays[:w-1]
	}
	k.delays = append(k.delays, float64(m.Delay))
	if len(k.delays) < 8 {
		// Too few delays to know the path minimum; the bound ±delay/2
		// still holds.
		d := float64(m.Delay)
		return d*d/12 + floor
	}
	s := append(k.scratch[:0], k.delays...)
	slices.Sort(s)
	k.scratch = s
	excess := float64(m.Delay) - s[0] + (s[min(7, len(s)-1)] - s[0])
	return excess*excess/12 + floor
}

// pushPhase records the free-running phase and re-estimates the noise of
// delay-less samples from normalised second differences over the window.
func (k *Kalman) pushPhase(local time.Time, z float64) {
	w := k.cfg.NoiseWindow
	if len(k.hist) == w+2 {
		copy(k.hist, k.hist[1:])
		k.hist = k.hist[:w+1]
	}
	k.hist = append(k.hist, phasePoint{t: local.Sub(k.t0).Seconds(), y: z + k.corr})
	if len(k.hist) < 10 {
		return
	}
	d := k.scratch[:0]
	for i := 2; i < len(k.hist); i++ {
		a, b, c := k.hist[i-2], k.hist[i-1], k.hist[i]
		if b.t <= a.t || c.t <= b.t {
			continue
		}
		// y2 − y1 − (y1 − y0)·ρ cancels phase and frequency; with white
		// noise of variance R its variance is R·(1 + (1+ρ)² + ρ²).
		rho := (c.t - b.t) / (b.t - a.t)
		d = append(d, math.Abs(c.y-b.y-(b.y-a.y)*rho)/math.Sqrt(1+(1+rho)*(1+rho)+rho*rho))
	}
	k.scratch = d
	if len(d) < 8 {
		return
	}
	// For a zero-mean variable, median |d| / 0.6745 estimates σ.
	slices.Sort(d)
	sd := median(d) / 0.6745
	k.r = math.Max(sd*sd, 1)
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
