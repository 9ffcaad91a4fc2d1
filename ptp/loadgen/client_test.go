package loadgen

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"
)

// recorder is a sender that keeps what the client sent.
type recorder struct {
	msgs  [][]byte
	event []bool
}

func (r *recorder) send(event bool, b []byte, _ *sent) bool {
	r.msgs = append(r.msgs, append([]byte(nil), b...))
	r.event = append(r.event, event)
	return true
}

func testParams() *params {
	return &params{logSync: -3, logAnnounce: 0, grantSecs: 10, lateAfter: int64(100 * time.Millisecond),
		grantWait: int64(time.Second), sendEnd: int64(20 * time.Second)}
}

func grantMsg(t *testing.T, to protocol.PortIdentity, grants ...[3]int) []byte {
	t.Helper()
	var tlvs []protocol.TLV
	for _, g := range grants {
		tlvs = append(tlvs, &protocol.GrantUnicastTransmissionTLV{
			TLVHead:               protocol.TLVHead{TLVType: protocol.TLVGrantUnicastTransmission, LengthField: 8},
			MsgTypeAndReserved:    protocol.NewUnicastMsgTypeAndFlags(protocol.MessageType(g[0]), 0),
			LogInterMessagePeriod: protocol.LogInterval(g[1]), DurationField: uint32(g[2])})
	}
	s := &protocol.Signaling{Header: protocol.Header{SdoIDAndMsgType: protocol.NewSdoIDAndMsgType(protocol.MessageSignaling, 0), Version: 2},
		TargetPortIdentity: to, TLVs: tlvs}
	b := make([]byte, 200)
	n, err := s.MarshalBinaryTo(b)
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	return b[:n]
}

// TestClientNegotiation walks one client through the flow on fake time:
// ANNOUNCE request, then SYNC+DELAY_RESP in one Signaling, Delay_Req at the
// Sync rate, renewal at 3/4 of the grant, CANCEL at the end.
func TestClientNegotiation(t *testing.T) {
	p := testParams()
	id := protocol.PortIdentity{ClockIdentity: 42, PortNumber: 1}
	c := newClient(id, p, 100, 0, 16)
	var cx codec
	var st stats
	r := &recorder{}
	c.step(100, &cx, r, &st)
	if len(r.msgs) != 1 || r.event[0] {
		t.Fatalf("first step sent %d messages", len(r.msgs))
	}
	var sig protocol.Signaling
	if err := sig.UnmarshalBinary(r.msgs[0]); err != nil || len(sig.TLVs) != 1 {
		t.Fatalf("request: %v %+v", err, sig)
	}
	req := sig.TLVs[0].(*protocol.RequestUnicastTransmissionTLV)
	if req.MsgTypeAndReserved.MsgType() != protocol.MessageAnnounce || req.DurationField != 10 || sig.SourcePortIdentity != id ||
		sig.FlagField&protocol.FlagUnicast == 0 || sig.TargetPortIdentity != protocol.DefaultTargetPortIdentity {
		t.Fatalf("announce request %+v / %+v", sig.Header, req)
	}
	ms := int64(time.Millisecond)
	c.receive(10*ms, grantMsg(t, id, [3]int{int(protocol.MessageAnnounce), 0, 10}), &cx, &st)
	if c.next() != 10*ms {
		t.Fatalf("next %d, want the SYNC/DELAY_RESP request at once", c.next())
	}
	c.step(10*ms, &cx, r, &st)
	sig = protocol.Signaling{}
	if err := sig.UnmarshalBinary(r.msgs[1]); err != nil || len(sig.TLVs) != 2 {
		t.Fatalf("sync request: %v %d TLVs", err, len(sig.TLVs))
	}
	for i, want := range []protocol.MessageType{protocol.MessageSync, protocol.MessageDelayResp} {
		tl := sig.TLVs[i].(*protocol.RequestUnicastTransmissionTLV)
		if tl.MsgTypeAndReserved.MsgType() != want || tl.LogInterMessagePeriod != -3 {
			t.Errorf("TLV %d: %+v", i, tl)
		}
	}
	c.receive(20*ms, grantMsg(t, id, [3]int{int(protocol.MessageSync), -3, 10}, [3]int{int(protocol.MessageDelayResp), -3, 10}), &cx, &st)
	if st.grants != 3 || c.nextDreq != 20*ms {
		t.Fatalf("grants %d nextDreq %d", st.grants, c.nextDreq)
	}
	// Run on fake time to the end; count what goes out.
	var dreqs, renewals int
	for now := 20 * ms; now <= p.sendEnd; now += ms {
		if c.next() > now {
			continue
		}
		before := len(r.msgs)
		c.step(now, &cx, r, &st)
		for i := before; i < len(r.msgs); i++ {
			switch protocol.MessageType(r.msgs[i][0] & 0xf) {
			case protocol.MessageDelayReq:
				dreqs++
				if !r.event[i] || len(r.msgs[i]) != delayReqLen {
					t.Fatalf("delay_req on event=%v len %d", r.event[i], len(r.msgs[i]))
				}
			case protocol.MessageSignaling:
				renewals++
				if now < 7*int64(time.Second) && now >= p.sendEnd {
					t.Fatalf("signaling at %d", now)
				}
			}
		}
		// Grant every renewal at once.
		if c.grp[grpAnnounce].requestedAt == now {
			c.receive(now, grantMsg(t, id, [3]int{int(protocol.MessageAnnounce), 0, 10}), &cx, &st)
		}
		if c.grp[grpSyncDelay].requestedAt == now {
			c.receive(now, grantMsg(t, id, [3]int{int(protocol.MessageSync), -3, 10}, [3]int{int(protocol.MessageDelayResp), -3, 10}), &cx, &st)
		}
	}
	// 8 Hz from 20 ms to 20 s: 160 Delay_Req. Renewals at 7.5 s and 15 s
	// for both groups, then the CANCEL: 5 Signaling messages.
	if dreqs != 160 || renewals != 5 || st.renewals != 6 || st.cancelsSent != 3 || !c.cancelled {
		t.Errorf("delay_req %d signaling %d renewals %d cancels %d", dreqs, renewals, st.renewals, st.cancelsSent)
	}
}

