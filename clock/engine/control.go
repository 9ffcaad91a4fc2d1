package engine

import "time"

// MakeStep makes the next clock update a step by the combined offset,
// whatever the makestep policy says (chronyc makestep), with the frequency
// set to the oscillator's estimate (the clock's current frequency before
// the first update); the servo then restarts from it. As in chronyd it acts
// only on a selected source: without one it does nothing, and a selection
// lost before the peer's next sample cancels it. Discipline goroutine only.
func (e *Engine) MakeStep() { e.stepNext = e.peer != "" }

// ResetSources drops every source's samples (chronyc reset sources), as
// after a step: selection waits until each reachable source has a fresh
// one. Discipline goroutine only.
func (e *Engine) ResetSources() {
	e.resetSources()
	e.publish(e.clk.Now()) // the emptied histories show at once
}

// Disrupt tells the engine that the counter under its clock was disrupted
// (a VMClock device's disruption marker changed: a live migration or a
// snapshot restore): the clock may have jumped by an unknown amount and its
// frequency changed, so everything calibrated against the sources is
// suspect. Discipline goroutine only. At once it
//
//   - publishes a state whose error bound and root dispersion are widened
//     by widen (the caller's allowance for the jump, e.g. phcsource's
//     DisruptedBound; negative counts as 0) and then grow at
//     Config.DisruptionRatePPB more than before, until the next clock
//     update measures the clock again. The state stays synchronised (NTP
//     clients keep a server whose dispersion says how unsure it is) and is
//     marked Disrupted until the engine is locked again;
//   - drops every source's samples, as ResetSources (they were measured
//     against the old counter);
//   - restarts the servo at the next update from the current frequency,
//     allowed to step as at startup (Config.Policy: a migrated clock may
//     be far off), with the frequency uncertainty raised by
//     DisruptionRatePPB until then;
//   - falls back from locked to locking (PTP clockClass 248, nothing
//     traceable); a holdover leaves its specification (its frequency is
//     the old counter's);
//   - counts the disruption (Status.Disruptions).
//
// Without a published synchronised state (unsynchronised, local) only the
// flag, the count, the sources and the servo are affected.
func (e *Engine) Disrupt(widen time.Duration) {
	now := e.clk.Now()
	widen = max(widen, 0)
	e.disruptions++
	e.disrupted, e.disruptedAt = true, now
	if e.mode == ModeLocked || e.mode == ModeLocking || e.mode == ModeHoldover {
		e.widen(now, widen)
	}
	e.freqUnknown, e.disruptSteps, e.resync = true, true, true
	e.resetSources()
	e.resetLock()
	if e.mode == ModeHoldover && e.holdInSpec {
		e.holdInSpec = false
		e.outOfSpecs++
		st := e.state(now)
		e.sink.HoldoverOutOfSpec(now, e.base.Source, ErrorBoundAt(st, now), st.ClockClass)
	}
	e.evaluateMode(now)
	e.publish(now)
}

// widen re-bases the published state at now: the bound and root
// dispersion it promises now plus by, growing from now at
// DisruptionRatePPB more than before. RefTime stays the last update's (it
// is what servers send as the reference time), so the values at RefTime
// are chosen to give the widened ones at now; clamped at 0, which only
// makes them larger.
func (e *Engine) widen(now time.Time, by time.Duration) {
	st := e.state(now)
	bound, disp := ErrorBoundAt(st, now)+by, st.RootDispersionAt(now)+by
	rate := e.base.DispersionRate + e.cfg.DisruptionRatePPB*1e-9
	grown := time.Duration(0)
	if age := now.Sub(e.base.RefTime); age > 0 {
		grown = time.Duration(rate * float64(age))
	}
	e.base.ErrorBound = max(0, bound-grown)
	e.base.RootDispersion = max(0, disp-grown)
	e.base.DispersionRate = rate
}
