package ptp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/clock"
)

var (
	testID    = protocol.ClockIdentity(0x0200_00ff_fe00_0001)
	clientID  = protocol.PortIdentity{ClockIdentity: 0x0200_00ff_fe00_0002, PortNumber: 1}
	clientGen = netip.MustParseAddrPort("10.0.0.2:320")
	t0        = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
)

func testServer(t *testing.T, edit func(*Config)) *Server {
	t.Helper()
	cfg := Config{Identity: testID, Priority1: 128, Priority2: 128, Limits: DefaultLimits(),
		Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}}
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signaling builds a client's Signaling with the given TLVs.
func signaling(t *testing.T, domain uint8, tlvs ...protocol.TLV) []byte {
	t.Helper()
	m := protocol.Signaling{
		Header: protocol.Header{SdoIDAndMsgType: protocol.NewSdoIDAndMsgType(protocol.MessageSignaling, 0),
			Version: 2, DomainNumber: domain, FlagField: protocol.FlagUnicast, SourcePortIdentity: clientID,
			SequenceID: 7, ControlField: 5, LogMessageInterval: 0x7f},
		TargetPortIdentity: protocol.DefaultTargetPortIdentity,
		TLVs:               tlvs,
	}
	b := make([]byte, 512)
	n, err := m.MarshalBinaryTo(b)
	if err != nil {
		t.Fatal(err)
	}
	b[2], b[3] = byte(n>>8), byte(n)
	return b[:n]
}

func request(mt protocol.MessageType, logI int8, dur uint32) *protocol.RequestUnicastTransmissionTLV {
	return &protocol.RequestUnicastTransmissionTLV{
		TLVHead:            protocol.TLVHead{TLVType: protocol.TLVRequestUnicastTransmission, LengthField: 6},
		MsgTypeAndReserved: protocol.NewUnicastMsgTypeAndFlags(mt, 0), LogInterMessagePeriod: protocol.LogInterval(logI),
		DurationField: dur,
	}
}

func cancel(mt protocol.MessageType) *protocol.CancelUnicastTransmissionTLV {
	return &protocol.CancelUnicastTransmissionTLV{
		TLVHead:         protocol.TLVHead{TLVType: protocol.TLVCancelUnicastTransmission, LengthField: 2},
		MsgTypeAndFlags: protocol.NewUnicastMsgTypeAndFlags(mt, 0),
	}
}

// grantsOf decodes a Signaling reply's GRANT TLVs.
func grantsOf(t *testing.T, b []byte) (protocol.Signaling, []*protocol.GrantUnicastTransmissionTLV) {
	t.Helper()
	var m protocol.Signaling
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatalf("reply does not decode: %v (% x)", err, b)
	}
	var out []*protocol.GrantUnicastTransmissionTLV
	for _, tlv := range m.TLVs {
		if g, ok := tlv.(*protocol.GrantUnicastTransmissionTLV); ok {
			out = append(out, g)
		}
	}
	return m, out
}

