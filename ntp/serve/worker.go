package serve

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// packetConn is what a worker needs from its socket; *hwts.Conn implements
// it.
type packetConn interface {
	ReadBatch(msgs []hwts.Message) (int, error)
	WriteBatch(msgs []hwts.Message) (int, error)
	ReadTX(fn func(id uint32, ts hwts.Timestamp)) (int, error)
	Drops() uint32
	Close() error
}

// Buffer sizes. A request longer than bufSize is dropped as malformed:
// NTPv4 with NTS extension fields stays well below it.
const (
	bufSize = 2048
	// ringSize is the number of sent replies remembered per worker for
	// matching TX timestamps (a power of two). TX stamps normally arrive
	// within one batch; the ring covers 32 batches of 32.
	ringSize = 1024
)

// sentReply is what the worker remembers about a reply until its TX
// timestamp arrives.
type sentReply struct {
	id      uint32
	valid   bool
	swDone  bool // its software stamp was recorded; a hardware one may follow
	hwDone  bool // its hardware stamp was recorded; the software one is ignored
	addr    netip.Addr
	rxField wire.Time
	// For the transmit calibration (txCal): the clock reading the batch
	// was stamped from and the reply's position in its sendmmsg batch;
	// calDone once a stamp was learned from.
	t3      wire.Time
	pos     int
	calDone bool
	sendMeta
}

// sendMeta is what the worker knows of a reply it sends beyond the bytes.
type sendMeta struct {
	// calOnly: a basic reply stamped only to calibrate (no client asks for
	// its timestamp).
	calOnly bool
	// basic: the reply's Transmit is transmit, read from the clock (not an
	// earlier reply's TX stamp); its own TX stamp measures the error
	// (counters.observeTXError).
	basic    bool
	transmit wire.Time
}

// worker serves one socket. Every field is owned by the worker goroutine
// except ctr, which Stats reads atomically.
type worker struct {
	conn  packetConn
	srv   *ntp.Server
	clk   clock.Served
	state *clock.StateCell
	// hw converts the socket's hardware stamps (raw time of PHC phc) to
	// CLOCK_REALTIME; nil = hardware stamps are not used.
	hw  HWClock
	phc int

	rx      []hwts.Message  // requests
	tx      []hwts.Message  // replies
	verdict []ntp.Verdict   // verdict of the reply in tx[i]
	auth    []ntp.ReplyAuth // authentication of the reply in tx[i] (RespondAuth → Seal)
	// nts is this worker's NTS scratch (nil: the server has no NTS),
	// given to every auth slot; Stats reads its counters.
	nts      *nts.Worker
	ring     [ringSize]sentReply
	onTXFunc func(id uint32, ts hwts.Timestamp) // bound once: no per-call allocation
	// pending counts TX timestamp reports asked for and not yet read
	// (reportsPerTX per stamped reply: 2 with hardware stamps, which come
	// with a software companion). The error queue is read before a batch
	// only while some are pending, and after a batch only when it asked
	// for stamps: a basic reply costs no error-queue system call.
	pending      int
	reportsPerTX int
	drained      int // reports seen by the current drainTX call

	// cal predicts when a basic reply leaves after the batch's clock
	// reading; calSeq counts batches (a basic reply is stamped for it
	// every calEvery); meta[k]: what the worker knows of the reply at
	// position k of the batch being sent (soloMeta: of a solo send).
	cal      txCal
	calSeq   uint64
	lastFull bool // the previous batch was full (step)
	meta     []sendMeta
	soloMeta [1]sendMeta

	ctr *counters
}

