package scenario

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/phc"
	"github.com/gnomon-time/gnomon/clock/sim"
	"github.com/gnomon-time/gnomon/refclock"
	"github.com/gnomon-time/gnomon/refclock/nmea"
	"github.com/gnomon-time/gnomon/refclock/pair"
	"github.com/gnomon-time/gnomon/refclock/pps"
	"github.com/gnomon-time/gnomon/source/gnsssource"
	"github.com/gnomon-time/gnomon/source/phcsource"
)

// GNSS makes a scenario a reference chain instead of NTP: a PHC (the
// scenario's Oscillator) steered by its own engine from a GNSS receiver's
// PPS edges, stamped by the PHC, paired with the receiver's time of day
// through source/gnsssource's Core (refclock/pair), as gnomond's phc
// section does; optionally a system clock disciplined from that PHC
// through cross-timestamps (Sys).
type GNSS struct {
	// PPSJitter is the σ of the Gaussian noise on each edge's stamp
	// (refclock/pps.Sim).
	PPSJitter time.Duration
	// EdgeLatency is how long after the edge its stamp is read (the EXTTS
	// event; default 1 ms).
	EdgeLatency time.Duration
	// The time-of-day report of second N arrives uniformly in
	// [ToDMinDelay, ToDMaxDelay) after edge N (on CLOCK_REALTIME).
	ToDMinDelay, ToDMaxDelay time.Duration
	// NMEA sends each report as RMC, GGA and ZDA sentences through the
	// NMEA generator and the real decoder (refclock/nmea): no leap
	// announcement, no TAI − UTC. Otherwise reports are gpsd-like
	// refclock.TimeOfDay values that announce a scheduled leap during its
	// last day and give TAI − UTC.
	NMEA bool
	// TAI keeps the PHC on TAI (pairing on TAI, engine LeapModeNone, as
	// gnomond does for a PTP clock); otherwise on UTC.
	TAI bool
	// PPSDown lists windows without pulses (a pulled antenna cable); the
	// time of day keeps coming.
	PPSDown []Window
	// Sys, if set, disciplines a system clock from the PHC.
	Sys *SysClock
}

// SysClock is the phc2sys role: CLOCK_REALTIME (its own oscillator,
// steered by a second engine, as clock.mode system does) disciplined from
// the PHC by the real source/phcsource over a simulated device whose
// cross-timestamps have read noise.
type SysClock struct {
	Oscillator sim.Oscillator
	// Each cross-timestamp spans ReadDelay plus a uniform extra in
	// [0, ReadJitter) spent between the first system read and the PHC read
	// (an interrupt), as clock/phc.Sim models it: the kept sample's
	// midpoint is off by half its extra.
	ReadDelay, ReadJitter time.Duration
	// Samples per measurement (default phcsource's, 25).
	Samples int
	// Poll is the measurement interval (default 1 s).
	Poll time.Duration
}

// RefStats score the reference chain of a GNSS scenario.
type RefStats struct {
	// EngineLockedAt is when the PHC's engine first entered mode locked
	// (true time since start; −1: never). MaxTELocked and RMSTELocked are
	// |TE| of the PHC over the records from then on, outside PPS outages
	// and their first RecoveryGrace after.
	EngineLockedAt time.Duration `json:"engine_locked_at_ns"`
	MaxTELocked    time.Duration `json:"max_abs_te_locked_ns"`
	RMSTELocked    time.Duration `json:"rms_te_locked_ns"`
	// Edges: accepted (samples), labelled (a label the pairing assigned:
	// accepted, unconfirmed, leap second, no TAI offset) and WrongLabels
	// among them (not the UTC second that began at the edge). Second60 is
	// the number of accepted edges labelled 23:59:60.
	Accepted    int `json:"accepted"`
	Labelled    int `json:"labelled"`
	WrongLabels int `json:"wrong_labels"`
	Second60    int `json:"second60_accepted"`
	// Verdicts counts the pairing's outcomes by verdict.
	Verdicts map[string]uint64 `json:"verdicts"`
	// Classes lists every change of the published PTP clockClass (and
	// stratum) of the PHC, at the records.
	Classes []ClassChange `json:"classes"`
	// Outages: per PPS outage, |TE| at its start and end and the drift in
	// between.
	Outages []OutageStats `json:"outages,omitempty"`
	// Counters of the PHC engine.
	HoldoverEntries, HoldoverOutOfSpecs uint64
	RecoveriesSlewed, RecoveriesStepped uint64
	// Sys scores the system clock (nil without GNSS.Sys).
	Sys *SysStats `json:"sys,omitempty"`
}

