package loadgen

import (
	"encoding/binary"
	"time"

	"github.com/facebook/time/ptp/protocol"

	ntpload "github.com/gnomon-time/gnomon/ntp/loadgen"
)

// This file is the sans-IO core: one simulated unicast client's negotiation
// state, the messages it sends and the accounting of what it receives. Times
// are int64 ns on one clock (the shell uses CLOCK_REALTIME, like the kernel
// receive stamps); nothing here reads a clock or touches a socket.

// Wire constants (IEEE 1588-2019 §13): version 2.0 as ptp4l 3.1.1 sends it,
// controlField values of the 2008 edition, logMessageInterval 0x7f for
// messages without a period.
const (
	ptpVersion    = 2
	ctlDelayReq   = 1
	ctlOther      = 5
	logNoInterval = 0x7f
	headerLen     = 34
	delayReqLen   = 44
	// txBufLen holds the largest message a client sends: a Signaling with
	// three TLVs (34 + 10 + 3×10).
	txBufLen = 128
	// rxBufLen is larger than any message the accounting needs, so that an
	// oversized one is seen as such (counted, then decoded by its length).
	rxBufLen = 1500
	// pendSlots bounds the Syncs (or Follow_Ups) waiting for their partner.
	pendSlots = 8
)

// contract indexes: the three message types a client asks for.
const (
	conAnnounce = iota
	conSync
	conDelayResp
	numContracts
)

// groups: Announce is requested alone first, then Sync and Delay_Resp in one
// Signaling with two TLVs (as ptp4l's unicast client does).
const (
	grpAnnounce = iota
	grpSyncDelay
	numGroups
)

var contractMsg = [numContracts]protocol.MessageType{protocol.MessageAnnounce, protocol.MessageSync, protocol.MessageDelayResp}
var contractGroup = [numContracts]int{grpAnnounce, grpSyncDelay, grpSyncDelay}

// params is what every client of a run shares (read only).
type params struct {
	domain      uint8
	logSync     int8
	logAnnounce int8
	grantSecs   uint32
	lateAfter   int64
	grantWait   int64
	sendEnd     int64 // clients stop sending (and send CANCEL) at this time
}

func (p *params) period(con int) int64 {
	l := p.logSync
	if con == conAnnounce {
		l = p.logAnnounce
	}
	return logPeriod(l)
}

// logPeriod is 2^l seconds in ns, for |l| ≤ 30 (larger values are clamped).
func logPeriod(l int8) int64 {
	l = max(min(l, 30), -30)
	if l >= 0 {
		return int64(time.Second) << uint(l)
	}
	return int64(time.Second) >> uint(-l)
}

type contract struct {
	granted   bool
	answered  bool  // answered (granted or denied) since the last request
	period    int64 // granted period, ns
	renewAt   int64
	grantedAt int64 // first grant's receive time (0 = never granted)
}

type group struct {
	requestedAt int64 // last request sent, 0 = none outstanding
	firstReq    int64
	nextReq     int64 // when the next (re)request is due, 0 = not scheduled
}

type dreqSlot struct {
	seq  uint16
	used bool
	sent int64
}

type pendSlot struct {
	seq      uint16
	sync, fu int64 // receive times, 0 = not seen
	origin   int64 // with fu: the Follow_Up's origin (see originOf)
}

// client is one simulated unicast PTP client.
type client struct {
	id        protocol.PortIdentity
	p         *params
	con       [numContracts]contract
	grp       [numGroups]group
	sigSeq    uint16
	dreqSeq   uint16
	nextDreq  int64 // 0 = not started
	phase     int64 // offset of this client's Delay_Req schedule after its grant
	dreq      []dreqSlot
	pend      [pendSlots]pendSlot
	lastSync  int64
	inWin     [2]uint64 // Announce, Sync received inside the accounting window
	cancelled bool
	done      bool // finalized
}

func newClient(id protocol.PortIdentity, p *params, start, phase int64, ring int) *client {
	c := &client{id: id, p: p, phase: phase, dreq: make([]dreqSlot, ring)}
	c.grp[grpAnnounce].nextReq = start
	return c
}

