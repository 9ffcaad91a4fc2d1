package ptp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/facebook/time/ptp/protocol"
)

// Config configures a Server.
type Config struct {
	// Identity is the grandmaster's clockIdentity (EUI-64, usually from
	// the interface MAC); the server's port is 1.
	Identity protocol.ClockIdentity
	// Domain is domainNumber (0 default profile, 44–63 G.8275.2).
	Domain uint8
	// Priority1 and Priority2 are Announce's grandmaster priorities.
	Priority1, Priority2 uint8
	// Limits bound unicast negotiation.
	Limits Limits
	// Allow lists the client prefixes served; empty serves nobody.
	Allow []netip.Prefix
	// Multicast sets the multicast messages' intervals.
	Multicast Multicast
}

// Validate reports every problem in c, naming the field and value.
func (c *Config) Validate() error {
	var errs []error
	if c.Identity == 0 || c.Identity == ^protocol.ClockIdentity(0) {
		errs = append(errs, fmt.Errorf("ptp: identity %s: not a usable clock identity", c.Identity))
	}
	if c.Domain > 127 {
		errs = append(errs, fmt.Errorf("ptp: domain %d: must be 0…127", c.Domain))
	}
	l := c.Limits
	if l.MaxClients < 1 {
		errs = append(errs, fmt.Errorf("ptp: max_clients %d: must be ≥ 1", l.MaxClients))
	}
	if l.MaxDuration < 10*time.Second {
		errs = append(errs, fmt.Errorf("ptp: max_duration %v: must be ≥ 10 s (ptp4l's shortest request)", l.MaxDuration))
	}
	for _, v := range []struct {
		name string
		v    int8
	}{{"min_log_announce_interval", l.MinLogAnnounce}, {"min_log_sync_interval", l.MinLogSync}, {"min_log_delay_resp_interval", l.MinLogDelayResp}} {
		if v.v < -7 || v.v > l.MaxLogInterval {
			errs = append(errs, fmt.Errorf("ptp: %s %d: must be −7…%d", v.name, v.v, l.MaxLogInterval))
		}
	}
	errs = append(errs, c.Multicast.validate()...)
	return errors.Join(errs...)
}

// Server is the grandmaster core. All methods are safe for concurrent use.
type Server struct {
	cfg    Config
	port   protocol.PortIdentity
	grants *Grants
	sigSeq atomic.Uint32 // Signaling sequenceId
}

// NewServer validates cfg and returns a Server with an empty grant table.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, port: protocol.PortIdentity{ClockIdentity: cfg.Identity, PortNumber: 1},
		grants: NewGrants(cfg.Limits)}, nil
}

// Grants is the server's grant table.
func (s *Server) Grants() *Grants { return s.grants }

// Port is the server's port identity.
func (s *Server) Port() protocol.PortIdentity { return s.port }

// Domain is the server's domainNumber.
func (s *Server) Domain() uint8 { return s.cfg.Domain }

func (s *Server) allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// TLV types of unicast negotiation (IEEE 1588-2019 Table 52).
const (
	tlvRequest = 0x0004
	tlvCancel  = 0x0006
	// Grant TLV flags: renewal invited.
	grantRenewalInvited = 0x01
)

// SignalingResult tells the shell what a Signaling did.
type SignalingResult struct {
	// N is the reply's length in out (0: no reply).
	N int
	// Granted, Denied and Cancelled count the TLVs answered each way;
	// DenyReasons[r] counts denials by reason.
	Granted, Denied, Cancelled int
	DenyReasons                [NumDenyReasons]int
	// Foreign is set when the message was another master's Announce
	// (VerdictForeign).
	Foreign ForeignAnnounce
}

