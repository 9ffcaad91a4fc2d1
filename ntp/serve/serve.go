package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
)

// Config configures a Service.
type Config struct {
	// Listen holds the addresses to serve on (port 0 = one ephemeral port
	// per address, shared by all workers).
	Listen []netip.AddrPort
	// Optional holds addresses served only when they can be bound; a
	// failure to bind one is logged as a warning and the address skipped.
	Optional []netip.AddrPort
	// Interface binds the sockets to one interface ("" = any).
	Interface string
	// Workers is the number of sockets (and goroutines) per listen address,
	// at least 1.
	Workers int
	// Timestamping is the hwts timestamp mode.
	Timestamping hwts.Mode
	// DSCP of replies (0–63).
	DSCP uint8
	// BatchSize is the number of datagrams per system call (0 = hwts
	// default, 32).
	BatchSize int
	// RecvBuffer is the receive buffer per socket in bytes: 0 means
	// DefaultRecvBuffer, -1 the system default (net.core.rmem_default).
	// hwts asks with SO_RCVBUFFORCE (CAP_NET_ADMIN) and falls back to
	// SO_RCVBUF, which the kernel caps at net.core.rmem_max; the size asked
	// and the size granted (doubled by the kernel) are in Socket.Info
	// (RecvBufferRequested, RecvBuffer) and the start-up log.
	RecvBuffer int
	// Netpoller parks the workers in Go's netpoller (non-blocking sockets,
	// the design before issue 13) instead of the default: each worker on
	// its own locked OS thread, asleep in recvmmsg on a blocking socket
	// (hwts.Config.BlockingRead; see "NTP workers" in
	// docs/architecture.md). Kept for comparison and as an escape hatch.
	Netpoller bool

	// Server decides the replies; Clock is the served clock; State holds
	// the current SyncState (a nil state answers unsynchronised).
	Server *ntp.Server
	Clock  clock.Served
	State  *clock.StateCell
	// HWClock maps NIC hardware timestamps (raw time of the PHC with the
	// socket's hwts.Info.PHCIndex) to CLOCK_REALTIME, from where the served
	// clock takes them. nil: hardware stamps are not used, the kernel
	// software stamp delivered with each is. It is called on the packet
	// path and must not block or allocate.
	HWClock HWClock
	// Logger receives start-up and error messages (nil = discard), never
	// one per packet.
	Logger *slog.Logger
}

// HWClock maps PHC time to CLOCK_REALTIME (phc.Translators does it from
// cross-timestamps). ok is false when it cannot: no such PHC or no fresh
// measurement.
type HWClock interface {
	ToRealtime(phcIndex int, t time.Time) (time.Time, bool)
}

// Validate reports every problem in c.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Listen) == 0 {
		errs = append(errs, errors.New("serve: listen: no address"))
	}
	for i, a := range c.Listen {
		if !a.IsValid() {
			errs = append(errs, fmt.Errorf("serve: listen[%d] %s: invalid", i, a))
		}
	}
	for i, a := range c.Optional {
		if !a.IsValid() || a.Port() == 0 {
			errs = append(errs, fmt.Errorf("serve: optional[%d] %s: invalid (needs a port)", i, a))
		}
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("serve: workers %d: want ≥ 1", c.Workers))
	}
	if c.DSCP > 63 {
		errs = append(errs, fmt.Errorf("serve: dscp %d: want 0 … 63", c.DSCP))
	}
	if c.RecvBuffer < -1 {
		errs = append(errs, fmt.Errorf("serve: recv_buffer %d: want -1 (system default), 0 (%d) or a size in bytes", c.RecvBuffer, DefaultRecvBuffer))
	}
	if c.BatchSize < 0 || c.BatchSize > hwts.MaxBatchSize {
		errs = append(errs, fmt.Errorf("serve: batch_size %d: want 0 … %d", c.BatchSize, hwts.MaxBatchSize))
	}
	if c.Server == nil {
		errs = append(errs, errors.New("serve: server: nil"))
	}
	if c.Clock == nil {
		errs = append(errs, errors.New("serve: clock: nil"))
	}
	if c.State == nil {
		errs = append(errs, errors.New("serve: state: nil"))
	}
	return errors.Join(errs...)
}

// DefaultRecvBuffer is the receive buffer a worker socket asks for when
// Config.RecvBuffer is 0: 4 MiB, room for about 4,000 queued requests (a
// 48-byte datagram costs about 1 KiB of buffer), i.e. 40 ms at 100,000
// requests/s. The system default (212,992 bytes on most Linux systems,
// about 200 requests) overflows when a request burst meets a worker that
// was descheduled for a few milliseconds, well below CPU saturation.
// Linux doubles the value it stores; without CAP_NET_ADMIN it caps the
// request at net.core.rmem_max.
const DefaultRecvBuffer = 4 << 20

