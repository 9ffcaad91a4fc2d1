package ptp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"
)

// FuzzHandle: no input panics either handler, a reply fits the buffer and
// decodes, and a Signaling reply carries one TLV per REQUEST or CANCEL.
func FuzzHandle(f *testing.F) {
	f.Add(delayReq(protocol.FlagUnicast, 1, 0))
	f.Add(delayReq(protocol.FlagUnicast|protocol.FlagProfileSpecific1, 2, 5))
	f.Add(delayReq(0, 3, 0)) // multicast
	ann := make([]byte, AnnounceLen)
	f.Add(ann[:testServerT(f).AppendAnnounce(ann, QualityOf(nil), 0, 1, 1, t0, 0)])
	t := &testing.T{}
	f.Add(signaling(t, 0, request(protocol.MessageAnnounce, 0, 60)))
	f.Add(signaling(t, 0, request(protocol.MessageSync, -3, 60), request(protocol.MessageDelayResp, -3, 60), cancel(protocol.MessageAnnounce)))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		s := testServer(t, nil)
		out := make([]byte, MaxMessageLen)
		from := netip.MustParseAddrPort("10.0.0.2:320")
		r, v := s.HandleGeneral(pkt, from, 0, t0, out)
		if (r.N > 0) != (v == VerdictAnswered) {
			t.Fatalf("verdict %v with a %d-byte reply", v, r.N)
		}
		if r.Foreign.Valid && v != VerdictForeign {
			t.Fatalf("foreign Announce reported with verdict %v", v)
		}
		if r.N > 0 {
			var m protocol.Signaling
			if err := m.UnmarshalBinary(out[:r.N]); err != nil {
				t.Fatalf("reply does not decode: %v", err)
			}
			if len(m.TLVs) != r.Granted+r.Denied+countCancels(pkt) {
				t.Fatalf("%d TLVs for %d requests and cancels", len(m.TLVs), r.Granted+r.Denied)
			}
		}
		ev, v := s.HandleEvent(pkt, from, t0.Add(time.Second), 37, out)
		if (ev.N > 0) != (v == VerdictAnswered) || ev.N > DelayRespLen {
			t.Fatalf("event verdict %v with a %d-byte reply", v, ev.N)
		}
		if _, err := protocol.DecodePacket(out[:ev.N]); ev.N > 0 && err != nil {
			t.Fatalf("event reply does not decode: %v", err)
		}
		// Sent to the group from 319: a reply goes to the group's 320 or,
		// unicast (or SPTP), to the sender.
		evFrom := netip.MustParseAddrPort("10.0.0.2:319")
		ev, v = s.HandleEventTo(pkt, evFrom, Group(false), t0.Add(time.Second), 37, out)
		if (ev.N > 0) != (v == VerdictAnswered) || ev.N > DelayRespLen {
			t.Fatalf("multicast event verdict %v with a %d-byte reply", v, ev.N)
		}
		if ev.N > 0 && ev.To.Addr() != Group(false) && ev.To.Addr() != evFrom.Addr() {
			t.Fatalf("multicast event reply to %v", ev.To)
		}
	})
}

// testServerT is testServer for seeding (no test to fail).
func testServerT(f *testing.F) *Server {
	s, err := NewServer(Config{Identity: testID + 1, Limits: DefaultLimits()})
	if err != nil {
		f.Fatal(err)
	}
	return s
}

// countCancels counts the CANCEL TLVs of a well-formed Signaling.
func countCancels(pkt []byte) int {
	h, _ := ParseHeader(pkt, 0)
	n := 0
	for b := pkt[SignalingLen:h.Length]; len(b) >= 4; {
		typ, l := int(b[0])<<8|int(b[1]), int(b[2])<<8|int(b[3])
		if typ == 6 {
			n++
		}
		b = b[4+l:]
	}
	return n
}
