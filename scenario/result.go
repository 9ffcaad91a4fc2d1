package scenario

import (
	"math"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/leap"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// Point is the state at one scoring instant.
type Point struct {
	T time.Duration // true time since start
	// TE is the clock's noise-free time error against UTC (clock − UTC).
	TE time.Duration
	// Bound is engine.ErrorBoundAt for the published state (MaxInt64 when
	// unsynchronised).
	Bound      time.Duration
	Synced     bool
	Leap       clock.Leap
	ClockClass clock.ClockClass
	Mode       engine.Mode
	Peer       string
	// States of the sources, in scenario order.
	States []selection.State
	// What servers hand out: ServedTE = served clock − UTC (noise-free,
	// the smear included), Served the served reading itself, RefID the
	// published reference ID. SmearErr = ServedTE − the expected
	// served − UTC of the scenario's smear (0 expected without smear).
	ServedTE time.Duration
	Served   time.Time
	RefID    uint32
	SmearErr time.Duration
}

// Event is one entry of the run's timeline (true time since start).
type Event struct {
	T      time.Duration `json:"t"`
	Kind   string        `json:"kind"` // step, source, mode, leap, holdover (out of specification), recovery
	Source string        `json:"source,omitempty"`
	From   string        `json:"from,omitempty"`
	To     string        `json:"to,omitempty"`
	Step   time.Duration `json:"step,omitempty"`
	Reason string        `json:"reason,omitempty"`
	LeapAt time.Time     `json:"leap_at,omitzero"`
}

// ServerStats says how selection treated one server over the run.
type ServerStats struct {
	Name string `json:"name"`
	// Fractions of the synchronised scoring points at which the server was
	// the system peer, or combined with it.
	Selected float64 `json:"selected"`
	Combined float64 `json:"combined"`
	// Ever* are true when it happened at any scoring point or selection
	// event.
	EverSelected bool `json:"ever_selected"`
	EverCombined bool `json:"ever_combined"`
}

// Result scores one run.
type Result struct {
	Scenario string        `json:"scenario"`
	Servo    string        `json:"servo"`
	Seed     uint64        `json:"seed"`
	Duration time.Duration `json:"duration_ns"`
	// Locked: |TE| < LockThreshold held for LockSustain from LockTime on
	// (the run settled; printed as "settled within", and not the engine's
	// mode "locked", which ModeTime reports). The JSON keys keep their
	// names.
	Locked   bool          `json:"locked"`
	LockTime time.Duration `json:"time_to_lock_ns"`
	// StatsFrom is where MaxTE and RMSTE start: LockTime, or half the run.
	StatsFrom time.Duration `json:"stats_from_ns"`
	MaxTE     time.Duration `json:"max_abs_te_ns"`
	RMSTE     time.Duration `json:"rms_te_ns"`
	FinalTE   time.Duration `json:"final_te_ns"`
	// FinalFreqErrorPPB is the clock's net rate error at the end (ppb,
	// positive = fast), including any momentary phase slew.
	FinalFreqErrorPPB float64 `json:"final_freq_error_ppb"`
	Steps             []Event `json:"steps"`
	// Timeline holds source selections, mode changes and leap events.
	Timeline []Event       `json:"timeline"`
	Servers  []ServerStats `json:"servers"`
	// Honesty of the error bound over synchronised points: violations of
	// |TE| ≤ bound, the smallest margin bound − |TE| and the largest
	// |TE| / bound.
	BoundViolations int           `json:"bound_violations"`
	MinBoundMargin  time.Duration `json:"min_bound_margin_ns"`
	MaxBoundRatio   float64       `json:"max_bound_ratio"`
	// Time spent in each mode, and the largest |TE| in it (by scoring
	// points).
	ModeTime  map[string]time.Duration `json:"mode_time_ns"`
	ModeMaxTE map[string]time.Duration `json:"mode_max_abs_te_ns"`
	// RejectedReplies counts replies the client core did not accept;
	// Discarded the samples the engine or its servo did not use.
	RejectedReplies int    `json:"rejected_replies"`
	Discarded       uint64 `json:"discarded_samples"`
	// Kernel is what the engine did to the simulated kernel (nil unless
	// Scenario.Kernel).
	Kernel *KernelStats `json:"kernel,omitempty"`
	// Smear scores the served clock of a smearing run (nil otherwise).
	Smear *SmearStats `json:"smear,omitempty"`
	// Ref scores the reference chain of a GNSS scenario (nil otherwise).
	Ref   *RefStats `json:"ref,omitempty"`
	Trace []Point   `json:"-"`
}

// SmearStats score what servers handed out in a LeapModeSmear run, over
// the synchronised scoring points.
type SmearStats struct {
	// MaxCurveError is the largest |served − (continuous + smear offset)|
	// from the lock on (StatsFrom): the clock's own TE plus any error of
	// the served smear.
	MaxCurveError time.Duration `json:"max_curve_error_ns"`
	// MaxOffsetError is the largest |(served − clock) − expected smear
	// offset| at any synchronised point: the smear alone, without the
	// clock's TE.
	MaxOffsetError time.Duration `json:"max_offset_error_ns"`
	// MaxServedLeap is the largest LI published (0: never announced).
	MaxServedLeap clock.Leap `json:"max_served_leap"`
	// SmearRefIDTime is how long the reference ID said 127.127.1.255.
	SmearRefIDTime time.Duration `json:"smear_refid_time_ns"`
	// Monotonic: every served reading was later than the one before.
	Monotonic bool `json:"monotonic"`
	// Absorbed is served − UTC just after the leap minus at the end
	// (1 s for an insertion).
	Absorbed time.Duration `json:"absorbed_ns"`
	// FinalServedTE is served − UTC at the end.
	FinalServedTE time.Duration `json:"final_served_te_ns"`
}

// recorder is the engine's event sink and the scoring probe.
type recorder struct {
	tl       *sim.Timeline
	events   []Event
	steps    []Event
	rejected int
	trace    []Point
}

func (c *recorder) at() time.Duration { return c.tl.Elapsed() }

func (c *recorder) Stepped(_ time.Time, by time.Duration, why engine.StepReason) {
	c.steps = append(c.steps, Event{T: c.at(), Kind: "step", Step: by, Reason: why.String()})
}

func (c *recorder) SourceSelected(_ time.Time, source, previous string) {
	c.events = append(c.events, Event{T: c.at(), Kind: "source", To: source, From: previous})
}

func (c *recorder) ModeChanged(_ time.Time, from, to engine.Mode, source string) {
	c.events = append(c.events, Event{T: c.at(), Kind: "mode", From: from.String(), To: to.String(), Source: source})
}

func (c *recorder) LeapScheduled(_ time.Time, leap clock.Leap, at time.Time) {
	c.events = append(c.events, Event{T: c.at(), Kind: "leap", To: leap.String(), LeapAt: at})
}

func (c *recorder) HoldoverOutOfSpec(_ time.Time, source string, _ time.Duration, class clock.ClockClass) {
	c.events = append(c.events, Event{T: c.at(), Kind: "holdover", Source: source, To: class.String()})
}

func (c *recorder) Recovered(_ time.Time, source string, how engine.Recovery, _, _ time.Duration) {
	c.events = append(c.events, Event{T: c.at(), Kind: "recovery", Source: source, To: how.String()})
}

// Falseticker is not recorded as an event: every Point's States holds each
// source's selection state.
func (c *recorder) Falseticker(time.Time, string, bool, selection.Reason, time.Duration) {}

// ClockWrong is not recorded: the trace's TE shows it.
func (c *recorder) ClockWrong(time.Time, string, time.Duration) {}

func (c *recorder) record(r *runner) {
	now := r.tl.Now()
	r.local.Now() // a due kernel leap first
	te := time.Duration(math.Round(r.clk.TimeErrorNS())) - r.utcShift(now)
	st := r.cell.Load()
	local := r.clk.Now()
	p := Point{T: r.tl.Elapsed(), TE: te, Bound: engine.ErrorBoundAt(st, local)}
	if st != nil {
		p.Synced, p.Leap, p.ClockClass, p.RefID = st.Synchronized, st.Leap, st.ClockClass, st.RefID
	}
	p.ServedTE = te + r.eng.ServedOffset(local)
	p.Served = now.Add(r.utcShift(now) + p.ServedTE)
	p.SmearErr = p.ServedTE - r.smearExpected(now)
	if s := r.eng.Status(); s != nil {
		p.Mode, p.Peer = s.Mode, s.Peer
		p.States = make([]selection.State, len(s.Sources))
		for i, ss := range s.Sources {
			p.States[i] = ss.State
		}
	}
	c.trace = append(c.trace, p)
}

func (r *runner) score(opt Options) *Result {
	c := r.rec
	res := &Result{
		Scenario: r.sc.Name, Servo: r.eng.Status().Servo, Seed: opt.Seed, Duration: r.sc.Duration,
		Discarded: r.eng.Status().Discarded,
		Steps:     c.steps, Timeline: c.events, Trace: c.trace, RejectedReplies: c.rejected,
		ModeTime: map[string]time.Duration{}, ModeMaxTE: map[string]time.Duration{},
	}
	if res.Steps == nil {
		res.Steps = []Event{}
	}
	res.FinalFreqErrorPPB = r.clk.RateError()
	scoreTrace(res, r.sc)
	nSync := 0
	res.Servers = make([]ServerStats, len(r.ups))
	for i, u := range r.ups {
		res.Servers[i].Name = u.cfg.Name
	}
	for _, p := range res.Trace {
		if !p.Synced {
			continue
		}
		nSync++
		for i, s := range p.States {
			switch s {
			case selection.Selected:
				res.Servers[i].Selected++
				res.Servers[i].EverSelected = true
			case selection.Combined:
				res.Servers[i].Combined++
				res.Servers[i].EverCombined = true
			}
		}
	}
	if nSync > 0 {
		for i := range res.Servers {
			res.Servers[i].Selected /= float64(nSync)
			res.Servers[i].Combined /= float64(nSync)
		}
	}
	if r.kern != nil {
		k := r.kern.stats
		res.Kernel = &k
	}
	if r.smear.Enabled {
		res.Smear = r.smearStats(res.Trace, res.StatsFrom)
	}
	for _, e := range c.events {
		if e.Kind == "source" {
			for i := range res.Servers {
				if res.Servers[i].Name == e.To {
					res.Servers[i].EverSelected = true
				}
			}
		}
	}
	return res
}

// scoreTrace fills what res's trace says whatever the scenario's sources:
// final TE, the settling score (sc.LockThreshold for sc.LockSustain), max
// and RMS TE after it, the error bound's honesty and the time per mode.
func scoreTrace(res *Result, sc Scenario) {
	tr := res.Trace
	if len(tr) == 0 {
		return
	}
	res.FinalTE = tr[len(tr)-1].TE
	// Lock: scan backwards for the first point of a run of |TE| below the
	// threshold lasting LockSustain.
	from := -1
	runEnd := time.Duration(-1)
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
		res.Locked, res.LockTime = true, tr[from].T
	} else {
		from = len(tr) / 2
	}
	res.StatsFrom = tr[from].T
	var ss float64
	for _, p := range tr[from:] {
		res.MaxTE = max(res.MaxTE, p.TE.Abs())
		ss += float64(p.TE) * float64(p.TE)
	}
	res.RMSTE = time.Duration(math.Sqrt(ss / float64(len(tr)-from)))

	res.MinBoundMargin = time.Duration(math.MaxInt64)
	nSync := 0
	for _, p := range tr {
		res.ModeTime[p.Mode.String()] += sc.TraceEvery
		res.ModeMaxTE[p.Mode.String()] = max(res.ModeMaxTE[p.Mode.String()], p.TE.Abs())
		if !p.Synced {
			continue
		}
		nSync++
		m := p.Bound - p.TE.Abs()
		res.MinBoundMargin = min(res.MinBoundMargin, m)
		if m < 0 {
			res.BoundViolations++
		}
		if p.Bound > 0 {
			res.MaxBoundRatio = math.Max(res.MaxBoundRatio, float64(p.TE.Abs())/float64(p.Bound))
		}
	}
	if nSync == 0 {
		res.MinBoundMargin = 0
	}
}

