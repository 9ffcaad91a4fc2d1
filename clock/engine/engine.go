package engine

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/leap"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/clock/servo"
)

// Engine is the discipline core. It is not safe for concurrent use: one
// goroutine calls AddSource, Sample and Tick. State and Status may be read
// from any goroutine.
type Engine struct {
	cfg  Config
	clk  clock.Steerable
	cell *clock.StateCell
	sink EventSink
	sel  *selection.Selector

	srcs  []*source
	cands []selection.Candidate
	res   selection.Result // latest selection round
	peer  string           // current system peer ("" none)

	srv   servo.Servo
	steer steerLog

	mode         Mode
	everUpdated  bool // a clock update has been made (locking or locked since)
	lockMet      bool // Config.Lock's criterion holds: locked, not locking
	inLock       int  // consecutive updates within Lock.Threshold
	outLock      int  // consecutive updates beyond it
	holdStart    time.Time
	holdInSpec   bool          // in holdover within its specification
	resync       bool          // the servo must be rebuilt at the next update
	stepNext     bool          // MakeStep: the next update steps
	disrupted    bool          // Disrupt: not locked since
	disruptedAt  time.Time     // local time of the last Disrupt
	freqUnknown  bool          // Disrupt: no clock update since (skew includes DisruptionRatePPB)
	disruptSteps bool          // Disrupt: the servo rebuilt at the next update steps per the policy
	waitUntil    time.Time     // until then, select only when every source has a sample (StartupWait)
	wrongLogged  bool          // EventSink.ClockWrong reported; cleared once |offset| ≤ logChange
	lastUpdate   time.Time     // local time of the last clock update
	peerInterval time.Duration // poll interval of the peer at the last update
	base         clock.SyncState
	offsets      [16]time.Duration // offsets of the last updates (ring)
	nOffsets     int
	freqs        [8]float64 // corrections of the last updates (ring)
	nFreqs       int
	avgFreq      float64 // EWMA of the applied corrections, ppb
	meanInterval float64 // EWMA of the update interval, s

	updates, steps, discarded, leapSteps uint64
	holdovers, outOfSpecs                uint64
	recSlewed, recStepped                uint64
	disruptions                          uint64
	lastStep                             time.Duration
	stepped                              time.Duration // sum of every step made, leaps included

	tai        int
	taiValid   bool       // tai comes from the LeapSource or a leap carried out, not Config.TAIOffset
	announce   clock.Leap // leap in the published state
	leapArmed  clock.Leap // LeapNone when nothing is armed
	leapAt     time.Time  // local instant of the armed leap
	leapDoneAt time.Time  // instant of the last leap carried out

	served     *SmearClock  // what servers read (Served)
	smear      *smearParams // published smear (nil: none); owned here, read by served
	kernelLeap clock.Leap   // what the kernel is armed with (LeapModeSystem)
	taiSet     int          // TAI − UTC last written to a TAISetter clock (−1: never)
	kernelSync bool         // the last status written to a SyncSetter clock was synchronised
	kernelInit bool         // initKernel has run

	status atomic.Pointer[Status]
}

type source struct {
	cfg        SourceConfig
	rep        Reporter
	last       Report
	lastSample Sample
	lastFed    time.Time // Local of the last sample given to the servo
	hist       sampleHist
	falsetick  bool             // a falseticker at the last selection (EventSink.Falseticker)
	ftReason   selection.Reason // and why (no majority, or outside the intersection)
}

// addr is the source's address: the one its last report gave (a resolved
// name), else the configured one.
func (s *source) addr() netip.Addr {
	if s.last.Addr.IsValid() {
		return s.last.Addr
	}
	return s.cfg.Addr
}

// refClockID is the source's reference-clock ID: SourceConfig.RefClockID,
// or for a source without an address whose report says stratum 0 the
// reference ID it reports (a driver that names itself "GPS", "PPS" or
// "PHC" only in its Report). 0 for an NTP server.
func (s *source) refClockID() uint32 {
	if s.cfg.RefClockID != 0 {
		return s.cfg.RefClockID
	}
	if !s.addr().IsValid() && s.last.Usable && s.last.Stratum == 0 {
		return s.last.RefID
	}
	return 0
}