func TestFollowUpMatching(t *testing.T) {
	p := testParams()
	id := protocol.PortIdentity{ClockIdentity: 7, PortNumber: 1}
	c := newClient(id, p, 0, 0, 16)
	var cx codec
	var st stats
	msg := func(typ protocol.MessageType, seq uint16) []byte {
		return twoStepMsg(t, typ, seq, protocol.Timestamp{})
	}
	// seq 1: in order; seq 2: Follow_Up first; seq 3..13: no Follow_Up
	// (evicted after 8 newer entries or at finalize); one orphan.
	c.receive(1000, msg(protocol.MessageSync, 1), &cx, &st)
	c.receive(1500, msg(protocol.MessageFollowUp, 1), &cx, &st)
	c.receive(3000, msg(protocol.MessageFollowUp, 2), &cx, &st)
	c.receive(2900, msg(protocol.MessageSync, 2), &cx, &st)
	for s := uint16(3); s <= 13; s++ {
		c.receive(int64(s)*1000, msg(protocol.MessageSync, s), &cx, &st)
	}
	c.receive(20000, msg(protocol.MessageFollowUp, 99), &cx, &st)
	c.finalize(&st)
	if st.fuExpected != 13 || st.fuMatched != 2 || st.fuMissing != 11 || st.fuOrphan != 1 || st.fuReordered != 1 {
		t.Errorf("expected %d matched %d missing %d orphan %d reordered %d", st.fuExpected, st.fuMatched, st.fuMissing, st.fuOrphan, st.fuReordered)
	}
	if st.fuLag.Max() != 500 || st.fuLag.Min() != 100 {
		t.Errorf("lag min %v max %v, want 100ns and 500ns", st.fuLag.Min(), st.fuLag.Max())
	}
}

