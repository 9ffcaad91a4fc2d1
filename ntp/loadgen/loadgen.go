package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"net"
	"net/netip"
	"runtime"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/gnomon-time/gnomon/ntp/symkey"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

const (
	relBits   = 40 // send time in ns since the run's base, in a ring slot (≈ 18 min)
	relMask   = 1<<relBits - 1
	tagMask   = 1<<(64-relBits) - 1 // low 24 bits of the sequence number, in a ring slot
	maxRing   = 1 << 18
	minRing   = 1 << 12
	rxBufSize = 256 // larger than any valid reply, so oversized ones are seen as such
	// idleWait bounds one wait when there is nothing to send or read, so
	// that a worker sees its context's end and the end of the run promptly.
	idleWait = time.Millisecond
	// spinBelow: a rate-mode worker whose next send is due sooner than this
	// spins (polls its sockets without waiting) instead of sleeping: a timed
	// wait ends tens of µs late on an idle CPU (timer slack, wake-up) and
	// would turn pacing at high rates into bursts. Sends are that close
	// together only above about 10,000 req/s per worker; slower workers
	// sleep in ppoll until their next send is due or a reply arrives, and
	// use a few per cent of a CPU.
	spinBelow = 100 * time.Microsecond
	// sendQuantum: in rate mode a worker waits until this much time's worth
	// of requests is due (at most Batch) before it sends, so that sendmmsg
	// carries several requests at high rates. 50 µs of burstiness is far
	// below what any server's socket buffer absorbs.
	sendQuantum = 50 * time.Microsecond
	// readInterval: in rate mode replies are read at most this often, so
	// that each recvmmsg returns several (RTTs come from kernel receive
	// timestamps, so reading late does not inflate them; the 4 MiB socket
	// buffers hold far more than this interval's replies).
	readInterval = 200 * time.Microsecond
	// maxLag, catchUp: a rate-mode worker that falls further behind
	// schedule than maxLag's worth of requests plus one batch, and than
	// catchUp requests, skips the excess instead of bursting it out later
	// (catchUpLimit); skipped requests are reported as the generator's own
	// shortfall. catchUp lets a slow worker make up a stall of the machine
	// (a descheduled vCPU: tens of ms, 128 ms at 1000 req/s) in one burst
	// no larger than a 48,000 req/s worker may send anyway, which a
	// server's default-sized socket buffer (≈ 280 datagrams) absorbs.
	maxLag  = 2 * time.Millisecond
	catchUp = 128
)

// catchUpLimit is how many overdue requests a worker at rate (per second)
// with batches of batch still sends; the rest are skipped.
func catchUpLimit(rate float64, batch int) int64 {
	return max(int64(rate*maxLag.Seconds())+int64(batch), catchUp)
}

// batchConn is what ipv4.PacketConn and ipv6.PacketConn have in common.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

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
		return nil, fmt.Errorf("loadgen config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Generator{cfg: cfg, log: log}, nil
}

// Config returns the effective configuration (defaults filled in).
func (g *Generator) Config() Config { return g.cfg }

// sock is one client socket and its in-flight requests. It is owned by one
// worker: nothing in it is shared between goroutines.
type sock struct {
	conn *net.UDPConn
	pc   batchConn
	fd   int
	key  uint32
	seq  uint32   // sequence number of the last request sent
	ring []uint64 // per seq&mask: (seq & tagMask) << relBits | (send ns since base + 1); 0 = free
	mask uint32
	// Interleaved associations (xleave only), as chronyd clients keep
	// them: a server hands an earlier reply's transmit timestamp out once
	// (chrony and gnomond disable a used pair), so each request takes, as
	// its Origin, the Receive field of a reply not yet echoed (the oldest
	// in fresh) and so continues that reply's association; a socket with
	// many requests in flight thus carries as many associations, like that
	// many chronyd clients behind one address. With none fresh (start, a
	// lost reply) it echoes lastRx again, which the server answers basic
	// and which starts a new association. origins: per seq&mask, the
	// Origin the request carried and the client RX stamp of the reply it
	// came from, to time an interleaved answer's transmit.
	lastRx     rxStamp
	fresh      [freshReplies]rxStamp
	freshHead  uint32 // index of the oldest fresh entry
	freshCount uint32
	origins    []rxStamp
	inflight   int
	progress   int64 // wall ns of the last send that found room or the last matched reply
	drops      uint32
	tx, rx     []ipv4.Message
	// reqs holds the requests of a batch back to back; tx[i] points at its
	// i-th 48 bytes, and a UDP_SEGMENT send takes a prefix of it whole.
	reqs []byte
	// gsoOOB is the UDP_SEGMENT control message; nil without GSO, and for
	// kinds whose requests differ in length (NTS, malformed).
	gsoOOB []byte
	// kind is what this socket sends; slot is the room per request in
	// reqs (the request length itself for fixed-length kinds).
	kind Kind
	slot int
	nts  *ntsSock // KindNTS only
}