// New returns an engine steering clk and publishing to cell. It publishes
// the unsynchronised state (or the local one) at once.
func New(cfg Config, clk clock.Steerable, cell *clock.StateCell) (*Engine, error) {
	if clk == nil || cell == nil {
		return nil, errors.New("engine: nil clock or state cell")
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("engine config: %w", err)
	}
	sel, err := selection.New(cfg.Selection)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{cfg: cfg, clk: clk, cell: cell, sink: cfg.Sink, sel: sel, tai: cfg.TAIOffset, taiSet: -1}
	if e.sink == nil {
		e.sink = NopSink{}
	}
	if err := e.checkKernel(); err != nil {
		return nil, err
	}
	e.served = newSmearClock(clk)
	now := clk.Now()
	f, err := clk.Frequency()
	if err != nil {
		return nil, fmt.Errorf("engine: read clock frequency: %w", err)
	}
	e.steer.reset(now, f)
	e.avgFreq = f
	e.waitUntil = now.Add(cfg.StartupWait)
	if cfg.LeapSource != nil {
		// The first state already carries the table's TAI − UTC (the
		// leap itself is decided at the first Tick).
		e.tableLeap(now)
	}
	if cfg.Local != nil {
		e.mode = ModeLocal
	}
	e.publish(now)
	return e, nil
}

// AddSource registers a source and returns its index for Sample.
func (e *Engine) AddSource(sc SourceConfig, r Reporter) (int, error) {
	if sc.ID == "" || r == nil {
		return 0, errors.New("engine: add source: empty ID or nil reporter")
	}
	for _, s := range e.srcs {
		if s.cfg.ID == sc.ID {
			return 0, fmt.Errorf("engine: add source %q: duplicate ID", sc.ID)
		}
	}
	e.srcs = append(e.srcs, &source{cfg: sc, rep: r})
	return len(e.srcs) - 1, nil
}

// Stepped returns the sum of every step the engine has made to the clock
// (makesteps and leap seconds), so that a shell can correct local
// timestamps taken before a step (the transmit time of a request answered
// after it), as chrony does for its outstanding requests.
func (e *Engine) Stepped() time.Duration { return e.stepped }

// Served returns the clock servers hand out, safe for concurrent use,
// lock-free and allocation-free: in LeapModeSmear the SmearClock (the
// steered clock, smeared around a leap second); otherwise the steered
// clock itself when it is a clock.Served (no wrapper on the packet path),
// else a SmearClock that never smears.
func (e *Engine) Served() clock.Served {
	if s, ok := e.clk.(clock.Served); ok && e.cfg.LeapMode != LeapModeSmear {
		return s
	}
	return e.served
}

// ServedOffset returns served − steered clock for a reading local of the
// steered clock: the smear offset, 0 outside a smear. Safe from any
// goroutine.
func (e *Engine) ServedOffset(local time.Time) time.Duration { return e.served.OffsetAt(local) }

// State returns the latest published SyncState.
func (e *Engine) State() *clock.SyncState { return e.cell.Load() }

// Status returns the latest published Status.
func (e *Engine) Status() *Status { return e.status.Load() }

// Sample hands the engine a new raw sample of source id (already in the
// source's own history, e.g. accepted by its clock filter). If the source
// is the system peer after selection, the servo gets it and the clock is
// updated. Samples taken around a leap second are discarded.
func (e *Engine) Sample(id int, s Sample) error {
	if id < 0 || id >= len(e.srcs) {
		return fmt.Errorf("engine: sample for unknown source %d", id)
	}
	now := e.clk.Now()
	if err := e.leapCheck(now); err != nil {
		return err
	}
	now = e.clk.Now()
	src := e.srcs[id]
	if e.leapWindow(s.Local) || s.Local.After(now.Add(10*time.Millisecond)) {
		// Taken across a leap (or before a backward step): not on the
		// present timescale.
		e.discarded++
		e.publish(now)
		return nil
	}
	src.lastSample = s
	src.hist.add(s.Local, float64(s.Offset)+e.steer.k(s.Local))
	e.selectAt(now)
	var err error
	if e.steers(id, s.Local) && s.Local.After(src.lastFed) {
		src.lastFed = s.Local
		err = e.clockUpdate(now, src, s)
	}
	e.evaluateMode(e.clk.Now())
	e.publish(e.clk.Now())
	return err
}