// ptp4l's negotiation: Announce first, then Sync and Delay_Resp in one
// message; each request gets its grant, in order; a renewal keeps the
// grant (and its scheduler state); a cancel is acknowledged and ends it.
func TestNegotiation(t *testing.T) {
	s := testServer(t, nil)
	out := make([]byte, MaxMessageLen)
	r, v := s.HandleGeneral(signaling(t, 0, request(protocol.MessageAnnounce, 0, 60)), clientGen, 0, t0, out)
	if v != VerdictAnswered || r.Granted != 1 {
		t.Fatalf("announce request: %v %+v", v, r)
	}
	m, g := grantsOf(t, out[:r.N])
	if len(g) != 1 || g[0].MsgTypeAndReserved.MsgType() != protocol.MessageAnnounce || g[0].DurationField != 60 ||
		g[0].LogInterMessagePeriod != 0 || g[0].Renewal != 1 {
		t.Errorf("announce grant %+v", g)
	}
	if m.TargetPortIdentity != clientID || m.SourcePortIdentity.ClockIdentity != testID || m.FlagField != protocol.FlagUnicast ||
		m.Version != protocol.Version || int(m.MessageLength) != r.N {
		t.Errorf("reply header %+v target %v", m.Header, m.TargetPortIdentity)
	}
	r, _ = s.HandleGeneral(signaling(t, 0, request(protocol.MessageSync, -3, 60), request(protocol.MessageDelayResp, -3, 60)), clientGen, 0, t0, out)
	_, g = grantsOf(t, out[:r.N])
	if r.Granted != 2 || len(g) != 2 || g[0].MsgTypeAndReserved.MsgType() != protocol.MessageSync ||
		g[1].MsgTypeAndReserved.MsgType() != protocol.MessageDelayResp || g[0].LogInterMessagePeriod != -3 {
		t.Fatalf("sync+delay_resp: %+v %+v", r, g)
	}
	snap := s.Grants().Snapshot()
	if len(snap) != 3 || s.Grants().Clients() != 1 {
		t.Fatalf("%d grants, %d clients", len(snap), s.Grants().Clients())
	}
	var sync *Grant
	for _, gr := range snap {
		if gr.Type == protocol.MessageSync {
			sync = gr
		}
	}
	if sync.Client.EventAddr() != netip.MustParseAddrPort("10.0.0.2:319") || sync.Interval() != time.Second/8 {
		t.Errorf("sync grant to %v every %v", sync.Client.EventAddr(), sync.Interval())
	}
	sync.Seq = 42
	// Renewal at 3/4 of the duration: same grant, later expiry.
	r, _ = s.HandleGeneral(signaling(t, 0, request(protocol.MessageSync, -3, 60)), clientGen, 0, t0.Add(45*time.Second), out)
	if r.Granted != 1 {
		t.Fatalf("renewal: %+v", r)
	}
	if n := s.Grants().Snapshot(); len(n) != 3 || n[1] != sync && n[0] != sync && n[2] != sync || sync.Seq != 42 ||
		!sync.Expires().Equal(t0.Add(105*time.Second)) {
		t.Errorf("renewal replaced the grant or did not extend it: expires %v", sync.Expires())
	}
	// Expiry: Announce and Delay_Resp end at t0+60, Sync at t0+105.
	if n := s.Grants().Expire(t0.Add(61 * time.Second)); n != 2 || len(s.Grants().Snapshot()) != 1 {
		t.Errorf("expired %d, left %d", n, len(s.Grants().Snapshot()))
	}
	// Cancel: acknowledged, grant gone, client gone.
	r, v = s.HandleGeneral(signaling(t, 0, cancel(protocol.MessageSync)), clientGen, 0, t0.Add(62*time.Second), out)
	var ack protocol.Signaling
	if err := ack.UnmarshalBinary(out[:r.N]); v != VerdictAnswered || r.Cancelled != 1 || err != nil || len(ack.TLVs) != 1 ||
		ack.TLVs[0].Type() != protocol.TLVAcknowledgeCancelUnicastTransmission {
		t.Errorf("cancel: %v %+v %v %+v", v, r, err, ack.TLVs)
	}
	if len(s.Grants().Snapshot()) != 0 || s.Grants().Clients() != 0 {
		t.Errorf("after cancel: %d grants, %d clients", len(s.Grants().Snapshot()), s.Grants().Clients())
	}
}

// Limits: intervals below the minimum, durations beyond the maximum and
// clients past the maximum are denied with duration 0 (and counted by
// reason); a denial changes nothing.
func TestNegotiationLimits(t *testing.T) {
	s := testServer(t, func(c *Config) { c.Limits.MaxClients = 1; c.Limits.MinLogSync = -4 })
	out := make([]byte, MaxMessageLen)
	r, _ := s.HandleGeneral(signaling(t, 0, request(protocol.MessageSync, -5, 60), request(protocol.MessageSync, -4, 7200),
		request(protocol.MessageManagement, 0, 60), request(protocol.MessageSync, -4, 0)), clientGen, 0, t0, out)
	_, g := grantsOf(t, out[:r.N])
	if r.Denied != 4 || r.DenyReasons[DenyInterval] != 1 || r.DenyReasons[DenyDuration] != 2 || r.DenyReasons[DenyType] != 1 || len(g) != 4 {
		t.Fatalf("%+v", r)
	}
	for _, x := range g {
		if x.DurationField != 0 {
			t.Errorf("denial with duration %d", x.DurationField)
		}
	}
	if len(s.Grants().Snapshot()) != 0 {
		t.Error("a denied request left a grant")
	}
	if r, _ := s.HandleGeneral(signaling(t, 0, request(protocol.MessageSync, -4, 60)), clientGen, 0, t0, out); r.Granted != 1 {
		t.Fatalf("first client: %+v", r)
	}
	other := netip.MustParseAddrPort("10.0.0.3:320")
	if r, _ := s.HandleGeneral(signaling(t, 0, request(protocol.MessageSync, -4, 60)), other, 0, t0, out); r.Denied != 1 || r.DenyReasons[DenyClients] != 1 {
		t.Errorf("second client past max_clients: %+v", r)
	}
}

