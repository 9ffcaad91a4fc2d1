package ptp_test

// Golden packets captured from real peers (see testdata/README.md and
// testdata/capture.sh) decode with github.com/facebook/time/ptp/protocol, and
// their fields match what the peers were configured to send. These tests pin
// the captures themselves; gnomon's own codec is tested against the same files.

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"
)

// golden reads testdata/name: one UDP payload as hex, whitespace ignored.
func golden(t *testing.T, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(text)), ""))
	if err != nil {
		t.Fatalf("golden %s: not hex: %v", name, err)
	}
	return b
}

// decode decodes a golden packet and checks that it is a *T.
func decode[T any](t *testing.T, name string) T {
	t.Helper()
	p, err := protocol.DecodePacket(golden(t, name))
	if err != nil {
		t.Fatalf("golden %s: DecodePacket: %v", name, err)
	}
	v, ok := p.(T)
	if !ok {
		t.Fatalf("golden %s: decoded as %T", name, p)
	}
	return v
}

// ptp4l 3.1.1 sends versionPTP 2 with minorVersionPTP 0; facebook/time sends 2.1.
const (
	versionPtp4l = 0x02
	versionFB    = 0x12
)

const unicastTwoStep = protocol.FlagUnicast | protocol.FlagTwoStep

// TestGoldenHeaders checks every capture's common header and how the UDP
// payload length relates to messageLength (facebook/time appends 2 zero bytes,
// the UDPv6 checksum trailer, over IPv4 too).
func TestGoldenHeaders(t *testing.T) {
	tests := []struct {
		file     string
		msgType  protocol.MessageType
		version  uint8
		flags    uint16
		length   uint16 // messageLength
		trailer  int    // UDP payload bytes after messageLength
		control  uint8
		logMsgIv int8
	}{
		// unicast negotiation, slave -> master
		{"ptp4l-unicast-request-announce.hex", protocol.MessageSignaling, versionPtp4l, protocol.FlagUnicast, 54, 0, 5, 0x7f},
		{"ptp4l-unicast-request-sync-delayresp.hex", protocol.MessageSignaling, versionPtp4l, protocol.FlagUnicast, 64, 0, 5, 0x7f},
		{"ptp4l-unicast-delayreq.hex", protocol.MessageDelayReq, versionPtp4l, protocol.FlagUnicast, 44, 0, 1, 0x7f},
		// unicast negotiation, master -> slave
		{"ptp4l-unicast-grant-announce.hex", protocol.MessageSignaling, versionPtp4l, protocol.FlagUnicast, 56, 0, 5, 0x7f},
		{"ptp4l-unicast-grant-sync.hex", protocol.MessageSignaling, versionPtp4l, protocol.FlagUnicast, 56, 0, 5, 0x7f},
		{"ptp4l-unicast-grant-delayresp.hex", protocol.MessageSignaling, versionPtp4l, protocol.FlagUnicast, 56, 0, 5, 0x7f},
		// The unicast Announce carries the master's own logAnnounceInterval
		// (default 1) although it is sent at the granted 2^0 s.
		{"ptp4l-unicast-announce.hex", protocol.MessageAnnounce, versionPtp4l, protocol.FlagUnicast, 64, 0, 5, 1},
		{"ptp4l-unicast-sync.hex", protocol.MessageSync, versionPtp4l, unicastTwoStep, 44, 0, 0, 0x7f},
		{"ptp4l-unicast-followup.hex", protocol.MessageFollowUp, versionPtp4l, protocol.FlagUnicast, 44, 0, 2, 0},
		{"ptp4l-unicast-delayresp.hex", protocol.MessageDelayResp, versionPtp4l, protocol.FlagUnicast, 54, 0, 3, 0x7f},
		// multicast E2E
		{"ptp4l-multicast-announce.hex", protocol.MessageAnnounce, versionPtp4l, 0, 64, 0, 5, 0},
		{"ptp4l-multicast-sync.hex", protocol.MessageSync, versionPtp4l, protocol.FlagTwoStep, 44, 0, 0, -3},
		{"ptp4l-multicast-followup.hex", protocol.MessageFollowUp, versionPtp4l, 0, 44, 0, 2, -3},
		{"ptp4l-multicast-delayreq.hex", protocol.MessageDelayReq, versionPtp4l, 0, 44, 0, 1, 0x7f},
		{"ptp4l-multicast-delayresp.hex", protocol.MessageDelayResp, versionPtp4l, 0, 54, 0, 3, -3},
		// SPTP
		{"sptp-delayreq.hex", protocol.MessageDelayReq, versionFB, protocol.FlagUnicast | protocol.FlagProfileSpecific1, 50, 2, 0, 0x7f},
		{"sptp-ptp4u-delayreq.hex", protocol.MessageDelayReq, versionFB, protocol.FlagUnicast | protocol.FlagProfileSpecific1, 50, 2, 0, 0x7f},
		{"sptp-ptp4u-sync.hex", protocol.MessageSync, versionFB, unicastTwoStep, 44, 2, 0, 0x7f},
		{"sptp-ptp4u-announce.hex", protocol.MessageAnnounce, versionFB, protocol.FlagUnicast | protocol.FlagPTPTimescale, 64, 2, 5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b := golden(t, tc.file)
			p, err := protocol.DecodePacket(b)
			if err != nil {
				t.Fatalf("DecodePacket: %v", err)
			}
			if got := p.MessageType(); got != tc.msgType {
				t.Errorf("messageType = %v, want %v", got, tc.msgType)
			}
			if b[0]>>4 != 0 {
				t.Errorf("majorSdoId = %d, want 0", b[0]>>4)
			}
			if b[1] != tc.version {
				t.Errorf("version byte = %#02x, want %#02x", b[1], tc.version)
			}
			h := header(t, p)
			if h.DomainNumber != 0 || h.MinorSdoID != 0 {
				t.Errorf("domain %d minorSdoId %d, want 0 0", h.DomainNumber, h.MinorSdoID)
			}
			if h.FlagField != tc.flags {
				t.Errorf("flags = %#04x, want %#04x", h.FlagField, tc.flags)
			}
			if h.MessageLength != tc.length {
				t.Errorf("messageLength = %d, want %d", h.MessageLength, tc.length)
			}
			if trailer := len(b) - int(h.MessageLength); trailer != tc.trailer {
				t.Errorf("%d bytes after messageLength, want %d", trailer, tc.trailer)
			} else if !bytes.Equal(b[h.MessageLength:], make([]byte, trailer)) {
				t.Errorf("trailer % x is not zero", b[h.MessageLength:])
			}
			if h.CorrectionField != 0 || h.MessageTypeSpecific != 0 {
				t.Errorf("correction %d, messageTypeSpecific %#x: want 0 0", h.CorrectionField, h.MessageTypeSpecific)
			}
			if h.ControlField != tc.control {
				t.Errorf("controlField = %d, want %d", h.ControlField, tc.control)
			}
			if int8(h.LogMessageInterval) != tc.logMsgIv {
				t.Errorf("logMessageInterval = %d, want %d", int8(h.LogMessageInterval), tc.logMsgIv)
			}
			if h.SourcePortIdentity.PortNumber != 1 {
				t.Errorf("source port number = %d, want 1", h.SourcePortIdentity.PortNumber)
			}
		})
	}
}

