package engine

// MakeStep makes the next clock update a step by the combined offset,
// whatever the makestep policy says (chronyc makestep), with the frequency
// set to the oscillator's estimate; the servo then restarts from it. Without a selected source nothing
// happens until one is selected. Discipline goroutine only.
func (e *Engine) MakeStep() { e.stepNext = true }

// ResetSources drops every source's samples (chronyc reset sources), as
// after a step: selection waits until each reachable source has a fresh
// one. Discipline goroutine only.
func (e *Engine) ResetSources() {
	e.resetSources()
	e.publish(e.clk.Now()) // the emptied histories show at once
}