// freshReplies is how many not yet echoed replies a socket keeps for its
// interleaved associations (a power of two); beyond it the oldest is
// forgotten, and its association ends.
const freshReplies = 64

// rxStamp is a reply's server Receive field and its client RX stamp;
// formed: the request it answered was itself in interleaved form (non-zero
// Origin), so a server holds that Receive field for the next request. As
// the Origin of a request (sock.origins), formed means the request is
// eligible for an interleaved answer: its Origin was such a Receive field,
// never echoed before.
type rxStamp struct {
	receive uint64
	rxNs    int64
	formed  bool
}

// worker is an event loop over its sockets.
type worker struct {
	cfg      Config
	base     int64 // wall ns at the start of the run
	start    time.Time
	rate     float64 // this worker's share of Config.Rate, per second
	socks    []*sock
	ep       *poller
	minBatch int64  // rate mode: requests due before a send (sendQuantum's worth, 1..Batch)
	limit    uint64 // this worker's share of Config.Count; 0 = none
	next     int    // round-robin position for sends
	tokens   uint64
	st       stats
	lastSend time.Time
	// mac is the scratch space for MACs (KindMAC, malformed MACs).
	mac symkey.Scratch
	// bad is the rotation of malformed sorts (Config.badKinds).
	bad []badKind
	// gso: send batches with UDP generic segmentation offload (one
	// sendmsg, segmented by the kernel into one datagram per request);
	// cleared for the rest of the run when the kernel refuses it.
	gso bool
}

// stats are one worker's counters; merged into Result at the end.
type stats struct {
	sent, matched, interleaved uint64
	// eligible counts valid replies to requests eligible for an
	// interleaved answer (rxStamp.formed), eligibleInterleaved those of
	// them answered interleaved.
	eligible, eligibleInterleaved uint64
	reasons                       [NumReasons]uint64
	skipped, sendBlocked          uint64
	sendErrors, recvErrors        uint64
	icmpErrors, userRxStamps      uint64
	gsoSends, gsoFallbacks        uint64
	drops                         uint64
	busy                          time.Duration // time spent sending and reading (not waiting or spinning)
	hist                          Histogram
	// txErr: client RX stamp − server Transmit, basic [0] and
	// interleaved [1] replies.
	txErr [2]Histogram
	// Per socket kind: requests sent and valid replies.
	kindSent, kindValid [NumKinds]uint64
	// NTS: fresh cookies received, requests that reused a cookie because
	// the pool was empty.
	ntsCookies, ntsCookieReuse uint64
}