// RMSFrom returns the RMS time error over the scoring points from from on
// (true time since start), and the number of points; for comparing servos
// over one common window.
func (r *Result) RMSFrom(from time.Duration) (time.Duration, int) {
	var ss float64
	n := 0
	for _, p := range r.Trace {
		if p.T >= from {
			ss += float64(p.TE) * float64(p.TE)
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return time.Duration(math.Sqrt(ss / float64(n))), n
}

// smearStats scores the served clock of a smearing run.
func (r *runner) smearStats(tr []Point, from time.Duration) *SmearStats {
	s := &SmearStats{Monotonic: true}
	var first, last time.Duration
	seenLeap := false
	at := r.sc.Leap.At.Sub(r.start)
	for i, p := range tr {
		if i > 0 && !p.Served.After(tr[i-1].Served) {
			s.Monotonic = false
		}
		if !p.Synced {
			continue
		}
		if p.T >= from {
			s.MaxCurveError = max(s.MaxCurveError, p.SmearErr.Abs())
		}
		s.MaxOffsetError = max(s.MaxOffsetError, (p.SmearErr - p.TE).Abs())
		s.MaxServedLeap = max(s.MaxServedLeap, p.Leap)
		if p.RefID == leap.RefIDSmear {
			s.SmearRefIDTime += r.sc.TraceEvery
		}
		if p.T >= at && !seenLeap {
			first, seenLeap = p.ServedTE, true
		}
		last = p.ServedTE
	}
	s.Absorbed = first - last
	s.FinalServedTE = last
	return s
}