// newWorker builds a worker for conn; txKind is the best TX timestamp kind
// the socket delivers (hwts.Info.TX).
func newWorker(conn packetConn, srv *ntp.Server, clk clock.Served, state *clock.StateCell, batch int, txKind hwts.Kind) *worker {
	reports := 0 // no TX timestamps: nothing to ask for or drain
	switch txKind {
	case hwts.KindKernel:
		reports = 1
	case hwts.KindHardware:
		reports = 2
	}
	w := &worker{
		reportsPerTX: reports,
		conn:         conn,
		srv:          srv,
		clk:          clk,
		state:        state,
		rx:           make([]hwts.Message, batch),
		tx:           make([]hwts.Message, batch),
		verdict:      make([]ntp.Verdict, batch),
		auth:         make([]ntp.ReplyAuth, batch),
		meta:         make([]sendMeta, batch),
		ctr:          new(counters),
	}
	if core := srv.NTS(); core != nil {
		w.nts = core.NewWorker()
		for i := range w.auth {
			w.auth[i].SetNTSWorker(w.nts)
		}
	}
	for i := range batch {
		w.rx[i].Buf = make([]byte, bufSize)
		w.tx[i].Buf = make([]byte, bufSize)
	}
	w.onTXFunc = w.onTX
	return w
}

// errClosed reports whether err means the socket was closed (shutdown).
func errClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// step serves one batch: receive, drain TX stamps, respond, stamp, send,
// drain TX stamps again (to keep the error queue short: queued stamps count
// against the receive buffer and wake the reader). It blocks in ReadBatch
// until at least one datagram arrives. It returns an error only when the
// receive call fails; per-packet problems are counted.
func (w *worker) step() error {
	n, err := w.conn.ReadBatch(w.rx)
	if err != nil {
		w.ctr.receiveErrors.Add(1)
		return err
	}
	// TX timestamps that arrived after the previous batch's drain (NIC
	// stamps come from an interrupt, later than sendmmsg returns) must be
	// recorded before this batch asks for interleaved replies.
	if w.pending > 0 {
		w.drainTX(true)
	}
	st := w.state.Load() // one snapshot per batch
	out := 0
	var oldest wire.Time // receive time of the batch's first kernel-stamped request
	aged := false
	for i := range n {
		m := &w.rx[i]
		if m.Trunc || m.N > len(m.Buf) {
			w.ctr.truncated.Add(1)
			w.ctr.requests[ntp.VerdictMalformed].Add(1)
			continue
		}
		rx := w.receiveTime(m)
		if !aged && m.RX.Kind != hwts.KindDaemon {
			oldest, aged = rx, true
		}
		r := &w.tx[out]
		nr, v := w.srv.RespondAuth(r.Buf, m.Buf[:m.N], m.Addr, rx, st, &w.auth[out])
		if int(v) < len(w.ctr.requests) { // a verdict unknown to this build is not counted
			w.ctr.requests[v].Add(1)
		}
		if !v.Replied() || nr <= 0 {
			continue
		}
		r.N = nr
		r.Addr = m.Addr
		r.Local = m.Local
		r.IfIndex = m.IfIndex
		r.Trunc = false
		// Only replies an interleaved request can later ask for get a
		// kernel TX timestamp (hwts.Config.TXOnDemand).
		r.WantTX = w.srv.WantsTX(m.Buf[:m.N], v)
		w.verdict[out] = v
		out++
	}
	// Only a server that is behind lets basic replies share a sendmmsg
	// (send): two full batches in a row (one alone is often the catch-up
	// after a moment's stall) whose first request waited more than
	// behindAge in the socket. Waiting costs a client nothing (its delay
	// is measured without the server's residence, between two exact
	// stamps), a shared sendmmsg costs it the stamp's exactness.
	full := n == len(w.rx)
	behind := full && w.lastFull
	w.lastFull = full
	if behind && aged {
		behind = wire.TimeFromTime(w.clk.Now()).Sub(oldest) > behindAge
	}
	if out > 0 && w.send(out, behind) {
		w.drainTX(false)
	}
	return nil
}