// TestSyncTransit: a matched Sync and Follow_Up record Sync receive −
// preciseOriginTimestamp modulo 1 s into [−0.5 s, 0.5 s), in either arrival
// order, with the exact TransitLate and negative counts; the figures reach
// Result through add and finish.
func TestSyncTransit(t *testing.T) {
	const us = int64(time.Microsecond)
	const sec = int64(time.Second)
	rx := int64(1_700_000_000*time.Second + 123_456_789) // Sync receive (UTC)
	for _, tc := range []struct {
		name                    string
		syncRx                  int64
		origin                  int64 // ns since the epoch; 0 = empty timestamp
		want                    int64 // transit, ns
		samples, late, negative uint64
	}{
		{name: "3 µs", syncRx: rx, origin: rx - 3*us, want: 3 * us, samples: 1},
		{name: "TAI origin 37 s ahead", syncRx: rx, origin: rx + 37*sec - 2*us, want: 2 * us, samples: 1},
		{name: "origin 37 s + 2 µs earlier", syncRx: rx, origin: rx - 37*sec - 2*us, want: 2 * us, samples: 1},
		{name: "across a second boundary", syncRx: 1_700_000_001*sec + 1*us, origin: 1_700_000_001*sec - 2*us, want: 3 * us, samples: 1},
		{name: "at TransitLate", syncRx: rx, origin: rx - int64(TransitLate), want: int64(TransitLate), samples: 1},
		{name: "1 ns above TransitLate", syncRx: rx, origin: rx - int64(TransitLate) - 1, want: int64(TransitLate) + 1, samples: 1, late: 1},
		{name: "just under half a second", syncRx: rx, origin: rx - sec/2 + 1, want: sec/2 - 1, samples: 1, late: 1},
		{name: "origin after receive", syncRx: rx, origin: rx + 1, want: -1, samples: 1, negative: 1},
		{name: "TAI origin after receive", syncRx: rx, origin: rx + 37*sec + 2*us, want: -2 * us, samples: 1, negative: 1},
		{name: "half a second is −0.5 s", syncRx: rx, origin: rx - sec/2, want: -sec / 2, samples: 1, negative: 1},
		{name: "empty origin", syncRx: rx, origin: 0, samples: 0},
	} {
		for _, fuFirst := range []bool{false, true} {
			name := tc.name + "/in order"
			if fuFirst {
				name = tc.name + "/Follow_Up first"
			}
			t.Run(name, func(t *testing.T) {
				c := newClient(protocol.PortIdentity{ClockIdentity: 7, PortNumber: 1}, testParams(), 0, 0, 16)
				var cx codec
				var st stats
				var origin protocol.Timestamp
				if tc.origin != 0 {
					origin = protocol.NewTimestamp(time.Unix(0, tc.origin))
				}
				sync := twoStepMsg(t, protocol.MessageSync, 5, protocol.Timestamp{})
				fu := twoStepMsg(t, protocol.MessageFollowUp, 5, origin)
				if fuFirst {
					c.receive(tc.syncRx-10*us, fu, &cx, &st) // processed first, stamped earlier
					c.receive(tc.syncRx, sync, &cx, &st)
				} else {
					c.receive(tc.syncRx, sync, &cx, &st)
					c.receive(tc.syncRx+50*us, fu, &cx, &st)
				}
				if st.fuMatched != 1 {
					t.Fatalf("matched %d, want 1", st.fuMatched)
				}
				var r Result
				r.add(&st)
				r.finish()
				got := r.SyncTransit
				if got.Samples != tc.samples || r.SyncTransitLate != tc.late || r.SyncTransitNegative != tc.negative {
					t.Errorf("samples %d late %d negative %d, want %d %d %d", got.Samples, r.SyncTransitLate,
						r.SyncTransitNegative, tc.samples, tc.late, tc.negative)
				}
				if tc.samples == 0 {
					return
				}
				// Min and max are exact; a negative transit is held as 0.
				want := time.Duration(max(tc.want, 0))
				if st.syncTransit.Min() != want || st.syncTransit.Max() != want || got.MaxUS != float64(want)/1e3 {
					t.Errorf("transit min %v max %v (%.3f µs in Result), want %v", st.syncTransit.Min(), st.syncTransit.Max(), got.MaxUS, want)
				}
				if d := Transit(tc.syncRx, originOf(&origin)); d != tc.want {
					t.Errorf("Transit() = %d ns, want %d", d, tc.want)
				}
			})
		}
	}
}