// next is when step must run next (math.MaxInt64-like far future when
// nothing is scheduled).
func (c *client) next() int64 {
	if c.cancelled {
		return 1<<63 - 1
	}
	t := c.p.sendEnd
	for g := range c.grp {
		if n := c.grp[g].nextReq; n > 0 && n < t {
			t = n
		}
		if r := c.grp[g].requestedAt; r > 0 && r+c.p.grantWait < t {
			t = r + c.p.grantWait
		}
	}
	if c.nextDreq > 0 && c.nextDreq < t {
		t = c.nextDreq
	}
	return t
}

// sender hands one message to the network; event selects the event socket
// and port. It reports whether the message was sent; b is valid only during
// the call. A batching sender may report true and send later: when that
// send fails it calls client.unsend with s (a copy), which takes back what
// the client did for a sent message and does what it does for a failed one.
type sender interface {
	send(event bool, b []byte, s *sent) bool
}

// sent describes one message the client handed to a sender.
type sent struct {
	at    int64 // step time the message was sent at
	kind  uint8 // sentDelayReq, sentRequest, sentCancel
	grp   uint8 // sentRequest: the group requested
	tlvs  uint8 // sentRequest, sentCancel: TLVs in the Signaling
	first bool  // sentRequest: this request set the group's firstReq
	seq   uint16
	prev  dreqSlot // sentDelayReq: the ring slot it replaced
}

const (
	sentDelayReq = iota + 1
	sentRequest
	sentCancel
)

// unsend takes back a message a batching sender reported sent and then
// failed to send: the counters and state end as if send had reported false
// (the Delay_Req's sequenceId stays used, as it does for a failed send).
func (c *client) unsend(s *sent, st *stats) {
	st.sendErrors++
	switch s.kind {
	case sentDelayReq:
		st.dreqSent--
		sl := &c.dreq[int(s.seq)&(len(c.dreq)-1)]
		if sl.used && sl.seq == s.seq {
			if s.prev.used {
				st.dreqOverwritten--
			}
			*sl = s.prev
		}
	case sentRequest:
		st.signalingSent--
		st.requests -= uint64(s.tlvs)
		gr := &c.grp[s.grp]
		if gr.requestedAt == s.at { // not answered meanwhile
			gr.requestedAt, gr.nextReq = 0, s.at+c.p.grantWait
		}
		if s.first && gr.firstReq == s.at {
			gr.firstReq = 0
		}
	case sentCancel:
		st.signalingSent--
		st.cancelsSent -= uint64(s.tlvs)
	}
}

// sentAt sets the send time of a Delay_Req a batching sender sent at t
// (CLOCK_REALTIME just before the system call), later than its step time.
func (c *client) sentAt(s *sent, t int64) {
	if s.kind != sentDelayReq {
		return
	}
	if sl := &c.dreq[int(s.seq)&(len(c.dreq)-1)]; sl.used && sl.seq == s.seq && t > sl.sent {
		sl.sent = t
	}
}

// codec holds a worker's scratch messages and buffer, so that encoding and
// decoding do not allocate per message.
type codec struct {
	tx   [txBufLen]byte
	dreq protocol.SyncDelayReq
	sync protocol.SyncDelayReq
	fu   protocol.FollowUp
	dr   protocol.DelayResp
	ann  protocol.Announce
	sig  protocol.Signaling
}

// step sends whatever is due at now: (re)requests, Delay_Req, or the final
// CANCEL once now reaches the end of sending.
func (c *client) step(now int64, cx *codec, out sender, st *stats) {
	if c.cancelled {
		return
	}
	if now >= c.p.sendEnd {
		c.cancel(now, cx, out, st)
		return
	}
	for g := range c.grp {
		gr := &c.grp[g]
		if gr.requestedAt > 0 && now >= gr.requestedAt+c.p.grantWait {
			st.grantTimeouts++
			gr.requestedAt = 0
			gr.nextReq = now
		}
		if gr.nextReq > 0 && now >= gr.nextReq {
			c.request(g, now, cx, out, st)
		}
	}
	if c.nextDreq > 0 && now >= c.nextDreq {
		c.sendDelayReq(now, cx, out, st)
		per := c.p.period(conSync)
		c.nextDreq += per
		if c.nextDreq <= now { // fell behind (a stalled worker): skip, do not burst
			st.dreqSkipped += uint64((now - c.nextDreq) / per)
			c.nextDreq = now + per - (now-c.nextDreq)%per
		}
	}
}

