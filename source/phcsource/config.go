package phcsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/phc"
	"github.com/gnomon-time/gnomon/clock/selection"
)

// ErrorBounder reports the PHC's own error against UTC, when the device
// knows it (the ENA driver's phc_error_bound: SysfsBound). ok is false
// when there is no bound now; that is not an error.
type ErrorBounder interface {
	ErrorBound() (bound time.Duration, ok bool)
}

// DisruptionMarker reads a value that changes whenever the CPU counter
// under CLOCK_REALTIME was disrupted (live migration, snapshot restore):
// the VMClock page's disruption_marker (clock/vmclock.Reader).
type DisruptionMarker interface {
	DisruptionMarker() (uint64, error)
}

// Config configures a Source. Zero fields take the defaults.
// DefaultDisruptedBound is the default widening of the error bound at a
// clock disruption: 1 ms covers a live migration's blackout of up to a
// millisecond or so; with 100 µs, a 200 µs jump in the disruption
// scenario test was served under a too-small bound for a second.
const DefaultDisruptedBound = time.Millisecond

type Config struct {
	// ID names the reference in the engine, status and logs (default: the
	// PHC's device name).
	ID string
	// RefID is served as the reference ID while the PHC is the system
	// peer: one to four ASCII characters (default "PHC").
	RefID string
	// TimeSource is published while the PHC is the system peer:
	// clock.TimeSourceGNSS for a GNSS-locked PHC (a time card),
	// clock.TimeSourcePTP for one ptp4l steers, zero (published as
	// TimeSourceOther) for a cloud PHC.
	TimeSource clock.TimeSource
	// Options are the reference's selection options.
	Options selection.Options

	// Poll is the interval between measurements (default 1 s, chrony's
	// refclock PHC dpoll 0 and phc2sys -R 1).
	Poll time.Duration
	// Samples is the number of cross-timestamps per measurement, of which
	// the one with the shortest system-clock bracket is kept (default and
	// most: phc.MaxSamples, one PTP_SYS_OFFSET_EXTENDED request).
	Samples int

	// TAI says the PHC counts TAI (a PTP clock); its readings are
	// converted to UTC with TAIOffset.
	TAI bool
	// TAIOffset returns TAI − UTC in seconds at the UTC time given
	// (CLOCK_REALTIME's reading, close enough except within the system
	// clock's error of a leap second, where the engine discards samples
	// anyway); nil means clock.DefaultTAIOffset. The daemon wires its
	// leap table here.
	TAIOffset func(utc time.Time) int

	// FromRealtime maps a CLOCK_REALTIME reading to the disciplined
	// clock's reading at the same instant (source.Clock.FromRealtime of
	// the Runner's clock: a virtual clock's mapping, or the identity when
	// CLOCK_REALTIME itself is disciplined). Required.
	FromRealtime func(realtime time.Time) time.Time
	// Precision is the floor of a sample's dispersion and of the jitter
	// (default 1 ns, a PHC's resolution).
	Precision time.Duration

	// Follow, if set, is the discipline state of the PHC itself (the
	// engine that steers it from GNSS, in the same daemon). The report
	// then passes that state on: its stratum − 1 (so the served stratum
	// is the PHC's), reference ID, leap indicator, root delay
	// and root dispersion (grown to the report's time, plus ErrorBound);
	// and the reference is unusable while that state is unsynchronised.
	Follow *clock.StateCell

	// ErrorBound, if set, is read after every measurement (default none).
	ErrorBound ErrorBounder

	// Disruption, if set, is read before every measurement; a change of
	// its marker is a disruption of the local clock (default none).
	Disruption DisruptionMarker
	// OnDisruption is called (on the Run goroutine, without locks held)
	// after a disruption, with DisruptedBound as widen, for the daemon to
	// tell the engine: wire it to source.Runner.Disrupt (the served error
	// bound is widened at once, every reference's history cleared, the
	// servo restarted). Nil: only this source's history is cleared.
	OnDisruption func(ctx context.Context, widen time.Duration) error
	// DisruptedBound is added to the root dispersion from a disruption
	// until re-locked (default max(DefaultDisruptedBound, 100 ppm ×
	// Poll): a migration's blackout may leave the guest's clock behind by
	// milliseconds, and a counter's frequency may step by up to ±50 ppm
	// across hosts while the engine's error bound grows at only ~1 ppm
	// between updates).
	DisruptedBound time.Duration
	// RelockSamples consecutive samples within RelockOffset end the
	// disrupted state (defaults 8 and 10 µs).
	RelockSamples int
	RelockOffset  time.Duration

	// Logger receives state changes (nil discards).
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultPoll          = time.Second
	DefaultRefID         = "PHC"
	DefaultPrecision     = time.Nanosecond
	DefaultRelockSamples = 8
	DefaultRelockOffset  = 10 * time.Microsecond
	// MinPoll bounds Poll from below (a burst of 25 cross-timestamps takes
	// tens of µs; faster than 64 Hz buys nothing but load).
	MinPoll = time.Second / 64
)

// withDefaults fills the zero fields and validates, naming every problem.
func (c Config) withDefaults(p *phc.PHC) (Config, error) {
	if c.ID == "" && p != nil {
		c.ID = p.Name()
	}
	if c.RefID == "" {
		c.RefID = DefaultRefID
	}
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	if c.Samples == 0 {
		c.Samples = phc.MaxSamples
	}
	if c.TAIOffset == nil {
		c.TAIOffset = func(time.Time) int { return clock.DefaultTAIOffset }
	}
	if c.Precision == 0 {
		c.Precision = DefaultPrecision
	}
	if c.DisruptedBound == 0 {
		c.DisruptedBound = max(DefaultDisruptedBound, c.Poll/10_000)
	}
	if c.RelockSamples == 0 {
		c.RelockSamples = DefaultRelockSamples
	}
	if c.RelockOffset == 0 {
		c.RelockOffset = DefaultRelockOffset
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if p == nil {
		errs = append(errs, errors.New("no PHC"))
	}
	if c.ID == "" {
		errs = append(errs, errors.New("id: empty"))
	}
	if _, err := clock.ParseRefID(c.RefID); err != nil {
		errs = append(errs, fmt.Errorf("ref_id: %w", err))
	}
	if c.Poll < MinPoll {
		errs = append(errs, fmt.Errorf("poll %v: want ≥ %v", c.Poll, MinPoll))
	}
	if c.Samples < 1 || c.Samples > phc.MaxSamples {
		errs = append(errs, fmt.Errorf("samples %d: want 1…%d", c.Samples, phc.MaxSamples))
	}
	if c.FromRealtime == nil {
		errs = append(errs, errors.New("from_realtime: nil (use the disciplined clock's FromRealtime)"))
	}
	if c.Precision < 0 || c.DisruptedBound < 0 || c.RelockOffset < 0 {
		errs = append(errs, fmt.Errorf("precision %v, disrupted bound %v, relock offset %v: want ≥ 0",
			c.Precision, c.DisruptedBound, c.RelockOffset))
	}
	if c.RelockSamples < 1 {
		errs = append(errs, fmt.Errorf("relock samples %d: want ≥ 1", c.RelockSamples))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("phc source %q: %w", c.ID, err)
	}
	return c, nil
}