// ClassChange is the published clockClass and stratum from T on.
type ClassChange struct {
	T       time.Duration    `json:"t_ns"`
	Class   clock.ClockClass `json:"class"`
	Stratum uint8            `json:"stratum"`
	Mode    string           `json:"mode"`
}

// OutageStats is the PHC's time error across one PPS outage.
type OutageStats struct {
	From, To          time.Duration
	TEStart, TEEnd    time.Duration
	Drift, MaxDriftTE time.Duration
}

// SysStats score the system clock against the PHC (both read as UTC) and
// against true UTC, over the records from StatsFrom on.
type SysStats struct {
	EngineLockedAt time.Duration `json:"engine_locked_at_ns"`
	StatsFrom      time.Duration `json:"stats_from_ns"`
	RMSvsPHC       time.Duration `json:"rms_vs_phc_ns"`
	MaxVsPHC       time.Duration `json:"max_abs_vs_phc_ns"`
	RMSvsUTC       time.Duration `json:"rms_vs_utc_ns"`
	MaxVsUTC       time.Duration `json:"max_abs_vs_utc_ns"`
	Steps          []Event       `json:"steps"`
	// Trace: sys − PHC and sys − UTC at each record.
	VsPHC, VsUTC []time.Duration `json:"-"`
}

// Defaults of the reference chain.
const (
	defaultEdgeLatency = time.Millisecond
	// sysStatsFrom is where the system clock's statistics start.
	sysStatsFrom = 5 * time.Minute
	// RecoveryGrace: records within this after a PPS outage are left out
	// of MaxTELocked (the clock is slewing back the holdover drift).
	RecoveryGrace = time.Minute
	// streamToD seeds the time-of-day delays.
	streamToD = 0x544f44 // "TOD"
)

// phcView is the PHC as its engine sees it: the simulated oscillator
// (true time + TE) plus shift (TAI − UTC at the start on TAI, else 0).
type phcView struct {
	c     *sim.Clock
	shift time.Duration
}

func (v phcView) Now() time.Time                    { return v.c.Now().Add(v.shift) }
func (v phcView) AdjustFrequency(ppb float64) error { return v.c.AdjustFrequency(ppb) }
func (v phcView) Frequency() (float64, error)       { return v.c.Frequency() }
func (v phcView) Step(d time.Duration) error        { return v.c.Step(d) }

// exact is the noise-free reading at true time t, which must be within
// microseconds of the timeline (linear in between).
func exactAt(c *sim.Clock, tl *sim.Timeline, t time.Time) time.Time {
	dt := t.Sub(tl.Now())
	te := c.TimeErrorNS() + float64(dt)*c.RateError()*1e-9
	return t.Add(time.Duration(math.Round(te)))
}

// refSink hands a source's samples to an engine; while a step's reset is
// pending (the engine stepped inside this delivery) samples are dropped,
// as source.Runner drops them until the source has restarted.
type refSink struct {
	eng   *engine.Engine
	id    int
	reset *bool
	err   *error
}

func (s refSink) Sample(_ int, smp engine.Sample) {
	if *s.reset {
		return
	}
	if err := s.eng.Sample(s.id, smp); err != nil && *s.err == nil {
		*s.err = err
	}
}

// resetReporter is a reporter whose ResetSamples (called by the engine
// after a step) asks the runner for a full restart of the source.
type resetReporter struct {
	engine.Reporter
	flag *bool
}

func (r resetReporter) ResetSamples() { *r.flag = true }

type pendingEdge struct {
	at  time.Time // delivery (true time)
	e   refclock.Edge
	sec time.Time // the true second it marks
}

