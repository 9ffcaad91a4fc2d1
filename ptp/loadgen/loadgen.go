package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"runtime"
	"time"

	"github.com/facebook/time/ptp/protocol"
	"golang.org/x/sys/unix"
)

const (
	// maxWait bounds one epoll wait, so that a worker sees its context's
	// end promptly.
	maxWait = 50 * time.Millisecond
	// maxStepsPerLoop and maxReadsPerSocket bound one pass of a worker's
	// loop, so that reading cannot starve sending or the reverse.
	maxStepsPerLoop   = 1024
	maxReadsPerSocket = 64
	// startSpread: clients start evenly spread over this time (or one Sync
	// period if shorter), so the server does not see all requests at once.
	startSpread = time.Second
	// stopGrace bounds a worker's loop beyond the end of sending and drain.
	stopGrace = 2 * time.Second
)

// Generator runs one load test. Build it with New, run it once with Run.
type Generator struct {
	cfg Config
	log *slog.Logger
}

// New validates cfg (after filling defaults) and returns a Generator. It
// opens nothing; Run does the I/O.
func New(cfg Config, log *slog.Logger) (*Generator, error) {
	cfg = cfg.withDefaults(runtime.GOMAXPROCS(0))
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ptp loadgen config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Generator{cfg: cfg, log: log}, nil
}

// Config returns the effective configuration (defaults filled in).
func (g *Generator) Config() Config { return g.cfg }

// ringSize is the Delay_Req ring per client: two seconds of requests (at
// least 16, a power of two), so a Delay_Resp is unmatched only when it comes
// seconds late.
func ringSize(cfg Config) int {
	n := max(int(2*cfg.SyncRate), 16)
	return 1 << bits.Len(uint(n-1))
}

// timer is one scheduled step of client idx at due.
type timer struct {
	due int64
	idx int32
}

// timerHeap is a binary min-heap by due time (typed, so that pushing and
// popping do not box timers into interfaces).
type timerHeap []timer

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	h.up(len(*h) - 1)
}

