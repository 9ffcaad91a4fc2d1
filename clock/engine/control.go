package engine

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
