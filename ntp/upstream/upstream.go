package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// Sink receives what the sources learn. The engine implements it. Both
// methods are called on Run's goroutine, in order, and must not block:
// forward to the engine's goroutine through a buffered channel or a
// lock-free structure, and never call back into the Upstream from them.
// The Estimates are values (the cores themselves stay private to Run).
type Sink interface {
	// OnSample reports an accepted reply: the new sample (offset =
	// reference − local, local receive time s.Time on the served clock)
	// and the source's estimate evaluated at s.Time, just after the sample
	// entered the clock filter.
	OnSample(id string, s filter.Sample, e client.Estimate)
	// OnState reports a change of the source without a new sample: the
	// estimate evaluated at local time at (served clock). It is called
	// when any of Usable, Reach, Poll, State, Leap, Stratum, RefID,
	// RootDelay, RootDispersion or Samples changed since the last report:
	// after a poll (the reachability register shifts, a missed poll may
	// push a dummy filter stage), a kiss-o'-death, or a reply that was
	// not accepted but updated the header (unsynchronised server).
	OnState(id string, at time.Time, e client.Estimate)
}

// Upstream polls the configured servers. Build it with New and call Run
// once.
type Upstream struct {
	cfg  Config
	clk  clock.Served
	sink Sink
	log  *slog.Logger

	srcs   []*source
	byAddr map[netip.AddrPort]*source // resolved sources; owned by Run
	socks  [2]*sock                   // IPv4, IPv6; opened on demand by Run

	ready    chan rxBatch    // reader → owner: a batch is in sock.rx
	resolved chan resolution // resolver → owner
	ctrl     chan func()     // control requests run on the owner
	running  atomic.Bool
	timer    *time.Timer
	g        *errgroup.Group
	gctx     context.Context
	unknown  uint64        // datagrams from addresses of no source
	done     chan struct{} // closed when Run's owner loop has ended
}