func (c *client) header(h *protocol.Header, t protocol.MessageType, length int, seq uint16, ctl uint8) {
	*h = protocol.Header{
		SdoIDAndMsgType:    protocol.NewSdoIDAndMsgType(t, 0),
		Version:            ptpVersion,
		MessageLength:      uint16(length),
		DomainNumber:       c.p.domain,
		FlagField:          protocol.FlagUnicast,
		SourcePortIdentity: c.id,
		SequenceID:         seq,
		ControlField:       ctl,
		LogMessageInterval: logNoInterval,
	}
}

// request sends one Signaling with a REQUEST_UNICAST_TRANSMISSION TLV for
// every contract of group g.
func (c *client) request(g int, now int64, cx *codec, out sender, st *stats) {
	tlvs := make([]protocol.TLV, 0, 2)
	for con := range numContracts {
		if contractGroup[con] != g {
			continue
		}
		l := c.p.logSync
		if con == conAnnounce {
			l = c.p.logAnnounce
		}
		tlvs = append(tlvs, &protocol.RequestUnicastTransmissionTLV{
			TLVHead:               protocol.TLVHead{TLVType: protocol.TLVRequestUnicastTransmission, LengthField: 6},
			MsgTypeAndReserved:    protocol.NewUnicastMsgTypeAndFlags(contractMsg[con], 0),
			LogInterMessagePeriod: protocol.LogInterval(l),
			DurationField:         c.p.grantSecs,
		})
		c.con[con].answered = false
		if c.con[con].granted {
			st.renewals++
		}
	}
	gr := &c.grp[g]
	rec := sent{at: now, kind: sentRequest, grp: uint8(g), tlvs: uint8(len(tlvs)), first: gr.firstReq == 0}
	if !c.signal(tlvs, cx, out, &rec, st) {
		gr.nextReq = now + c.p.grantWait
		return
	}
	st.requests += uint64(len(tlvs))
	gr.requestedAt, gr.nextReq = now, 0
	if gr.firstReq == 0 {
		gr.firstReq = now
	}
}

// signal encodes and sends a Signaling to the general port.
func (c *client) signal(tlvs []protocol.TLV, cx *codec, out sender, rec *sent, st *stats) bool {
	c.header(&cx.sig.Header, protocol.MessageSignaling, 0, c.sigSeq, ctlOther)
	cx.sig.TargetPortIdentity = protocol.DefaultTargetPortIdentity
	cx.sig.TLVs = tlvs
	n, err := cx.sig.MarshalBinaryTo(cx.tx[:])
	cx.sig.TLVs = nil
	if err != nil {
		st.encodeErrors++
		return false
	}
	binary.BigEndian.PutUint16(cx.tx[2:], uint16(n))
	rec.seq = c.sigSeq
	c.sigSeq++
	if !out.send(false, cx.tx[:n], rec) {
		st.sendErrors++
		return false
	}
	st.signalingSent++
	return true
}

func (c *client) sendDelayReq(now int64, cx *codec, out sender, st *stats) {
	seq := c.dreqSeq
	c.dreqSeq++
	c.header(&cx.dreq.Header, protocol.MessageDelayReq, delayReqLen, seq, ctlDelayReq)
	n, err := cx.dreq.MarshalBinaryTo(cx.tx[:])
	if err != nil {
		st.encodeErrors++
		return
	}
	s := &c.dreq[int(seq)&(len(c.dreq)-1)]
	rec := sent{at: now, kind: sentDelayReq, seq: seq, prev: *s}
	if !out.send(true, cx.tx[:n], &rec) {
		st.sendErrors++
		return
	}
	st.dreqSent++
	if s.used {
		st.dreqOverwritten++ // unanswered after a whole ring: stays missing
	}
	*s = dreqSlot{seq: seq, used: true, sent: now}
}

