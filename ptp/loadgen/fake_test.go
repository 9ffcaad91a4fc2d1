package loadgen

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"
)

// fakeMaster is a tiny in-process unicast PTP master on loopback for tests.
// Unlike ptp4l it answers to the requests' source ports: Signaling,
// Announce, Follow_Up and Delay_Resp to the port the Signaling came from,
// Sync to that port − 1 (the generator's port-mode convention).
type fakeMaster struct {
	ev, gen *net.UDPConn
	id      protocol.PortIdentity

	dropFUEvery int  // drop every n-th Follow_Up (0: none)
	denySync    bool // deny SYNC requests (duration 0)
	oneStep     bool // send one-step Syncs (no Follow_Up)
	taiOrigin   bool // Follow_Up origins on TAI (UTC + 37 s), as ptp4l sends them

	mu      sync.Mutex
	subs    map[netip.AddrPort]*fakeSub // by general address
	fuCount int
	seq     uint16
	cancels int
}

type fakeSub struct {
	gen                 netip.AddrPort
	syncPer, annPer     time.Duration
	syncUntil, annUntil time.Time
	nextSync, nextAnn   time.Time
}

func newFakeMaster(t *testing.T) *fakeMaster {
	t.Helper()
	ev, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close(); gen.Close() })
	return &fakeMaster{ev: ev, gen: gen, id: protocol.PortIdentity{ClockIdentity: 0xaabbccfffe000001, PortNumber: 1},
		subs: map[netip.AddrPort]*fakeSub{}}
}

func (f *fakeMaster) ports() (ev, gen uint16) {
	return uint16(f.ev.LocalAddr().(*net.UDPAddr).Port), uint16(f.gen.LocalAddr().(*net.UDPAddr).Port)
}

// start runs the master until ctx ends; the returned func waits for it.
func (f *fakeMaster) start(ctx context.Context) func() {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); f.readLoop(ctx, f.gen) }()
	go func() { defer wg.Done(); f.readLoop(ctx, f.ev) }()
	go func() { defer wg.Done(); f.tickLoop(ctx) }()
	return wg.Wait
}

func (f *fakeMaster) header(t protocol.MessageType, seq uint16, li int8, domain uint8) protocol.Header {
	flags := protocol.FlagUnicast
	if !f.oneStep {
		flags |= protocol.FlagTwoStep
	}
	return protocol.Header{SdoIDAndMsgType: protocol.NewSdoIDAndMsgType(t, 0), Version: 2, DomainNumber: domain,
		FlagField: flags, SourcePortIdentity: f.id, SequenceID: seq, LogMessageInterval: protocol.LogInterval(li)}
}

func (f *fakeMaster) sendTo(c *net.UDPConn, to netip.AddrPort, p protocol.BinaryMarshalerTo) {
	var b [256]byte
	n, err := p.MarshalBinaryTo(b[:])
	if err != nil {
		return
	}
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	_, _ = c.WriteToUDPAddrPort(b[:n], to)
}

func (f *fakeMaster) readLoop(ctx context.Context, c *net.UDPConn) {
	b := make([]byte, 1500)
	for ctx.Err() == nil {
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, from, err := c.ReadFromUDPAddrPort(b)
		if err != nil {
			continue
		}
		f.handle(b[:n], from)
	}
}

