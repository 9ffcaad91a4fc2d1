package report

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Served is what the NTP (and later PTP) servers send at At: the published
// clock.SyncState with its root dispersion and error bound grown to At.
type Served struct {
	// At is the time the report was taken, on the served clock.
	At time.Time
	// Synchronized is false until a source has been selected (or a local
	// reference is configured).
	Synchronized bool
	Leap         clock.Leap
	// Stratum of this server: 16 when unsynchronised (sent as 0 on the
	// NTP wire).
	Stratum uint8
	// RefID as on the NTP wire (big-endian value).
	RefID uint32
	// RefTime is the time of the last clock update, on the served clock.
	RefTime time.Time
	// RootDelay at RefTime; RootDispersion grown to At.
	RootDelay      time.Duration
	RootDispersion time.Duration
	// ErrorBound is the bound on |served time − true time| at At. It
	// means nothing when Synchronized is false (it is then math.MaxInt64).
	ErrorBound time.Duration
	// Precision is log2 seconds of a clock reading.
	Precision int8
	// Source names the selected source ("local", an address, "none").
	Source string
	// Disrupted: the clock's counter was disrupted (a VMClock live
	// migration or snapshot restore) and the discipline has not locked
	// since; ErrorBound was widened by an allowance for the disruption
	// (clock.SyncState.Disrupted).
	Disrupted bool
}

// SyncMode is the discipline's synchronisation mode (clock/engine's Mode;
// the package doc of clock/engine says what each means). Values are
// stable: a new mode is added at the end.
type SyncMode uint8

const (
	SyncUnsynchronised SyncMode = iota
	SyncLocked
	SyncHoldover
	SyncLocal
	SyncLocking  // a source selected, the servo not yet converged
	NumSyncModes // number of modes, for label sets
)

var syncModeNames = [NumSyncModes]string{"unsynchronised", "locked", "holdover", "local", "locking"}