// Run sends load until the duration ends or ctx is cancelled, collects
// replies for the drain time and returns the result. It returns an error
// only when the sockets cannot be set up; network errors during the run are
// counted.
func (g *Generator) Run(ctx context.Context) (*Result, error) {
	cfg := g.cfg
	ring := ringSize(cfg)
	kinds, err := socketKinds(cfg.effectiveMix(), cfg.Clients, cfg.Workers)
	if err != nil {
		return nil, err
	}
	ke, err := g.keyExchanges(ctx, kinds)
	if err != nil {
		return nil, err
	}
	socks := make([]*sock, 0, cfg.Clients)
	defer func() {
		for _, s := range socks {
			s.conn.Close()
		}
	}()
	ntsIdx := 0
	for i := range cfg.Clients {
		var src netip.Addr
		if len(cfg.Sources) > 0 {
			src = cfg.Sources[i%len(cfg.Sources)]
		}
		var ses *ntsSession
		if kinds[i] == KindNTS {
			ses = ke.sessions[ntsIdx/cfg.NTSPerKE]
			ntsIdx++
		}
		s, err := newSock(cfg, src, ring, kinds[i], ses)
		if err != nil {
			return nil, fmt.Errorf("client socket %d: %w", i, err)
		}
		socks = append(socks, s)
	}
	g.log.Info("load starting", "server", cfg.Server.String(), "rate", cfg.Rate, "max", cfg.Max,
		"duration", cfg.Duration, "clients", cfg.Clients, "workers", cfg.Workers, "xleave", cfg.Xleave)

	start := time.Now()
	cpu0 := cpuTime()
	workers := make([]*worker, cfg.Workers)
	for i := range workers {
		w := &worker{cfg: cfg, base: start.UnixNano(), start: start, rate: cfg.Rate / float64(cfg.Workers), lastSend: start,
			gso: !cfg.NoGSO, bad: cfg.badKinds()}
		if cfg.Count > 0 {
			w.limit = cfg.Count / uint64(cfg.Workers)
			if uint64(i) < cfg.Count%uint64(cfg.Workers) {
				w.limit++
			}
		}
		for j := i; j < len(socks); j += cfg.Workers {
			w.socks = append(w.socks, socks[j])
		}
		w.minBatch = min(max(int64(w.rate*sendQuantum.Seconds()), 1), int64(cfg.Batch))
		ep, err := newPoller(w.socks)
		if err != nil {
			for _, w := range workers[:i] {
				w.ep.close()
			}
			return nil, fmt.Errorf("worker %d: %w", i, err)
		}
		w.ep = ep
		workers[i] = w
	}
	defer func() {
		for _, w := range workers {
			w.ep.close()
		}
	}()
	done := make(chan struct{}, len(workers))
	for _, w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			w.run(ctx)
		}()
	}
	for range workers {
		<-done
	}
	end := time.Now()
	res := &Result{Config: cfg, Wall: end.Sub(start), NTSKeyExchanges: len(ke.sessions), NTSKETime: ke.took}
	for _, k := range kinds {
		res.Kinds[k].Sockets++
	}
	if cpu := cpuTime(); cpu > 0 && cpu0 > 0 {
		res.CPU = time.Duration(cpu - cpu0)
	}
	last := start
	for _, w := range workers {
		res.add(&w.st)
		if w.lastSend.After(last) {
			last = w.lastSend
		}
	}
	res.SendWindow = last.Sub(start)
	res.finish()
	if ctx.Err() != nil {
		res.Interrupted = true
	}
	g.log.Info("load finished", "sent", res.Sent, "received", res.Received, "loss_pct", res.LossPct)
	return res, nil
}

// ringSize holds about one second of requests per socket (at least
// minRing), so a reply is "late" only after ≈ 1 s or more.
func ringSize(cfg Config) int {
	perSock := cfg.Rate / float64(cfg.Clients)
	if cfg.Max {
		perSock = 1e6 / float64(cfg.Clients)
	}
	n := minRing
	for float64(n) < perSock && n < maxRing {
		n <<= 1
	}
	return max(n, 1<<bits.Len(uint(cfg.Outstanding)))
}

