// Package trial runs servos against the simulated clock and network of
// clock/sim and scores them: time to lock, maximum and RMS time error after
// lock, final frequency error. Every servo of a comparison sees the same
// seeded trace (oscillator wander, temperature term, read noise, network
// delays), because the simulation draws its noise independently of what
// the servo does. It is the engine of the servo comparison in
// docs/simulation.md and of single-source `gnomonctl sim` runs; it knows
// nothing of source selection, leap seconds or servers.
package trial

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gnomon-time/gnomon/clock/servo"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// Scenario is one simulated setup: a client clock polling one perfect
// server over a network.
type Scenario struct {
	Name       string
	Duration   time.Duration // simulated true time
	Poll       time.Duration // sample interval
	Oscillator sim.Oscillator
	Network    sim.Network
	Policy     servo.Policy
	// The clock counts as locked from the first poll after which |TE| stays
	// below LockThreshold for LockSustain.
	LockThreshold time.Duration
	LockSustain   time.Duration
}

// Validate reports every invalid field.
func (sc Scenario) Validate() error {
	var errs []error
	if sc.Duration <= 0 || sc.Poll <= 0 || sc.Poll > sc.Duration {
		errs = append(errs, fmt.Errorf("duration %v, poll %v: need 0 < poll ≤ duration", sc.Duration, sc.Poll))
	}
	if sc.LockThreshold <= 0 || sc.LockSustain < 0 {
		errs = append(errs, fmt.Errorf("lock threshold %v, sustain %v: need threshold > 0, sustain ≥ 0", sc.LockThreshold, sc.LockSustain))
	}
	if err := sc.Oscillator.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := sc.Network.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := sc.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scenario %q: %w", sc.Name, err)
	}
	return nil
}

// StepAtStart is the acquisition scenario of issue 3: 10 ms initial time
// error, +25 ppm frequency error, 1 ppb/√s random-walk FM (clknetsim's usual
// wander), a 100 ppb temperature swing with a 30 min period, 100 ns read
// noise, 1 s polls over a symmetric path of 50 µs + exponential jitter of
// mean 20 µs in each direction (offset noise σ ≈ 14 µs), one hour.
func StepAtStart() Scenario {
	p := sim.Path{Base: 50 * time.Microsecond, Jitter: sim.DistExponential, Scale: 20 * time.Microsecond}
	return Scenario{
		Name:     "step-at-start",
		Duration: time.Hour,
		Poll:     time.Second,
		Oscillator: sim.Oscillator{
			InitialError:     10 * time.Millisecond,
			FreqErrorPPB:     25_000,
			RandomWalkPPB:    1,
			TempAmplitudePPB: 100,
			TempPeriod:       30 * time.Minute,
			ReadNoise:        100 * time.Nanosecond,
		},
		Network:       sim.Network{Out: p, Back: p, Processing: 5 * time.Microsecond},
		Policy:        servo.DefaultPolicy(),
		LockThreshold: 10 * time.Microsecond,
		LockSustain:   time.Minute,
	}
}

// RoughPath is StepAtStart over a worse path, with a clock step: the
// out direction has Gaussian jitter (σ 30 µs) and the back direction
// exponential jitter (mean 30 µs) around 100 µs each, 2 % of exchanges
// suffer an extra exponential delay of mean 2 ms, and at 40 min the clock
// is knocked forward by 1 ms (a VM pause, another program's step). The
// asymmetric jitter biases every servo's offset by an amount no
// measurement can reveal, so the lock threshold is 50 µs.
func RoughPath() Scenario {
	sc := StepAtStart()
	sc.Name = "rough-path"
	sc.Network = sim.Network{
		Out:          sim.Path{Base: 100 * time.Microsecond, Jitter: sim.DistGaussian, Scale: 30 * time.Microsecond},
		Back:         sim.Path{Base: 100 * time.Microsecond, Jitter: sim.DistExponential, Scale: 30 * time.Microsecond},
		Processing:   5 * time.Microsecond,
		OutlierProb:  0.02,
		OutlierDelay: 2 * time.Millisecond,
	}
	sc.Oscillator.Steps = []sim.StepEvent{{At: Start.Add(40 * time.Minute), By: time.Millisecond}}
	sc.LockThreshold = 50 * time.Microsecond
	return sc
}

// Scenarios returns the built-in single-source scenarios by name.
func Scenarios() map[string]Scenario {
	out := map[string]Scenario{}
	for _, sc := range []Scenario{StepAtStart(), RoughPath()} {
		out[sc.Name] = sc
	}
	return out
}

// Start is the true time at which every trial starts.
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Factory builds a fresh servo for a scenario.
type Factory struct {
	Name string
	New  func(sc Scenario) (servo.Servo, error)
}

// PI returns a factory for the linuxptp PI servo with gains g.
func PI(name string, g servo.PIGains) Factory {
	return Factory{Name: name, New: func(sc Scenario) (servo.Servo, error) {
		return servo.NewPI(g, sc.Poll, sc.Policy, 0)
	}}
}