func (h *timerHeap) pop() timer {
	old := *h
	t := old[0]
	last := len(old) - 1
	old[0] = old[last]
	*h = old[:last]
	h.down(0)
	return t
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].due <= h[i].due {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (h timerHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].due < h[l].due {
			m = r
		}
		if h[i].due <= h[m].due {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h timerHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// worker is one event loop over a subset of the clients.
type worker struct {
	p       params
	clients []*client
	sched   []int64 // due time of each client's live heap entry
	fds     [][2]int
	byFd    map[int]int32
	ep      int
	timers  timerHeap
	cx      codec
	st      stats
	server  [4]byte
	dst     [2]unix.SockaddrInet4 // general, event
	cur     int                   // client whose messages are being sent
	rxBuf   []byte
	oob     []byte
	events  []unix.EpollEvent
	aio     *addrIO // address mode: shared sockets instead of fds and ep
}

// send implements sender for the client being stepped.
func (w *worker) send(event bool, b []byte, s *sent) bool {
	if w.aio != nil {
		return w.aio.queue(w, int32(w.cur), event, b, s)
	}
	k := 0
	if event {
		k = 1
	}
	err := unix.Sendto(w.fds[w.cur][k], b, unix.MSG_DONTWAIT, &w.dst[k])
	return err == nil
}

// Run runs the clients until the duration ends or ctx is cancelled, sends
// CANCEL, collects messages for the drain time and returns the result. It
// returns an error only when the sockets cannot be set up.
func (g *Generator) Run(ctx context.Context) (*Result, error) {
	cfg := g.cfg
	var base [8]byte
	if _, err := rand.Read(base[:]); err != nil {
		return nil, fmt.Errorf("random clock identity: %w", err)
	}
	idBase := binary.BigEndian.Uint64(base[:]) &^ 0xffff // low 16 bits: client index
	workers := make([]*worker, cfg.Workers)
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.close()
			}
		}
	}()
	start := time.Now().UnixNano()
	sendEnd := start + int64(cfg.Duration)
	spread := min(int64(startSpread), logPeriod(cfg.LogSync()))
	ring := ringSize(cfg)
	for i := range workers {
		w := &worker{
			p: params{
				domain: cfg.Domain, logSync: cfg.LogSync(), logAnnounce: cfg.AnnounceLog,
				grantSecs: uint32(cfg.Grant / time.Second), lateAfter: int64(cfg.LateAfter),
				grantWait: int64(cfg.GrantWait), sendEnd: sendEnd,
			},
			server: cfg.Server.Unmap().As4(),
			byFd:   map[int]int32{},
			ep:     -1,
			rxBuf:  make([]byte, rxBufLen),
			oob:    make([]byte, oobLen),
			events: make([]unix.EpollEvent, 256),
		}
		w.dst[0] = unix.SockaddrInet4{Port: int(cfg.GeneralPort), Addr: w.server}
		w.dst[1] = unix.SockaddrInet4{Port: int(cfg.EventPort), Addr: w.server}
		workers[i] = w
		if cfg.SourcePrefix.IsValid() {
			aio, err := openAddrIO(&cfg) // one worker (Validate)
			if err != nil {
				return nil, err
			}
			w.aio = aio
			continue
		}
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("worker %d: epoll: %w", i, err)
		}
		w.ep = ep
	}
	for i := range cfg.Clients {
		w := workers[i%cfg.Workers]
		idx := int32(len(w.clients))
		if w.aio == nil {
			ev, gen, err := openClient(&cfg, i)
			if err != nil {
				return nil, err
			}
			w.fds = append(w.fds, [2]int{gen, ev})
			for _, fd := range []int{gen, ev} {
				w.byFd[fd] = idx
				e := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
				if err := unix.EpollCtl(w.ep, unix.EPOLL_CTL_ADD, fd, &e); err != nil {
					return nil, fmt.Errorf("client %d: epoll add: %w", i, err)
				}
			}
		}
		id := protocol.PortIdentity{ClockIdentity: protocol.ClockIdentity(idBase | uint64(i&0xffff)), PortNumber: uint16(1 + i>>16)}
		at := start + spread*int64(i)/int64(cfg.Clients)
		phase := logPeriod(cfg.LogSync()) * int64(i) / int64(cfg.Clients)
		c := newClient(id, &w.p, at, phase, ring)
		w.clients = append(w.clients, c)
		w.sched = append(w.sched, at)
		w.timers = append(w.timers, timer{due: at, idx: idx})
	}
	for _, w := range workers {
		w.timers.init()
	}
	mode := "ports"
	if cfg.SourcePrefix.IsValid() {
		mode = "addresses"
	}
	g.log.Info("ptp load starting", "server", cfg.Server.String(), "clients", cfg.Clients, "workers", cfg.Workers,
		"mode", mode, "sync_rate_hz", cfg.SyncRate, "duration", cfg.Duration)
	cpu0 := cpuTime()
	t0 := time.Now()
	done := make(chan struct{}, len(workers))
	for _, w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			w.run(ctx, int64(cfg.Drain))
		}()
	}
	for range workers {
		<-done
	}
	wall := time.Since(t0)
	res := &Result{
		Server: cfg.Server.String(), Mode: mode, Clients: cfg.Clients, Workers: cfg.Workers, Domain: cfg.Domain,
		SyncRateHz: cfg.SyncRate, AnnounceLog: cfg.AnnounceLog, GrantS: cfg.Grant.Seconds(),
		DurationS: cfg.Duration.Seconds(), WallS: wall.Seconds(), LateAfterMS: float64(cfg.LateAfter) / 1e6,
		Interrupted: ctx.Err() != nil,
	}
	if cpu := cpuTime(); cpu > 0 && cpu0 > 0 && wall > 0 {
		res.CPUPct = 100 * float64(cpu-cpu0) / float64(wall)
	}
	for _, w := range workers {
		res.add(&w.st)
	}
	res.finish()
	g.log.Info("ptp load finished", "sync_pct", res.Sync.Pct, "follow_up_pct", res.FollowUp.Pct,
		"delay_resp_pct", res.DelayResp.Pct, "announce_pct", res.Announce.Pct)
	return res, nil
}

func (w *worker) close() {
	if w.aio != nil {
		w.aio.close()
	}
	for _, f := range w.fds {
		unix.Close(f[0])
		unix.Close(f[1])
	}
	if w.ep >= 0 {
		unix.Close(w.ep)
	}
}

func now() int64 { return time.Now().UnixNano() }

