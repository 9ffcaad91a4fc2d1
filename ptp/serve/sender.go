package serve

import (
	"context"
	"net/netip"
	"runtime"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ptp"
)

// Sender limits.
const (
	// maxBatch is the most Syncs (or Announces) one pass sends in one
	// system call; a pass with more due sends several batches.
	maxBatch = 64
	// maxSleep bounds the sender's sleep so grant expiry and new grants
	// are seen promptly.
	maxSleep = 50 * time.Millisecond
	// slack: grants due within it are sent in this pass (one wake-up and
	// one batch for many clients instead of one each).
	slack = time.Millisecond
	// sleepChunk bounds each of the sender's sleeps in the kernel, and
	// the sender yields to Go's scheduler between them (sleepFor, and
	// "The sender's sleep" in doc.go): Go's sysmon preempts a goroutine
	// that has not been rescheduled for 10 ms and takes the P of a thread
	// that stays in one system call for 10 ms; either way the sender's
	// return then wakes sysmon, whose following timer interrupts, 20 µs
	// apart for milliseconds, land on the CPU that is sending the next
	// Sync. 125 wake-ups a second per address, a few µs each.
	sleepChunk = 8 * time.Millisecond
	// quietBefore: the sender does not yield within it of its next pass
	// (a yield may wake another runtime thread, on this CPU too; that must
	// be over before a Sync leaves).
	quietBefore = 2 * time.Millisecond
	// oversleep is how late a sleep may end and still leave its yield
	// before the quiet time (sleepFor).
	oversleep = time.Millisecond
	// recvBuffer is the receive buffer the event and general sockets ask
	// for (as the NTP sockets' default): the kernel's default, about 280
	// queued datagrams, overflows when a reader is descheduled for 50 ms
	// at 6,000 Delay_Req/s (seen in make bench-ptp on a loaded machine).
	recvBuffer = 4 << 20
)

// pendingSync is a Sync sent and waiting for its TX timestamp.
type pendingSync struct {
	id    uint32
	to    netip.AddrPort
	seq   uint16
	sptp  bool
	mcast bool // a multicast Sync: multicast Follow_Up
	// failed: the kernel refused the Sync (no TX stamp will come).
	failed bool
	ev     ptp.Event
	t1     time.Time
	found  bool
	// kernel: a kernel stamp arrived while a hardware one is awaited
	// (the fallback if the NIC's never does); kt1 is its time.
	kernel bool
	kt1    time.Time
}

// sender is the one goroutine that sends Syncs (and reads their TX
// timestamps), Follow_Ups and Announces for trio t. It sleeps in the
// kernel (t.wake), never on a Go timer, in chunks with a yield to Go's
// scheduler between them (sleepFor): see waker and "The sender's sleep" in
// doc.go.
func (s *Service) sender(ctx context.Context, t *trio) error {
	stop := context.AfterFunc(ctx, t.wake.notify)
	defer stop()
	syncs := make([]hwts.Message, maxBatch)
	for i := range syncs {
		syncs[i].Buf = make([]byte, ptp.SyncLen)
		syncs[i].WantTX = true
	}
	gen := make([]hwts.Message, maxBatch)
	for i := range gen {
		gen[i].Buf = make([]byte, ptp.AnnounceLen)
	}
	pend := make([]pendingSync, maxBatch)
	var due []*ptp.Grant
	var sched schedule
	lastExpire := time.Time{}
	var wakeAt time.Time // monotonic: a served-clock step does not move it
	for {
		if ctx.Err() != nil {
			return nil
		}
		select {
		case r := <-t.sptp:
			if err := s.sendSPTP(t, r, syncs[:1], gen[:1], pend[:1]); err != nil {
				return err
			}
			continue
		default:
		}
		if d := time.Until(wakeAt); d > 0 {
			if !t.wake.sleep(sleepFor(d)) {
				return nil // closed
			}
			yieldBefore(wakeAt)
			continue
		}
		now := s.cfg.Clock.Now()
		if now.Sub(lastExpire) >= time.Second || now.Before(lastExpire) {
			s.cfg.Server.Grants().Expire(now)
			lastExpire = now
		}
		q := ptp.QualityOf(s.cfg.State.Load())
		sched.add(s.cfg.Server.Grants(), t.via, now)
		var nextDue time.Time
		due, nextDue = sched.due(now.Add(slack), due[:0])
		next := now.Add(maxSleep)
		if !nextDue.IsZero() && nextDue.Before(next) {
			next = nextDue
		}
		if err := s.sendDue(t, due, q, now, syncs, gen, pend); err != nil {
			return err
		}
		if t.mc != nil {
			mnext, err := s.multicastDue(t, now, q, syncs, gen, pend)
			if err != nil {
				return err
			}
			if mnext.Before(next) {
				next = mnext
			}
		}
		wakeAt = time.Now().Add(next.Sub(s.cfg.Clock.Now()))
		yieldBefore(wakeAt)
	}
}