// cancel ends the client's contracts: one Signaling with a CANCEL TLV for
// every contract it ever asked for.
func (c *client) cancel(now int64, cx *codec, out sender, st *stats) {
	c.cancelled = true
	c.nextDreq = 0
	tlvs := make([]protocol.TLV, 0, numContracts)
	for con := range numContracts {
		if c.grp[contractGroup[con]].firstReq == 0 {
			continue
		}
		tlvs = append(tlvs, &protocol.CancelUnicastTransmissionTLV{
			TLVHead:         protocol.TLVHead{TLVType: protocol.TLVCancelUnicastTransmission, LengthField: 2},
			MsgTypeAndFlags: protocol.NewUnicastMsgTypeAndFlags(contractMsg[con], 0),
		})
	}
	rec := sent{at: now, kind: sentCancel, tlvs: uint8(len(tlvs))}
	if len(tlvs) > 0 && c.signal(tlvs, cx, out, &rec, st) {
		st.cancelsSent += uint64(len(tlvs))
	}
}

// receive accounts one received message. rx is its receive time. It never
// panics on any input.
func (c *client) receive(rx int64, b []byte, cx *codec, st *stats) {
	if len(b) < headerLen {
		st.malformed++
		return
	}
	if b[1]&0x0f != ptpVersion {
		st.badVersion++
		return
	}
	if b[4] != c.p.domain {
		st.badDomain++
		return
	}
	switch protocol.MessageType(b[0] & 0x0f) {
	case protocol.MessageSync:
		if cx.sync.UnmarshalBinary(b) != nil {
			st.malformed++
			return
		}
		cx.sync.TLVs = cx.sync.TLVs[:0]
		c.onSync(rx, &cx.sync.Header, st)
	case protocol.MessageFollowUp:
		if cx.fu.UnmarshalBinary(b) != nil {
			st.malformed++
			return
		}
		st.rx[kindFollowUp]++
		c.onFollowUp(rx, cx.fu.SequenceID, originOf(&cx.fu.PreciseOriginTimestamp), st)
	case protocol.MessageDelayResp:
		if cx.dr.UnmarshalBinary(b) != nil {
			st.malformed++
			return
		}
		c.onDelayResp(rx, &cx.dr, st)
	case protocol.MessageAnnounce:
		cx.ann.TLVs = cx.ann.TLVs[:0]
		if cx.ann.UnmarshalBinary(b) != nil {
			st.malformed++
			return
		}
		st.rx[kindAnnounce]++
		if c.inWindow(conAnnounce, rx) {
			c.inWin[0]++
		}
	case protocol.MessageSignaling:
		cx.sig.TLVs = cx.sig.TLVs[:0]
		if cx.sig.UnmarshalBinary(b) != nil {
			st.malformed++
			return
		}
		c.onSignaling(rx, cx.sig.TLVs, st)
	default:
		st.otherMsgs++
	}
}

// inWindow: a message of contract con received at rx falls inside the
// accounting window (from one period after the first grant to the end of
// sending).
func (c *client) inWindow(con int, rx int64) bool {
	ct := &c.con[con]
	return ct.grantedAt > 0 && rx >= ct.grantedAt+c.periodOf(con) && rx < c.p.sendEnd
}

func (c *client) periodOf(con int) int64 {
	if c.con[con].period > 0 {
		return c.con[con].period
	}
	return c.p.period(con)
}

func (c *client) onSync(rx int64, h *protocol.Header, st *stats) {
	st.rx[kindSync]++
	if c.inWindow(conSync, rx) {
		c.inWin[1]++
	}
	if c.lastSync > 0 {
		gap := rx - c.lastSync
		st.syncGap.Record(time.Duration(gap))
		if gap > c.periodOf(conSync)*3/2 {
			st.syncLate++
		}
	}
	c.lastSync = rx
	if h.FlagField&protocol.FlagTwoStep == 0 {
		st.oneStep++
		return
	}
	st.fuExpected++
	seq := h.SequenceID
	for i := range c.pend {
		s := &c.pend[i]
		if s.fu > 0 && s.sync == 0 && s.seq == seq {
			st.fuReordered++
			c.matchFU(rx, s.fu, s.origin, st) // Follow_Up processed first: lag from the kernel stamps
			*s = pendSlot{}
			return
		}
	}
	c.pendPut(pendSlot{seq: seq, sync: rx}, st)
}