func header(t *testing.T, p protocol.Packet) protocol.Header {
	t.Helper()
	switch m := p.(type) {
	case *protocol.Signaling:
		return m.Header
	case *protocol.Announce:
		return m.Header
	case *protocol.SyncDelayReq:
		return m.Header
	case *protocol.FollowUp:
		return m.Header
	case *protocol.DelayResp:
		return m.Header
	}
	t.Fatalf("unexpected packet %T", p)
	return protocol.Header{}
}

// TestGoldenUnicastNegotiation checks the REQUEST and GRANT TLVs against the
// slave's configuration (logAnnounceInterval 0, logSyncInterval and
// logMinDelayReqInterval -3, unicast_req_duration 60) and who talks to whom.
func TestGoldenUnicastNegotiation(t *testing.T) {
	reqAnn := decode[*protocol.Signaling](t, "ptp4l-unicast-request-announce.hex")
	reqSD := decode[*protocol.Signaling](t, "ptp4l-unicast-request-sync-delayresp.hex")
	grants := map[protocol.MessageType]*protocol.Signaling{
		protocol.MessageAnnounce:  decode[*protocol.Signaling](t, "ptp4l-unicast-grant-announce.hex"),
		protocol.MessageSync:      decode[*protocol.Signaling](t, "ptp4l-unicast-grant-sync.hex"),
		protocol.MessageDelayResp: decode[*protocol.Signaling](t, "ptp4l-unicast-grant-delayresp.hex"),
	}
	slave := reqAnn.SourcePortIdentity
	master := grants[protocol.MessageAnnounce].SourcePortIdentity
	if slave == master {
		t.Fatalf("slave and master have the same port identity %v", slave)
	}

	// The first request goes to the wildcard port: the slave knows only the
	// master's address. The second names the master it has selected.
	if reqAnn.TargetPortIdentity != (protocol.PortIdentity{ClockIdentity: 0xffffffffffffffff, PortNumber: 0xffff}) {
		t.Errorf("announce request target = %v, want all ones", reqAnn.TargetPortIdentity)
	}
	if reqSD.SourcePortIdentity != slave || reqSD.TargetPortIdentity != master {
		t.Errorf("sync request %v -> %v, want %v -> %v", reqSD.SourcePortIdentity, reqSD.TargetPortIdentity, slave, master)
	}
	if reqAnn.SequenceID != 0 || reqSD.SequenceID != 1 {
		t.Errorf("request sequenceIds %d, %d, want 0, 1", reqAnn.SequenceID, reqSD.SequenceID)
	}

	type want struct {
		mt     protocol.MessageType
		period int8
	}
	checkReqs := func(name string, s *protocol.Signaling, wants ...want) {
		if len(s.TLVs) != len(wants) {
			t.Fatalf("%s: %d TLVs, want %d", name, len(s.TLVs), len(wants))
		}
		for i, w := range wants {
			r, ok := s.TLVs[i].(*protocol.RequestUnicastTransmissionTLV)
			if !ok {
				t.Fatalf("%s: TLV %d is %T", name, i, s.TLVs[i])
			}
			if r.TLVType != protocol.TLVRequestUnicastTransmission || r.LengthField != 6 {
				t.Errorf("%s: TLV %d type %#04x length %d, want 0x0004 6", name, i, uint16(r.TLVType), r.LengthField)
			}
			if r.MsgTypeAndReserved.MsgType() != w.mt || r.MsgTypeAndReserved&0x0f != 0 {
				t.Errorf("%s: TLV %d messageType byte %#02x, want %v in the high nibble", name, i, uint8(r.MsgTypeAndReserved), w.mt)
			}
			if int8(r.LogInterMessagePeriod) != w.period || r.DurationField != 60 {
				t.Errorf("%s: TLV %d period %d duration %d, want %d 60", name, i, int8(r.LogInterMessagePeriod), r.DurationField, w.period)
			}
		}
	}
	checkReqs("announce request", reqAnn, want{protocol.MessageAnnounce, 0})
	checkReqs("sync request", reqSD, want{protocol.MessageSync, -3}, want{protocol.MessageDelayResp, -3})

	// ptp4l answers each requested TLV with its own GRANT message; the
	// sequenceIds are the master's own counter (0, 1, 2), not the requests'.
	wantSeq := map[protocol.MessageType]uint16{protocol.MessageAnnounce: 0, protocol.MessageSync: 1, protocol.MessageDelayResp: 2}
	wantPeriod := map[protocol.MessageType]int8{protocol.MessageAnnounce: 0, protocol.MessageSync: -3, protocol.MessageDelayResp: -3}
	for mt, g := range grants {
		if g.SourcePortIdentity != master || g.TargetPortIdentity != slave {
			t.Errorf("%v grant %v -> %v, want %v -> %v", mt, g.SourcePortIdentity, g.TargetPortIdentity, master, slave)
		}
		if g.SequenceID != wantSeq[mt] {
			t.Errorf("%v grant sequenceId %d, want %d", mt, g.SequenceID, wantSeq[mt])
		}
		if len(g.TLVs) != 1 {
			t.Fatalf("%v grant: %d TLVs, want 1", mt, len(g.TLVs))
		}
		tlv, ok := g.TLVs[0].(*protocol.GrantUnicastTransmissionTLV)
		if !ok {
			t.Fatalf("%v grant: TLV is %T", mt, g.TLVs[0])
		}
		if tlv.TLVType != protocol.TLVGrantUnicastTransmission || tlv.LengthField != 8 {
			t.Errorf("%v grant: TLV type %#04x length %d, want 0x0005 8", mt, uint16(tlv.TLVType), tlv.LengthField)
		}
		if tlv.MsgTypeAndReserved.MsgType() != mt || int8(tlv.LogInterMessagePeriod) != wantPeriod[mt] || tlv.DurationField != 60 {
			t.Errorf("%v grant: %v period %d duration %d, want %v %d 60", mt, tlv.MsgTypeAndReserved.MsgType(),
				int8(tlv.LogInterMessagePeriod), tlv.DurationField, mt, wantPeriod[mt])
		}
		if tlv.Reserved != 0 || tlv.Renewal != 1 {
			t.Errorf("%v grant: reserved %d renewal %d, want 0 1 (renewalInvited)", mt, tlv.Reserved, tlv.Renewal)
		}
	}
}