// receiveTime converts the receive timestamp of m to the served clock.
func (w *worker) receiveTime(m *hwts.Message) wire.Time {
	if m.RXHW.Kind == hwts.KindHardware {
		// PHC time → CLOCK_REALTIME → served clock. Without a fresh
		// mapping the kernel software stamp that hwts delivers alongside
		// (m.RX) is used instead.
		if w.hw != nil {
			if rt, ok := w.hw.ToRealtime(w.phc, m.RXHW.Time); ok {
				w.ctr.rx[hwts.KindHardware].Add(1)
				return wire.TimeFromTime(w.clk.FromRealtime(rt))
			}
		}
		w.ctr.rxHardwareUnused.Add(1)
	}
	switch m.RX.Kind {
	case hwts.KindKernel:
		w.ctr.rx[hwts.KindKernel].Add(1)
		return wire.TimeFromTime(w.clk.FromRealtime(m.RX.Time))
	case hwts.KindDaemon:
		// hwts takes daemon stamps with Config.Now, which Service sets to
		// the served clock: already in the served timescale.
		w.ctr.rx[hwts.KindDaemon].Add(1)
		return wire.TimeFromTime(m.RX.Time)
	}
	// hwts promises RX is never KindNone; be safe and read the clock.
	w.ctr.rx[hwts.KindDaemon].Add(1)
	return wire.TimeFromTime(w.clk.Now())
}

// send stamps and seals the first out replies and sends them, skipping any
// message the kernel refuses (e.g. a peer address it cannot route to). It
// reports whether any sent reply asked for a kernel TX timestamp.
//
// Basic replies (the ones whose Transmit is the time of sending) are sent
// each with its own system call, stamped right before it, as chronyd does,
// while the others (interleaved replies, which carry an earlier reply's
// exact stamp) share one sendmmsg. Only when the server is behind (step)
// and the batch holds more than soloMax basic replies is it sent in
// sendmmsg chunks of chunkMax, each stamped from its own clock reading
// plus the calibrated delay of each reply's position in the chunk: there
// throughput comes first, and the chunk bounds how far a stamp can lead
// its packet when the calibration is cold or a send is slow. Measured
// (bench-ntp; the server's own gnomon_ntp_basic_transmit_error_seconds and
// the generator's figure): docs/architecture.md.
func (w *worker) send(out int, behind bool) (stamped bool) {
	basic := 0
	for j := range out {
		if w.verdict[j].NeedsTransmit() {
			basic++
		}
	}
	if behind && basic > soloMax {
		return w.sendChunks(out)
	}
	// One basic reply in calEvery batches is stamped for the calibration
	// (its solo send teaches position 0).
	calPos := -1
	if w.reportsPerTX > 0 {
		if w.calSeq++; w.calSeq%calEvery == 0 {
			calPos = int(w.calSeq/calEvery) % out
		}
	}
	// A batch of interleaved replies only teaches the calibration the
	// delay of each position after this reading.
	var t3 wire.Time
	if basic == 0 {
		t3 = wire.TimeFromTime(w.clk.Now())
	}
	kept := 0
	for j := range out {
		if !w.verdict[j].NeedsTransmit() {
			// Interleaved: no clock reading; sent together below.
			if meta, ok := w.seal(j, 0, wire.Time(0), false); ok {
				if kept != j {
					// Close the gap left by a reply sent on its own
					// (or not sent).
					w.tx[kept], w.tx[j] = w.tx[j], w.tx[kept]
				}
				w.meta[kept] = meta
				kept++
			}
			continue
		}
		t := wire.TimeFromTime(w.clk.Now())
		meta, ok := w.seal(j, 0, t, j == calPos)
		if !ok {
			continue
		}
		w.soloMeta[0] = meta
		if w.write(w.tx[j:j+1], t, w.soloMeta[:], true) {
			stamped = true
		}
	}
	// Sent after the solo replies, the interleaved replies' delays are not
	// their positions' alone: then they do not teach the calibration.
	if w.write(w.tx[:kept], t3, w.meta, basic == 0) {
		stamped = true
	}
	return stamped
}