// Socket describes one open worker socket, for logs and status.
type Socket struct {
	Addr   netip.AddrPort // bound address
	Worker int
	Info   hwts.Info
}

// Service runs the NTP worker goroutines.
type Service struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex // guards the open/closed state below (never on the packet path)
	opened  bool
	closed  bool
	conns   []packetConn
	workers []*worker
	sockets []Socket

	running atomic.Bool
}

// New validates cfg and returns a Service. It opens nothing.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{cfg: cfg, log: log}, nil
}

// Open binds every worker socket. For a listen address with port 0 the
// first socket gets an ephemeral port and the others share it. On error
// every socket opened so far is closed. Run calls Open if it was not called.
func (s *Service) Open(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opened {
		return nil
	}
	if s.closed {
		return errors.New("serve: closed")
	}
	batch := s.cfg.BatchSize
	if batch == 0 {
		batch = hwts.DefaultBatchSize
	}
	var conns []packetConn
	var workers []*worker
	var sockets []Socket
	fail := func(err error) error {
		for _, c := range conns {
			c.Close()
		}
		return err
	}
	add := func(c []packetConn, w []*worker, so []Socket) {
		conns, workers, sockets = append(conns, c...), append(workers, w...), append(sockets, so...)
	}
	for _, addr := range s.cfg.Listen {
		c, w, so, err := s.openAddr(ctx, addr, batch)
		if err != nil {
			return fail(err)
		}
		add(c, w, so)
	}
	for _, addr := range s.cfg.Optional {
		c, w, so, err := s.openAddr(ctx, addr, batch)
		if err != nil {
			s.log.Warn("not serving an optional address", "addr", addr.String(), "error", err.Error())
			continue
		}
		add(c, w, so)
	}
	s.conns, s.workers, s.sockets = conns, workers, sockets
	s.opened = true
	return nil
}

// openAddr binds the worker sockets of one listen address. For port 0 the
// first socket gets an ephemeral port and the others share it. On error the
// sockets it opened are closed.
func (s *Service) openAddr(ctx context.Context, addr netip.AddrPort, batch int) ([]packetConn, []*worker, []Socket, error) {
	if err := probeFree(addr); err != nil {
		return nil, nil, nil, fmt.Errorf("serve: open %s: %w", addr, err)
	}
	var conns []packetConn
	var workers []*worker
	var sockets []Socket
	fail := func(err error) ([]packetConn, []*worker, []Socket, error) {
		for _, c := range conns {
			c.Close()
		}
		return nil, nil, nil, err
	}
	rcvbuf := s.cfg.RecvBuffer
	switch rcvbuf {
	case 0:
		rcvbuf = DefaultRecvBuffer
	case -1:
		rcvbuf = 0 // hwts: leave the system default
	}
	bind := addr
	for wi := range s.cfg.Workers {
		c, err := hwts.Listen(ctx, hwts.Config{
			Addr:         bind,
			Interface:    s.cfg.Interface,
			ReusePort:    true,
			DSCP:         s.cfg.DSCP,
			RecvBuffer:   rcvbuf,
			Timestamping: s.cfg.Timestamping,
			TXOnDemand:   true, // stamp only replies interleaved mode can use (ntp.Server.WantsTX)
			BlockingRead: !s.cfg.Netpoller,
			BatchSize:    batch,
			Now:          s.cfg.Clock.Now,
			Logger:       s.workerLogger(wi),
		})
		if err != nil {
			return fail(fmt.Errorf("serve: open %s (worker %d): %w", addr, wi, err))
		}
		conns = append(conns, c)
		bound, err := boundAddr(c.LocalAddr(), addr)
		if err != nil {
			return fail(fmt.Errorf("serve: open %s: %w", addr, err))
		}
		bind = bound // later workers share the (possibly ephemeral) port
		info := c.Info()
		w := newWorker(c, s.cfg.Server, s.cfg.Clock, s.cfg.State, batch, info.TX)
		if info.PHCIndex >= 0 {
			w.hw, w.phc = s.cfg.HWClock, info.PHCIndex
		}
		workers = append(workers, w)
		sockets = append(sockets, Socket{Addr: bound, Worker: wi, Info: info})
	}
	return conns, workers, sockets, nil
}

// probeFree checks that nobody holds addr. The worker sockets use
// SO_REUSEPORT, which would let a second gnomond (same user) share the port
// silently and split the clients between the two; a probe bind without it
// fails if any socket is bound there.
func probeFree(addr netip.AddrPort) error {
	if addr.Port() == 0 {
		return nil
	}
	// udp6 makes Go set IPV6_V6ONLY, like hwts does: a probe of [::]:123
	// must not collide with our own 0.0.0.0:123 sockets.
	network := "udp4"
	if addr.Addr().Is6() {
		network = "udp6"
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return fmt.Errorf("address in use or unavailable: %w", err)
	}
	return c.Close()
}