func newSock(cfg Config, src netip.Addr, ring int, kind Kind, ses *ntsSession) (*sock, error) {
	conn, fd, err := openSocket(cfg.Server, src)
	if err != nil {
		return nil, err
	}
	var kb [4]byte
	if _, err := rand.Read(kb[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("random key: %w", err)
	}
	s := &sock{
		conn: conn, fd: fd, key: binary.LittleEndian.Uint32(kb[:]),
		ring: make([]uint64, ring), mask: uint32(ring - 1),
		tx: make([]ipv4.Message, cfg.Batch), rx: make([]ipv4.Message, cfg.Batch),
		kind: kind, slot: wire.HeaderLen,
	}
	rxSize := rxBufSize
	switch kind {
	case KindXleave:
		s.origins = make([]rxStamp, ring)
	case KindMAC:
		s.slot += cfg.MACKey.MACLen(4)
	case KindNTS:
		if s.nts, err = newNTSSock(ses, ring); err != nil {
			conn.Close()
			return nil, err
		}
		s.slot = ntsMaxReq
		rxSize = ntsMaxReq + 64
	case KindMalformed:
		s.slot = malformedMaxReq + 3
	}
	if cfg.Server.Addr().Unmap().Is4() {
		s.pc = ipv4.NewPacketConn(conn)
	} else {
		s.pc = ipv6PacketConn(conn)
	}
	if !cfg.NoGSO && kind != KindNTS && kind != KindMalformed {
		s.gsoOOB = gsoControl(s.slot)
	}
	s.reqs = make([]byte, cfg.Batch*s.slot)
	for i := range s.tx {
		s.tx[i].Buffers = [][]byte{s.reqs[i*s.slot : (i+1)*s.slot : (i+1)*s.slot]}
		s.rx[i].Buffers = [][]byte{make([]byte, rxSize)}
		s.rx[i].OOB = make([]byte, oobLen)
	}
	return s, nil
}

func (w *worker) run(ctx context.Context) {
	sendEnd := w.start.Add(w.cfg.Duration)
	var lastRead time.Time
	for iter := 0; ; iter++ {
		now := time.Now()
		if !now.Before(sendEnd) || (iter&63 == 0 && ctx.Err() != nil) {
			break
		}
		if w.cfg.Count > 0 && w.st.sent >= w.limit {
			break
		}
		var sent int
		if w.cfg.Max {
			sent = w.sendMax(now)
		} else {
			sent = w.sendRate(now)
		}
		wait := time.Duration(0)
		if sent == 0 {
			wait = w.idleFor(now, sendEnd)
		} else {
			w.st.busy += time.Since(now)
		}
		if wait > 0 || w.cfg.Max || now.Sub(lastRead) >= readInterval {
			w.poll(wait)
			lastRead = now
		}
	}
	drainEnd := time.Now().Add(w.cfg.Drain)
	for ctx.Err() == nil && w.st.matched < w.st.sent {
		now := time.Now()
		if !now.Before(drainEnd) {
			break
		}
		w.poll(min(idleWait, drainEnd.Sub(now)))
	}
}

// idleFor is how long the worker may sleep when it sent nothing: until its
// next send is due (at most idleWait, and not past the end of sending).
// Waits shorter than spinBelow are not worth a sleep: the wake-up would come
// late and turn pacing into bursts, so the worker spins instead (0). In max
// mode the windows are full and a reply is what it waits for: it spins too.
func (w *worker) idleFor(now, sendEnd time.Time) time.Duration {
	if w.cfg.Max {
		return 0
	}
	next := time.Duration(float64(w.tokens+uint64(w.minBatch)) / w.rate * float64(time.Second))
	wait := min(next-now.Sub(w.start), sendEnd.Sub(now), idleWait)
	if wait < spinBelow {
		return 0
	}
	return wait
}

// sendRate sends the requests that are due at now and returns how many.
func (w *worker) sendRate(now time.Time) int {
	due := int64(now.Sub(w.start).Seconds()*w.rate) - int64(w.tokens)
	if due < w.minBatch {
		return 0
	}
	lag := catchUpLimit(w.rate, w.cfg.Batch)
	if due > lag {
		w.st.skipped += uint64(due - lag)
		w.tokens += uint64(due - lag)
		due = lag
	}
	total := 0
	for range w.socks {
		if due <= 0 {
			break
		}
		s := w.socks[w.next]
		w.next = (w.next + 1) % len(w.socks)
		k := int(min(due, int64(w.cfg.Batch)))
		n := w.send(s, k)
		w.tokens += uint64(n)
		due -= int64(n)
		total += n
		if n < k {
			break // socket buffer full or error: retry on the next pass
		}
	}
	return total
}

// sendMax fills every socket's window of outstanding requests.
func (w *worker) sendMax(now time.Time) int {
	total := 0
	wall := now.UnixNano()
	for _, s := range w.socks {
		room := w.cfg.Outstanding - s.inflight
		if room <= 0 {
			if time.Duration(wall-s.progress) > w.cfg.StallAfter {
				s.inflight = 0 // written off; late replies still count
				s.progress = wall
			}
			continue
		}
		total += w.send(s, min(room, w.cfg.Batch))
	}
	return total
}

// send writes up to k requests on s in one system call (sendmsg with
// UDP_SEGMENT, or sendmmsg) and returns how many went out.
func (w *worker) send(s *sock, k int) int {
	if w.cfg.Count > 0 {
		k = int(min(uint64(k), w.limit-min(w.limit, w.st.sent)))
		if k == 0 {
			return 0
		}
	}
	gso := w.gso && k > 1 && s.gsoOOB != nil
	if gso {
		k = min(k, maxGSOSegments)
	}
	wallNow := time.Now()
	wall := wallNow.UnixNano()
	rel := uint64(min(max(wall-w.base+1, 1), relMask))
	for i := range k {
		seq := s.seq + 1 + uint32(i)
		tx := cookie(seq, s.key, false)
		buf := s.reqs[i*s.slot : (i+1)*s.slot]
		n := wire.HeaderLen
		switch s.kind {
		case KindBasic:
			putRequest(buf, w.cfg.Version, 0, 0, tx)
		case KindXleave:
			origin := s.lastRx
			origin.formed = false // echoed before: no server answers it interleaved
			if s.freshCount > 0 {
				origin = s.fresh[s.freshHead%freshReplies]
				s.freshHead++
				s.freshCount--
			}
			s.origins[seq&s.mask] = origin
			putRequest(buf, 4, origin.receive, cookie(seq, s.key, true), tx)
		case KindMAC:
			putRequest(buf, 4, 0, 0, tx)
			n += w.cfg.MACKey.Put(&w.mac, 4, buf[wire.HeaderLen:], buf[:wire.HeaderLen])
		case KindNTS:
			n = s.nts.putNTSRequest(buf, seq, tx, &w.st)
			s.nts.reqLen[seq&s.mask] = uint16(n)
		case KindMalformed:
			n = putMalformed(buf, w.bad[seq%uint32(len(w.bad))], seq, tx, w.cfg.MACKey, &w.mac)
		}
		s.tx[i].Buffers[0] = buf[:n]
		s.ring[seq&s.mask] = uint64(seq&tagMask)<<relBits | rel
	}
	var n int
	var err error
	if gso {
		// n < 0: the kernel refused segmentation offload; the same requests
		// go out per datagram, and so does every later batch.
		n, err = w.sendGSO(s, k)
	}
	if !gso || n < 0 {
		n, err = s.pc.WriteBatch(s.tx[:k], unix.MSG_DONTWAIT)
	}
	if err != nil {
		switch {
		case errors.Is(err, unix.EAGAIN):
			w.st.sendBlocked++
		case errors.Is(err, unix.ECONNREFUSED):
			w.st.icmpErrors++
		default:
			w.st.sendErrors++
		}
	}
	n = max(n, 0)
	for i := n; i < k; i++ { // not sent: free their slots again
		s.ring[(s.seq+1+uint32(i))&s.mask] = 0
	}
	s.seq += uint32(n)
	if s.kind != KindMalformed {
		s.inflight += n
	}
	w.st.sent += uint64(n)
	w.st.kindSent[s.kind] += uint64(n)
	if n > 0 {
		s.progress = wall
		w.lastSend = wallNow
	}
	return n
}

// sendGSO sends the first k requests in s.reqs as one UDP_SEGMENT sendmsg: the
// kernel builds one datagram per request (segmented before the device, so
// the server receives k separate packets), at the cost of one pass through
// the socket layer. It returns k, or 0 with the error, or -1 when the kernel
// does not support segmentation offload (then w.gso is cleared).
func (w *worker) sendGSO(s *sock, k int) (int, error) {
	_, err := unix.SendmsgN(s.fd, s.reqs[:k*s.slot], s.gsoOOB, nil, unix.MSG_DONTWAIT)
	switch {
	case err == nil:
		w.st.gsoSends++
		return k, nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EIO), errors.Is(err, unix.ENOPROTOOPT),
		errors.Is(err, unix.EOPNOTSUPP):
		w.gso = false
		w.st.gsoFallbacks++
		return -1, nil
	}
	return 0, err
}