// TestGoldenAnnounce checks the master's configured clock quality.
func TestGoldenAnnounce(t *testing.T) {
	tests := []struct {
		file                 string
		priority1, priority2 uint8
		variance             uint16
		timestamp            bool // originTimestamp set
	}{
		{"ptp4l-unicast-announce.hex", 1, 1, 0xffff, false},
		{"ptp4l-multicast-announce.hex", 1, 1, 0xffff, false},
		{"sptp-ptp4u-announce.hex", 128, 128, 0x59e0, true},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			a := decode[*protocol.Announce](t, tc.file)
			q := a.GrandmasterClockQuality
			if q.ClockClass != 6 || q.ClockAccuracy != 0x21 || q.OffsetScaledLogVariance != tc.variance {
				t.Errorf("clock quality %d/%#x/%#x, want 6/0x21/%#x", q.ClockClass, q.ClockAccuracy, q.OffsetScaledLogVariance, tc.variance)
			}
			if a.GrandmasterPriority1 != tc.priority1 || a.GrandmasterPriority2 != tc.priority2 {
				t.Errorf("priorities %d/%d, want %d/%d", a.GrandmasterPriority1, a.GrandmasterPriority2, tc.priority1, tc.priority2)
			}
			if a.CurrentUTCOffset != 37 || a.StepsRemoved != 0 || a.TimeSource != 0x20 {
				t.Errorf("utcOffset %d stepsRemoved %d timeSource %#x, want 37 0 0x20", a.CurrentUTCOffset, a.StepsRemoved, a.TimeSource)
			}
			if a.GrandmasterIdentity != a.SourcePortIdentity.ClockIdentity {
				t.Errorf("grandmaster %v is not the sender %v", a.GrandmasterIdentity, a.SourcePortIdentity)
			}
			if !a.OriginTimestamp.Empty() != tc.timestamp {
				t.Errorf("originTimestamp %v, want set=%v", a.OriginTimestamp, tc.timestamp)
			}
			if len(a.TLVs) != 0 {
				t.Errorf("%d TLVs, want none", len(a.TLVs))
			}
		})
	}
}