// sleepFor is the next sleep of a sender whose next pass is d away: at
// most sleepChunk, and, when it does not run to the pass, planned to end
// at least quietBefore + oversleep before it, so that the yield after it
// still comes before the quiet time when the kernel wakes the sender late
// (ppoll's timer slack, 50 µs by default, or a busy CPU). The sender thus
// yields at least every sleepChunk plus a pass (and the oversleeps).
func sleepFor(d time.Duration) time.Duration {
	switch {
	case d <= sleepChunk:
		return d
	case d-sleepChunk < quietBefore+oversleep:
		return d - quietBefore - oversleep
	default:
		return sleepChunk
	}
}

// yieldBefore lets Go's scheduler run (runtime.Gosched) unless the pass at
// wakeAt is less than quietBefore away. The sender never blocks in Go, so
// without it its goroutine would not be rescheduled between passes; sysmon
// then preempts it every 10 ms, takes its P and, once every P is idle,
// sleeps until the sender's return wakes it: the timer interrupts of its
// fast polling after that hit the next Sync (see doc.go). The NTP workers
// yield for the same reason (ntp/serve yieldEvery); the sender also keeps
// its yields away from its passes.
func yieldBefore(wakeAt time.Time) {
	if time.Until(wakeAt) >= quietBefore {
		runtime.Gosched()
	}
}