// HandleGeneral answers a message received on the general port from from
// at now (served clock): a Signaling gets its GRANT and
// ACKNOWLEDGE_CANCEL TLVs in one Signaling written to out (send it to
// from). via names the socket that received it (Client.Via). out needs
// room for the reply: at most SignalingLen + 12 bytes per TLV of the
// request.
func (s *Server) HandleGeneral(pkt []byte, from netip.AddrPort, via uint16, now time.Time, out []byte) (SignalingResult, Verdict) {
	var r SignalingResult
	h, v := ParseHeader(pkt, s.cfg.Domain)
	if v != VerdictAnswered {
		return r, v
	}
	switch h.Type {
	case protocol.MessageSignaling:
	case protocol.MessageAnnounce:
		r.Foreign = parseForeignAnnounce(pkt, h)
		return r, VerdictForeign
	case protocol.MessageFollowUp, protocol.MessageDelayResp, protocol.MessagePDelayRespFollowUp:
		return r, VerdictForeign
	default:
		return r, VerdictUnsupported
	}
	if !s.allowed(from.Addr()) {
		return r, VerdictDenied
	}
	if h.Length < SignalingLen {
		return r, VerdictMalformed
	}
	target := protocol.ClockIdentity(binary.BigEndian.Uint64(pkt[HeaderLen:]))
	if target != s.cfg.Identity && target != ^protocol.ClockIdentity(0) {
		return r, VerdictForeign
	}
	// Check every TLV before acting on any: a broken message changes
	// nothing.
	tlvs := pkt[SignalingLen:h.Length]
	nReplies := 0
	for b := tlvs; len(b) > 0; {
		if len(b) < 4 {
			return r, VerdictMalformed
		}
		typ, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if l > len(b)-4 {
			return r, VerdictMalformed
		}
		switch {
		case typ == tlvRequest && l < 6, typ == tlvCancel && l < 2:
			return r, VerdictMalformed
		case typ == tlvRequest, typ == tlvCancel:
			nReplies++
		}
		b = b[4+l:]
	}
	if nReplies == 0 {
		return r, VerdictNoReply
	}
	need := SignalingLen + 12*nReplies
	if len(out) < need {
		return r, VerdictShortBuffer
	}
	c := Client{Addr: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), Port: h.Source, Via: via}
	reply := make([]protocol.TLV, 0, nReplies) // the negotiation path may allocate; the send path does not
	for b := tlvs; len(b) > 0; {
		typ, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		val := b[4 : 4+l]
		b = b[4+l:]
		switch typ {
		case tlvRequest:
			mt := protocol.MessageType(val[0] >> 4)
			d := s.grants.Request(c, mt, int8(val[1]), binary.BigEndian.Uint32(val[2:]), now)
			if d.Duration > 0 {
				r.Granted++
			} else {
				r.Denied++
				r.DenyReasons[d.Reason]++
			}
			reply = append(reply, &protocol.GrantUnicastTransmissionTLV{
				TLVHead:               protocol.TLVHead{TLVType: protocol.TLVGrantUnicastTransmission, LengthField: 8},
				MsgTypeAndReserved:    protocol.NewUnicastMsgTypeAndFlags(mt, 0),
				LogInterMessagePeriod: protocol.LogInterval(val[1]),
				DurationField:         d.Duration,
				Renewal:               grantRenewalInvited,
			})
		case tlvCancel:
			mt := protocol.MessageType(val[0] >> 4)
			if s.grants.Cancel(c, mt) {
				r.Cancelled++
			}
			reply = append(reply, &protocol.AcknowledgeCancelUnicastTransmissionTLV{
				TLVHead:         protocol.TLVHead{TLVType: protocol.TLVAcknowledgeCancelUnicastTransmission, LengthField: 2},
				MsgTypeAndFlags: protocol.UnicastMsgTypeAndFlags(val[0]),
			})
		}
	}
	msg := protocol.Signaling{
		Header:             s.header(protocol.MessageSignaling, 0, protocol.FlagUnicast, uint16(s.sigSeq.Add(1)), controlOther, logIntervalUnicast),
		TargetPortIdentity: h.Source,
		TLVs:               reply,
	}
	n, err := msg.MarshalBinaryTo(out)
	if err != nil {
		return r, VerdictShortBuffer
	}
	binary.BigEndian.PutUint16(out[2:], uint16(n)) // messageLength, known once the TLVs are written
	r.N = n
	return r, VerdictAnswered
}

// EventKind is what HandleEvent wrote.
type EventKind uint8

const (
	// EventNone: nothing to send.
	EventNone EventKind = iota
	// EventDelayResp: a Delay_Resp, to send from the general socket to
	// Event.To.
	EventDelayResp
	// EventSPTPSync: an SPTP Sync, to send from the event socket to
	// Event.To with a transmit timestamp; then SPTPAnnounce with that
	// timestamp.
	EventSPTPSync
)

// Event is HandleEvent's decision.
type Event struct {
	Kind EventKind
	N    int
	To   netip.AddrPort
	// For EventSPTPSync: what SPTPAnnounce needs.
	Seq        uint16
	Correction protocol.Correction
}

// HandleEvent answers a message received on the event port from from with
// receive timestamp rx (served clock): a Delay_Req gets a Delay_Resp, an
// SPTP Delay_Req an SPTP Sync; both are written to out (at least
// DelayRespLen bytes). utcOffset is TAI − UTC (QualityOf(state).UTCOffset).
func (s *Server) HandleEvent(pkt []byte, from netip.AddrPort, rx time.Time, utcOffset int, out []byte) (Event, Verdict) {
	return s.HandleEventTo(pkt, from, netip.Addr{}, rx, utcOffset, out)
}

