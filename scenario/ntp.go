package scenario

import (
	"time"

	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/ntp/client"
	"github.com/gnomon-time/gnomon/source/ntpsource"
)

// ntpReporter is the simulator's adapter of an ntp/client association to
// the engine: the engine reads the core directly (one goroutine, simulated
// time), where gnomond goes through source/ntpsource's cache.
type ntpReporter struct {
	src *client.Source
}

// Report implements engine.Reporter with the association's Estimate.
func (s ntpReporter) Report(now time.Time) engine.Report {
	return ntpsource.Report(s.src.Estimate(now))
}

// ResetSamples implements engine.Resetter: the association restarts (empty
// clock filter; the next poll sends at once).
func (s ntpReporter) ResetSamples() { s.src.Restart() }