// sendDue sends the due grants' messages: Syncs in batches with their
// Follow_Ups, then Announces.
func (s *Service) sendDue(t *trio, due []*ptp.Grant, q ptp.Quality, now time.Time, syncs, gen []hwts.Message, pend []pendingSync) error {
	k := 0
	flush := func() error {
		if k == 0 {
			return nil
		}
		err := s.syncBatch(t, syncs[:k], gen, pend[:k], q)
		k = 0
		return err
	}
	for _, g := range due {
		if g.Type != protocol.MessageSync {
			continue
		}
		g.Seq++
		m := &syncs[k]
		m.N = s.cfg.Server.AppendSync(m.Buf, g.Seq, now, q.UTCOffset)
		m.Addr = g.Client.EventAddr()
		pend[k] = pendingSync{to: g.Client.Addr, seq: g.Seq}
		if k++; k == len(syncs) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	n := 0
	for _, g := range due {
		if g.Type != protocol.MessageAnnounce {
			continue
		}
		g.Seq++
		m := &gen[n]
		m.N = s.cfg.Server.AppendAnnounce(m.Buf, q, protocol.FlagUnicast, g.Seq, g.LogInterval, now, 0)
		m.Addr = g.Client.Addr
		if n++; n == len(gen) {
			if err := s.sendGeneral(t, gen[:n], sentAnnounce); err != nil {
				return err
			}
			n = 0
		}
	}
	return s.sendGeneral(t, gen[:n], sentAnnounce)
}

// sendGeneral sends msgs from the general socket and counts them as kind;
// a message the kernel refuses is counted as a send error. It returns only
// an error that means the socket is closed.
func (s *Service) sendGeneral(t *trio, msgs []hwts.Message, kind int) error {
	if len(msgs) == 0 {
		return nil
	}
	failed := 0
	err := t.writeGeneral(msgs, func(int, error) { failed++ })
	s.ctr.sendErrors.Add(uint64(failed))
	s.ctr.sent[kind].Add(uint64(len(msgs) - failed))
	return err
}

// syncBatch sends one batch of Syncs, waits (at most TXWait) for their TX
// timestamps and sends the Follow_Ups of those that got one.
func (s *Service) syncBatch(t *trio, syncs, gen []hwts.Message, pend []pendingSync, q ptp.Quality) error {
	for i := range pend {
		pend[i].found, pend[i].failed = false, false
	}
	failed := 0
	err := writeAll(t.send, syncs, func(i int, _ error) { pend[i].failed = true; failed++ })
	s.ctr.sendErrors.Add(uint64(failed))
	s.ctr.sent[sentSync].Add(uint64(len(syncs) - failed))
	if err != nil {
		return err
	}
	for i := range pend {
		pend[i].id = syncs[i].TXID
	}
	s.awaitTX(t, pend, q.UTCOffset)
	n := 0
	for i := range pend {
		p := &pend[i]
		if p.failed {
			continue
		}
		if !p.found {
			s.ctr.txMisses.Add(1)
			continue
		}
		m := &gen[n]
		if p.mcast {
			m.N = s.cfg.Server.AppendMulticastFollowUp(m.Buf, p.seq, p.t1, q.UTCOffset)
		} else {
			m.N = s.cfg.Server.AppendFollowUp(m.Buf, p.seq, p.t1, q.UTCOffset)
		}
		m.Addr = p.to
		n++
	}
	return s.sendGeneral(t, gen[:n], sentFollowUp)
}

// awaitTX reads TX timestamps until every pending Sync has one or TXWait
// has passed (software stamps are normally queued before sendmmsg
// returns; a NIC's come from its interrupt, a little later). With
// hardware stamps (trio.hwTX) the NIC's stamp is awaited; its kernel
// companion is kept and used, counted, only for a Sync whose hardware
// stamp does not come within TXWait.
func (s *Service) awaitTX(t *trio, pend []pendingSync, utcOffset int) {
	missing := 0
	for i := range pend {
		if !pend[i].failed {
			missing++
		}
	}
	want := hwts.KindKernel
	if t.hwTX {
		want = hwts.KindHardware
	}
	deadline := time.Now().Add(s.cfg.TXWait)
	for missing > 0 {
		_, err := t.send.ReadTX(func(id uint32, ts hwts.Timestamp) {
			if ts.Kind != hwts.KindKernel && ts.Kind != want {
				return
			}
			for i := range pend {
				p := &pend[i]
				if p.id != id || p.found || p.failed {
					continue
				}
				switch {
				case ts.Kind == want && want == hwts.KindHardware:
					p.found, p.t1 = true, s.fromPHC(ts.Time, utcOffset)
					s.ctr.stamps[txStamp][hwStamp].Add(1)
					missing--
				case ts.Kind == want:
					p.found, p.t1 = true, s.served(ts)
					s.ctr.stamps[txStamp][kernelStamp].Add(1)
					missing--
				default: // the kernel companion of an awaited hardware stamp
					p.kernel, p.kt1 = true, s.served(ts)
				}
				return
			}
		})
		if err != nil || missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Microsecond)
	}
	if !t.hwTX {
		return
	}
	for i := range pend {
		if p := &pend[i]; !p.found && !p.failed {
			s.ctr.hwMissing[txStamp].Add(1)
			if p.kernel {
				p.found, p.t1 = true, p.kt1
				s.ctr.stamps[txStamp][kernelStamp].Add(1)
			}
		}
	}
}

// sendSPTP sends an SPTP Sync, then the Announce carrying its TX time.
func (s *Service) sendSPTP(t *trio, r sptpReq, syncs, gen []hwts.Message, pend []pendingSync) error {
	m := &syncs[0]
	m.N = copy(m.Buf, r.buf[:r.ev.N])
	m.Addr = r.ev.To
	sent, err := t.send.WriteBatch(syncs[:1])
	if errClosed(err) {
		return err
	}
	if err != nil || sent != 1 {
		s.ctr.sendErrors.Add(1)
		return nil
	}
	s.ctr.sent[sentSync].Add(1)
	q := ptp.QualityOf(s.cfg.State.Load())
	pend[0] = pendingSync{id: m.TXID}
	s.awaitTX(t, pend[:1], q.UTCOffset)
	if !pend[0].found {
		s.ctr.txMisses.Add(1)
		return nil
	}
	to := r.ev.To
	if to.Port() == s.cfg.EventPort || to.Port() == ptp.EventPort {
		to = netip.AddrPortFrom(to.Addr(), ptp.GeneralPort)
	}
	g := &gen[0]
	g.N = s.cfg.Server.SPTPAnnounce(g.Buf, q, r.ev, pend[0].t1)
	g.Addr = to
	return s.sendGeneral(t, gen[:1], sentAnnounce)
}