// TestGoldenTwoStep checks that each Follow_Up belongs to its Sync and each
// Delay_Resp answers its Delay_Req.
func TestGoldenTwoStep(t *testing.T) {
	for _, mode := range []string{"unicast", "multicast"} {
		t.Run(mode, func(t *testing.T) {
			sync := decode[*protocol.SyncDelayReq](t, "ptp4l-"+mode+"-sync.hex")
			fu := decode[*protocol.FollowUp](t, "ptp4l-"+mode+"-followup.hex")
			req := decode[*protocol.SyncDelayReq](t, "ptp4l-"+mode+"-delayreq.hex")
			resp := decode[*protocol.DelayResp](t, "ptp4l-"+mode+"-delayresp.hex")

			if fu.SequenceID != sync.SequenceID || fu.SourcePortIdentity != sync.SourcePortIdentity {
				t.Errorf("Follow_Up %v seq %d does not follow Sync %v seq %d", fu.SourcePortIdentity, fu.SequenceID, sync.SourcePortIdentity, sync.SequenceID)
			}
			// ptp4l leaves the two-step Sync's and the Delay_Req's originTimestamp zero.
			if !sync.OriginTimestamp.Empty() || !req.OriginTimestamp.Empty() {
				t.Errorf("originTimestamps Sync %v Delay_Req %v, want zero", sync.OriginTimestamp, req.OriginTimestamp)
			}
			if resp.SequenceID != req.SequenceID || resp.RequestingPortIdentity != req.SourcePortIdentity {
				t.Errorf("Delay_Resp seq %d for %v does not answer Delay_Req seq %d from %v",
					resp.SequenceID, resp.RequestingPortIdentity, req.SequenceID, req.SourcePortIdentity)
			}
			if resp.SourcePortIdentity != sync.SourcePortIdentity || req.SourcePortIdentity == sync.SourcePortIdentity {
				t.Errorf("master %v, Delay_Resp from %v, Delay_Req from %v", sync.SourcePortIdentity, resp.SourcePortIdentity, req.SourcePortIdentity)
			}
			// Both timestamps come from the same CLOCK_REALTIME (ptp4l with
			// free_running and software timestamps: ARB timescale, no TAI
			// offset) within seconds of each other.
			t1 := fu.PreciseOriginTimestamp.Time()
			t4 := resp.ReceiveTimestamp.Time()
			if t1.Year() < 2020 || t4.Year() < 2020 {
				t.Errorf("timestamps %v %v are not wall-clock times", t1, t4)
			}
			if d := t4.Sub(t1); d < -time.Minute || d > time.Minute {
				t.Errorf("Follow_Up %v and Delay_Resp %v are %v apart", t1, t4, d)
			}
		})
	}
}