// steers reports whether the sample of source id taken at local time t
// steers the clock after the latest selection round: always for the system
// peer; for a source combined with it only when the last update is at
// least one peer poll interval old. The fresh sample lowers a source's
// dispersion, so the peer often changes between its own samples (the
// others' dispersion has grown at 15 ppm meanwhile); without the fallback
// the servo could starve. Feeding every combined source's samples instead
// would give the servo bursts of near-simultaneous samples, which a servo
// that adapts to the sample spacing (the Kalman's phase time constant)
// mistakes for a fast poll.
func (e *Engine) steers(id int, t time.Time) bool {
	if !e.res.Selected || id >= len(e.res.Sources) {
		return false
	}
	switch e.res.Sources[id].State {
	case selection.Selected:
		return true
	case selection.Combined:
		return e.updates > 0 && t.Sub(e.lastUpdate) >= e.peerInterval
	}
	return false
}

// Tick runs selection, mode transitions (holdover, local, unsynchronised)
// and leap handling, publishes, and returns the local time at which it
// wants to be called again.
func (e *Engine) Tick() (next time.Time, err error) {
	now := e.clk.Now()
	if err := e.leapCheck(now); err != nil {
		return now.Add(e.cfg.TickInterval), err
	}
	now = e.clk.Now()
	e.selectAt(now)
	e.evaluateMode(now)
	e.publish(now)
	next = now.Add(e.cfg.TickInterval)
	if e.leapArmed != clock.LeapNone && e.leapAt.Before(next) {
		next = e.leapAt
	}
	if e.smear != nil && e.smear.shift != 0 && e.smear.end().Before(next) {
		// Republish exactly when the smear ends (reference ID).
		next = e.smear.end()
	}
	if h := &e.cfg.Holdover; e.mode == ModeHoldover && e.holdInSpec && h.InSpec < h.Duration {
		// Leave the specification on time (clockClass).
		if end := e.holdStart.Add(h.InSpec); end.After(now) && end.Before(next) {
			next = end
		}
	}
	return next, nil
}

// freqEstimate is the correction that cancels the oscillator's estimated
// frequency error: the Kalman servo's −ν̂, otherwise the average of the
// recent corrections (which holds the phase slews' zero mean).
func (e *Engine) freqEstimate() float64 {
	if k, ok := e.srv.(*servo.Kalman); ok && e.updates > 0 {
		_, _, nu, _, _ := k.Estimate()
		return e.cfg.Policy.ClampFreq(-nu)
	}
	return e.avgFreq
}

// skew is the uncertainty of freqEstimate in ppb: the Kalman servo's σ,
// otherwise the largest deviation of the recent corrections from it.
//
// After a disruption and until the next clock update the estimate is of
// the old counter: Config.DisruptionRatePPB is added.
func (e *Engine) skew() float64 {
	var m float64
	if k, ok := e.srv.(*servo.Kalman); ok && e.updates > 0 {
		_, _, _, m, _ = k.Estimate()
	} else {
		for i := range e.nFreqs {
			m = math.Max(m, math.Abs(e.freqs[i]-e.avgFreq))
		}
	}
	if e.freqUnknown {
		m += e.cfg.DisruptionRatePPB
	}
	return m
}

func (e *Engine) dispersionRate() float64 {
	return (e.cfg.MaxClockErrorPPB + e.skew()) * 1e-9
}

// selectAt runs one selection round over every source's report at now.
func (e *Engine) selectAt(now time.Time) {
	fhat := e.freqEstimate()
	e.cands = e.cands[:0]
	for _, s := range e.srcs {
		r := s.rep.Report(now)
		s.last = r
		e.cands = append(e.cands, selection.Candidate{
			ID: s.cfg.ID, Addr: s.addr(), RefClockID: s.refClockID(),
			Offset: e.steer.refer(r.Offset, r.SampleTime, now, fhat),
			Delay:  r.Delay, Dispersion: r.Dispersion, Jitter: r.Jitter,
			RootDelay: r.RootDelay, RootDispersion: r.RootDispersion,
			Stratum: r.Stratum, RefID: r.RefID, Leap: r.Leap,
			Options: s.cfg.Options, Reachable: r.Usable,
		})
	}
	e.res = e.sel.Select(e.cands)
	for i, st := range e.res.Sources {
		if i >= len(e.srcs) {
			break
		}
		src := e.srcs[i]
		ft := st.State == selection.Falseticker
		if ft != src.falsetick || ft && st.Reason != src.ftReason {
			src.falsetick, src.ftReason = ft, st.Reason
			e.sink.Falseticker(now, st.ID, ft, st.Reason, e.cands[i].Offset)
		}
	}
	if e.res.Selected && now.Before(e.waitUntil) {
		for i := range e.cands {
			if !e.cands[i].Reachable && !e.cands[i].NoSelect {
				// Still waiting for a source's first sample.
				e.res.Selected = false
				break
			}
		}
	}
	peer := ""
	if e.res.Selected {
		peer = e.res.Peer
	}
	if peer != e.peer {
		e.sink.SourceSelected(now, peer, e.peer)
		e.peer = peer
	}
	if peer == "" {
		e.stepNext = false // a makestep waits for the selected source's next sample, not for a later selection
	}
}