// New validates cfg and builds an Upstream. It does no I/O. A nil logger
// discards; a nil sink discards events.
func New(cfg Config, clk clock.Served, sink Sink, logger *slog.Logger) (*Upstream, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clk == nil {
		return nil, errors.New("upstream: nil clock")
	}
	if sink == nil {
		sink = nopSink{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	u := &Upstream{
		cfg: cfg, clk: clk, sink: sink, log: logger,
		byAddr:   make(map[netip.AddrPort]*source, len(cfg.Servers)),
		ready:    make(chan rxBatch),
		resolved: make(chan resolution, len(cfg.Servers)),
		ctrl:     make(chan func(), ctrlQueue),
		done:     make(chan struct{}),
	}
	for i := range cfg.Servers {
		sc := cfg.Servers[i]
		core, err := client.New(sc.clientConfig(&cfg))
		if err != nil { // Validate already checked; keep the error path honest
			return nil, fmt.Errorf("upstream: %s: %w", sc.ID(), err)
		}
		host, port, _ := splitAddress(sc.Address)
		u.srcs = append(u.srcs, &source{id: sc.ID(), cfg: sc, host: host, port: port, core: core})
	}
	return u, nil
}

// ctrlQueue bounds pending control requests.
const ctrlQueue = 64

type nopSink struct{}

func (nopSink) OnSample(string, filter.Sample, client.Estimate) {}
func (nopSink) OnState(string, time.Time, client.Estimate)      {}

// maxWait bounds one sleep of the owner loop, so that a served clock that
// was stepped back cannot park the loop for long.
const maxWait = 10 * time.Second

// Run resolves the servers, opens the sockets and polls until ctx is
// done; it then closes the sockets and returns nil. A server whose socket
// cannot be opened (say IPv6 on a host without it) is logged and skipped;
// Run fails only if servers resolved and none could be polled. Call it
// once.
func (u *Upstream) Run(ctx context.Context) error {
	if !u.running.CompareAndSwap(false, true) {
		return errors.New("upstream: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	u.g, u.gctx = g, gctx
	u.timer = time.NewTimer(time.Hour)
	defer u.timer.Stop()

	u.resolveAll(gctx)
	var err error
	tried, attached := 0, 0
	for _, s := range u.srcs {
		if !s.addr.IsValid() {
			continue
		}
		tried++
		if aerr := u.attach(gctx, s); aerr != nil {
			// One family may be unavailable (no IPv6): go on with the rest.
			s.attachErr = aerr.Error()
			u.log.Error("upstream source not polled", "source", s.id, "addr", s.addr.String(), "error", aerr)
			err = errors.Join(err, aerr)
			continue
		}
		attached++
	}
	if tried > 0 && attached == 0 {
		// Nothing can work (e.g. hwts.ErrUnsupported on this platform).
		err = fmt.Errorf("upstream: no server could be polled: %w", err)
	} else {
		// Partial failures are logged and in Status; carry on.
		u.log.Info("upstream polling", "sources", len(u.srcs), "attached", attached)
		err = u.loop(gctx)
	}
	close(u.done)
	cancel() // stop resolvers; readers stop when their socket closes
	for _, k := range u.socks {
		if k != nil {
			k.conn.Close()
		}
	}
	if gerr := g.Wait(); err == nil {
		err = gerr
	}
	return err
}

// loop is the owner: it alone touches the cores, the sockets' write side
// and error queue, and the sources' bookkeeping.
func (u *Upstream) loop(ctx context.Context) error {
	for {
		u.armTimer()
		select {
		case <-ctx.Done():
			return nil
		case <-u.timer.C:
			u.pollDue()
		case b := <-u.ready:
			u.handleBatch(b.k, b.n)
			b.k.ack <- struct{}{}
		case r := <-u.resolved:
			u.applyResolution(ctx, r)
		case f := <-u.ctrl:
			f()
			u.pollDue() // a control request may make a poll due now
		}
	}
}

// armTimer sets the timer to the earliest poll, at most maxWait away.
func (u *Upstream) armTimer() {
	now := u.clk.Now()
	wait := maxWait
	for _, s := range u.srcs {
		if !s.active() {
			continue
		}
		next := s.core.NextPoll()
		if next.IsZero() {
			wait = 0
			break
		}
		wait = min(wait, max(0, next.Sub(now)))
	}
	u.timer.Reset(wait)
}

// pollDue sends the requests that are due, one batch per socket.
func (u *Upstream) pollDue() {
	now := u.clk.Now()
	for _, s := range u.srcs {
		if !s.active() {
			continue
		}
		if next := s.core.NextPoll(); !next.IsZero() && next.Sub(now) > pollInterval(s.core.PollExponent())+client.BurstInterval {
			// The served clock went back (a step): the next poll lies
			// further ahead than any schedule puts it. Poll now.
			s.core.Burst(1)
			s.ctr.clockSteps++
		}
		send, _ := s.core.Poll(now, &s.req)
		if send {
			u.queue(s.k, s)
		}
		u.reportState(s, now)
	}
	for _, k := range u.socks {
		if k != nil && k.nout > 0 {
			u.flush(k)
		}
	}
}

// pollInterval is 2^poll s.
func pollInterval(p int8) time.Duration {
	if p >= 0 {
		return time.Second << min(p, 30)
	}
	return time.Second >> min(-p, 30)
}

// handleBatch processes n replies that sock k received.
func (u *Upstream) handleBatch(k *sock, n int) {
	for i := range n {
		m := &k.rx[i]
		s := u.byAddr[m.Addr]
		if s == nil || s.k != k {
			u.unknown++
			continue
		}
		if s.txPending && s.txStamp.IsZero() {
			// The TX stamp of the request may still be on the error queue
			// (it normally arrives before sendmmsg returns).
			u.drainTX(k)
		}
		rx := u.receiveTime(s, m)
		tx := s.txStamp
		if tx.IsZero() {
			tx = s.txDaemon // may be zero too: the core then uses its Poll time
		}
		pollBefore := s.core.PollExponent()
		smp, v := s.core.HandleReply(m.Buf[:m.N], rx, tx)
		if v == client.Accepted {
			s.txPending = false
			if s.txStamp.IsZero() {
				s.ctr.t1[hwts.KindDaemon]++
			} else {
				s.ctr.t1[s.txKind]++
			}
			s.ctr.t4[m.RX.Kind]++
			e := s.core.Estimate(smp.Time)
			s.last = snapshotOf(&e)
			u.sink.OnSample(s.id, smp, e)
			u.noteTransitions(s, &e)
			continue
		}
		if v == client.KoDRate || v == client.KoDDeny || v == client.KoDOther || v == client.Unsynchronised {
			s.txPending = false
		}
		u.logVerdict(s, v, pollBefore)
		u.reportState(s, rx)
	}
}

// receiveTime converts the receive stamp of m to the served clock.
func (u *Upstream) receiveTime(s *source, m *hwts.Message) time.Time {
	switch m.RX.Kind {
	case hwts.KindKernel:
		return u.clk.FromRealtime(m.RX.Time)
	case hwts.KindDaemon:
		// hwts reads daemon stamps with Config.Now, which is the served
		// clock (see openSock): already on the served timescale.
		return m.RX.Time
	}
	return u.clk.Now()
}

// reportState calls OnState if the source's state changed.
func (u *Upstream) reportState(s *source, at time.Time) {
	e := s.core.Estimate(at)
	snap := snapshotOf(&e)
	if snap == s.last {
		return
	}
	s.last = snap
	u.sink.OnState(s.id, at, e)
	u.noteTransitions(s, &e)
}

// noteTransitions logs the changes worth an Info line: reachable,
// unreachable, poll floor raised by RATE, demobilised.
func (u *Upstream) noteTransitions(s *source, e *client.Estimate) {
	reach := e.Reach != 0
	if reach {
		s.restarted = false
	} else if s.restarted && s.core.Stats().Timeouts-s.restartTimeouts < restartQuietPolls {
		// Restarted (after a clock step) and not yet answered: the
		// register was emptied by the restart, not by timeouts.
		return
	}
	if reach != s.wasReach {
		s.wasReach, s.everReach = reach, s.everReach || reach
		if reach {
			u.log.Info("upstream source reachable", "source", s.id, "addr", s.addr.String(),
				"stratum", e.Stratum, "poll", e.Poll)
		} else {
			st := s.core.Stats()
			u.log.Warn("upstream source unreachable", "source", s.id, "addr", s.addr.String(),
				"timeouts", st.Timeouts, "poll", e.Poll)
		}
	}
	if !s.everReach && !s.warnedNever && s.core.Stats().Timeouts >= 8 {
		s.warnedNever = true
		u.log.Warn("upstream source not reachable yet", "source", s.id, "addr", s.addr.String(),
			"timeouts", s.core.Stats().Timeouts, "poll", e.Poll)
	}
	if e.State == client.StateDemobilised && !s.wasDemob {
		s.wasDemob = true
		u.log.Warn("upstream source demobilised", "source", s.id, "addr", s.addr.String(),
			"kiss_code", s.core.KissCode())
	}
}

// logVerdict logs what is not routine at Info/Debug; nothing per packet
// above Debug except kiss-o'-death, which changes the association.
func (u *Upstream) logVerdict(s *source, v client.Verdict, pollBefore int8) {
	switch v {
	case client.KoDRate:
		if p := s.core.PollExponent(); p != pollBefore {
			u.log.Info("upstream source sent RATE: polling less often", "source", s.id,
				"poll", p, "previous_poll", pollBefore)
		} else if !u.warnRejected(s, v, "poll", p) {
			u.log.Debug("upstream source sent RATE", "source", s.id, "poll", p)
		}
	case client.KoDOther:
		if !u.warnRejected(s, v, "kiss_code", s.core.KissCode()) {
			u.log.Debug("upstream kiss-o'-death ignored", "source", s.id, "kiss_code", s.core.KissCode())
		}
	case client.Malformed, client.BadVersion, client.BadMode, client.BogusOrigin, client.BadTimestamps,
		client.Unsynchronised, client.BadHeader:
		if !u.warnRejected(s, v) {
			u.log.Debug("upstream reply not accepted", "source", s.id, "verdict", v.String())
		}
	default:
		// not_expected, duplicate (late or repeated replies: routine on
		// a lossy path), kod_deny (logged as demobilised), demobilised.
		u.log.Debug("upstream reply not accepted", "source", s.id, "verdict", v.String())
	}
}

// rejectWarnEvery bounds the Warn lines about rejected replies to one per
// source and verdict per interval; the rest go to Debug and every one is
// counted (gnomon_source_replies_total).
const rejectWarnEvery = 10 * time.Minute

// restartQuietPolls is how many unanswered polls after a Restart it takes
// before a source that has not answered since is logged unreachable.
const restartQuietPolls = 8

// warnRejected logs "upstream reply rejected" at Warn for verdict v of s
// unless it was logged less than rejectWarnEvery ago, and reports whether
// it did. count is the verdict's total, since_last how many came since
// the previous Warn line.
func (u *Upstream) warnRejected(s *source, v client.Verdict, attrs ...any) bool {
	now := u.clk.Now()
	if last := s.warnedAt[v]; !last.IsZero() && now.Sub(last) < rejectWarnEvery && now.Sub(last) > -rejectWarnEvery {
		return false
	}
	n := s.core.Stats().Verdicts[v]
	u.log.Warn("upstream reply rejected", append([]any{"source", s.id, "addr", s.addr.String(), "verdict", v.String(),
		"count", n, "since_last", n - s.warnedCount[v]}, attrs...)...)
	s.warnedAt[v], s.warnedCount[v] = now, n
	return true
}