// String returns the stable snake_case name (metric labels, logs).
func (m SyncMode) String() string {
	if m < NumSyncModes {
		return syncModeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Tracking is chronyc tracking's report, plus the discipline state gnomon
// exports as metrics. It is the engine's view at its last snapshot, with
// the root dispersion and error bound grown to At.
type Tracking struct {
	// At is the time the report was taken, on the served clock.
	At   time.Time
	Mode SyncMode
	// Synchronized is true in every mode but SyncUnsynchronised.
	Synchronized bool
	// RefID is the reference ID served (big-endian value; in a leap smear
	// 127.127.1.255).
	RefID uint32
	// RefName is the system peer's ID (its configured name or address),
	// "" when there is none; RefAddr its address (invalid for none or for a
	// reference clock).
	RefName string
	RefAddr netip.Addr
	// Stratum: 16 when unsynchronised (chronyd sends 0).
	Stratum uint8
	// RefTime is the time of the last clock update.
	RefTime time.Time
	// SystemTimeOffset is chronyc's "System time": the correction still
	// to be made, reference − local. The engine slews by frequency and
	// keeps no account of how much of the last measured offset the slew
	// has removed, so it reports LastOffset whole (as the error bound
	// counts it; 0 when unsynchronised); gnomond's control server adds the
	// served clock's distance from CLOCK_REALTIME, so that the figure is
	// CLOCK_REALTIME's, as ClockBound's chrony reader expects.
	SystemTimeOffset time.Duration
	// LastOffset is the combined offset at the last clock update
	// (reference − local, before the correction); RMSOffset the RMS of
	// the offsets of the last 16 updates.
	LastOffset time.Duration
	RMSOffset  time.Duration
	// FrequencyPPB is the frequency correction in force (positive: the
	// clock is made faster), the servo's phase slew included;
	// FreqEstimatePPB the correction that cancels the oscillator's
	// estimated error (what holdover keeps); SkewPPB its uncertainty.
	FrequencyPPB    float64
	FreqEstimatePPB float64
	SkewPPB         float64
	// ResidualFreqPPB is the system peer's residual frequency from its
	// sample regression (rate of change of reference − local); 0 without
	// a peer or before it has 3 samples.
	ResidualFreqPPB float64
	// RootDelay at RefTime; RootDispersion grown to At.
	RootDelay      time.Duration
	RootDispersion time.Duration
	// UpdateInterval is the mean time between clock updates.
	UpdateInterval time.Duration
	// Leap is the engine's decision (LeapUnsync when unsynchronised), also
	// in a leap smear, where servers do not announce it (Served.Leap).
	Leap clock.Leap
	// ErrorBound is the bound on |clock − true time| at At; it means
	// nothing when Synchronized is false (math.MaxInt64 then).
	// DispersionRate is its growth since RefTime, s/s.
	ErrorBound     time.Duration
	DispersionRate float64
	// Servo names the servo; ServoLocked is its lock state.
	Servo       string
	ServoLocked bool
	// ClockClass is the PTP clockClass published (6 locked, 7 holdover
	// within specification, the configured degraded class out of it, 248
	// locking or free-running); HoldoverOutOfSpec is true in holdover past
	// its specification.
	ClockClass        clock.ClockClass
	HoldoverOutOfSpec bool
	// Counters since start: clock updates (servo decisions applied),
	// makestep steps (LastStep the latest, positive forward), leap seconds
	// carried out, samples the servo discarded.
	Updates   uint64
	Steps     uint64
	LastStep  time.Duration
	LeapSteps uint64
	Discarded uint64
	// Holdover counters since start: entries into holdover, departures
	// from its specification, and sources returning during holdover by
	// how the clock was brought back (slewed, or stepped: also counted in
	// Steps).
	HoldoverEntries    uint64
	HoldoverOutOfSpecs uint64
	RecoveriesSlewed   uint64
	RecoveriesStepped  uint64
	// Disrupted: the clock's counter was disrupted (a VMClock live
	// migration) and the discipline has not locked since (Served.Disrupted);
	// Disruptions counts them since start.
	Disrupted   bool
	Disruptions uint64
}

// SourceMode is chronyc sources' first column.
type SourceMode uint8

const (
	SourceServer   SourceMode = iota // '^': an NTP server we poll
	SourcePeer                       // '=': a symmetric peer (not implemented)
	SourceRefClock                   // '#': a reference clock (PHC, PPS, GNSS)
)

// Char returns chronyc's mode character.
func (m SourceMode) Char() byte {
	switch m {
	case SourceServer:
		return '^'
	case SourcePeer:
		return '='
	case SourceRefClock:
		return '#'
	}
	return '?'
}

func (m SourceMode) String() string {
	switch m {
	case SourceServer:
		return "server"
	case SourcePeer:
		return "peer"
	case SourceRefClock:
		return "refclock"
	}
	return fmt.Sprintf("source_mode(%d)", uint8(m))
}

// SourceState is a source's selection state, chronyc sources' second
// column (clock/selection's State).
type SourceState uint8

const (
	StateUnusable    SourceState = iota // '?': filtered out before the intersection
	StateFalseticker                    // 'x': outside the intersection (or no majority)
	StateJittery                        // '~': jitter above the limit
	StateSelectable                     // '-': truechimer, not combined
	StateCombined                       // '+': combined with the system peer
	StateSelected                       // '*': the system peer
	NumSourceStates                     // number of states, for label sets
)

var sourceStateNames = [NumSourceStates]string{"unusable", "falseticker", "jittery", "selectable", "combined", "selected"}

// String returns the stable snake_case name (metric labels, logs).
func (s SourceState) String() string {
	if s < NumSourceStates {
		return sourceStateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Char returns chronyc's state character.
func (s SourceState) Char() byte {
	const chars = "?x~-+*"
	if s < NumSourceStates {
		return chars[s]
	}
	return '?'
}

// Source is one row of chronyc sources, plus gnomon's selection state,
// clock-filter figures and poll counters.
type Source struct {
	// ID is the source's configured name or address (chronyc's
	// "Name/IP address"); Addr its current address (invalid while a host
	// name is unresolved, or for a reference clock).
	ID    string
	Addr  netip.Addr
	Mode  SourceMode
	State SourceState
	// Reason says why the source has its state (clock/selection's
	// Reason.String: "none", "falseticker", "distance", ...).
	Reason string
	// Usable: the source has a valid estimate.
	Usable bool
	// From the source's last reply (0 and LeapNone before the first).
	Stratum        uint8
	RefID          uint32
	Leap           clock.Leap
	RootDelay      time.Duration
	RootDispersion time.Duration
	// Poll is the polling interval, log2 s; Reach the reachability
	// register (chronyc prints it in octal).
	Poll  int8
	Reach uint8
	// LastRxAgo is how long before At the latest sample was taken; it
	// means nothing when Sampled is false (chrony: never).
	LastRxAgo time.Duration
	Sampled   bool
	// Offset is the clock filter's estimate referred to the engine's
	// snapshot time (reference − local): what selection used. chronyc's
	// adjusted offset is the latest sample referred to now instead.
	// LastSampleOffset is the latest sample as measured (chronyc's
	// bracketed number). Both: chronyc prints the opposite sign.
	Offset           time.Duration
	LastSampleOffset time.Duration
	// Error is chronyc's "+/-" column: the source's root distance λ
	// (= Distance).
	Error time.Duration
	// The clock filter's delay, dispersion and jitter; Distance is the
	// root distance λ; Weight the source's share in the combined offset
	// (0…1).
	Delay      time.Duration
	Dispersion time.Duration
	Jitter     time.Duration
	Distance   time.Duration
	Weight     float64
	// Polls (requests sent) and Timeouts (requests unanswered at the next
	// poll) come from the poller; PollsKnown is false when it did not
	// answer in time (or for sources without polls).
	Polls      uint64
	Timeouts   uint64
	PollsKnown bool
	// Replies counts the source's replies by what the client did with
	// them (ReplyCount.Verdict: accepted, malformed, bogus_origin,
	// kod_rate, unsynchronised, …; every verdict the poller knows, in its
	// order), with the poll counters (nil when not PollsKnown).
	Replies []ReplyCount
}

// ReplyCount is how many of a source's replies got one verdict (a stable
// snake_case name) since start.
type ReplyCount struct {
	Verdict string
	Count   uint64
}

// SourceStats is one row of chronyc sourcestats: the regression over the
// source's recent samples (the engine keeps 16).
type SourceStats struct {
	ID   string
	Addr netip.Addr
	// Samples is the number of samples in the history (chronyc NP).
	Samples int
	// Fitted is true when the regression was computed (3 samples or more);
	// the four fields after Span are 0 otherwise.
	Fitted bool
	// Runs (chronyc NR) and Span are not computed: the engine's Status
	// snapshot keeps only the regression's results. Always 0.
	Runs int
	Span time.Duration
	// ResidFreqPPB is the rate of change of reference − local beyond the
	// correction in force, SkewPPB its standard error; Offset the offset
	// (reference − local) the regression gives for the snapshot time,
	// StdDev the residuals' standard deviation.
	ResidFreqPPB float64
	SkewPPB      float64
	Offset       time.Duration
	StdDev       time.Duration
}

// SelectOptions are a source's selection options (chrony's server options
// of the same names; selectdata's COpts/EOpts columns N P T R).
type SelectOptions struct {
	NoSelect, Prefer, Trust, Require bool
}

// SelectData is one row of chronyc selectdata.
type SelectData struct {
	ID   string
	Addr netip.Addr
	// StateChar is chronyc selectdata's state letter: '*' selected, '+'
	// combined, else the letter of the reason ('N' noselect, 'r'
	// unreachable, 's' unsynchronised or stratum, 'd' distance, '~'
	// jitter, 'x' falseticker, 'w' waiting for sources, 'P' not
	// preferred, 'O' outlier, 'D' distant, 'L' loop, '-' selectable).
	StateChar byte
	State     SourceState
	Reason    string
	// Authenticated: the source's packets are authenticated (never
	// today: no NTS or keys for upstream servers).
	Authenticated bool
	// Leap the source announces.
	Leap clock.Leap
	// Options as configured and in effect (the same today: nothing
	// changes them at run time).
	Options          SelectOptions
	EffectiveOptions SelectOptions
	// LastSampleAgo is how long before the report the latest sample was
	// taken; it means nothing when Sampled is false.
	LastSampleAgo time.Duration
	Sampled       bool
	// chrony's score (its reselection hysteresis) is not kept; Distance
	// (root distance λ) and Weight are what selection ranks by.
	Distance time.Duration
	Weight   float64
	// Lo and Hi are the source's correctness interval, Offset ∓ Distance
	// (reference − local).
	Lo, Hi time.Duration
}

// DriverStats are the discipline loop's own counters (source.Runner).
type DriverStats struct {
	// Samples handed to the engine.
	Samples uint64
	// Dropped: samples lost because the queue to the discipline goroutine
	// was full.
	Dropped uint64
	// Straddled: samples discarded because they were taken across a step
	// of the clock.
	Straddled uint64
	// Restarts of all associations after steps.
	Restarts uint64
}