func (f *fakeMaster) handle(b []byte, from netip.AddrPort) {
	if len(b) < headerLen {
		return
	}
	now := time.Now()
	switch protocol.MessageType(b[0] & 0xf) {
	case protocol.MessageDelayReq:
		var req protocol.SyncDelayReq
		if req.UnmarshalBinary(b) != nil {
			return
		}
		resp := &protocol.DelayResp{Header: f.header(protocol.MessageDelayResp, req.SequenceID, 0, req.DomainNumber),
			DelayRespBody: protocol.DelayRespBody{RequestingPortIdentity: req.SourcePortIdentity}}
		f.sendTo(f.gen, netip.AddrPortFrom(from.Addr(), from.Port()+1), resp)
	case protocol.MessageSignaling:
		var sig protocol.Signaling
		if sig.UnmarshalBinary(b) != nil {
			return
		}
		var out []protocol.TLV
		f.mu.Lock()
		s := f.subs[from]
		if s == nil {
			s = &fakeSub{gen: from}
			f.subs[from] = s
		}
		for _, t := range sig.TLVs {
			switch v := t.(type) {
			case *protocol.RequestUnicastTransmissionTLV:
				dur := v.DurationField
				per := protocol.LogInterval(v.LogInterMessagePeriod).Duration()
				until := now.Add(time.Duration(dur) * time.Second)
				switch v.MsgTypeAndReserved.MsgType() {
				case protocol.MessageSync:
					if f.denySync {
						dur = 0
					} else {
						if s.syncUntil.Before(now) {
							s.nextSync = now
						}
						s.syncPer, s.syncUntil = per, until
					}
				case protocol.MessageAnnounce:
					if s.annUntil.Before(now) {
						s.nextAnn = now
					}
					s.annPer, s.annUntil = per, until
				}
				out = append(out, &protocol.GrantUnicastTransmissionTLV{
					TLVHead:            protocol.TLVHead{TLVType: protocol.TLVGrantUnicastTransmission, LengthField: 8},
					MsgTypeAndReserved: v.MsgTypeAndReserved, LogInterMessagePeriod: v.LogInterMessagePeriod,
					DurationField: dur, Renewal: 1})
			case *protocol.CancelUnicastTransmissionTLV:
				f.cancels++
				switch v.MsgTypeAndFlags.MsgType() {
				case protocol.MessageSync:
					s.syncUntil = time.Time{}
				case protocol.MessageAnnounce:
					s.annUntil = time.Time{}
				}
				out = append(out, &protocol.AcknowledgeCancelUnicastTransmissionTLV{
					TLVHead:         protocol.TLVHead{TLVType: protocol.TLVAcknowledgeCancelUnicastTransmission, LengthField: 2},
					MsgTypeAndFlags: v.MsgTypeAndFlags})
			}
		}
		f.mu.Unlock()
		if len(out) > 0 {
			f.sendTo(f.gen, from, &protocol.Signaling{Header: f.header(protocol.MessageSignaling, sig.SequenceID, 0x7f, sig.DomainNumber),
				TargetPortIdentity: sig.SourcePortIdentity, TLVs: out})
		}
	}
}

func (f *fakeMaster) tickLoop(ctx context.Context) {
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for ctx.Err() == nil {
		<-tk.C
		now := time.Now()
		f.mu.Lock()
		for _, s := range f.subs {
			if now.Before(s.syncUntil) && !now.Before(s.nextSync) {
				f.seq++
				sync := &protocol.SyncDelayReq{Header: f.header(protocol.MessageSync, f.seq, 0, 0)}
				// The Follow_Up's origin: the wall clock just before the
				// send (UTC, or TAI when taiOrigin), as a software stamp.
				origin := time.Now()
				f.sendTo(f.ev, netip.AddrPortFrom(s.gen.Addr(), s.gen.Port()-1), sync)
				f.fuCount++
				if !f.oneStep && (f.dropFUEvery == 0 || f.fuCount%f.dropFUEvery != 0) {
					if f.taiOrigin {
						origin = origin.Add(37 * time.Second)
					}
					f.sendTo(f.gen, s.gen, &protocol.FollowUp{Header: f.header(protocol.MessageFollowUp, f.seq, 0, 0),
						FollowUpBody: protocol.FollowUpBody{PreciseOriginTimestamp: protocol.NewTimestamp(origin)}})
				}
				s.nextSync = s.nextSync.Add(s.syncPer)
			}
			if now.Before(s.annUntil) && !now.Before(s.nextAnn) {
				f.seq++
				f.sendTo(f.gen, s.gen, &protocol.Announce{Header: f.header(protocol.MessageAnnounce, f.seq, 0, 0)})
				s.nextAnn = s.nextAnn.Add(s.annPer)
			}
		}
		f.mu.Unlock()
	}
}