// sendChunks sends the first out replies in sendmmsg chunks of chunkMax,
// each chunk stamped from its own clock reading; every call stamps one
// basic reply, at a rotating position, for the calibration.
func (w *worker) sendChunks(out int) (stamped bool) {
	w.calSeq++
	calPos := -1
	if w.reportsPerTX > 0 {
		calPos = int(w.calSeq) % out
	}
	for c := 0; c < out; c += chunkMax {
		end := min(c+chunkMax, out)
		// Read the served clock as late as possible before the chunk's
		// sendmmsg; sealing comes after it (the Transmit timestamp is
		// inside the MAC).
		t := wire.TimeFromTime(w.clk.Now())
		kept := c
		for j := c; j < end; j++ {
			meta, ok := w.seal(j, kept-c, t, j == calPos)
			if !ok {
				continue
			}
			if meta.basic {
				w.ctr.basicBatched.Add(1)
			}
			if kept != j {
				w.tx[kept], w.tx[j] = w.tx[j], w.tx[kept]
			}
			w.meta[kept-c] = meta
			kept++
		}
		if w.write(w.tx[c:kept], t, w.meta, true) {
			stamped = true
		}
	}
	return stamped
}

// seal finishes reply j for sending at position pos of its sendmmsg: a
// basic reply gets Transmit t plus the calibrated delay of pos (and, if
// cal, a TX stamp request for the calibration), then the reply is sealed
// (MAC or NTS). It returns what is known of the reply, and false, counting
// it, when the reply cannot be sealed and must not be sent.
func (w *worker) seal(j, pos int, t wire.Time, cal bool) (sendMeta, bool) {
	r := &w.tx[j]
	var meta sendMeta
	if w.verdict[j].NeedsTransmit() {
		meta.basic, meta.transmit = true, t.Add(time.Duration(w.cal.predict(pos)))
		wire.PutTransmit(r.Buf[:r.N], meta.transmit)
		w.ctr.tx[hwts.KindDaemon].Add(1)
		if cal && !r.WantTX {
			r.WantTX, meta.calOnly = true, true
			w.ctr.txCalibration.Add(1)
		}
	}
	a := &w.auth[j]
	n := w.srv.Seal(r.Buf, r.N, a)
	if n == 0 {
		// RespondAuth checked the buffer, so this is a kind Seal cannot
		// produce: never send the reply unauthenticated.
		w.ctr.sealFailed.Add(1)
		return meta, false
	}
	r.N = n
	switch a.Kind() {
	case ntp.AuthMAC:
		w.ctr.authenticated.Add(1)
	case ntp.AuthNTS:
		if a.NTSVerdict().NAK() {
			w.ctr.ntsNAKs.Add(1)
		} else {
			w.ctr.ntsAuthenticated.Add(1)
		}
	}
	return meta, true
}

// write sends msgs in as few sendmmsg calls as the kernel takes, skipping
// a message it refuses, and remembers those that asked for a TX stamp
// (t3: the clock reading their Transmit came from; meta[k]: what is known
// of msgs[k]; learn: their stamps teach the calibration). It reports
// whether any did.
func (w *worker) write(msgs []hwts.Message, t3 wire.Time, meta []sendMeta, learn bool) (stamped bool) {
	off := 0 // position of msgs[0] in the batch
	for len(msgs) > 0 {
		sent, err := w.conn.WriteBatch(msgs)
		for k := range sent {
			// Only replies that asked for a TX timestamp can be matched to
			// one (ntp.Server.WantsTX, or one basic reply now and then for
			// the calibration; never a KoD: chrony keeps no timestamps for
			// them either).
			if msgs[k].WantTX && w.reportsPerTX > 0 {
				pos := off + k
				if !learn {
					pos = -1
				}
				w.remember(&msgs[k], t3, pos, meta[off+k])
				w.pending += w.reportsPerTX
				stamped = true
			}
		}
		w.ctr.replies.Add(uint64(sent))
		if err == nil {
			if sent == 0 {
				break // nothing accepted and no error: give up this batch
			}
			msgs, off = msgs[sent:], off+sent
			continue
		}
		// msgs[sent] failed: count it and go on with the rest, unless the
		// socket is gone.
		w.ctr.sendErrors.Add(1)
		if errClosed(err) {
			w.ctr.sendErrors.Add(uint64(len(msgs) - sent - 1))
			break
		}
		msgs, off = msgs[sent+1:], off+sent+1
	}
	return stamped
}