// logChange is chronyd's logchange default: a clock update slewing an
// offset beyond it is reported (EventSink.ClockWrong).
const logChange = time.Second

func pollInterval(poll int8) time.Duration {
	p := max(-7, min(17, int(poll)))
	if p >= 0 {
		return time.Second << p
	}
	return time.Second >> -p
}

// clockUpdate feeds the peer's sample to the servo and applies the decision.
func (e *Engine) clockUpdate(now time.Time, src *source, s Sample) error {
	f, err := e.clk.Frequency()
	if err != nil {
		return fmt.Errorf("engine: read clock frequency: %w", err)
	}
	iv := pollInterval(src.last.Poll)
	// A source back during holdover: within RecoverySlewLimit the clock is
	// slewed (the fresh servo below may not step), beyond it stepped if
	// steps are allowed at all.
	recovering := e.mode == ModeHoldover
	held := now.Sub(e.holdStart)
	stepNow := e.stepNext || recovering && e.cfg.Policy.StepThreshold > 0 &&
		e.res.Offset.Abs() > e.cfg.Holdover.RecoverySlewLimit
	// The oscillator's frequency estimate for a step, taken from the servo
	// that made it (a fresh one below knows nothing yet); before the first
	// update, the clock's frequency.
	fEst := f
	if e.updates > 0 {
		fEst = e.freqEstimate()
	}
	if e.srv == nil || e.resync {
		// First update, or the first after holdover: the engine set the
		// clock's frequency behind the old servo's back, so a fresh servo
		// starts from it. After the first lock it may no longer step
		// (chrony's makestep limit counts from the start), unless the
		// policy allows steps at any update.
		// After a disruption it is a new acquisition: the policy's
		// steps are allowed again, counted from this servo's start.
		p := e.cfg.Policy
		if e.resync && p.StepLimit >= 0 && !e.disruptSteps {
			p.StepLimit = 0
		}

		e.srv, err = NewServo(e.cfg.Servo, iv, p, f)
		if err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		// From here the fresh servo's own uncertainty speaks for the
		// frequency (the Kalman's starts at 100 ppm).
		e.resync, e.disruptSteps, e.freqUnknown = false, false, false
	}
	var d servo.Decision
	if stepNow {
		// chronyc makestep, or a recovery beyond the slew limit: this
		// update steps by the selection's combined offset
		// (clock-filtered, not one sample's) and sets the oscillator's
		// frequency estimate (the slew that was correcting the offset is
		// done by the step); the servo restarts from it at the next
		// update.
		e.stepNext, e.resync = false, true
		d = servo.Decision{Action: servo.ActionStep, Step: e.res.Offset, FreqPPB: fEst}
	} else {
		// The decision takes effect now, which may be well after the
		// sample (a PPS edge is delivered once its pairing window has
		// closed, after the next edge).
		d = e.srv.Sample(servo.Measurement{Offset: s.Offset, Delay: s.Delay, Dispersion: s.Dispersion,
			Local: s.Local, ApplyAt: now})
	}
	if d.Action == servo.ActionDiscard {
		e.discarded++
		if d.FreqPPB != f {
			// The servo ended a phase slew on its prediction.
			if err := e.clk.AdjustFrequency(d.FreqPPB); err != nil {
				return fmt.Errorf("engine: set frequency to %.3f ppb: %w", d.FreqPPB, err)
			}
			e.steer.setFreq(now, d.FreqPPB)
		}
		return nil
	}
	if err := servo.Apply(e.clk, d); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	at := now
	stepped := d.Action == servo.ActionStep && d.Step != 0
	if stepped {
		e.steer.step(now, d.Step)
		at = now.Add(d.Step)
		e.steps++
		e.lastStep = d.Step
		e.stepped += d.Step
		e.sink.Stepped(now, d.Step, StepMakestep)
		e.resetSources()
	}
	if off := s.Offset.Abs(); !stepped && off > logChange && !e.wrongLogged {
		// chronyd's "System clock wrong by …, adjustment started": an
		// offset the step policy does not step is slewed at the servo's
		// bound, for as long as that takes.
		e.wrongLogged = true
		e.sink.ClockWrong(now, src.cfg.ID, s.Offset)
	} else if off <= logChange {
		e.wrongLogged = false
	}
	e.steer.setFreq(at, d.FreqPPB)

	if e.updates == 0 {
		e.avgFreq = d.FreqPPB
	} else {
		e.avgFreq += (d.FreqPPB - e.avgFreq) / 8
		if dt := at.Sub(e.lastUpdate).Seconds(); dt > 0 {
			if e.meanInterval == 0 {
				e.meanInterval = dt
			}
			e.meanInterval += (dt - e.meanInterval) / 8
		}
	}
	e.freqs[e.updates%uint64(len(e.freqs))] = d.FreqPPB
	e.nFreqs = min(e.nFreqs+1, len(e.freqs))
	e.offsets[e.updates%uint64(len(e.offsets))] = e.res.Offset
	e.nOffsets = min(e.nOffsets+1, len(e.offsets))
	e.updates++
	e.lastUpdate = at
	e.peerInterval = iv
	e.everUpdated = true

	r := &e.res
	if recovering {
		how := RecoverySlew
		if stepped {
			how = RecoveryStep
			e.recStepped++
		} else {
			e.recSlewed++
		}
		e.sink.Recovered(now, r.Peer, how, r.Offset, held)
		if !stepped && e.cfg.Lock.Threshold >= 0 && r.Offset.Abs() > e.cfg.Lock.Threshold {
			// Slewing out more than the lock threshold: locking again.
			e.resetLock()
		}
	}
	e.updateLock(r.Offset, stepped)
	off := r.Offset
	if off < 0 {
		off = -off
	}
	e.base = clock.SyncState{
		Synchronized:   true,
		Stratum:        r.Stratum,
		RefID:          r.RefID,
		RefTime:        at,
		RootDelay:      r.RootDelay,
		RootDispersion: r.RootDispersion,
		DispersionRate: e.dispersionRate(),
		Precision:      e.cfg.Precision,
		ErrorBound:     off + r.RootDispersion + r.RootDelay/2,
		// PTP quality while locked (state sets the accuracy as the bound
		// grows, and the holdover class).
		ClockClass:              clock.ClockClassLocked,
		OffsetScaledLogVariance: clock.VarianceNotComputed,
		TimeSource:              e.timeSource(r.Peer),
		TimeTraceable:           true,
		FrequencyTraceable:      true,
		Source:                  r.Peer,
	}
	e.setMode(at, e.syncedMode())
	return e.kernelSynced(true)
}

