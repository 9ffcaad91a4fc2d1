package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// Socket buffer sizes. A reply longer than rxBufSize (an NTPv4 header with
// large extension fields) is still handed to the core truncated; the core
// reads only the 48-byte header.
const (
	sockBatch = 16
	rxBufSize = 1024
)

// sock is one client socket (one per address family) shared by the
// sources of that family. The reader goroutine owns rx between a
// ReadBatch and the owner's ack; everything else is owned by Run's
// goroutine.
type sock struct {
	conn   *hwts.Conn
	family string // "ipv4" or "ipv6"
	clk    clock.Served

	rx  []hwts.Message
	ack chan struct{} // owner → reader: rx may be reused

	tx    []hwts.Message // requests of the current flush
	txSrc []*source      // source of tx[i]
	nout  int

	srcs []*source // attached sources, for TXID matching
	onTX func(id uint32, ts hwts.Timestamp)

	txUnmatched uint64
	readErrs    atomic.Uint64 // written by the reader
}

// rxBatch tells the owner that k.rx[:n] holds received datagrams.
type rxBatch struct {
	k *sock
	n int
}

// openSock opens the socket for family 0 (IPv4) or 1 (IPv6).
func (u *Upstream) openSock(ctx context.Context, fam int) (*sock, error) {
	bind, name := u.cfg.Bind4, "ipv4"
	if fam == 1 {
		bind, name = u.cfg.Bind6, "ipv6"
	}
	conn, err := hwts.Listen(ctx, hwts.Config{
		Addr:         netip.AddrPortFrom(bind, 0),
		DSCP:         u.cfg.DSCP,
		Timestamping: u.cfg.Timestamping,
		BatchSize:    sockBatch,
		// Daemon stamps on the served clock, like every other local time
		// the cores see.
		Now:    u.clk.Now,
		Logger: u.log.With("component", "upstream", "family", name),
	})
	if err != nil {
		return nil, fmt.Errorf("upstream: open %s client socket: %w", name, err)
	}
	k := &sock{
		conn: conn, family: name, clk: u.clk,
		rx:    make([]hwts.Message, sockBatch),
		tx:    make([]hwts.Message, sockBatch),
		txSrc: make([]*source, sockBatch),
		ack:   make(chan struct{}, 1),
	}
	for i := range k.rx {
		k.rx[i].Buf = make([]byte, rxBufSize)
		k.tx[i].Buf = make([]byte, client.RequestLen)
	}
	k.onTX = k.recordTX
	return k, nil
}

// read is the reader goroutine of k: it blocks in ReadBatch and hands each
// batch to the owner, waiting for the ack before reusing the buffers.
func (u *Upstream) read(ctx context.Context, k *sock) error {
	errs := 0
	for {
		n, err := k.conn.ReadBatch(k.rx)
		if err != nil {
			if isClosed(err) || ctx.Err() != nil {
				return nil
			}
			// Transient receive errors (ENOBUFS, a pending socket error)
			// are counted; the loop goes on.
			k.readErrs.Add(1)
			if errs++; errs > 100 {
				// Something is persistently wrong: do not spin.
				errs = 0
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(100 * time.Millisecond):
				}
			}
			continue
		}
		errs = 0
		select {
		case u.ready <- rxBatch{k, n}:
		case <-ctx.Done():
			return nil
		}
		select {
		case <-k.ack:
		case <-ctx.Done():
			return nil
		}
	}
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// queue adds s's request to k's next flush.
func (u *Upstream) queue(k *sock, s *source) {
	if k.nout == len(k.tx) {
		u.flush(k)
	}
	m := &k.tx[k.nout]
	copy(m.Buf, s.req[:])
	m.N = client.RequestLen
	m.Addr = s.addr
	m.Local, m.IfIndex = netip.Addr{}, 0
	k.txSrc[k.nout] = s
	k.nout++
}

// flush sends the queued requests and drains their TX stamps.
func (u *Upstream) flush(k *sock) {
	msgs, srcs := k.tx[:k.nout], k.txSrc[:k.nout]
	// The fallback T1, read as late as possible before the send.
	t1 := u.clk.Now()
	retried := false
	for len(msgs) > 0 {
		sent, err := k.conn.WriteBatch(msgs)
		for j := range sent {
			s := srcs[j]
			s.txPending, s.txID, s.txDaemon, s.txStamp, s.txKind = true, msgs[j].TXID, t1, time.Time{}, hwts.KindNone
		}
		msgs, srcs = msgs[sent:], srcs[sent:]
		if err == nil {
			if sent == 0 {
				break
			}
			continue
		}
		if isClosed(err) {
			break
		}
		// msgs[0] failed. A pending socket error or a full buffer fails
		// one send and is then cleared: retry once before giving up.
		if !retried {
			retried = true
			continue
		}
		retried = false
		srcs[0].ctr.sendErrors++
		u.log.Debug("upstream send failed", "source", srcs[0].id, "error", err)
		msgs, srcs = msgs[1:], srcs[1:]
	}
	clear(k.txSrc[:k.nout])
	k.nout = 0
	u.drainTX(k)
}

// drainTX reads k's TX timestamps from the error queue.
func (u *Upstream) drainTX(k *sock) {
	if _, err := k.conn.ReadTX(k.onTX); err != nil && !isClosed(err) {
		k.readErrs.Add(1)
	}
}

// recordTX stores a kernel TX stamp as T1 of the request it belongs to.
func (k *sock) recordTX(id uint32, ts hwts.Timestamp) {
	if ts.Kind != hwts.KindKernel {
		// Hardware stamps are raw PHC time (and not requested here).
		return
	}
	for _, s := range k.srcs {
		if s.txPending && s.txID == id && s.txStamp.IsZero() {
			s.txStamp, s.txKind = k.clk.FromRealtime(ts.Time), ts.Kind
			return
		}
	}
	k.txUnmatched++
}

// attach binds s (resolved) to the socket of its family, opening it on
// first use.
func (u *Upstream) attach(ctx context.Context, s *source) error {
	if o := u.byAddr[s.addr]; o != nil && o != s {
		s.dupOf = o.id
		u.log.Error("upstream source not polled: same address as another source",
			"source", s.id, "addr", s.addr.String(), "other", o.id)
		return nil
	}
	fam := 0
	if s.addr.Addr().Is6() {
		fam = 1
	}
	k := u.socks[fam]
	if k == nil {
		var err error
		if k, err = u.openSock(ctx, fam); err != nil {
			return err
		}
		u.socks[fam] = k
		u.g.Go(func() error { return u.read(u.gctx, k) })
	}
	s.k = k
	k.srcs = append(k.srcs, s)
	u.byAddr[s.addr] = s
	return nil
}