// HandleEventTo is HandleEvent for a message sent to local (its
// destination address; invalid when unknown): a multicast Delay_Req (no
// unicast flag) sent from the event port to a multicast group is answered
// to that group's general port, as the default profile wants.
func (s *Server) HandleEventTo(pkt []byte, from netip.AddrPort, local netip.Addr, rx time.Time, utcOffset int, out []byte) (Event, Verdict) {
	h, v := ParseHeader(pkt, s.cfg.Domain)
	if v != VerdictAnswered {
		return Event{}, v
	}
	switch h.Type {
	case protocol.MessageDelayReq:
	case protocol.MessageSync, protocol.MessagePDelayReq, protocol.MessagePDelayResp:
		return Event{}, VerdictForeign
	default:
		return Event{}, VerdictUnsupported
	}
	if h.Length < DelayReqLen {
		return Event{}, VerdictMalformed
	}
	if !s.allowed(from.Addr()) {
		return Event{}, VerdictDenied
	}
	if len(out) < DelayRespLen {
		return Event{}, VerdictShortBuffer
	}
	addr := from.Addr().Unmap()
	if h.Flags&(protocol.FlagUnicast|protocol.FlagProfileSpecific1) == protocol.FlagUnicast|protocol.FlagProfileSpecific1 {
		// SPTP: Sync carries T4 (the Delay_Req's receive time).
		to := netip.AddrPortFrom(addr, from.Port())
		n := s.appendSyncLike(out, protocol.MessageSync, SyncLen, protocol.FlagUnicast|protocol.FlagTwoStep, h.Sequence,
			controlSync, logIntervalUnicast, Timestamp(rx, utcOffset))
		return Event{Kind: EventSPTPSync, N: n, To: to, Seq: h.Sequence, Correction: h.Correction}, VerdictAnswered
	}
	to := netip.AddrPortFrom(addr, GeneralPort)
	if from.Port() != EventPort {
		to = netip.AddrPortFrom(addr, from.Port())
	}
	flags := h.Flags & protocol.FlagUnicast
	logI := int8(logIntervalUnicast)
	if flags == 0 {
		logI = s.cfg.Multicast.LogMinDelayReq
		if local.IsMulticast() && from.Port() == EventPort {
			to = netip.AddrPortFrom(local, GeneralPort)
		}
	}
	d := protocol.DelayResp{
		Header: s.header(protocol.MessageDelayResp, DelayRespLen, flags, h.Sequence, controlDelayResp, logI),
		DelayRespBody: protocol.DelayRespBody{
			ReceiveTimestamp:       Timestamp(rx, utcOffset),
			RequestingPortIdentity: h.Source,
		},
	}
	d.CorrectionField = h.Correction
	n, err := d.MarshalBinaryTo(out)
	if err != nil {
		return Event{}, VerdictShortBuffer
	}
	return Event{Kind: EventDelayResp, N: n, To: to}, VerdictAnswered
}

// SPTPAnnounce writes the Announce that follows an SPTP Sync: origin =
// the Sync's transmit time t1 (served clock), correctionField = the
// Delay_Req's, sequenceId the Delay_Req's.
func (s *Server) SPTPAnnounce(out []byte, q Quality, ev Event, t1 time.Time) int {
	return s.AppendAnnounce(out, q, protocol.FlagUnicast, ev.Seq, 0, t1, ev.Correction)
}

// AppendSync writes a two-step unicast Sync for grant g with sequence seq
// (originTimestamp: origin, an estimate; the Follow_Up carries the
// precise one).
func (s *Server) AppendSync(out []byte, seq uint16, origin time.Time, utcOffset int) int {
	return s.appendSyncLike(out, protocol.MessageSync, SyncLen, protocol.FlagUnicast|protocol.FlagTwoStep, seq,
		controlSync, logIntervalUnicast, Timestamp(origin, utcOffset))
}

// AppendFollowUp writes the Follow_Up of the Sync with sequence seq sent
// at t1 (served clock).
func (s *Server) AppendFollowUp(out []byte, seq uint16, t1 time.Time, utcOffset int) int {
	return s.appendSyncLike(out, protocol.MessageFollowUp, FollowUpLen, protocol.FlagUnicast, seq,
		controlFollowUp, logIntervalUnicast, Timestamp(t1, utcOffset))
}

// appendSyncLike writes a header plus one timestamp (Sync, Follow_Up).
func (s *Server) appendSyncLike(out []byte, t protocol.MessageType, length int, flags, seq uint16, control uint8, logI int8, ts protocol.Timestamp) int {
	if len(out) < length {
		return 0
	}
	m := protocol.SyncDelayReq{
		Header:           s.header(t, length, flags, seq, control, logI),
		SyncDelayReqBody: protocol.SyncDelayReqBody{OriginTimestamp: ts},
	}
	n, err := m.MarshalBinaryTo(out)
	if err != nil {
		return 0
	}
	return n
}