// poll waits up to wait for readable sockets, reads all pending replies and
// returns how many it read.
func (w *worker) poll(wait time.Duration) int {
	ready, err := w.ep.wait(wait)
	if err != nil {
		w.st.recvErrors++
		return 0
	}
	if len(ready) == 0 {
		return 0
	}
	t0 := time.Now()
	got := 0
	for _, i := range ready {
		got += w.drain(w.socks[i])
	}
	w.st.busy += time.Since(t0)
	return got
}

// drain reads s until it is empty (or a bounded number of batches, so one
// busy socket cannot starve the others) and returns how many it read.
func (w *worker) drain(s *sock) int {
	got := 0
	for range 8 {
		n, err := s.pc.ReadBatch(s.rx, unix.MSG_DONTWAIT)
		userWall := time.Now().UnixNano()
		if err != nil && n <= 0 {
			switch {
			case errors.Is(err, unix.EAGAIN):
			case errors.Is(err, unix.ECONNREFUSED):
				w.st.icmpErrors++
			default:
				w.st.recvErrors++
			}
			return got
		}
		for i := range n {
			m := &s.rx[i]
			w.handle(s, m.Buffers[0][:m.N], m.OOB[:m.NN], userWall)
		}
		got += n
		if n < len(s.rx) {
			return got
		}
	}
	return got
}