// remember stores a sent reply in the ring so that its TX timestamp can be
// matched to the client and Receive field.
func (w *worker) remember(m *hwts.Message, t3 wire.Time, pos int, meta sendMeta) {
	e := &w.ring[m.TXID&(ringSize-1)]
	e.id = m.TXID
	e.valid, e.swDone, e.hwDone = true, false, false
	e.addr = m.Addr.Addr()
	e.rxField = wire.ReceiveField(m.Buf[:m.N])
	e.t3, e.pos, e.calDone, e.sendMeta = t3, pos, false, meta
}

// drainTX reads the TX timestamps waiting on the error queue. A stamp that
// was not there right after its sendmmsg (a NIC stamp, a packet queued in
// a qdisc) gets one more chance before the next batch; when that drain
// (before) finds nothing, pending is cleared: a stamp the kernel never
// delivers (a dropped packet, a NIC that missed it) must not make every
// later batch read an empty error queue. A stamp later still is read by
// the next drain after a stamped reply.
func (w *worker) drainTX(before bool) {
	w.drained = 0
	if _, err := w.conn.ReadTX(w.onTXFunc); err != nil && !errClosed(err) {
		w.ctr.receiveErrors.Add(1)
	}
	w.pending -= w.drained
	if w.pending < 0 || before && w.drained == 0 {
		w.pending = 0
	}
}

// onTX handles one TX timestamp of the reply with the given TXID.
func (w *worker) onTX(id uint32, ts hwts.Timestamp) {
	w.drained++
	if int(ts.Kind) < len(w.ctr.tx) {
		w.ctr.tx[ts.Kind].Add(1)
	}
	// A hardware socket reports two stamps per packet (OPT_TX_SWHW): the
	// kernel software one, usually first, and the NIC's in PHC time. With
	// a PHC mapping the hardware stamp wins whatever the order; without
	// one the software stamp is the only one used.
	useHW := w.hw != nil && w.reportsPerTX == 2
	rt := ts.Time
	switch ts.Kind {
	case hwts.KindKernel:
	case hwts.KindHardware:
		if !useHW {
			return
		}
		var ok bool
		if rt, ok = w.hw.ToRealtime(w.phc, ts.Time); !ok {
			w.ctr.txHardwareUnused.Add(1)
			return
		}
	default:
		return
	}
	e := &w.ring[id&(ringSize-1)]
	if !e.valid || e.id != id {
		w.ctr.txUnmatched.Add(1)
		return
	}
	hw := ts.Kind == hwts.KindHardware
	switch {
	case hw:
		e.hwDone, e.valid = true, !e.swDone // keep it to absorb the software stamp still to come
	case e.hwDone:
		e.valid = false // the better stamp is already recorded
		return
	default:
		e.swDone, e.valid = true, useHW // a hardware stamp may still come and replace it
	}
	tx := wire.TimeFromTime(w.clk.FromRealtime(rt))
	if !e.calDone && e.pos >= 0 {
		// The first stamp used (the kernel's; with a NIC usually its
		// software companion) teaches the calibration when replies leave.
		e.calDone = true
		w.cal.add(e.pos, int64(tx.Sub(e.t3)))
	}
	if e.basic {
		// The same stamp measures how far the Transmit written led it.
		e.basic = false
		w.ctr.observeTXError(tx.Sub(e.transmit))
	}
	if e.calOnly {
		return
	}
	if w.srv.RecordTX(e.addr, e.rxField, tx) {
		w.ctr.txRecorded.Add(1)
	}
}