// syncedMode is the mode while updates arrive: locked once Config.Lock's
// criterion holds, locking until then.
func (e *Engine) syncedMode() Mode {
	if e.lockMet {
		return ModeLocked
	}
	return ModeLocking
}

// updateLock applies Config.Lock after an update with combined offset
// off: Updates consecutive offsets within Threshold lock, as many beyond
// it unlock, and a step starts over (the step shows the clock was off).
func (e *Engine) updateLock(off time.Duration, stepped bool) {
	lc := e.cfg.Lock
	switch {
	case lc.Threshold < 0:
		e.lockMet = true
		return
	case stepped:
		e.resetLock()
		return
	case off.Abs() <= lc.Threshold:
		e.inLock, e.outLock = e.inLock+1, 0
	default:
		e.inLock, e.outLock = 0, e.outLock+1
	}
	if !e.lockMet && e.inLock >= lc.Updates {
		e.lockMet = true
	} else if e.lockMet && e.outLock >= lc.Updates {
		e.lockMet = false
	}
}

func (e *Engine) resetLock() { e.lockMet, e.inLock, e.outLock = false, 0, 0 }

// timeSource is the PTP timeSource of the source with the given ID
// (clock.TimeSourceOther when it did not say).
func (e *Engine) timeSource(id string) clock.TimeSource {
	for _, s := range e.srcs {
		if s.cfg.ID == id && s.cfg.TimeSource != 0 {
			return s.cfg.TimeSource
		}
	}
	return clock.TimeSourceOther
}