// Kalman returns a factory for the Kalman servo with default tuning.
func Kalman() Factory { return KalmanWith("kalman", nil) }

// KalmanWith returns a factory for a Kalman servo whose default
// configuration is modified by tune (if not nil).
func KalmanWith(name string, tune func(*servo.KalmanConfig)) Factory {
	return Factory{Name: name, New: func(sc Scenario) (servo.Servo, error) {
		cfg := servo.DefaultKalmanConfig(sc.Poll)
		if tune != nil {
			tune(&cfg)
		}
		return servo.NewKalman(cfg, sc.Policy, 0)
	}}
}

// Servos are the servos gnomon compares: the PI baseline with linuxptp's
// software-timestamp gains ("pi"), the same PI with facebook/time's default
// (hardware) gains ("pi-hw"), and the Kalman filter.
func Servos() []Factory {
	return []Factory{PI("pi", servo.LinuxptpSWGains()), PI("pi-hw", servo.FacebookGains()), Kalman()}
}

// Point is the state at one poll, before that poll's sample is taken.
type Point struct {
	T       time.Duration // true time since start
	TE      time.Duration // clock − true
	FreqPPB float64       // correction in force
}

// Result scores one run.
type Result struct {
	Scenario string
	Servo    string
	Seed     uint64
	Locked   bool
	// LockTime is the first poll from which |TE| < LockThreshold holds for
	// LockSustain (valid when Locked).
	LockTime time.Duration
	// StatsFrom is where MaxTE and RMSTE start: LockTime when locked,
	// otherwise half the run.
	StatsFrom    time.Duration
	MaxTE, RMSTE time.Duration
	// FinalFreqErrorPPB is the clock's net rate error at the end (ppb),
	// including the servo's momentary phase slew.
	FinalFreqErrorPPB float64
	// MeanFreqErrorPPB is the mean net rate error over the last
	// LockSustain (or the last minute): the change of TE over that time
	// divided by it, i.e. the frequency error without the momentary slew.
	MeanFreqErrorPPB float64
	Steps, Discards  int
	Samples          int
	Trace            []Point `json:"-"`
}

// Run simulates sc with the servo built by f on the trace selected by seed.
func Run(sc Scenario, f Factory, seed uint64) (Result, error) {
	if err := sc.Validate(); err != nil {
		return Result{}, err
	}
	start := Start
	tl := sim.NewTimeline(start)
	clk, err := sim.NewClock(tl, sc.Oscillator, seed)
	if err != nil {
		return Result{}, err
	}
	ch, err := sim.NewChannel(sc.Network, seed)
	if err != nil {
		return Result{}, err
	}
	srv, err := f.New(sc)
	if err != nil {
		return Result{}, fmt.Errorf("trial %s/%s: %w", sc.Name, f.Name, err)
	}
	res := Result{Scenario: sc.Name, Servo: f.Name, Seed: seed}
	n := int(sc.Duration / sc.Poll)
	res.Trace = make([]Point, 0, n)
	for i := range n {
		if err := tl.AdvanceTo(start.Add(time.Duration(i) * sc.Poll)); err != nil {
			return Result{}, fmt.Errorf("trial %s/%s: poll %d: %w (round trip longer than the poll?)", sc.Name, f.Name, i, err)
		}
		freq, _ := clk.Frequency()
		res.Trace = append(res.Trace, Point{T: tl.Elapsed(), TE: clk.TimeError(), FreqPPB: freq})
		s, err := ch.Exchange(tl, clk)
		if err != nil {
			return Result{}, err
		}
		d := srv.Sample(servo.Measurement{Offset: s.Offset, Delay: s.Delay, Local: s.T4})
		switch d.Action {
		case servo.ActionStep:
			res.Steps++
		case servo.ActionDiscard:
			res.Discards++
		}
		if err := servo.Apply(clk, d); err != nil {
			return Result{}, fmt.Errorf("trial %s/%s: %w", sc.Name, f.Name, err)
		}
	}
	res.Samples = n
	res.FinalFreqErrorPPB = clk.RateError()
	win := sc.LockSustain
	if win <= 0 {
		win = time.Minute
	}
	if first := len(res.Trace) - 1 - int(win/sc.Poll); first >= 0 {
		a, b := res.Trace[first], res.Trace[len(res.Trace)-1]
		// TE in ns over seconds is ppb.
		res.MeanFreqErrorPPB = float64(b.TE-a.TE) / (b.T - a.T).Seconds()
	}
	res.score(sc)
	return res, nil
}

