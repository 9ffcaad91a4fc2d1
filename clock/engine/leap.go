package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/leap"
)

// isLastDayOfMonth reports whether t's UTC day is the last of its month:
// the only days at whose end a leap second may occur (RFC 5905 §7.3).
func isLastDayOfMonth(t time.Time) bool {
	return t.UTC().AddDate(0, 0, 1).Day() == 1
}

// nextMidnight returns the UTC midnight after t.
func nextMidnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// leapVote returns the leap to announce at now: the table's when a
// LeapSource is set, otherwise the truechimers' majority (the last one
// seen, in holdover). Nothing outside the last day of a month, and nothing
// for a leap already carried out.
func (e *Engine) leapVote(now time.Time) (clock.Leap, time.Time) {
	l := clock.LeapNone
	if e.cfg.LeapSource != nil {
		l = e.tableLeap(now)
	} else {
		switch {
		case e.res.Selected:
			l = e.res.Leap
		case e.mode == ModeHoldover || e.mode == ModeLocked:
			l = e.announce
		}
	}
	if l != clock.LeapInsert && l != clock.LeapDelete || !isLastDayOfMonth(now) {
		return clock.LeapNone, time.Time{}
	}
	at := nextMidnight(now)
	if l == clock.LeapDelete {
		at = at.Add(-time.Second)
	}
	if at.Equal(e.leapDoneAt) {
		return clock.LeapNone, time.Time{}
	}
	return l, at
}

// expirer is what a LeapSource may also tell: whether it has expired
// (leap.Table.Expired).
type expirer interface {
	Expired(now time.Time) bool
}

// tableLeap reads the LeapSource at now: it returns the leap the table
// announces and takes TAI − UTC from it, valid unless the table says it
// has expired (a leap may have been announced since it was written).
func (e *Engine) tableLeap(now time.Time) clock.Leap {
	l, tai := e.cfg.LeapSource.LeapAt(now)
	e.tai = tai
	x, ok := e.cfg.LeapSource.(expirer)
	e.taiValid = !ok || !x.Expired(now)
	return l
}

// leapCheck carries out an armed leap that is due, then re-evaluates what
// to announce and arm, arms or disarms the kernel (LeapModeSystem), starts
// or ends the smear (LeapModeSmear) and writes the TAI offset.
func (e *Engine) leapCheck(now time.Time) error {
	if !e.kernelInit {
		if err := e.initKernel(); err != nil {
			return err
		}
		e.kernelInit = true
	}
	if e.leapArmed != clock.LeapNone && !now.Before(e.leapAt) {
		if err := e.doLeap(now); err != nil {
			return err
		}
		now = e.clk.Now()
	}
	// In the last seconds before an armed leap nothing is cancelled: the
	// kernel may already have inserted the second (the clock then reads
	// 23:59:59 again and sources stop announcing), and the leap must
	// still be accounted for when the clock reads 24:00:00.
	if e.leapArmed == clock.LeapNone || now.Before(e.leapAt.Add(-2*time.Second)) {
		l, at := e.leapVote(now)
		e.announce = l
		switch {
		case l != clock.LeapNone && (l != e.leapArmed || !at.Equal(e.leapAt)):
			e.leapArmed, e.leapAt = l, at
			e.sink.LeapScheduled(now, l, at)
		case l == clock.LeapNone && e.leapArmed != clock.LeapNone:
			e.leapArmed, e.leapAt = clock.LeapNone, time.Time{}
			e.sink.LeapScheduled(now, clock.LeapNone, time.Time{})
		}
	}
	if err := e.armKernel(e.leapArmed); err != nil {
		return err
	}
	e.smearSchedule(now)
	return e.writeTAI()
}