// holdoverAfter is how long without an update before holdover.
func (e *Engine) holdoverAfter() time.Duration {
	if e.cfg.Holdover.After > 0 {
		return e.cfg.Holdover.After
	}
	// At least 16 s: a servo may legitimately wait that long between its
	// first updates (the PI's first frequency estimate at 1 s polls).
	return max(3*e.peerInterval, 16*time.Second)
}

// evaluateMode moves between locking/locked, holdover (in and out of
// specification), local and unsynchronised according to the age of the
// last update.
func (e *Engine) evaluateMode(now time.Time) {
	age := now.Sub(e.lastUpdate)
	after := e.holdoverAfter()
	want := ModeUnsynchronised
	switch {
	case e.everUpdated && age <= after:
		want = e.syncedMode()
	case e.everUpdated && e.cfg.Holdover.Duration > 0 && age <= after+e.cfg.Holdover.Duration:
		want = ModeHoldover
	case e.cfg.Local != nil:
		want = ModeLocal
	}
	switch {
	case want == ModeHoldover && e.mode != ModeHoldover:
		e.enterHoldover(now, e.lastUpdate.Add(after))
	case want == ModeUnsynchronised || want == ModeLocal:
		// Free-running: the next source must lock afresh.
		e.resetLock()
	}
	e.setMode(now, want)
	if e.mode == ModeHoldover {
		e.checkSpec(now)
	}
}

// enterHoldover keeps the frequency, drops the servo's phase slew (there
// is no phase measurement left to slew out) and makes the error bound grow
// at the holdover rate from now on: the base state is re-based so that
// its bound is continuous at now while RefTime stays the last update.
func (e *Engine) enterHoldover(now, start time.Time) {
	f := e.freqEstimate()
	if err := e.clk.AdjustFrequency(f); err == nil {
		e.steer.setFreq(now, f)
		e.resync = true
	}
	rHold := (e.cfg.Holdover.StabilityPPB + e.skew()) * 1e-9
	if age := now.Sub(e.base.RefTime); age > 0 {
		adj := time.Duration((e.base.DispersionRate - rHold) * float64(age))
		// Clamped at 0, which only makes the bound larger.
		e.base.RootDispersion = max(0, e.base.RootDispersion+adj)
		e.base.ErrorBound = max(0, e.base.ErrorBound+adj)
	}
	e.base.DispersionRate = rHold
	e.holdovers++
	e.holdStart = start
	// Holdover is within specification only if the clock was locked: a
	// servo still converging has no specification to hold.
	e.holdInSpec = e.lockMet
}

// wanderRate is Holdover.WanderPPBPerHour in s/s².
func (e *Engine) wanderRate() float64 { return e.cfg.Holdover.WanderPPBPerHour * 1e-9 / 3600 }

// holdoverBound is the holdover error bound at now: the base bound grown
// at the holdover rate plus ½·wander·age², age from the last update.
func (e *Engine) holdoverBound(now time.Time) time.Duration {
	age := max(now.Sub(e.base.RefTime).Seconds(), 0)
	return e.base.ErrorBound + time.Duration((e.base.DispersionRate*age+0.5*e.wanderRate()*age*age)*1e9)
}

// holdoverRate is the DispersionRate published in holdover at now: the
// linear rate, plus the wander term's secant slope up to the next tick
// (SyncState grows linearly; the slope to now + TickInterval keeps the
// quadratic bound covered until the next state is published).
func (e *Engine) holdoverRate(now time.Time) float64 {
	w := e.wanderRate()
	if w == 0 {
		return e.base.DispersionRate
	}
	age := max(now.Sub(e.base.RefTime).Seconds(), 0) + e.cfg.TickInterval.Seconds()
	return e.base.DispersionRate + 0.5*w*age
}

