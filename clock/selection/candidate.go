package selection

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Options are the per-source selection options (chrony's server options of
// the same names; the exact semantics are in the package doc).
type Options struct {
	// Prefer: when any truechimer has Prefer, only preferred truechimers
	// can become the system peer or be combined.
	Prefer bool
	// NoSelect: never selected or combined; still measured and displayed.
	NoSelect bool
	// Trust: a trusted source can only be rejected as a falseticker when
	// another trusted source disagrees with it.
	Trust bool
	// Require: nothing is selected unless at least one Require source is a
	// truechimer.
	Require bool
}

// Candidate is the current estimate of one source. Durations are seconds
// as time.Duration; Dispersion must already include growth since the last
// sample (PHI × age).
type Candidate struct {
	// ID names the source in results and for hysteresis ("192.0.2.1",
	// "PHC0"). IDs should be unique.
	ID string
	// Addr is the source's address; RefIDForAddr(Addr) becomes the system
	// reference ID when this source is the peer. Leave it invalid for
	// reference clocks and set RefClockID instead.
	Addr       netip.Addr
	RefClockID uint32
	// Offset = reference − local, from the source's clock filter.
	Offset time.Duration
	// Delay is the round-trip delay to the source (δ).
	Delay time.Duration
	// Dispersion (ε) and Jitter (φ) of the source's estimate.
	Dispersion time.Duration
	Jitter     time.Duration
	// RootDelay and RootDispersion as the source announced them.
	RootDelay      time.Duration
	RootDispersion time.Duration
	// Stratum as announced (0 for reference clocks, which make us stratum 1).
	Stratum uint8
	// RefID is the reference ID the source announces (its own upstream);
	// used for loop detection.
	RefID uint32
	Leap  clock.Leap
	Options
	// Reachable is true when the source has answered recently and has a
	// valid estimate. Unreachable sources are shown but never used.
	Reachable bool
}

// RootDistance is the source's synchronisation distance λ (RFC 5905 A.5.5.2
// root_dist, without the MINDISP floor of 10 ms, which would swamp
// microsecond-level sources): (RootDelay + Delay)/2 + RootDispersion +
// Dispersion + Jitter. It is floored at 1 ns so that 1/λ weights stay finite.
func (c *Candidate) RootDistance() time.Duration {
	d := (c.RootDelay+c.Delay)/2 + c.RootDispersion + c.Dispersion + c.Jitter
	if d < time.Nanosecond {
		d = time.Nanosecond
	}
	return d
}

// Config holds the selection tunables. The zero value is not valid; start
// from DefaultConfig.
type Config struct {
	// MinSources is the number of truechimers needed before anything is
	// selected (chrony minsources, default 1).
	MinSources int
	// MaxDistance rejects sources with a larger root distance (chrony
	// maxdistance, default 3 s).
	MaxDistance time.Duration
	// MaxJitter rejects sources with a larger jitter (chrony maxjitter,
	// default 1 s).
	MaxJitter time.Duration
	// MaxStratum rejects sources with a larger stratum (default 14, so
	// that we are at most stratum 15, like ntpd's tos ceiling 15).
	MaxStratum uint8
	// ReselectDistance is the hysteresis added to every non-peer's score
	// (chrony reselectdist, default 100 µs).
	ReselectDistance time.Duration
	// StratumWeight is added to the score per stratum (chrony
	// stratumweight, default 1 ms).
	StratumWeight time.Duration
	// CombineLimit: survivors with λ > CombineLimit × λ(peer) are not
	// combined (chrony combinelimit, default 3). 0 means only the peer.
	CombineLimit float64
	// MinSurvivors is RFC 5905's NMIN for the cluster algorithm (default
	// 3). 0 disables outlier pruning.
	MinSurvivors int
	// OwnRefIDs are the reference IDs of our own addresses
	// (RefIDForAddr of each local address). A source announcing one of
	// them is synchronised to us: a loop.
	OwnRefIDs []uint32
}

// DefaultConfig returns chrony's defaults (and RFC 5905's NMIN).
func DefaultConfig() Config {
	return Config{
		MinSources:       1,
		MaxDistance:      3 * time.Second,
		MaxJitter:        time.Second,
		MaxStratum:       14,
		ReselectDistance: 100 * time.Microsecond,
		StratumWeight:    time.Millisecond,
		CombineLimit:     3,
		MinSurvivors:     3,
	}
}

// Validate reports every invalid field.
func (c *Config) Validate() error {
	var errs []error
	if c.MinSources < 1 {
		errs = append(errs, fmt.Errorf("selection: minsources %d: must be ≥ 1", c.MinSources))
	}
	if c.MaxDistance <= 0 {
		errs = append(errs, fmt.Errorf("selection: maxdistance %v: must be > 0", c.MaxDistance))
	}
	if c.MaxJitter <= 0 {
		errs = append(errs, fmt.Errorf("selection: maxjitter %v: must be > 0", c.MaxJitter))
	}
	if c.MaxStratum < 1 || c.MaxStratum > 15 {
		errs = append(errs, fmt.Errorf("selection: maxstratum %d: must be 1…15", c.MaxStratum))
	}
	if c.ReselectDistance < 0 {
		errs = append(errs, fmt.Errorf("selection: reselectdist %v: must be ≥ 0", c.ReselectDistance))
	}
	if c.StratumWeight < 0 {
		errs = append(errs, fmt.Errorf("selection: stratumweight %v: must be ≥ 0", c.StratumWeight))
	}
	if c.CombineLimit < 0 || c.CombineLimit != c.CombineLimit {
		errs = append(errs, fmt.Errorf("selection: combinelimit %v: must be ≥ 0", c.CombineLimit))
	}
	if c.MinSurvivors < 0 {
		errs = append(errs, fmt.Errorf("selection: minsurvivors %d: must be ≥ 0", c.MinSurvivors))
	}
	return errors.Join(errs...)
}