// TestGoldenSPTP checks sptp's Delay_Req (flags unicast + profileSpecific1,
// one ALTERNATE_RESPONSE_PORT TLV) and ptp4u's answer: a Sync and an Announce
// with the Delay_Req's sequenceId.
func TestGoldenSPTP(t *testing.T) {
	for _, file := range []string{"sptp-delayreq.hex", "sptp-ptp4u-delayreq.hex"} {
		req := decode[*protocol.SyncDelayReq](t, file)
		if len(req.TLVs) != 1 {
			t.Fatalf("%s: %d TLVs, want 1", file, len(req.TLVs))
		}
		tlv, ok := req.TLVs[0].(*protocol.AlternateResponsePortTLV)
		if !ok || tlv.TLVType != protocol.TLVAlternateResponsePort || tlv.LengthField != 2 || tlv.Offset != 0 {
			t.Errorf("%s: TLV %#v, want ALTERNATE_RESPONSE_PORT (0x2007) length 2 offset 0", file, req.TLVs[0])
		}
		if !req.OriginTimestamp.Empty() {
			t.Errorf("%s: originTimestamp %v, want zero", file, req.OriginTimestamp)
		}
	}

	req := decode[*protocol.SyncDelayReq](t, "sptp-ptp4u-delayreq.hex")
	sync := decode[*protocol.SyncDelayReq](t, "sptp-ptp4u-sync.hex")
	ann := decode[*protocol.Announce](t, "sptp-ptp4u-announce.hex")
	if sync.SequenceID != req.SequenceID || ann.SequenceID != req.SequenceID {
		t.Errorf("sequenceIds Delay_Req %d Sync %d Announce %d, want equal", req.SequenceID, sync.SequenceID, ann.SequenceID)
	}
	if sync.SourcePortIdentity != ann.SourcePortIdentity || sync.SourcePortIdentity == req.SourcePortIdentity {
		t.Errorf("Sync from %v, Announce from %v, Delay_Req from %v", sync.SourcePortIdentity, ann.SourcePortIdentity, req.SourcePortIdentity)
	}
	if len(sync.TLVs) != 0 {
		t.Errorf("SPTP Sync has %d TLVs, want none", len(sync.TLVs))
	}
	// The Sync carries when the server received the Delay_Req, the Announce
	// when it sent the Sync; both on the PTP (TAI) timescale, microseconds apart.
	rx, tx := sync.OriginTimestamp.Time(), ann.OriginTimestamp.Time()
	if d := tx.Sub(rx); d <= 0 || d > 100*time.Millisecond {
		t.Errorf("Sync origin %v, Announce origin %v: %v apart, want 0 < d <= 100ms", rx, tx, d)
	}
	if rx.Year() < 2020 {
		t.Errorf("Sync originTimestamp %v is not a wall-clock time", rx)
	}
}