// onFollowUp: origin is the Follow_Up's preciseOriginTimestamp as originOf
// gives it.
func (c *client) onFollowUp(rx int64, seq uint16, origin int64, st *stats) {
	for i := range c.pend {
		s := &c.pend[i]
		if s.sync > 0 && s.fu == 0 && s.seq == seq {
			c.matchFU(s.sync, rx, origin, st)
			*s = pendSlot{}
			return
		}
	}
	c.pendPut(pendSlot{seq: seq, fu: rx, origin: origin}, st)
}

// matchFU accounts a matched Sync (received at syncRx) and Follow_Up
// (received at fuRx, carrying origin).
func (c *client) matchFU(syncRx, fuRx, origin int64, st *stats) {
	st.fuMatched++
	lag := fuRx - syncRx
	st.fuLag.Record(time.Duration(lag))
	if lag > c.p.lateAfter {
		st.fuLate++
	}
	if origin == noOrigin {
		return
	}
	tr := Transit(syncRx, origin)
	st.syncTransit.Record(time.Duration(tr)) // a negative one as 0, hence the counter
	switch {
	case tr < 0:
		st.transitNegative++
	case tr > int64(TransitLate):
		st.transitLate++
	}
}

// pendPut stores a Sync or Follow_Up waiting for its partner, evicting the
// oldest entry when all slots are taken.
func (c *client) pendPut(n pendSlot, st *stats) {
	oldest, ot := -1, int64(1<<63-1)
	for i := range c.pend {
		s := &c.pend[i]
		if s.sync == 0 && s.fu == 0 {
			*s = n
			return
		}
		if t := max(s.sync, s.fu); t < ot {
			oldest, ot = i, t
		}
	}
	c.evict(&c.pend[oldest], st)
	c.pend[oldest] = n
}

func (c *client) evict(s *pendSlot, st *stats) {
	switch {
	case s.sync > 0:
		st.fuMissing++
	case s.fu > 0:
		st.fuOrphan++
	}
	*s = pendSlot{}
}

func (c *client) onDelayResp(rx int64, m *protocol.DelayResp, st *stats) {
	if m.RequestingPortIdentity != c.id {
		st.drForeign++
		return
	}
	st.rx[kindDelayResp]++
	s := &c.dreq[int(m.SequenceID)&(len(c.dreq)-1)]
	if !s.used || s.seq != m.SequenceID {
		st.drUnmatched++
		return
	}
	rtt := rx - s.sent
	s.used = false
	st.drMatched++
	st.drRTT.Record(time.Duration(rtt))
	if rtt > c.p.lateAfter {
		st.drLate++
	}
}

func (c *client) onSignaling(rx int64, tlvs []protocol.TLV, st *stats) {
	for _, t := range tlvs {
		switch v := t.(type) {
		case *protocol.GrantUnicastTransmissionTLV:
			c.onGrant(rx, v, st)
		case *protocol.AcknowledgeCancelUnicastTransmissionTLV:
			st.ackCancels++
		case *protocol.CancelUnicastTransmissionTLV:
			st.serverCancels++
			if con := contractOf(v.MsgTypeAndFlags.MsgType()); con >= 0 && !c.cancelled {
				c.con[con].granted = false
				g := &c.grp[contractGroup[con]]
				g.requestedAt, g.nextReq = 0, rx+c.p.grantWait
			}
		default:
			st.otherTLVs++
		}
	}
}

func contractOf(t protocol.MessageType) int {
	for con, m := range contractMsg {
		if m == t {
			return con
		}
	}
	return -1
}