// checkSpec ends holdover within specification after Holdover.InSpec or
// once the bound exceeds Holdover.InSpecErrorBound.
func (e *Engine) checkSpec(now time.Time) {
	if !e.holdInSpec {
		return
	}
	h := &e.cfg.Holdover
	b := e.holdoverBound(now)
	// InSpec ≥ Duration: all of holdover is within specification (by
	// time), up to and including its last instant.
	byTime := h.InSpec < h.Duration && now.Sub(e.holdStart) >= h.InSpec
	if !byTime && (h.InSpecErrorBound == 0 || b <= h.InSpecErrorBound) {
		return
	}
	e.holdInSpec = false
	e.outOfSpecs++
	e.sink.HoldoverOutOfSpec(now, e.base.Source, b, h.OutOfSpecClass)
}

// outOfSpec sets the quality of holdover out of specification: the
// configured class (248 for a holdover that began while still locking),
// nothing traceable but the frequency at G.8275.1 classes 140 and 150,
// and the degraded stratum.
func (e *Engine) outOfSpec(st *clock.SyncState) {
	h := &e.cfg.Holdover
	cl := h.OutOfSpecClass
	if !e.lockMet {
		cl = clock.ClockClassDefault
	}
	st.ClockClass = cl
	st.TimeTraceable = false
	st.FrequencyTraceable = cl == clock.ClockClassHoldoverCat1 || cl == clock.ClockClassHoldoverCat2
	st.Stratum = min(15, max(st.Stratum+h.OutOfSpecStratumAdd, h.OutOfSpecStratum))
}

func (e *Engine) setMode(now time.Time, m Mode) {
	if m == e.mode {
		return
	}
	src := e.peer
	switch m {
	case ModeLocal:
		src = "local"
	case ModeHoldover:
		src = e.base.Source
	case ModeUnsynchronised:
		src = ""
	}
	e.sink.ModeChanged(now, e.mode, m, src)
	e.mode = m
	if m == ModeLocked {
		// Re-locked: the bound is measured again (Disrupt).
		e.disrupted = false
	}
	if m != ModeHoldover {
		e.holdStart, e.holdInSpec = time.Time{}, false
	}
	if m == ModeUnsynchronised || m == ModeLocal {
		// Errors surface at the next update or leap check; the mode
		// change itself is not undone.
		_ = e.kernelSynced(false)
	}
}

// state builds the SyncState of the current mode.
func (e *Engine) state(now time.Time) *clock.SyncState {
	var st *clock.SyncState
	switch e.mode {
	case ModeLocked, ModeLocking, ModeHoldover:
		b := e.base
		st = &b
		switch e.mode {
		case ModeLocking:
			// Served as locked (NTP clients get stratum and reference
			// ID at once, as from chronyd), but PTP claims nothing yet:
			// 248, as a G.8275.1 T-GM before it is locked.
			st.ClockClass = clock.ClockClassDefault
			st.TimeTraceable, st.FrequencyTraceable = false, false
		case ModeHoldover:
			st.DispersionRate = e.holdoverRate(now)
			if e.holdInSpec {
				st.ClockClass = clock.ClockClassHoldover
			} else {
				e.outOfSpec(st)
			}
		}
		// The bound as it is now: in holdover the accuracy worsens from
		// one published state to the next.
		st.ClockAccuracy = clock.ClockAccuracyFor(ErrorBoundAt(st, now))
	case ModeLocal:
		// Free-running, as clock.Local states it: class 248, accuracy
		// unknown (declared, not measured), internal oscillator, nothing
		// traceable.
		st = (&clock.Local{Stratum: e.cfg.Local.Stratum, Precision: e.cfg.Precision,
			RootDispersion: e.cfg.Local.RootDispersion}).State(now)
	default:
		st = clock.Unsynchronised(e.cfg.Precision)
		st.UTCOffset, st.UTCOffsetValid = e.tai, e.taiValid
		st.Disrupted = e.disrupted
		return st
	}
	st.Disrupted = e.disrupted
	st.Leap = e.announce
	st.UTCOffset, st.UTCOffsetValid = e.tai, e.taiValid
	if e.cfg.LeapMode == LeapModeSmear {
		// What servers send: LI never announced, RefIDSmear while the
		// smear is in progress (judged on the continuous clock).
		sm := e.cfg.Smear
		sm.Enabled = true
		var ev leap.Event
		cont := now
		if e.smear != nil {
			ev, cont = e.smear.ev, now.Add(e.smear.shift)
		}
		st = sm.Apply(st, cont, ev)
	}
	return st
}

// publish stores the SyncState and Status for now.
func (e *Engine) publish(now time.Time) {
	st := e.state(now)
	e.cell.Store(st)
	e.status.Store(e.buildStatus(now, st))
}