type pendingReport struct {
	at  time.Time
	sec time.Time
}

// refRunner holds one run of a GNSS scenario.
type refRunner struct {
	sc    Scenario
	g     GNSS
	tl    *sim.Timeline
	start time.Time
	phc   *sim.Clock
	view  phcView
	cell  *clock.StateCell
	eng   *engine.Engine
	rec   *recorder
	core  *gnsssource.Core
	sink  refSink
	pps   *pps.Sim
	rng   *rand.Rand
	dec   nmea.Decoder
	tai0  int // TAI − UTC at the start

	edges   []pendingEdge
	reports []pendingReport
	truth   map[uint64]time.Time // edge Seq → true second
	reset   bool
	err     error
	stats   RefStats
	lastCls ClassChange

	sys *sysChain
}

// taiAt is TAI − UTC (s) at true time t.
func (r *refRunner) taiAt(t time.Time) int { return r.tai0 - int(utcShiftAt(r.sc.Leap, t)/time.Second) }

// labelOf is the UTC label of the true second sec: 23:59:60 for an
// inserted leap second.
func (r *refRunner) labelOf(sec time.Time) pair.Label {
	if l := r.sc.Leap; l != nil && l.Kind == clock.LeapInsert && sec.Equal(l.At) {
		return pair.Label{UTC: sec.Add(-time.Second).UTC(), Second60: true}
	}
	return pair.Label{UTC: sec.Add(utcShiftAt(r.sc.Leap, sec)).UTC()}
}