// doLeap carries out the armed leap at now (≥ leapAt).
func (e *Engine) doLeap(now time.Time) error {
	by := -time.Second
	dTAI := 1
	if e.leapArmed == clock.LeapDelete {
		by, dTAI = time.Second, -1
	}
	kind := e.leapArmed
	e.leapDoneAt = e.leapAt
	e.leapArmed, e.leapAt = clock.LeapNone, time.Time{}
	e.announce = clock.LeapNone
	if e.cfg.LeapSource == nil {
		// Counted through a leap seen happen: from now on the figure is
		// knowledge (if the one before was right), not a default.
		e.tai += dTAI
		e.taiValid = true
	}
	switch e.cfg.LeapMode {
	case LeapModeNone:
		return nil
	case LeapModeStep:
		if err := e.clk.Step(by); err != nil {
			return fmt.Errorf("engine: leap second step by %v: %w", by, err)
		}
	case LeapModeSmear:
		// The step and the served clock's new shift in one change for
		// readers: served time stays continuous.
		p := &smearParams{smear: e.smearConfig(), ev: leapEvent(kind, e.leapDoneAt), shift: -by}
		if err := e.served.stepAndSet(func() error { return e.clk.Step(by) }, p); err != nil {
			return fmt.Errorf("engine: leap second step by %v: %w", by, err)
		}
		e.smear = p
	case LeapModeSystem:
		// The kernel stepped at its midnight (for an insertion the clock
		// has read 23:59:59 a second time since); it waits in TIME_WAIT
		// until the bit is cleared.
		if err := e.armKernel(clock.LeapNone); err != nil {
			return err
		}
	}
	e.leapSteps++
	e.stepped += by
	e.sink.Stepped(now, by, StepLeap)
	// A change of timescale, not a correction: every local time the engine
	// remembers moves with the clock, and sample histories start afresh.
	after := e.clk.Now()
	f, _ := e.clk.Frequency()
	e.steer.reset(after, f)
	if !e.lastUpdate.IsZero() {
		e.lastUpdate = e.lastUpdate.Add(by)
		e.base.RefTime = e.base.RefTime.Add(by)
	}
	e.resetSources()
	return nil
}

// leapEvent returns the leap.Event of a leap of kind l carried out at the
// local instant at (midnight for an insertion, 23:59:59 for a deletion).
func leapEvent(l clock.Leap, at time.Time) leap.Event {
	ev := leap.Event{Leap: l, At: at}
	if l == clock.LeapDelete {
		ev.At = at.Add(time.Second)
	}
	return ev
}

// smearConfig is the configured smear, enabled.
func (e *Engine) smearConfig() leap.Smear {
	s := e.cfg.Smear
	s.Enabled = true
	return s
}

// smearSchedule keeps the served clock's smear parameters in step with
// the armed leap (LeapModeSmear): published (shift 0, an exact no-op
// before the leap) while a leap is armed, withdrawn if it is cancelled,
// and dropped when the smear is over, where served time equals the
// engine's clock exactly.
func (e *Engine) smearSchedule(now time.Time) {
	if e.cfg.LeapMode != LeapModeSmear {
		return
	}
	switch {
	case e.smear != nil && e.smear.shift != 0:
		if !now.Before(e.smear.end()) {
			e.smear = nil
			e.served.set(nil)
		}
	case e.leapArmed != clock.LeapNone:
		ev := leapEvent(e.leapArmed, e.leapAt)
		if e.smear == nil || e.smear.ev != ev {
			e.smear = &smearParams{smear: e.smearConfig(), ev: ev}
			e.served.set(e.smear)
		}
	case e.smear != nil:
		e.smear = nil
		e.served.set(nil)
	}
}

// checkKernel reports a leap mode the clock cannot carry out (New).
func (e *Engine) checkKernel() error {
	if e.cfg.LeapMode == LeapModeSystem {
		if _, ok := e.clk.(clock.LeapSetter); !ok {
			return fmt.Errorf("engine: leap mode %v needs a clock whose kernel inserts leap seconds (clock.LeapSetter: the system clock), not %T",
				e.cfg.LeapMode, e.clk)
		}
	}
	return nil
}

// initKernel puts a clock with kernel abilities into a known state at the
// first Tick or Sample (New does no I/O): no leap armed (one left by an
// earlier daemon would fire at the next midnight), unsynchronised until
// the first update. Clocks without the abilities (virtual, simulated) are
// left alone.
func (e *Engine) initKernel() error {
	if ls, ok := e.clk.(clock.LeapSetter); ok {
		if err := ls.SetLeap(clock.LeapNone); err != nil {
			return fmt.Errorf("engine: disarm kernel leap second: %w", err)
		}
	}
	if ss, ok := e.clk.(clock.SyncSetter); ok {
		if err := ss.SetUnsync(); err != nil {
			return fmt.Errorf("engine: mark clock unsynchronised: %w", err)
		}
	}
	return nil
}

