package engine

import (
	"fmt"
	"time"

	"github.com/gnomon-time/gnomon/clock"
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
	if ls := e.cfg.LeapSource; ls != nil {
		var tai int
		l, tai = ls.LeapAt(now)
		e.tai = tai
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

// leapCheck carries out an armed leap that is due, then re-evaluates what
// to announce and arm.
func (e *Engine) leapCheck(now time.Time) error {
	if e.leapArmed != clock.LeapNone && !now.Before(e.leapAt) {
		if err := e.doLeap(now); err != nil {
			return err
		}
		now = e.clk.Now()
	}
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
	return nil
}

// doLeap carries out the armed leap at now (≥ leapAt).
func (e *Engine) doLeap(now time.Time) error {
	by := -time.Second
	dTAI := 1
	if e.leapArmed == clock.LeapDelete {
		by, dTAI = time.Second, -1
	}
	e.leapDoneAt = e.leapAt
	e.leapArmed, e.leapAt = clock.LeapNone, time.Time{}
	e.announce = clock.LeapNone
	if e.cfg.LeapSource == nil {
		e.tai += dTAI
	}
	if e.cfg.LeapMode != LeapModeStep {
		return nil
	}
	if err := e.clk.Step(by); err != nil {
		return fmt.Errorf("engine: leap second step by %v: %w", by, err)
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
// to the last leap carried out to be on one timescale: from 1 ms before
// the leap instant to 1 s after it (in either timescale; the second after
// costs at most one poll of samples).
func (e *Engine) leapWindow(t time.Time) bool {
	if e.leapDoneAt.IsZero() {
		return false
	}
	return !t.Before(e.leapDoneAt.Add(-time.Millisecond)) && t.Before(e.leapDoneAt.Add(time.Second+time.Millisecond))
}