// workerLogger logs only the first worker's socket set-up at Info; the
// others would repeat it.
func (s *Service) workerLogger(wi int) *slog.Logger {
	if wi == 0 {
		return s.log
	}
	return nil
}

// boundAddr returns the address a socket is bound to: the configured
// address (with its zone) and the socket's port (the kernel's choice when
// the configured port was 0).
func boundAddr(local, want netip.AddrPort) (netip.AddrPort, error) {
	if !local.IsValid() || local.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("unexpected local address %v", local)
	}
	return netip.AddrPortFrom(want.Addr(), local.Port()), nil
}

// Addrs returns the bound address of each listen address (with the actual
// port when the configured one was 0), in configuration order. Empty before
// Open.
func (s *Service) Addrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.AddrPort
	for _, so := range s.sockets {
		if so.Worker == 0 {
			out = append(out, so.Addr)
		}
	}
	return out
}

// BlockingWorkers is the number of workers that sleep in the kernel with a
// blocking socket (all of them unless Config.Netpoller). Each holds a P of
// the Go scheduler while it sleeps; unless as many Ps are idle besides, the
// runtime takes the P back after 20 µs, which costs wake-ups and latency
// (see "NTP workers" in docs/architecture.md), so the daemon raises
// GOMAXPROCS by this number. 0 before Open.
func (s *Service) BlockingWorkers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Netpoller {
		return 0
	}
	return len(s.workers)
}

// Sockets describes every open socket. Empty before Open.
func (s *Service) Sockets() []Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Socket(nil), s.sockets...)
}

// Run opens the sockets (if Open was not called) and serves until ctx ends,
// then closes the sockets and returns nil once every worker has stopped. A
// worker whose socket fails for another reason ends Run with that error.
// Run may be called once.
func (s *Service) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("serve: Run called twice")
	}
	if err := s.Open(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	workers := s.workers
	s.mu.Unlock()

	g, gctx := errgroup.WithContext(ctx)
	for i, w := range workers {
		g.Go(func() error { return s.loop(gctx, i, w) })
	}
	// Closing the sockets unblocks workers parked in ReadBatch.
	g.Go(func() error {
		<-gctx.Done()
		s.close()
		return nil
	})
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// maxErrorBurst is how many consecutive receive errors a worker tolerates
// before pausing; errorPause is the pause. Receive errors are usually ICMP
// errors reported on the socket (a client gone away) and do not repeat.
const (
	maxErrorBurst = 100
	errorPause    = 10 * time.Millisecond
)

// yieldEvery is how often a worker with a blocking socket yields its P
// (runtime.Gosched) while it keeps serving. The scheduler counts a
// goroutine that has not been rescheduled for 10 ms as a CPU hog: the
// runtime's sysmon thread then signals it, takes its P away in the middle of
// its system call and polls every 20 µs for a while; a blocking recvmmsg
// never reschedules the goroutine by itself. Yielding more often than that
// costs one wake-up of an idle thread per period instead.
const yieldEvery = 4 * time.Millisecond

// loop runs one worker until its socket is closed.
func (s *Service) loop(ctx context.Context, i int, w *worker) error {
	burst := 0
	var lastErr string
	lastYield := time.Now()
	for {
		err := w.step()
		if !s.cfg.Netpoller {
			if now := time.Now(); now.Sub(lastYield) >= yieldEvery {
				runtime.Gosched()
				lastYield = now
			}
		}
		if err == nil {
			burst = 0
			continue
		}
		if errClosed(err) || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("serve: worker %d: socket closed: %w", i, err)
		}
		burst++
		if msg := err.Error(); msg != lastErr {
			// Logged once per distinct error text, not per packet.
			s.log.Debug("ntp receive error", "worker", i, "error", msg)
			lastErr = msg
		}
		if burst >= maxErrorBurst {
			s.log.Warn("ntp receive keeps failing, pausing", "worker", i, "error", err.Error(),
				"pause", errorPause.String())
			burst = 0
			t := time.NewTimer(errorPause)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
	}
}

// Close closes the sockets of a Service that was opened but will not Run
// (Run closes them itself when its context ends).
func (s *Service) Close() error {
	s.close()
	return nil
}

// close closes every socket once.
func (s *Service) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, c := range s.conns {
		c.Close()
	}
}

// Stats sums the counters of every worker into a fresh snapshot. It is safe
// to call at any time from any goroutine; it takes the open/close mutex,
// which the packet path never does.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	workers := s.workers
	s.mu.Unlock()
	var st Stats
	for _, w := range workers {
		w.ctr.addTo(&st)
		addNTS(w.nts, &st)
		st.KernelDrops += uint64(w.conn.Drops())
	}
	return st
}
