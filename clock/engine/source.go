package engine

import (
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// Sample is one raw measurement of the steered clock against a source.
type Sample struct {
	// Local is the steered clock's reading when the offset applies (T4
	// for NTP).
	Local time.Time
	// Offset = reference − local; Delay is the round trip (0 for sources
	// without one); Dispersion is the sample's own error allowance.
	Offset     time.Duration
	Delay      time.Duration
	Dispersion time.Duration
}

// Report is a source's current estimate, for selection and status: the
// fields of selection.Candidate that the source knows, plus association
// state for display.
type Report struct {
	// Usable: the source has a valid estimate (selection's Reachable).
	Usable bool
	// Offset (reference − local) of the chosen sample, taken at local time
	// SampleTime; the engine refers it to the present.
	Offset     time.Duration
	SampleTime time.Time
	Delay      time.Duration
	Dispersion time.Duration // grown to the evaluation time
	Jitter     time.Duration
	// Header of the source's last reply.
	Leap           clock.Leap
	Stratum        uint8
	RefID          uint32
	RootDelay      time.Duration
	RootDispersion time.Duration
	// Addr is the source's current address when it is not known at
	// AddSource (a host name resolved later); invalid keeps
	// SourceConfig.Addr. It gives the reference ID served when the source
	// is the system peer.
	Addr netip.Addr
	// Association state.
	Reach   uint8
	Poll    int8 // log2 s
	Samples int
}

// Reporter is a source as the engine sees it: something that can say what
// it currently knows. It is called on the engine's goroutine.
type Reporter interface {
	Report(now time.Time) Report
}

// Resetter is implemented by sources whose sample history can be cleared;
// the engine does so after a leap second, when every stored sample is on
// the old timescale.
type Resetter interface {
	ResetSamples()
}

// NTPSource adapts an ntp/client association to Reporter and Resetter.
type NTPSource struct {
	Src *client.Source
}

// Report implements Reporter with the association's Estimate.
func (s NTPSource) Report(now time.Time) Report {
	e := s.Src.Estimate(now)
	return Report{
		Usable: e.Usable, Offset: e.Offset, SampleTime: e.SampleTime,
		Delay: e.Delay, Dispersion: e.Dispersion, Jitter: e.Jitter,
		Leap: e.Leap, Stratum: e.Stratum, RefID: e.RefID,
		RootDelay: e.RootDelay, RootDispersion: e.RootDispersion,
		Reach: e.Reach, Poll: e.Poll, Samples: e.Samples,
	}
}

// ResetSamples implements Resetter: the association restarts (empty clock
// filter; the next poll sends at once).
func (s NTPSource) ResetSamples() { s.Src.Restart() }

// SampleFromNTP converts an accepted ntp/client sample.
func SampleFromNTP(s filter.Sample) Sample {
	return Sample{Local: s.Time, Offset: s.Offset, Delay: s.Delay, Dispersion: s.Dispersion}
}