// run is the worker's loop: step due clients, wait for messages until the
// next step is due, read them. After sending has ended (every client has
// sent its CANCEL) it reads for drain more, then closes the books.
func (w *worker) run(ctx context.Context, drain int64) {
	hardEnd := w.p.sendEnd + drain + int64(stopGrace)
	var drainEnd int64
	for {
		t := now()
		if t >= hardEnd {
			break
		}
		if drainEnd == 0 && ctx.Err() != nil && t < w.p.sendEnd {
			// Interrupted: end sending now; expected counts follow.
			w.p.sendEnd = t
			for i, c := range w.clients {
				w.schedule(int32(i), c.next())
			}
		}
		w.stepDue(t)
		if drainEnd == 0 && len(w.timers) == 0 {
			drainEnd = now() + drain
		}
		if drainEnd > 0 && (t >= drainEnd || ctx.Err() != nil && t >= w.p.sendEnd+drain/4) {
			break
		}
		wait := int64(maxWait)
		if len(w.timers) > 0 {
			wait = min(wait, w.timers[0].due-t)
		}
		if drainEnd > 0 {
			wait = min(wait, drainEnd-t)
		}
		w.poll(max(wait, 0))
	}
	for _, c := range w.clients {
		c.finalize(&w.st)
	}
}

// schedule makes client i's next step due at due (a stale heap entry is
// skipped when it pops).
func (w *worker) schedule(i int32, due int64) {
	if due >= 1<<62 {
		w.sched[i] = 0
		return
	}
	if w.sched[i] == due {
		return
	}
	w.sched[i] = due
	w.timers.push(timer{due: due, idx: i})
	if len(w.timers) > 4*len(w.clients)+16 {
		w.compact()
	}
}

// compact drops stale heap entries.
func (w *worker) compact() {
	live := w.timers[:0]
	for _, t := range w.timers {
		if w.sched[t.idx] == t.due {
			live = append(live, t)
			w.sched[t.idx] = -t.due // mark taken, so a duplicate is dropped
		}
	}
	for _, t := range live {
		w.sched[t.idx] = t.due
	}
	w.timers = live
	w.timers.init()
}

// stepDue steps the clients due at t; address mode then sends their
// messages in batches.
func (w *worker) stepDue(t int64) {
	w.stepTimers(t)
	if w.aio != nil {
		w.aio.flush(w)
	}
}

func (w *worker) stepTimers(t int64) {
	for range maxStepsPerLoop {
		if len(w.timers) == 0 || w.timers[0].due > t {
			return
		}
		tm := w.timers.pop()
		if w.sched[tm.idx] != tm.due {
			continue // stale
		}
		w.sched[tm.idx] = 0
		c := w.clients[tm.idx]
		w.cur = int(tm.idx)
		c.step(now(), &w.cx, w, &w.st)
		w.schedule(tm.idx, c.next())
	}
}

// poll waits up to d ns for messages and reads every ready socket.
func (w *worker) poll(d int64) {
	ms := int((d + int64(time.Millisecond) - 1) / int64(time.Millisecond))
	if w.aio != nil {
		// Whole milliseconds as epoll waits, so clients due in the same
		// millisecond are stepped, and their messages sent, together.
		w.aio.poll(w, int64(ms)*int64(time.Millisecond))
		return
	}
	n, err := unix.EpollWait(w.ep, w.events, ms)
	if err != nil {
		if !errors.Is(err, unix.EINTR) {
			w.st.recvErrors++
		}
		return
	}
	for _, e := range w.events[:n] {
		w.read(int(e.Fd))
	}
}

func (w *worker) read(fd int) {
	idx, ok := w.byFd[fd]
	if !ok {
		return
	}
	c := w.clients[idx]
	for range maxReadsPerSocket {
		n, oobn, _, from, err := unix.Recvmsg(fd, w.rxBuf, w.oob, unix.MSG_DONTWAIT)
		if err != nil {
			if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				w.st.recvErrors++
			}
			break
		}
		if s4, ok := from.(*unix.SockaddrInet4); !ok || s4.Addr != w.server {
			w.st.foreignSource++
			continue
		}
		rx := parseStamp(w.oob[:oobn])
		if rx == 0 {
			w.st.noKernelStamp++
			rx = now()
		}
		c.receive(rx, w.rxBuf[:n], &w.cx, &w.st)
	}
	// A grant may have brought a step forward (a request, the first
	// Delay_Req): schedule it if it is earlier than the live entry.
	if nx := c.next(); w.sched[idx] == 0 || nx < w.sched[idx] {
		w.schedule(idx, nx)
	}
}