func (e *Engine) buildStatus(now time.Time, st *clock.SyncState) *Status {
	f, _ := e.clk.Frequency()
	s := &Status{
		Now: now, Mode: e.mode, Peer: e.peer,
		Stratum: st.Stratum, RefID: st.RefID, RefTime: st.RefTime,
		RootDelay: st.RootDelay, RootDispersion: st.RootDispersion,
		ErrorBound: st.ErrorBound, DispersionRate: st.DispersionRate,
		FrequencyPPB: f, FreqEstimatePPB: e.freqEstimate(), SkewPPB: e.skew(),
		UpdateInterval: time.Duration(e.meanInterval * 1e9),
		Leap:           st.Leap, TAIOffset: e.tai, TAIOffsetValid: e.taiValid,
		Updates: e.updates, Steps: e.steps, LastStep: e.lastStep,
		Discarded: e.discarded, LeapSteps: e.leapSteps,
		ClockClass: st.ClockClass, HoldoverStart: e.holdStart,
		HoldoverOutOfSpec: e.mode == ModeHoldover && !e.holdInSpec,
		HoldoverEntries:   e.holdovers, HoldoverOutOfSpecs: e.outOfSpecs,
		RecoveriesSlewed: e.recSlewed, RecoveriesStepped: e.recStepped,
		Disrupted: e.disrupted, Disruptions: e.disruptions,
	}
	if e.disruptions > 0 {
		s.DisruptedAt = e.disruptedAt
	}
	if e.leapArmed != clock.LeapNone {
		s.LeapAt = e.leapAt
	}
	s.KernelLeap = e.kernelLeap
	if st.Leap != clock.LeapUnsync {
		s.Leap = e.announce // the decision, also where servers do not announce it (smear)
	}
	if e.smear != nil {
		s.SmearOffset = e.smear.offset(now)
		s.Smearing = e.smear.shift != 0
	}
	if e.srv != nil {
		s.Servo, s.ServoState = e.srv.Name(), e.srv.State()
	} else {
		s.Servo = e.cfg.Servo
	}
	if e.nOffsets > 0 {
		s.LastOffset = e.offsets[(e.updates-1)%uint64(len(e.offsets))]
		var ss float64
		for i := range e.nOffsets {
			ss += float64(e.offsets[i]) * float64(e.offsets[i])
		}
		s.RMSOffset = time.Duration(math.Sqrt(ss / float64(e.nOffsets)))
	}
	s.Sources = make([]SourceStatus, len(e.srcs))
	k := e.steer.k(now)
	for i, src := range e.srcs {
		r := src.last
		ss := SourceStatus{
			ID: src.cfg.ID, Addr: src.addr(), RefClockID: src.refClockID(), Options: src.cfg.Options, Usable: r.Usable,
			Stratum: r.Stratum, RefID: r.RefID, Leap: r.Leap, Poll: r.Poll, Reach: r.Reach,
			RootDelay: r.RootDelay, RootDispersion: r.RootDispersion,
			Delay: r.Delay, Dispersion: r.Dispersion, Jitter: r.Jitter,
			LastSample: src.lastSample, NP: src.hist.n,
		}
		if i < len(e.cands) {
			ss.Offset = e.cands[i].Offset
		}
		if i < len(e.res.Sources) {
			rs := e.res.Sources[i]
			ss.State, ss.Reason, ss.Weight, ss.Distance = rs.State, rs.Reason, rs.Weight, rs.Distance
		}
		if a, b, bErr, sd, ok := src.hist.regression(now); ok {
			ss.EstOffset = time.Duration(math.Round(a - k))
			ss.ResidFreqPPB = b - e.steer.freq()
			ss.SkewPPB = bErr
			ss.StdDev = time.Duration(math.Round(sd))
		}
		s.Sources[i] = ss
	}
	return s
}

// ErrorBoundAt returns the bound on |clock − true time| that st promises
// at local time now: ErrorBound grown at DispersionRate since RefTime. An
// unsynchronised (or nil) state promises nothing: math.MaxInt64.
func ErrorBoundAt(st *clock.SyncState, now time.Time) time.Duration {
	if st == nil || !st.Synchronized {
		return time.Duration(math.MaxInt64)
	}
	return st.ErrorBound + (st.RootDispersionAt(now) - st.RootDispersion)
}
