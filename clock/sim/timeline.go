package sim

import (
	"fmt"
	"time"
)

// Timeline is simulated true time. It moves only when the simulation calls
// Advance or AdvanceTo; it never reads the real clock. It is not safe for
// concurrent use: a simulation runs on one goroutine.
type Timeline struct {
	start time.Time
	now   time.Time
}

// NewTimeline returns a timeline starting at start (any monotonic reading
// is stripped so that arithmetic is on wall time).
func NewTimeline(start time.Time) *Timeline {
	start = start.Round(0)
	return &Timeline{start: start, now: start}
}

// Now returns the current true time.
func (tl *Timeline) Now() time.Time { return tl.now }

// Start returns the true time the timeline started at.
func (tl *Timeline) Start() time.Time { return tl.start }

// Elapsed returns the true time since Start.
func (tl *Timeline) Elapsed() time.Duration { return tl.now.Sub(tl.start) }

// Advance moves true time forward by d. Time never runs backwards: a
// negative d is an error and leaves the timeline unchanged.
func (tl *Timeline) Advance(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("sim: advance timeline by %v: negative duration", d)
	}
	tl.now = tl.now.Add(d)
	return nil
}

// AdvanceTo moves true time forward to t; t before Now is an error.
func (tl *Timeline) AdvanceTo(t time.Time) error {
	if t.Before(tl.now) {
		return fmt.Errorf("sim: advance timeline to %v: before now %v", t, tl.now)
	}
	tl.now = t.Round(0)
	return nil
}