// Malformed, wrong-domain, wrong-version and foreign messages are dropped
// with their verdicts and change nothing.
func TestGeneralDrops(t *testing.T) {
	s := testServer(t, func(c *Config) { c.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")} })
	out := make([]byte, MaxMessageLen)
	good := signaling(t, 0, request(protocol.MessageSync, -3, 60))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		pkt  []byte
		from netip.AddrPort
		want Verdict
	}{
		{"short", good[:20], clientGen, VerdictMalformed},
		{"length beyond datagram", good[:len(good)-2], clientGen, VerdictMalformed},
		{"version 1", mut(func(b []byte) []byte { b[1] = 1; return b }), clientGen, VerdictBadVersion},
		{"domain 44", signaling(t, 44, request(protocol.MessageSync, -3, 60)), clientGen, VerdictWrongDomain},
		{"sdo 1", mut(func(b []byte) []byte { b[0] |= 0x10; return b }), clientGen, VerdictWrongSdo},
		{"TLV length past the end", mut(func(b []byte) []byte { b[SignalingLen+3] = 200; return b }), clientGen, VerdictMalformed},
		{"request TLV too short", mut(func(b []byte) []byte {
			b[SignalingLen+3] = 4
			b[2], b[3] = 0, byte(SignalingLen+8)
			return b[:SignalingLen+8]
		}), clientGen, VerdictMalformed},
		{"other target", mut(func(b []byte) []byte { b[HeaderLen] = 0x12; return b }), clientGen, VerdictForeign},
		{"not allowed", good, netip.MustParseAddrPort("192.0.2.1:320"), VerdictDenied},
		{"management", mut(func(b []byte) []byte { b[0] = byte(protocol.MessageManagement); return b }), clientGen, VerdictUnsupported},
	}
	for _, c := range cases {
		r, v := s.HandleGeneral(c.pkt, c.from, 0, t0, out)
		if v != c.want || r.N != 0 {
			t.Errorf("%s: %v (reply %d bytes), want %v", c.name, v, r.N, c.want)
		}
	}
	if len(s.Grants().Snapshot()) != 0 {
		t.Error("a dropped message left a grant")
	}
}

func delayReq(flags uint16, seq uint16, corr protocol.Correction) []byte {
	m := protocol.SyncDelayReq{Header: protocol.Header{SdoIDAndMsgType: protocol.NewSdoIDAndMsgType(protocol.MessageDelayReq, 0),
		Version: 2, MessageLength: DelayReqLen, FlagField: flags, CorrectionField: corr, SourcePortIdentity: clientID,
		SequenceID: seq, ControlField: 1, LogMessageInterval: 0x7f}}
	b := make([]byte, DelayReqLen+2) // UDPv6's trailing bytes
	if _, err := m.MarshalBinaryTo(b); err != nil {
		panic(err)
	}
	return b
}

// Delay_Req: Delay_Resp with the RX time on the PTP timescale (TAI), the
// request's sequence, correction and port identity, to the general port (or
// the request's own port when it is not 319).
func TestDelayResp(t *testing.T) {
	s := testServer(t, nil)
	out := make([]byte, MaxMessageLen)
	rx := t0.Add(123456789 * time.Nanosecond)
	for _, c := range []struct {
		from, to string
	}{{"10.0.0.2:319", "10.0.0.2:320"}, {"[2001:db8::2]:319", "[2001:db8::2]:320"}, {"10.0.0.2:40000", "10.0.0.2:40000"}} {
		ev, v := s.HandleEvent(delayReq(protocol.FlagUnicast, 9, protocol.NewCorrection(1500)), netip.MustParseAddrPort(c.from), rx, 37, out)
		if v != VerdictAnswered || ev.Kind != EventDelayResp || ev.To != netip.MustParseAddrPort(c.to) {
			t.Fatalf("%s: %v %+v", c.from, v, ev)
		}
		var d protocol.DelayResp
		if err := d.UnmarshalBinary(out[:ev.N]); err != nil {
			t.Fatal(err)
		}
		if d.SequenceID != 9 || d.RequestingPortIdentity != clientID || d.CorrectionField.Nanoseconds() != 1500 ||
			!d.ReceiveTimestamp.Time().Equal(rx.Add(37*time.Second)) || d.FlagField != protocol.FlagUnicast ||
			d.LogMessageInterval != 0x7f || d.ControlField != 3 || d.SourcePortIdentity.ClockIdentity != testID {
			t.Errorf("%s: delay_resp %+v", c.from, d)
		}
	}
	// SPTP: a Sync with T4 and the request's sequence, then an Announce
	// with T1 and the request's correction.
	ev, v := s.HandleEvent(delayReq(protocol.FlagUnicast|protocol.FlagProfileSpecific1, 11, protocol.NewCorrection(250)),
		netip.MustParseAddrPort("10.0.0.2:319"), rx, 37, out)
	if v != VerdictAnswered || ev.Kind != EventSPTPSync || ev.To != netip.MustParseAddrPort("10.0.0.2:319") {
		t.Fatalf("sptp: %v %+v", v, ev)
	}
	var sy protocol.SyncDelayReq
	if err := sy.UnmarshalBinary(out[:ev.N]); err != nil || sy.MessageType() != protocol.MessageSync || sy.SequenceID != 11 ||
		!sy.OriginTimestamp.Time().Equal(rx.Add(37*time.Second)) {
		t.Errorf("sptp sync %+v %v", sy, err)
	}
	t1 := rx.Add(30 * time.Microsecond)
	st := &clock.SyncState{Synchronized: true, ClockClass: clock.ClockClassLocked, ClockAccuracy: clock.ClockAccuracyFor(time.Microsecond),
		UTCOffset: 37, UTCOffsetValid: true, TimeTraceable: true, FrequencyTraceable: true, TimeSource: clock.TimeSourceNTP,
		OffsetScaledLogVariance: clock.VarianceNotComputed}
	n := s.SPTPAnnounce(out, QualityOf(st), ev, t1)
	var a protocol.Announce
	if err := a.UnmarshalBinary(out[:n]); err != nil || a.SequenceID != 11 || !a.OriginTimestamp.Time().Equal(t1.Add(37*time.Second)) ||
		a.CorrectionField.Nanoseconds() != 250 || a.GrandmasterClockQuality.ClockClass != 6 || a.CurrentUTCOffset != 37 ||
		a.GrandmasterIdentity != testID {
		t.Errorf("sptp announce %+v %v", a, err)
	}
}

// Announce carries the state's quality and the PTP-timescale flags:
// traceable and UTC-valid while locked, none of them unsynchronised; leap
// flags follow the state's leap.
func TestAnnounceQuality(t *testing.T) {
	s := testServer(t, nil)
	out := make([]byte, MaxMessageLen)
	locked := &clock.SyncState{Synchronized: true, Leap: clock.LeapInsert, ClockClass: clock.ClockClassLocked,
		ClockAccuracy: clock.ClockAccuracyFor(800 * time.Nanosecond), OffsetScaledLogVariance: clock.VarianceNotComputed,
		TimeSource: clock.TimeSourceNTP, UTCOffset: 37, UTCOffsetValid: true, TimeTraceable: true, FrequencyTraceable: true}
	for _, c := range []struct {
		st        *clock.SyncState
		class     uint8
		flags     uint16
		timeSrc   protocol.TimeSource
		utcOffset int16
	}{
		{locked, 6, protocol.FlagUnicast | protocol.FlagPTPTimescale | protocol.FlagCurrentUtcOffsetValid | protocol.FlagTimeTraceable |
			protocol.FlagFrequencyTraceable | protocol.FlagLeap61, protocol.TimeSourceNTP, 37},
		{nil, 248, protocol.FlagUnicast | protocol.FlagPTPTimescale, protocol.TimeSourceInternalOscillator, 37},
	} {
		n := s.AppendAnnounce(out, QualityOf(c.st), protocol.FlagUnicast, 5, 1, t0, 0)
		var a protocol.Announce
		if err := a.UnmarshalBinary(out[:n]); err != nil || n != AnnounceLen {
			t.Fatal(err, n)
		}
		if a.GrandmasterClockQuality.ClockClass != protocol.ClockClass(c.class) || a.FlagField != c.flags || a.TimeSource != c.timeSrc ||
			a.CurrentUTCOffset != c.utcOffset || a.StepsRemoved != 0 || a.GrandmasterPriority1 != 128 || a.LogMessageInterval != 1 ||
			a.SequenceID != 5 || !a.OriginTimestamp.Time().Equal(t0.Add(37*time.Second)) {
			t.Errorf("announce for %+v: %+v", c.st, a)
		}
	}
	if q := QualityOf(locked); q.ClockAccuracy != uint8(protocol.ClockAccuracyMicrosecond1) {
		t.Errorf("accuracy %#x for an 800 ns bound", q.ClockAccuracy)
	}
}