func (c *client) onGrant(rx int64, v *protocol.GrantUnicastTransmissionTLV, st *stats) {
	con := contractOf(v.MsgTypeAndReserved.MsgType())
	if con < 0 {
		st.otherTLVs++
		return
	}
	ct := &c.con[con]
	g := contractGroup[con]
	gr := &c.grp[g]
	if gr.requestedAt == 0 || ct.answered {
		st.unsolicitedGrants++
		return
	}
	ct.answered = true
	if v.DurationField == 0 {
		st.denials++
		ct.granted = false
		c.settle(g, rx)
		return
	}
	st.grants++
	if l := int8(v.LogInterMessagePeriod); l != c.requestedLog(con) {
		st.grantPeriodDiffers++
	}
	ct.granted = true
	ct.period = logPeriod(int8(v.LogInterMessagePeriod))
	ct.renewAt = rx + int64(v.DurationField)*int64(time.Second)*3/4
	if ct.grantedAt == 0 {
		ct.grantedAt = rx
		switch con {
		case conAnnounce:
			// Announce granted: ask for Sync and Delay_Resp (ptp4l asks
			// after its BMCA picked the master; the grant is enough here).
			if c.grp[grpSyncDelay].firstReq == 0 {
				c.grp[grpSyncDelay].nextReq = rx
			}
		case conDelayResp:
			c.nextDreq = rx + c.phase%c.periodOf(conSync)
		}
	}
	c.settle(g, rx)
}

// settle: once every contract of group g has answered its request, the next
// request is due at 3/4 of the shortest duration granted, or after GrantWait
// if any was denied.
func (c *client) settle(g int, rx int64) {
	renew, denied := int64(0), false
	for k := range numContracts {
		if contractGroup[k] != g {
			continue
		}
		if !c.con[k].answered {
			return
		}
		switch {
		case !c.con[k].granted:
			denied = true
		case renew == 0 || c.con[k].renewAt < renew:
			renew = c.con[k].renewAt
		}
	}
	if denied {
		renew = rx + c.p.grantWait
	}
	gr := &c.grp[g]
	gr.requestedAt, gr.nextReq = 0, renew
}

func (c *client) requestedLog(con int) int8 {
	if con == conAnnounce {
		return c.p.logAnnounce
	}
	return c.p.logSync
}

// finalize closes the client's books at the end of the run: expected counts
// for the windowed types and Syncs still waiting for a Follow_Up.
func (c *client) finalize(st *stats) {
	if c.done {
		return
	}
	c.done = true
	for i, con := range [2]int{conAnnounce, conSync} {
		ct := &c.con[con]
		per := c.periodOf(con)
		start := ct.grantedAt
		if start == 0 {
			// Never granted: the window starts when a grant was due.
			first := c.grp[contractGroup[con]].firstReq
			if con == conSync && first == 0 {
				first = c.grp[grpAnnounce].firstReq
			}
			if first == 0 {
				continue
			}
			start = first + c.p.grantWait
		}
		start += per
		if start >= c.p.sendEnd {
			continue
		}
		exp := uint64((c.p.sendEnd - start) / per)
		got := c.inWin[i]
		st.expected[i] += exp
		st.inWindow[i] += min(got, exp)
		if got > exp {
			st.extra[i] += got - exp
		}
	}
	for i := range c.pend {
		c.evict(&c.pend[i], st)
	}
	for i := range c.dreq {
		if c.dreq[i].used {
			c.dreq[i].used = false
		}
	}
}

// Message kinds counted on receipt.
const (
	kindAnnounce = iota
	kindSync
	kindFollowUp
	kindDelayResp
	numKinds
)

// stats are one worker's counters, merged into Result at the end.
type stats struct {
	signalingSent, requests, renewals, cancelsSent uint64
	grants, denials, grantTimeouts                 uint64
	unsolicitedGrants, grantPeriodDiffers          uint64
	ackCancels, serverCancels                      uint64
	dreqSent, dreqSkipped, dreqOverwritten         uint64
	sendErrors, encodeErrors, recvErrors           uint64

	rx                 [numKinds]uint64
	expected, inWindow [2]uint64 // Announce, Sync
	extra              [2]uint64

	oneStep, fuExpected, fuMatched, fuMissing, fuOrphan, fuLate, fuReordered uint64
	transitLate, transitNegative                                             uint64
	drMatched, drLate, drUnmatched, drForeign                                uint64
	syncLate                                                                 uint64

	malformed, badVersion, badDomain, otherMsgs, otherTLVs, foreignSource, noKernelStamp uint64

	fuLag, drRTT, syncGap, syncTransit ntpload.Histogram
}
