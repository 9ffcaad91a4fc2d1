package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// Errors of the control methods.
var (
	// ErrUnknownSource: no configured server has that ID.
	ErrUnknownSource = errors.New("upstream: unknown source")
	// ErrBusy: the control queue is full; try again later.
	ErrBusy = errors.New("upstream: control queue full")
	// ErrStopped: Run has returned.
	ErrStopped = errors.New("upstream: not running")
)

// SourceStatus is one source as Status reports it (chronyc sources,
// sourcestats and ntpdata material).
type SourceStatus struct {
	ID      string
	Address string         // as configured
	Addr    netip.AddrPort // resolved address; invalid until resolved
	// ResolveError is the last resolution failure ("" if none).
	ResolveError string
	// DuplicateOf names the source already polling the same address
	// (this one is then not polled).
	DuplicateOf string
	// SocketError says why the source is not polled although resolved
	// (its address family's socket could not be opened).
	SocketError string
	Config      ServerConfig
	// Estimate evaluated at the time of the Status call.
	Estimate client.Estimate
	KissCode string
	// Stats are the core's counters: requests sent, timeouts (requests
	// still unanswered at the next poll) and replies by verdict.
	Stats client.Stats
	// T1Kinds and T4Kinds count the timestamp kinds behind accepted
	// samples: T1 a kernel TX stamp or the daemon reading before the send,
	// T4 a kernel RX stamp or a daemon reading after the receive.
	T1Kinds, T4Kinds [hwts.NumKinds]uint64
	SendErrors       uint64
	// ClockSteps counts polls forced because the served clock went back.
	ClockSteps uint64
}

// Status is the state of the whole Upstream.
type Status struct {
	Sources []SourceStatus
	// UnknownReplies counts datagrams from addresses of no source.
	UnknownReplies uint64
	// TXUnmatched counts TX stamps of no outstanding request;
	// ReceiveErrors counts failed receive or error-queue reads.
	TXUnmatched, ReceiveErrors uint64
	// Sockets lists the timestamping each open socket obtained.
	Sockets []SocketStatus
}

// SocketStatus describes one client socket.
type SocketStatus struct {
	Family string
	Local  netip.AddrPort
	Info   hwts.Info
}

// Status returns a snapshot, taken on Run's goroutine. It blocks until Run
// serves it or ctx ends; before Run starts the request waits in the queue.
func (u *Upstream) Status(ctx context.Context) (*Status, error) {
	res := make(chan *Status, 1)
	err := u.do(func() {
		now := u.clk.Now()
		st := &Status{UnknownReplies: u.unknown}
		for _, s := range u.srcs {
			cs := s.core.Stats()
			st.Sources = append(st.Sources, SourceStatus{
				ID: s.id, Address: s.cfg.Address, Addr: s.addr, ResolveError: s.resolveErr,
				DuplicateOf: s.dupOf, SocketError: s.attachErr, Config: s.cfg, Estimate: s.core.Estimate(now),
				KissCode: s.core.KissCode(), Stats: cs,
				T1Kinds: s.ctr.t1, T4Kinds: s.ctr.t4,
				SendErrors: s.ctr.sendErrors, ClockSteps: s.ctr.clockSteps,
			})
		}
		for _, k := range u.socks {
			if k == nil {
				continue
			}
			st.TXUnmatched += k.txUnmatched
			st.ReceiveErrors += k.readErrs.Load()
			st.Sockets = append(st.Sockets, SocketStatus{Family: k.family, Local: k.conn.LocalAddr(), Info: k.conn.Info()})
		}
		res <- st
	})
	if err != nil {
		return nil, err
	}
	select {
	case st := <-res:
		return st, nil
	case <-u.done:
		// Run ended; the request may have run just before.
		select {
		case st := <-res:
			return st, nil
		default:
			return nil, ErrStopped
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// SetPoll asks the source's core to use poll exponent poll (clamped to
// its limits; a shorter interval brings the next poll forward). It is
// asynchronous: it returns once the request is queued.
func (u *Upstream) SetPoll(id string, poll int8) error {
	return u.onSource(id, func(s *source) { s.core.SetPoll(poll) })
}

// Burst asks the source to send n requests BurstInterval apart, starting
// now (chronyc burst). Asynchronous.
func (u *Upstream) Burst(id string, n int) error {
	if n <= 0 || n > 64 {
		return fmt.Errorf("upstream: burst %d: want 1..64", n)
	}
	return u.onSource(id, func(s *source) { s.core.Burst(n) })
}

// Restart returns the source's association to its initial state: empty
// clock filter, poll at MinPoll, iburst re-armed, a DENY/RSTR
// demobilisation lifted (chronyc online after a kiss). Asynchronous.
func (u *Upstream) Restart(id string) error {
	return u.onSource(id, u.restart)
}

// RestartAll restarts every source: the engine's ResetSamples after a leap
// second, when every stored sample is on the old timescale. Asynchronous.
func (u *Upstream) RestartAll() error {
	return u.do(func() {
		for _, s := range u.srcs {
			u.restart(s)
		}
	})
}

func (u *Upstream) restart(s *source) {
	s.core.Restart()
	s.txPending, s.wasDemob = false, false
	// The emptied reach register is not the server going away: no
	// "unreachable" line unless it stays silent (noteTransitions).
	s.restarted, s.restartTimeouts = true, s.core.Stats().Timeouts
}

func (u *Upstream) onSource(id string, f func(*source)) error {
	for _, s := range u.srcs {
		if s.id == id {
			return u.do(func() { f(s) })
		}
	}
	return fmt.Errorf("%w %q", ErrUnknownSource, id)
}

// do queues f to run on Run's goroutine without blocking.
func (u *Upstream) do(f func()) error {
	select {
	case <-u.done:
		return ErrStopped
	default:
	}
	select {
	case u.ctrl <- f:
		return nil
	default:
		return ErrBusy
	}
}
