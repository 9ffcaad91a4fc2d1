package upstream

import (
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// source is one upstream server association. Every field is owned by
// Run's goroutine.
type source struct {
	id   string
	cfg  ServerConfig
	host string // IP literal or name from cfg.Address
	port uint16
	core *client.Source

	addr       netip.AddrPort // resolved address; invalid until then
	resolveErr string         // last resolution failure ("" if none)
	dupOf      string         // id of the source already using addr
	attachErr  string         // why no socket could be opened for addr
	k          *sock          // socket of addr's family; nil until attached

	req [client.RequestLen]byte // request built by Poll

	// Outstanding request: TXID of its datagram, the daemon time read just
	// before sendmmsg (fallback T1) and, once the error queue delivered
	// it, the kernel TX stamp converted to the served clock.
	txPending bool
	txID      uint32
	txDaemon  time.Time
	txStamp   time.Time
	txKind    hwts.Kind

	last        snapshot // what OnState/OnSample last reported
	wasReach    bool     // reach register non-zero at the last report
	everReach   bool
	warnedNever bool // "not reachable yet" logged
	wasDemob    bool
	// restarted: Restart emptied the reach register; until the next
	// reply (or unreachPolls more timeouts) that is no news to log.
	restarted       bool
	restartTimeouts uint64
	// warnedAt: when each rejection verdict was last logged at Warn, and
	// warnedCount: the verdict's count then (rejectWarnEvery bounds the
	// lines per source and verdict).
	warnedAt    [client.NumVerdicts]time.Time
	warnedCount [client.NumVerdicts]uint64
	ctr         counters
}

// active reports whether the source is attached to a socket and polling.
func (s *source) active() bool {
	return s.k != nil && s.core.State() == client.StateActive
}

// counters are the shell's per-source counts (the core keeps its own:
// sent, timeouts, verdicts).
type counters struct {
	// t1 and t4 count the timestamp kinds behind accepted samples: the
	// request's transmit time (kernel TX stamp or daemon reading) and the
	// reply's receive time.
	t1, t4     [hwts.NumKinds]uint64
	sendErrors uint64
	clockSteps uint64 // polls forced because the served clock went back
}

// snapshot is the part of an Estimate whose change is reported through
// Sink.OnState.
type snapshot struct {
	usable         bool
	reach          uint8
	poll           int8
	state          client.State
	leap           clock.Leap
	stratum        uint8
	refID          uint32
	rootDelay      time.Duration
	rootDispersion time.Duration
	samples        int
}

func snapshotOf(e *client.Estimate) snapshot {
	return snapshot{
		usable: e.Usable, reach: e.Reach, poll: e.Poll, state: e.State,
		leap: e.Leap, stratum: e.Stratum, refID: e.RefID,
		rootDelay: e.RootDelay, rootDispersion: e.RootDispersion, samples: e.Samples,
	}
}

// Age returns e re-evaluated from time from to time to (both local, on the
// served clock): the dispersion grows at PHI = 15 ppm of the elapsed time,
// exactly as the core's clock filter computes it (every stage ages at the
// same rate and the weights are normalised). Engines that cache the
// Estimates from the Sink (see Cache) use it to evaluate them at selection
// time. When the dispersion reaches filter.MaxDispersion (after about 12
// days without a sample) the estimate becomes unusable, as the core's
// would. Nothing else changes; to earlier than from returns e unchanged.
func Age(e client.Estimate, from, to time.Time) client.Estimate {
	d := to.Sub(from)
	if d <= 0 {
		return e
	}
	e.Dispersion += time.Duration(filter.PHI * float64(d))
	if e.Dispersion >= filter.MaxDispersion {
		return client.Estimate{
			Dispersion: filter.MaxDispersion,
			Leap:       e.Leap, Stratum: e.Stratum, RefID: e.RefID,
			RootDelay: e.RootDelay, RootDispersion: e.RootDispersion,
			Precision: e.Precision, Reference: e.Reference,
			Reach: e.Reach, Poll: e.Poll, State: e.State,
		}
	}
	return e
}
