package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
)

// Address mode's I/O: one general and one event socket for all clients,
// bound to the wildcard address on GeneralPort and EventPort. The kernel
// delivers a datagram to any local address on those ports to them; its
// destination address (IP_PKTINFO) names the client. Each message a client
// sends leaves from the client's address (IP_PKTINFO on send). Messages are
// read and sent in batches (recvmmsg/sendmmsg through hwts, kernel receive
// stamps): the sends of the clients stepped in one pass of the worker's
// loop (all due in the same millisecond) go out in one system call per
// socket.

// addrBatch is the most datagrams one system call reads or sends.
const addrBatch = 128

// readTick is the shortest time between two reads: after a read the worker
// lets datagrams gather this long (or until a client's step is due)
// before it reads again, so one wake-up reads many. Accounting uses the
// kernel's receive stamps, never the read time, so reading later changes
// no figure; the receive buffer holds far more than a tick of traffic.
const readTick = time.Millisecond

// addrRcvBuf bounds the shared sockets' receive buffers: 4 KiB per client,
// from 4 MiB to 64 MiB.
func addrRcvBuf(clients int) int {
	return min(max(clients*4<<10, 4<<20), 64<<20)
}

type addrIO struct {
	conns  [2]*hwts.Conn // general, event
	poller *hwts.Poller
	first  uint32 // client 0's address
	n      uint32 // clients
	server netip.Addr
	dst    [2]netip.AddrPort
	tx     [2]txQueue
	rx     []hwts.Message
	lastRd int64 // when the sockets were last read (CLOCK_REALTIME ns)
}

// txQueue holds the messages of one socket until the next flush, with the
// client and record of each, so a failed send can be taken back.
type txQueue struct {
	msgs []hwts.Message
	recs []sent
	idx  []int32
	n    int
}

// openAddrIO opens the two shared sockets.
func openAddrIO(cfg *Config) (*addrIO, error) {
	a := &addrIO{first: cfg.firstClientAddr(), n: uint32(cfg.Clients), server: cfg.Server.Unmap()}
	a.dst[0] = netip.AddrPortFrom(a.server, cfg.GeneralPort)
	a.dst[1] = netip.AddrPortFrom(a.server, cfg.EventPort)
	// Messages leave from the clients' addresses: fail now, not with a
	// send error per message, when the first or last is not local.
	for _, i := range [2]int{0, cfg.Clients - 1} {
		ca := cfg.clientAddr(i)
		pc, err := net.ListenPacket("udp4", netip.AddrPortFrom(ca, 0).String())
		if err != nil {
			return nil, fmt.Errorf("address mode: client %d address %v (is it configured on an interface?): %w", i, ca, err)
		}
		pc.Close()
	}
	for k, port := range [2]uint16{cfg.GeneralPort, cfg.EventPort} {
		c, err := hwts.Listen(context.Background(), hwts.Config{
			Addr:         netip.AddrPortFrom(netip.IPv4Unspecified(), port),
			Timestamping: hwts.ModeSoftware, // kernel RX stamps or an error
			TXOnDemand:   true,              // and no TX stamps
			NoWait:       true,
			RecvBuffer:   addrRcvBuf(cfg.Clients),
			BatchSize:    addrBatch,
		})
		if err != nil {
			a.close()
			return nil, fmt.Errorf("address mode: socket on port %d (is another address-mode generator running in this network namespace?): %w", port, err)
		}
		a.conns[k] = c
		q := &a.tx[k]
		q.msgs = make([]hwts.Message, addrBatch)
		q.recs = make([]sent, addrBatch)
		q.idx = make([]int32, addrBatch)
		buf := make([]byte, addrBatch*txBufLen)
		for i := range q.msgs {
			q.msgs[i].Buf = buf[i*txBufLen : (i+1)*txBufLen : (i+1)*txBufLen]
		}
	}
	p, err := hwts.NewPoller(a.conns[0], a.conns[1])
	if err != nil {
		a.close()
		return nil, fmt.Errorf("address mode: %w", err)
	}
	a.poller = p
	a.rx = make([]hwts.Message, addrBatch)
	buf := make([]byte, addrBatch*rxBufLen)
	for i := range a.rx {
		a.rx[i].Buf = buf[i*rxBufLen : (i+1)*rxBufLen : (i+1)*rxBufLen]
	}
	return a, nil
}