func (r *Result) score(sc Scenario) {
	tr := r.Trace
	from := -1
	// Scan backwards: good[i] = the run of |TE| < threshold starting at i
	// lasts until at least T[i] + sustain.
	runEnd := time.Duration(-1) // time of the last point of the current good run
	for i := len(tr) - 1; i >= 0; i-- {
		if tr[i].TE.Abs() >= sc.LockThreshold {
			runEnd = -1
			continue
		}
		if runEnd < 0 {
			runEnd = tr[i].T
		}
		if runEnd-tr[i].T >= sc.LockSustain {
			from = i
		}
	}
	if from >= 0 {
		r.Locked, r.LockTime = true, tr[from].T
	} else {
		from = len(tr) / 2
	}
	r.StatsFrom = tr[from].T
	var maxTE time.Duration
	var ss float64
	for _, p := range tr[from:] {
		maxTE = max(maxTE, p.TE.Abs())
		ss += float64(p.TE) * float64(p.TE)
	}
	r.MaxTE = maxTE
	r.RMSTE = time.Duration(math.Sqrt(ss / float64(len(tr)-from)))
}

// Compare runs every factory on every seed of sc. Results are ordered by
// factory, then seed.
func Compare(sc Scenario, fs []Factory, seeds []uint64) ([]Result, error) {
	var out []Result
	for _, f := range fs {
		for _, s := range seeds {
			r, err := Run(sc, f, s)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// Summary aggregates one servo's results over seeds.
type Summary struct {
	Servo                       string
	Runs, Locked                int
	MedianLock, WorstLock       time.Duration // over locked runs
	MedianRMS, WorstRMS         time.Duration
	MedianMaxTE, WorstMaxTE     time.Duration
	MedianFreqErr, WorstFreqErr float64 // |MeanFreqErrorPPB|
}

// Summarize groups results by servo, in first-seen order.
func Summarize(rs []Result) []Summary {
	var order []string
	by := map[string][]Result{}
	for _, r := range rs {
		if _, ok := by[r.Servo]; !ok {
			order = append(order, r.Servo)
		}
		by[r.Servo] = append(by[r.Servo], r)
	}
	var out []Summary
	for _, name := range order {
		g := by[name]
		s := Summary{Servo: name, Runs: len(g)}
		var lock, rms, mx []time.Duration
		var fe []float64
		for _, r := range g {
			if r.Locked {
				s.Locked++
				lock = append(lock, r.LockTime)
			}
			rms = append(rms, r.RMSTE)
			mx = append(mx, r.MaxTE)
			fe = append(fe, math.Abs(r.MeanFreqErrorPPB))
		}
		s.MedianLock, s.WorstLock = medWorst(lock)
		s.MedianRMS, s.WorstRMS = medWorst(rms)
		s.MedianMaxTE, s.WorstMaxTE = medWorst(mx)
		slices.Sort(fe)
		s.MedianFreqErr, s.WorstFreqErr = fe[(len(fe)-1)/2], fe[len(fe)-1]
		out = append(out, s)
	}
	return out
}

func medWorst(x []time.Duration) (time.Duration, time.Duration) {
	if len(x) == 0 {
		return -1, -1
	}
	slices.Sort(x)
	return x[(len(x)-1)/2], x[len(x)-1]
}

func fmtD(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(10 * time.Nanosecond).String()
}

// WriteTable prints one line per run and a per-servo summary (medians are
// lower medians; "worst" is the maximum over seeds).
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tservo\tseed\tlock\tmax|TE| after lock\tRMS TE after lock\tfinal freq err (ppb)\tlast-minute freq err (ppb)\tsteps\tdiscards\t")
	for _, r := range rs {
		lock := fmtD(r.LockTime)
		stats := ""
		if !r.Locked {
			lock = "never"
			stats = fmt.Sprintf(" (from %v)", r.StatsFrom)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s%s\t%s\t%+.1f\t%+.2f\t%d\t%d\t\n", r.Scenario, r.Servo, r.Seed, lock,
			fmtD(r.MaxTE), stats, fmtD(r.RMSTE), r.FinalFreqErrorPPB, r.MeanFreqErrorPPB, r.Steps, r.Discards)
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t")
	fmt.Fprintln(tw, "servo\tlocked\tlock median/worst\tmax|TE| median/worst\tRMS TE median/worst\t|last-minute freq err| median/worst (ppb)\t\t\t\t\t")
	for _, s := range Summarize(rs) {
		fmt.Fprintf(tw, "%s\t%d/%d\t%s / %s\t%s / %s\t%s / %s\t%.1f / %.1f\t\t\t\t\t\n", s.Servo, s.Locked, s.Runs,
			fmtD(s.MedianLock), fmtD(s.WorstLock), fmtD(s.MedianMaxTE), fmtD(s.WorstMaxTE),
			fmtD(s.MedianRMS), fmtD(s.WorstRMS), s.MedianFreqErr, s.WorstFreqErr)
	}
	return tw.Flush()
}

// Table returns WriteTable's output as a string.
func Table(rs []Result) string {
	var b strings.Builder
	_ = WriteTable(&b, rs)
	return b.String()
}