// runGNSS simulates a GNSS scenario.
func runGNSS(sc Scenario, opt Options) (*Result, error) {
	g := *sc.GNSS
	if g.EdgeLatency == 0 {
		g.EdgeLatency = defaultEdgeLatency
	}
	r := &refRunner{sc: sc, g: g, start: sc.Start.UTC().Round(0), truth: map[uint64]time.Time{}}
	if !r.start.Equal(r.start.Truncate(time.Second)) {
		return nil, fmt.Errorf("scenario %s: a GNSS scenario starts on a whole second", sc.Name)
	}
	r.tl = sim.NewTimeline(r.start)
	r.tai0 = clock.DefaultTAIOffset
	if sc.Leap != nil && r.start.Before(sc.Leap.At) {
		r.tai0 -= int(-utcShiftAt(sc.Leap, sc.Leap.At.Add(time.Hour)) / time.Second)
	}
	var err error
	if r.phc, err = sim.NewClock(r.tl, sc.Oscillator, opt.Seed); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	r.view = phcView{c: r.phc}
	if g.TAI {
		r.view.shift = time.Duration(r.tai0) * time.Second
	}
	r.cell = &clock.StateCell{}
	r.rec = &recorder{tl: r.tl}
	cfg := engine.DefaultConfig()
	if opt.Servo != "" {
		cfg.Servo = opt.Servo
	}
	cfg.TAIOffset = r.tai0
	if g.TAI {
		// A TAI PHC has no leap seconds to carry out (gnomond's phc
		// section does the same).
		cfg.LeapMode = engine.LeapModeNone
	}
	if sc.Engine != nil {
		sc.Engine(&cfg)
	}
	cfg.Sink = r.rec
	if r.eng, err = engine.New(cfg, r.view, r.cell); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	gc := gnsssource.DefaultConfig()
	gc.Precision = max(g.PPSJitter, time.Nanosecond)
	if g.ToDMaxDelay > 0 {
		gc.Pair.MaxDelay = max(gc.Pair.MaxDelay, g.ToDMaxDelay)
	}
	if g.TAI {
		gc.Pair.Timescale, gc.Pair.TAIOffset = pair.TAI, r.tai0
	}
	// Edges are stamped by the PHC, the disciplined clock (ToLocal nil);
	// their CLOCK_REALTIME through one reading of each clock, as gnomond
	// does. CLOCK_REALTIME is true time here (continuous: the host's own
	// leap is not simulated; see docs/simulation.md).
	gc.Realtime = func(at time.Time) time.Time { return at.Add(r.tl.Now().Sub(r.view.Now())) }
	gc.Now = r.tl.Now
	if r.core, err = gnsssource.NewCore(gc, nil); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	id, err := r.eng.AddSource(engine.SourceConfig{ID: gc.ID, RefClockID: gc.RefID, TimeSource: clock.TimeSourceGNSS},
		resetReporter{Reporter: r.core.Reporter(), flag: &r.reset})
	if err != nil {
		return nil, err
	}
	r.sink = refSink{eng: r.eng, id: id, reset: &r.reset, err: &r.err}
	if r.pps, err = pps.NewSim(pps.SimConfig{Now: r.tl.Now, Jitter: g.PPSJitter, Seed: opt.Seed,
		DeviceTime: func(t time.Time) time.Time { return exactAt(r.phc, r.tl, t).Add(r.view.shift) }}); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	r.rng = rand.New(rand.NewPCG(opt.Seed, streamToD))
	if g.Sys != nil {
		if r.sys, err = newSysChain(r, *g.Sys, cfg, opt.Seed); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
	}
	if err := r.loop(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	return r.score(opt), nil
}

// toTrue is the true time at which the PHC reads local (+1 µs against
// read noise), not before now.
func (r *refRunner) toTrue(local time.Time) time.Time {
	now := r.tl.Now()
	t := local.Add(-r.view.shift - time.Duration(math.Round(r.phc.TimeErrorNS())) + time.Microsecond)
	if t.Before(now) {
		return now
	}
	return t
}

func (r *refRunner) ppsDown(t time.Time) bool {
	d := t.Sub(r.start)
	for _, w := range r.g.PPSDown {
		if w.contains(d) {
			return true
		}
	}
	return false
}

// event kinds, in the order ties are broken.
const (
	evPulse = iota
	evEdge
	evReport
	evPair
	evTick
	evSysPoll
	evSysTick
	evRecord
	evEnd
)

func (r *refRunner) loop() error {
	end := r.start.Add(r.sc.Duration)
	nextPulse := r.start.Add(time.Second)
	nextRec := r.start.Add(r.sc.TraceEvery / 2)
	engNext, err := r.eng.Tick()
	if err != nil {
		return err
	}
	for {
		if r.err != nil {
			return r.err
		}
		best, kind := end, evEnd
		take := func(t time.Time, k int) {
			if t.Before(best) || (t.Equal(best) && k < kind) {
				best, kind = t, k
			}
		}
		take(nextPulse, evPulse)
		if len(r.edges) > 0 {
			take(r.edges[0].at, evEdge)
		}
		if len(r.reports) > 0 {
			take(r.reports[0].at, evReport)
		}
		if dl, ok := r.core.Deadline(); ok {
			take(dl, evPair)
		}
		take(r.toTrue(engNext), evTick)
		if r.sys != nil {
			take(r.sys.nextPoll, evSysPoll)
			take(r.sys.toTrue(), evSysTick)
		}
		take(nextRec, evRecord)
		if err := r.tl.AdvanceTo(best); err != nil {
			return err
		}
		now := r.tl.Now()
		switch kind {
		case evEnd:
			return nil
		case evPulse:
			r.pulse(now)
			nextPulse = nextPulse.Add(time.Second)
		case evEdge:
			pe := r.edges[0]
			r.edges = r.edges[1:]
			r.truth[pe.e.Seq] = pe.sec
			r.judge(r.core.Edge(pe.e, now, r.sink))
		case evReport:
			rep := r.reports[0]
			r.reports = r.reports[1:]
			for _, tod := range r.todAt(rep.sec, now) {
				r.judge(r.core.TimeOfDay(tod, now, r.sink))
			}
		case evPair:
			r.judge(r.core.Advance(now, r.sink))
		case evTick:
			if engNext, err = r.eng.Tick(); err != nil {
				return err
			}
			if !r.toTrue(engNext).After(now) {
				engNext = r.view.Now().Add(time.Microsecond)
			}
		case evSysPoll:
			r.sys.poll()
		case evSysTick:
			if err := r.sys.tick(); err != nil {
				return err
			}
		case evRecord:
			r.record()
			nextRec = nextRec.Add(r.sc.TraceEvery)
		}
		if r.reset {
			// The engine stepped the PHC: the source restarts (its
			// pending pairs and chain are on the old timescale), as
			// source.Runner has it do.
			r.core.Reset()
			r.edges = r.edges[:0]
			r.reset = false
		}
	}
}

// pulse is true second sec: the PPS edge (unless the signal is pulled)
// and the receiver's time of day for it.
func (r *refRunner) pulse(sec time.Time) {
	down := r.ppsDown(sec)
	if r.pps.Connected() == down {
		r.pps.SetConnected(!down)
	}
	if e, ok := r.pps.Pulse(sec); ok {
		r.edges = append(r.edges, pendingEdge{at: sec.Add(r.g.EdgeLatency), e: e, sec: sec})
	}
	d := r.g.ToDMinDelay
	if span := r.g.ToDMaxDelay - r.g.ToDMinDelay; span > 0 {
		d += time.Duration(r.rng.Int64N(int64(span)))
	}
	r.reports = append(r.reports, pendingReport{at: sec.Add(d), sec: sec})
	// Reports of later seconds never arrive before earlier ones (delays
	// are < 1 s apart), but keep the queue ordered regardless.
	for i := len(r.reports) - 1; i > 0 && r.reports[i].at.Before(r.reports[i-1].at); i-- {
		r.reports[i], r.reports[i-1] = r.reports[i-1], r.reports[i]
	}
}

// todAt is the receiver's report of true second sec, received now.
func (r *refRunner) todAt(sec, now time.Time) []refclock.TimeOfDay {
	lab := r.labelOf(sec)
	if r.g.NMEA {
		ep := nmea.Epoch{UTC: lab.UTC, Second60: lab.Second60, Valid: true, Fix: refclock.Fix3D, Satellites: 9,
			Lat: 48.8566, Lon: 2.3522, Altitude: 35}
		var out []refclock.TimeOfDay
		for _, line := range [][]byte{nmea.AppendRMC(nil, ep), nmea.AppendGGA(nil, ep), nmea.AppendZDA(nil, ep)} {
			var err error
			if out, err = r.dec.Feed(out, line[:len(line)-2], now); err != nil && r.err == nil {
				r.err = fmt.Errorf("nmea generator: %q: %w", line, err)
			}
		}
		return r.dec.Flush(out)
	}
	tod := refclock.TimeOfDay{UTC: lab.UTC, Second60: lab.Second60, Received: now, Valid: true, Fix: refclock.Fix3D,
		TAIOffset: r.taiAt(sec), TAIOffsetKnown: true}
	if l := r.sc.Leap; l != nil {
		ann := l.Announce
		if ann <= 0 {
			ann = 24 * time.Hour
		}
		// Announced during the last day, through 23:59:60 itself.
		if !sec.Before(l.At.Add(-ann)) && (sec.Before(l.At) || lab.Second60) {
			tod.Leap = l.Kind
		}
	}
	return []refclock.TimeOfDay{tod}
}

// judge checks the pairing's labels against the truth.
func (r *refRunner) judge(out []pair.Outcome) {
	for i := range out {
		o := &out[i]
		if !o.Verdict.Edge() || o.Verdict == pair.VerdictStaleEdge {
			continue
		}
		sec, ok := r.truth[o.Edge.Seq]
		delete(r.truth, o.Edge.Seq)
		switch o.Verdict {
		case pair.VerdictAccepted, pair.VerdictUnconfirmed, pair.VerdictLeapSecond, pair.VerdictNoTAIOffset:
		default:
			continue
		}
		r.stats.Labelled++
		if want := r.labelOf(sec); !ok || !o.Label.UTC.Equal(want.UTC) || o.Label.Second60 != want.Second60 {
			r.stats.WrongLabels++
		}
		if o.Verdict == pair.VerdictAccepted {
			r.stats.Accepted++
			if o.Label.Second60 {
				r.stats.Second60++
			}
		}
	}
}

// teNow is the PHC's noise-free time error against its timescale's truth
// (TAI, or UTC).
func (r *refRunner) teNow() time.Duration {
	te := time.Duration(math.Round(r.phc.TimeErrorNS()))
	if !r.g.TAI {
		te -= utcShiftAt(r.sc.Leap, r.tl.Now())
	}
	return te
}

func (r *refRunner) record() {
	st := r.cell.Load()
	local := r.view.Now()
	te := r.teNow()
	p := Point{T: r.tl.Elapsed(), TE: te, Bound: engine.ErrorBoundAt(st, local), ServedTE: te}
	if st != nil {
		p.Synced, p.Leap, p.ClockClass, p.RefID = st.Synchronized, st.Leap, st.ClockClass, st.RefID
	}
	s := r.eng.Status()
	if s != nil {
		p.Mode, p.Peer = s.Mode, s.Peer
	}
	r.rec.trace = append(r.rec.trace, p)
	c := ClassChange{T: p.T, Class: p.ClockClass, Mode: p.Mode.String()}
	if st != nil {
		c.Stratum = st.Stratum
	}
	if len(r.stats.Classes) == 0 || c.Class != r.lastCls.Class || c.Stratum != r.lastCls.Stratum {
		r.stats.Classes = append(r.stats.Classes, c)
	}
	r.lastCls = c
	if r.sys != nil {
		r.sys.record(te)
	}
}

func (r *refRunner) score(opt Options) *Result {
	res := &Result{
		Scenario: r.sc.Name, Servo: r.eng.Status().Servo, Seed: opt.Seed, Duration: r.sc.Duration,
		Discarded: r.eng.Status().Discarded, Steps: r.rec.steps, Timeline: r.rec.events, Trace: r.rec.trace,
		ModeTime: map[string]time.Duration{}, ModeMaxTE: map[string]time.Duration{}, Servers: []ServerStats{},
	}
	if res.Steps == nil {
		res.Steps = []Event{}
	}
	res.FinalFreqErrorPPB = r.phc.RateError()
	scoreTrace(res, r.sc)
	st := &r.stats
	st.EngineLockedAt = -1
	for _, e := range r.rec.events {
		if e.Kind == "mode" && e.To == engine.ModeLocked.String() {
			st.EngineLockedAt = e.T
			break
		}
	}
	excluded := func(t time.Duration) bool {
		for _, w := range r.g.PPSDown {
			if t >= w.From && t < w.To+RecoveryGrace {
				return true
			}
		}
		return false
	}
	if st.EngineLockedAt >= 0 {
		var ss float64
		n := 0
		for _, p := range r.rec.trace {
			if p.T < st.EngineLockedAt || excluded(p.T) {
				continue
			}
			st.MaxTELocked = max(st.MaxTELocked, p.TE.Abs())
			ss += float64(p.TE) * float64(p.TE)
			n++
		}
		if n > 0 {
			st.RMSTELocked = time.Duration(math.Sqrt(ss / float64(n)))
		}
	}
	for _, w := range r.g.PPSDown {
		var o OutageStats
		o.From, o.To = w.From, w.To
		first := true
		for _, p := range r.rec.trace {
			if p.T < w.From || p.T >= w.To {
				continue
			}
			if first {
				o.TEStart, first = p.TE, false
			}
			o.TEEnd = p.TE
			o.MaxDriftTE = max(o.MaxDriftTE, (p.TE - o.TEStart).Abs())
		}
		o.Drift = o.TEEnd - o.TEStart
		st.Outages = append(st.Outages, o)
	}
	c := r.core.Counts()
	st.Verdicts = map[string]uint64{}
	for v, n := range c {
		if n > 0 {
			st.Verdicts[pair.Verdict(v).String()] = n
		}
	}
	s := r.eng.Status()
	st.HoldoverEntries, st.HoldoverOutOfSpecs = s.HoldoverEntries, s.HoldoverOutOfSpecs
	st.RecoveriesSlewed, st.RecoveriesStepped = s.RecoveriesSlewed, s.RecoveriesStepped
	if r.sys != nil {
		st.Sys = r.sys.score()
	}
	res.Ref = st
	return res
}

// sysChain is CLOCK_REALTIME disciplined from the PHC (GNSS.Sys).
type sysChain struct {
	r        *refRunner
	cfg      SysClock
	clk      *sim.Clock
	cell     *clock.StateCell
	eng      *engine.Engine
	rec      *recorder
	src      *phcsource.Source
	sink     refSink
	reset    bool
	err      error
	nextPoll time.Time
	engNext  time.Time
	stats    SysStats
}

func newSysChain(r *refRunner, cfg SysClock, ec engine.Config, seed uint64) (*sysChain, error) {
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	s := &sysChain{r: r, cfg: cfg, cell: &clock.StateCell{}, rec: &recorder{tl: r.tl}}
	var err error
	if s.clk, err = sim.NewClock(r.tl, cfg.Oscillator, seed^0x5953); err != nil {
		return nil, fmt.Errorf("sys clock: %w", err)
	}
	ec.LeapMode = engine.LeapModeStep
	ec.Sink = s.rec
	if s.eng, err = engine.New(ec, s.clk, s.cell); err != nil {
		return nil, err
	}
	dev := &crossDevice{s: s, rng: rand.New(rand.NewPCG(seed, 0x58545321))}
	p, err := phc.New(dev)
	if err != nil {
		return nil, err
	}
	pc := phcsource.Config{ID: "phc", RefID: "GPS", TimeSource: clock.TimeSourceGNSS, Poll: cfg.Poll,
		Samples: cfg.Samples, TAI: r.g.TAI, TAIOffset: func(utc time.Time) int { return r.taiAt(r.tl.Now()) },
		FromRealtime: func(t time.Time) time.Time { return t }, Follow: r.cell}
	if s.src, err = phcsource.New(p, pc); err != nil {
		return nil, err
	}
	refs := s.src.Refs()
	id, err := s.eng.AddSource(refs[0].Config, resetReporter{Reporter: refs[0].Reporter, flag: &s.reset})
	if err != nil {
		return nil, err
	}
	s.sink = refSink{eng: s.eng, id: id, reset: &s.reset, err: &s.err}
	s.nextPoll = r.start.Add(cfg.Poll / 4)
	if s.engNext, err = s.eng.Tick(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *sysChain) toTrue() time.Time {
	now := s.r.tl.Now()
	t := s.engNext.Add(-time.Duration(math.Round(s.clk.TimeErrorNS())) + time.Microsecond)
	if t.Before(now) {
		return now
	}
	return t
}

func (s *sysChain) poll() {
	s.src.Poll(context.Background(), s.sink)
	if s.reset {
		s.src.ResetSamples()
		s.reset = false
	}
	s.nextPoll = s.nextPoll.Add(s.cfg.Poll)
	if s.err != nil && s.r.err == nil {
		s.r.err = s.err
	}
}

func (s *sysChain) tick() error {
	var err error
	if s.engNext, err = s.eng.Tick(); err != nil {
		return err
	}
	if !s.toTrue().After(s.r.tl.Now()) {
		s.engNext = s.clk.Now().Add(time.Microsecond)
	}
	if s.reset {
		s.src.ResetSamples()
		s.reset = false
	}
	return nil
}

// record notes sys − UTC and sys − PHC (as UTC); phcTE is the PHC's.
func (s *sysChain) record(phcTE time.Duration) {
	vsUTC := time.Duration(math.Round(s.clk.TimeErrorNS())) - utcShiftAt(s.r.sc.Leap, s.r.tl.Now())
	s.stats.VsUTC = append(s.stats.VsUTC, vsUTC)
	s.stats.VsPHC = append(s.stats.VsPHC, vsUTC-phcTE)
}

func (s *sysChain) score() *SysStats {
	st := &s.stats
	st.EngineLockedAt = -1
	for _, e := range s.rec.events {
		if e.Kind == "mode" && e.To == engine.ModeLocked.String() {
			st.EngineLockedAt = e.T
			break
		}
	}
	st.Steps = s.rec.steps
	if st.Steps == nil {
		st.Steps = []Event{}
	}
	st.StatsFrom = sysStatsFrom
	var a, b float64
	n := 0
	for i, p := range s.r.rec.trace {
		if p.T < st.StatsFrom {
			continue
		}
		x, y := st.VsPHC[i], st.VsUTC[i]
		st.MaxVsPHC, st.MaxVsUTC = max(st.MaxVsPHC, x.Abs()), max(st.MaxVsUTC, y.Abs())
		a += float64(x) * float64(x)
		b += float64(y) * float64(y)
		n++
	}
	if n > 0 {
		st.RMSvsPHC = time.Duration(math.Sqrt(a / float64(n)))
		st.RMSvsUTC = time.Duration(math.Sqrt(b / float64(n)))
	}
	return st
}

// crossDevice is the PHC seen from the system clock through
// PTP_SYS_OFFSET_EXTENDED-like bursts, on simulated time: every reading is
// the clocks' noise-free value at the true instant of the read, and the
// noise is in the timing of the reads (GNSS.Sys ReadDelay, ReadJitter).
// It only measures: the PHC is steered by its own engine.
type crossDevice struct {
	s   *sysChain
	rng *rand.Rand
}

var errReadOnly = errors.New("scenario: the cross-timestamp device only measures")

func (d *crossDevice) Name() string { return "sim-phc" }
func (d *crossDevice) Time() (time.Time, error) {
	return exactAt(d.s.r.phc, d.s.r.tl, d.s.r.tl.Now()).Add(d.s.r.view.shift), nil
}
func (d *crossDevice) FreqPPB() (float64, error)       { return d.s.r.phc.Frequency() }
func (d *crossDevice) AdjFreq(float64) error           { return errReadOnly }
func (d *crossDevice) Step(time.Duration) error        { return errReadOnly }
func (d *crossDevice) MaxFreqAdjPPB() (float64, error) { return phc.DefaultMaxAdjPPB, nil }
func (d *crossDevice) Close() error                    { return nil }

// CrossTimestamps implements phc.Device: n samples from now, each
// ReadDelay plus a uniform extra long, the PHC read in the middle of the
// delay and after the extra.
func (d *crossDevice) CrossTimestamps(n int) ([]phc.Sample, error) {
	if n < 1 || n > phc.MaxSamples {
		return nil, syscall.EINVAL
	}
	s, r := d.s, d.s.r
	t := r.tl.Now()
	out := make([]phc.Sample, n)
	for i := range out {
		var extra time.Duration
		if s.cfg.ReadJitter > 0 {
			extra = time.Duration(d.rng.Int64N(int64(s.cfg.ReadJitter)))
		}
		read := t.Add(s.cfg.ReadDelay/2 + extra)
		after := t.Add(s.cfg.ReadDelay + extra)
		out[i] = phc.Sample{Before: exactAt(s.clk, r.tl, t), PHC: exactAt(r.phc, r.tl, read).Add(r.view.shift),
			After: exactAt(s.clk, r.tl, after)}
		t = after
	}
	return out, nil
}

func (g *GNSS) validate() []error {
	var errs []error
	if g.PPSJitter < 0 || g.PPSJitter > time.Millisecond {
		errs = append(errs, fmt.Errorf("gnss.pps_jitter %v: want 0…1ms", g.PPSJitter))
	}
	if g.EdgeLatency < 0 || g.EdgeLatency > 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("gnss.edge_latency %v: want 0…100ms", g.EdgeLatency))
	}
	if g.ToDMinDelay < 0 || g.ToDMaxDelay < g.ToDMinDelay || g.ToDMaxDelay >= time.Second {
		errs = append(errs, fmt.Errorf("gnss.tod delays %v…%v: want 0 ≤ min ≤ max < 1s", g.ToDMinDelay, g.ToDMaxDelay))
	}
	if s := g.Sys; s != nil {
		if err := s.Oscillator.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("gnss.sys.oscillator: %w", err))
		}
		if s.ReadDelay < 0 || s.ReadJitter < 0 || s.Poll < 0 || s.Samples < 0 || s.Samples > phc.MaxSamples {
			errs = append(errs, fmt.Errorf("gnss.sys: read delay %v, jitter %v, poll %v, samples %d: want ≥ 0 (samples ≤ %d)",
				s.ReadDelay, s.ReadJitter, s.Poll, s.Samples, phc.MaxSamples))
		}
	}
	return errs
}