// handle classifies one reply. It does not allocate.
func (w *worker) handle(s *sock, b, oob []byte, userWall int64) {
	rxNs, drops, haveDrops := parseControl(oob)
	if haveDrops && drops != s.drops {
		w.st.drops += uint64(drops - s.drops)
		s.drops = drops
	}
	if rxNs == 0 {
		rxNs = userWall
		w.st.userRxStamps++
	}
	hdr, version := b, uint8(4)
	switch s.kind {
	case KindBasic:
		version = w.cfg.Version
	case KindMAC, KindNTS, KindMalformed:
		hdr = b[:min(len(b), wire.HeaderLen)] // the trailer is checked below
	}
	r, reason := checkHeader(hdr, version, w.cfg.AllowUnsync)
	if reason == ReasonShort {
		w.st.reasons[w.answered(s, ReasonShort)]++
		return
	}
	seq, isRx, ok := splitCookie(r.origin, s.key)
	if !ok || (isRx && s.kind != KindXleave) {
		w.st.reasons[w.answered(s, ReasonOrigin)]++
		return
	}
	slot := &s.ring[seq&s.mask]
	v := *slot
	if v == 0 || s.seq-seq > s.mask || uint32(v>>relBits) != seq&tagMask {
		w.st.reasons[ReasonLate]++
		return
	}
	*slot = 0
	switch s.kind {
	case KindMalformed:
		w.st.reasons[checkMalformedReply(b, w.bad[seq%uint32(len(w.bad))], reason)]++
		return
	case KindMAC:
		reason = checkMACReply(b, w.cfg.MACKey, &w.mac, reason)
	case KindNTS:
		reason = s.nts.checkNTSReply(b, seq, s.mask, reason, &w.st)
	}
	w.st.matched++
	if s.inflight > 0 {
		s.inflight--
	}
	s.progress = userWall
	w.st.reasons[reason]++
	if reason != ReasonValid {
		return
	}
	w.st.kindValid[s.kind]++
	sendNs := w.base + int64(v&relMask) - 1
	w.st.hist.Record(time.Duration(rxNs - sendNs))
	// Transmit-timestamp error, before the one-way delay is taken off
	// (Result.TXError): a basic reply's Transmit against its own arrival,
	// an interleaved one's against the arrival of the reply it describes.
	t3 := wire.Time(r.transmit).UnixNano(wire.DefaultEraPivot)
	if s.kind != KindXleave {
		w.st.txErr[0].Record(time.Duration(rxNs - t3))
		return
	}
	// An interleaved socket's request carried o as its Origin (only
	// interleaved sockets get interleaved answers: checked above).
	o := s.origins[seq&s.mask]
	if isRx {
		w.st.interleaved++
		if o.receive != 0 {
			w.st.txErr[1].Record(time.Duration(o.rxNs - t3))
		}
	} else {
		w.st.txErr[0].Record(time.Duration(rxNs - t3))
	}
	if o.formed {
		w.st.eligible++
		if isRx {
			w.st.eligibleInterleaved++
		}
	}
	s.lastRx = rxStamp{receive: r.receive, rxNs: rxNs, formed: o.receive != 0}
	if s.freshCount == freshReplies { // forget the oldest
		s.freshHead++
		s.freshCount--
	}
	s.fresh[(s.freshHead+s.freshCount)%freshReplies] = s.lastRx
	s.freshCount++
}

// answered maps a failing reply on a KindMalformed socket, where no reply
// of any shape is allowed, to ReasonAnswered; other sockets keep reason.
func (w *worker) answered(s *sock, reason Reason) Reason {
	if s.kind == KindMalformed {
		return ReasonAnswered
	}
	return reason
}

// checkMACReply checks the MAC of a reply (header passed checkHeader with
// reason) on a KindMAC socket: exactly the 48-byte header and key's MAC
// over it (RFC 5905 §7.3: the reply is signed with the request's key). A
// crypto-NAK, a missing or wrong MAC, or a different key ID is ReasonBadMAC.
func checkMACReply(b []byte, key *symkey.Key, s *symkey.Scratch, reason Reason) Reason {
	if reason != ReasonValid && reason != ReasonKoD {
		return reason
	}
	if len(b) != wire.HeaderLen+key.MACLen(4) || !key.Verify(s, 4, b[:wire.HeaderLen], b[wire.HeaderLen:]) {
		return ReasonBadMAC
	}
	return reason
}