// armKernel arms the kernel with l (LeapNone disarms) if it is not armed
// so already. Only LeapModeSystem ever arms; initKernel disarmed the
// others.
func (e *Engine) armKernel(l clock.Leap) error {
	if e.cfg.LeapMode != LeapModeSystem || l == e.kernelLeap {
		return nil
	}
	ls := e.clk.(clock.LeapSetter) // checked in New
	if err := ls.SetLeap(l); err != nil {
		return fmt.Errorf("engine: arm kernel leap second %v: %w", l, err)
	}
	e.kernelLeap = l
	return nil
}

// kernelSynced writes the synchronisation status to a clock that keeps
// one (adjtimex STA_UNSYNC, maxerror = the error bound, esterror = the
// RMS of the recent offsets): after every update, and on the way to
// unsynchronised or local.
func (e *Engine) kernelSynced(synced bool) error {
	ss, ok := e.clk.(clock.SyncSetter)
	if !ok {
		return nil
	}
	if !synced {
		if !e.kernelSync {
			return nil
		}
		e.kernelSync = false
		if err := ss.SetUnsync(); err != nil {
			return fmt.Errorf("engine: mark clock unsynchronised: %w", err)
		}
		return nil
	}
	var sq float64
	for i := range e.nOffsets {
		sq += float64(e.offsets[i]) * float64(e.offsets[i])
	}
	est := time.Duration(0)
	if e.nOffsets > 0 {
		est = time.Duration(math.Sqrt(sq / float64(e.nOffsets)))
	}
	if err := ss.SetSync(e.base.ErrorBound, est); err != nil {
		return fmt.Errorf("engine: mark clock synchronised: %w", err)
	}
	e.kernelSync = true
	return nil
}

// writeTAI writes TAI − UTC to a clock that keeps it (the kernel's
// CLOCK_TAI offset), only when a leap table is configured: without one
// the engine's figure is a default, not knowledge.
func (e *Engine) writeTAI() error {
	if e.cfg.LeapSource == nil || e.tai == e.taiSet {
		return nil
	}
	ts, ok := e.clk.(clock.TAISetter)
	if !ok {
		return nil
	}
	if err := ts.SetTAIOffset(e.tai); err != nil {
		return fmt.Errorf("engine: set TAI offset %d s: %w", e.tai, err)
	}
	e.taiSet = e.tai
	return nil
}

// resetSources clears every source's sample history after a step: the
// stored samples (and their clock-filter jitter) are on the old timescale,
// and requests in flight were timestamped on it. chrony does the same for
// steps it cannot describe exactly; for the engine's own steps it would
// be possible to correct the samples instead, but not from outside the
// client core, and a fresh filter refills within one poll (iburst is
// re-armed).
func (e *Engine) resetSources() {
	// Until they all have a fresh sample, the first source to answer
	// would be a majority of one.
	e.waitUntil = e.clk.Now().Add(e.cfg.StartupWait)
	for _, s := range e.srcs {
		s.hist.clear()
		s.lastFed = time.Time{}
		if r, ok := s.rep.(Resetter); ok {
			r.ResetSamples()
		}
	}
}

// leapWindow reports whether a sample taken at local time t is too close
// to a leap to be on one timescale: from 1 ms before the leap instant to
// 2 s after it (in either timescale: after a deletion the clock reads the
// instant + 1 s at once; the seconds after cost at most one poll of
// samples). When the kernel carries out the leap the engine learns
// of it only when the clock reads 24:00:00 again, so from 1 s before an
// armed leap on every sample is discarded, and the window after the leap
// starts 1 s earlier too.
func (e *Engine) leapWindow(t time.Time) bool {
	before := time.Millisecond
	if e.cfg.LeapMode == LeapModeSystem {
		before += time.Second
		if e.leapArmed != clock.LeapNone && !t.Before(e.leapAt.Add(-before)) {
			return true
		}
	}
	if e.leapDoneAt.IsZero() {
		return false
	}
	return !t.Before(e.leapDoneAt.Add(-before)) && t.Before(e.leapDoneAt.Add(2*time.Second+time.Millisecond))
}