// twoStepMsg is a two-step unicast Sync or Follow_Up (origin only in the
// Follow_Up) with sequenceId seq.
func twoStepMsg(t *testing.T, typ protocol.MessageType, seq uint16, origin protocol.Timestamp) []byte {
	t.Helper()
	b := make([]byte, 44)
	h := protocol.Header{SdoIDAndMsgType: protocol.NewSdoIDAndMsgType(typ, 0), Version: 2, MessageLength: 44,
		FlagField: protocol.FlagTwoStep | protocol.FlagUnicast, SequenceID: seq}
	var err error
	if typ == protocol.MessageSync {
		_, err = (&protocol.SyncDelayReq{Header: h}).MarshalBinaryTo(b)
	} else {
		_, err = (&protocol.FollowUp{Header: h, FollowUpBody: protocol.FollowUpBody{PreciseOriginTimestamp: origin}}).MarshalBinaryTo(b)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzReceive: no input panics the client or makes it send.
func FuzzReceive(f *testing.F) {
	id := protocol.PortIdentity{ClockIdentity: 42, PortNumber: 1}
	f.Add(grantMsgBytes(id))
	f.Add(make([]byte, 44))
	f.Add([]byte{0x0c, 0x02, 0x00, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := newClient(id, testParams(), 0, 0, 16)
		c.grp[grpAnnounce].requestedAt = 1
		c.grp[grpSyncDelay].requestedAt = 1
		var cx codec
		var st stats
		if len(b) > 4 {
			b[4] = 0 // our domain, so decoding is reached
		}
		c.receive(5, b, &cx, &st)
		c.finalize(&st)
	})
}

func grantMsgBytes(to protocol.PortIdentity) []byte {
	s := &protocol.Signaling{Header: protocol.Header{SdoIDAndMsgType: protocol.NewSdoIDAndMsgType(protocol.MessageSignaling, 0), Version: 2},
		TargetPortIdentity: to, TLVs: []protocol.TLV{&protocol.GrantUnicastTransmissionTLV{
			TLVHead:            protocol.TLVHead{TLVType: protocol.TLVGrantUnicastTransmission, LengthField: 8},
			MsgTypeAndReserved: protocol.NewUnicastMsgTypeAndFlags(protocol.MessageSync, 0), DurationField: 5}}}
	b := make([]byte, 200)
	n, _ := s.MarshalBinaryTo(b)
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	return b[:n]
}

// failer is a sender whose every send fails.
type failer struct{}

func (failer) send(bool, []byte, *sent) bool { return false }

// deferrer reports every send done and keeps the records, like the batching
// address-mode shell before its system call.
type deferrer struct{ recs []sent }

func (d *deferrer) send(_ bool, _ []byte, s *sent) bool {
	d.recs = append(d.recs, *s)
	return true
}

// TestUnsendEqualsFailedSend: a message a batching sender reported sent and
// then took back (unsend) leaves the client and the counters exactly as a
// send that failed at once, for the first request, a renewal, a Delay_Req
// that overwrote a ring slot, and the final CANCEL.
func TestUnsendEqualsFailedSend(t *testing.T) {
	ms := int64(time.Millisecond)
	id := protocol.PortIdentity{ClockIdentity: 7, PortNumber: 1}
	// setup drives a client (ring of 2 slots) to time at with every send
	// succeeding: grants for everything, Delay_Reqs never answered.
	setup := func(at int64) (*client, stats) {
		p := testParams()
		c := newClient(id, p, 100, 0, 2)
		var cx codec
		var st stats
		r := &recorder{}
		t0 := int64(100)
		c.step(t0, &cx, r, &st)
		if at <= t0 {
			return newClient(id, p, 100, 0, 2), stats{}
		}
		c.receive(t0+ms, grantMsg(t, id, [3]int{int(protocol.MessageAnnounce), 0, 10}), &cx, &st)
		c.step(t0+ms, &cx, r, &st)
		c.receive(t0+2*ms, grantMsg(t, id, [3]int{int(protocol.MessageSync), -3, 10}, [3]int{int(protocol.MessageDelayResp), -3, 10}), &cx, &st)
		for n := c.next(); n < at; n = c.next() {
			c.step(n, &cx, r, &st)
		}
		return c, st
	}
	for _, tc := range []struct {
		name string
		at   int64
		kind uint8
	}{
		{"first request", 100, sentRequest},
		{"delay_req over a used slot", 3 * int64(time.Second), sentDelayReq},
		{"renewal", 7500 * ms, sentRequest},
		{"cancel", 20 * int64(time.Second), sentCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, sa := setup(tc.at)
			b, sb := setup(tc.at)
			var cx codec
			at := a.next()
			a.step(at, &cx, failer{}, &sa)
			d := &deferrer{}
			b.step(at, &cx, d, &sb)
			found := false
			for i := len(d.recs) - 1; i >= 0; i-- {
				found = found || d.recs[i].kind == tc.kind
				b.unsend(&d.recs[i], &sb)
			}
			if !found {
				t.Fatalf("step at %d sent %+v, no message of kind %d", at, d.recs, tc.kind)
			}
			if sa.sendErrors == 0 {
				t.Fatal("failing sender: no send error counted")
			}
			if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(sa, sb) {
				t.Errorf("after unsend:\nclient %+v\nwant   %+v\nstats %+v\nwant  %+v", b, a, sb, sa)
			}
		})
	}
}