func (a *addrIO) close() {
	for _, c := range a.conns {
		if c != nil {
			c.Close()
		}
	}
}

// queue copies client idx's message b for the next flush (flushing first
// when the queue is full) and reports it sent; flush takes it back if the
// system call fails.
func (a *addrIO) queue(w *worker, idx int32, event bool, b []byte, s *sent) bool {
	k := 0
	if event {
		k = 1
	}
	q := &a.tx[k]
	if q.n == len(q.msgs) {
		a.flushQueue(w, k)
	}
	m := &q.msgs[q.n]
	m.N = copy(m.Buf, b)
	m.Addr = a.dst[k]
	m.Local = u32Addr(a.first + uint32(idx)) // Config.clientAddr
	q.recs[q.n] = *s
	q.idx[q.n] = idx
	q.n++
	return true
}

// flush sends both queues.
func (a *addrIO) flush(w *worker) {
	a.flushQueue(w, 0)
	a.flushQueue(w, 1)
}

// flushQueue sends queue k's messages. The send time of each Delay_Req
// becomes CLOCK_REALTIME just before its system call; a message the kernel
// refuses is taken back from its client (unsend) and the rest are sent.
func (a *addrIO) flushQueue(w *worker, k int) {
	q := &a.tx[k]
	off := 0
	for off < q.n {
		t := now()
		n, err := a.conns[k].WriteBatch(q.msgs[off:q.n])
		for i := off; i < off+n; i++ {
			w.clients[q.idx[i]].sentAt(&q.recs[i], t)
		}
		off += n
		if off < q.n && (err != nil || n == 0) {
			i := q.idx[off]
			c := w.clients[i]
			c.unsend(&q.recs[off], &w.st)
			if nx := c.next(); w.sched[i] == 0 || nx < w.sched[i] {
				w.schedule(i, nx)
			}
			off++
		}
	}
	q.n = 0
}

// poll waits up to d ns for messages and reads both sockets.
func (a *addrIO) poll(w *worker, d int64) {
	if gap := a.lastRd + int64(readTick) - now(); gap > 0 {
		// Read recently: sleep out the tick (at most d), then take
		// whatever arrived.
		time.Sleep(time.Duration(min(gap, d)))
		d = 0
	}
	n, err := a.poller.Wait(time.Duration(d))
	if err != nil {
		w.st.recvErrors++
		return
	}
	if n == 0 {
		return
	}
	a.lastRd = now()
	// Event socket first: a tick's Syncs are processed before its
	// Follow_Ups (the order they arrive in), so follow_up_before_sync keeps
	// counting reordering rather than the read order.
	for _, k := range [2]int{1, 0} {
		if a.poller.Readable(k) {
			a.read(w, k)
		}
	}
}

func (a *addrIO) read(w *worker, k int) {
	for range maxReadsPerSocket {
		n, err := a.conns[k].ReadBatch(a.rx)
		if err != nil {
			w.st.recvErrors++
			return
		}
		for i := range n {
			a.receive(w, &a.rx[i])
		}
		if n < len(a.rx) {
			return
		}
	}
}

// receive hands one datagram to the client its destination address names.
// A datagram from elsewhere than the server, or to an address that is no
// client's, counts as foreign_source.
func (a *addrIO) receive(w *worker, m *hwts.Message) {
	if m.Addr.Addr() != a.server || !m.Local.Is4() {
		w.st.foreignSource++
		return
	}
	v := addrU32(m.Local) - a.first
	if v >= a.n {
		w.st.foreignSource++
		return
	}
	if m.RX.Kind != hwts.KindKernel {
		w.st.noKernelStamp++ // a daemon stamp, read just after the system call
	}
	idx := int32(v)
	c := w.clients[idx]
	c.receive(m.RX.Time.UnixNano(), m.Buf[:m.N], &w.cx, &w.st)
	if nx := c.next(); w.sched[idx] == 0 || nx < w.sched[idx] {
		w.schedule(idx, nx)
	}
}
