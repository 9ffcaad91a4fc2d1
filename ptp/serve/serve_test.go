package serve

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/system"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ptp"
)

// startService runs a grandmaster on ephemeral loopback ports.
func startService(t *testing.T, addr netip.Addr) (*Service, netip.AddrPort, netip.AddrPort) {
	t.Helper()
	s, ev, gen := startServiceOn(t, addr)
	return s, netip.AddrPortFrom(addr, ev), netip.AddrPortFrom(addr, gen)
}

// startServiceOn serves on every address with the same two ports.
func startServiceOn(t *testing.T, addrs ...netip.Addr) (*Service, uint16, uint16) {
	t.Helper()
	return startServiceWith(t, nil, addrs...)
}

// startServiceWith is startServiceOn with a prep (if not nil) called with
// the configuration before Listen (service nil) and with the opened
// service before Run.
func startServiceWith(t *testing.T, prep func(*Config, *Service), addrs ...netip.Addr) (*Service, uint16, uint16) {
	t.Helper()
	addr := addrs[0]
	srv, err := ptp.NewServer(ptp.Config{Identity: 0x0200_00ff_fe00_0001, Priority1: 128, Priority2: 128,
		Limits: ptp.DefaultLimits(), Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	if err != nil {
		t.Fatal(err)
	}
	cell := new(clock.StateCell)
	cell.Store(&clock.SyncState{Synchronized: true, Stratum: 1, ClockClass: clock.ClockClassLocked, UTCOffset: 37,
		UTCOffsetValid: true, TimeTraceable: true, FrequencyTraceable: true, ClockAccuracy: clock.ClockAccuracyFor(time.Microsecond),
		OffsetScaledLogVariance: clock.VarianceNotComputed, TimeSource: clock.TimeSourceGNSS})
	// Ports: pick two free ones (the event port must be known to the
	// client; 319/320 need root and may be taken).
	ev, gen := freePort(t, addr), freePort(t, addr)
	cfg := Config{Listen: addrs, EventPort: ev, GeneralPort: gen,
		Timestamping: hwts.ModeSoftware, Server: srv, Clock: system.Clock{}, State: cell}
	if prep != nil {
		prep(&cfg, nil)
	}
	s, err := Listen(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if prep != nil {
		prep(&cfg, s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s, ev, gen
}

func freePort(t *testing.T, a netip.Addr) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Port()
}

var cli = protocol.PortIdentity{ClockIdentity: 0x0200_00ff_fe00_0099, PortNumber: 1}

func signal(t *testing.T, tlvs ...protocol.TLV) []byte {
	m := protocol.Signaling{Header: protocol.Header{SdoIDAndMsgType: protocol.NewSdoIDAndMsgType(protocol.MessageSignaling, 0),
		Version: 2, FlagField: protocol.FlagUnicast, SourcePortIdentity: cli, ControlField: 5, LogMessageInterval: 0x7f},
		TargetPortIdentity: protocol.DefaultTargetPortIdentity, TLVs: tlvs}
	b := make([]byte, 256)
	n, err := m.MarshalBinaryTo(b)
	if err != nil {
		t.Fatal(err)
	}
	b[2], b[3] = byte(n>>8), byte(n)
	return b[:n]
}

// delayReq is a Delay_Req from cli with sequence seq and flags (unicast;
// with FlagProfileSpecific1 too, SPTP's).
func delayReq(t *testing.T, seq uint16, flags uint16) []byte {
	t.Helper()
	dr := protocol.SyncDelayReq{Header: protocol.Header{SdoIDAndMsgType: protocol.NewSdoIDAndMsgType(protocol.MessageDelayReq, 0),
		Version: 2, MessageLength: ptp.DelayReqLen, FlagField: flags, SourcePortIdentity: cli, SequenceID: seq, ControlField: 1}}
	b := make([]byte, ptp.DelayReqLen)
	if _, err := dr.MarshalBinaryTo(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func req(mt protocol.MessageType, logI int8) protocol.TLV {
	return &protocol.RequestUnicastTransmissionTLV{TLVHead: protocol.TLVHead{TLVType: protocol.TLVRequestUnicastTransmission, LengthField: 6},
		MsgTypeAndReserved: protocol.NewUnicastMsgTypeAndFlags(mt, 0), LogInterMessagePeriod: protocol.LogInterval(logI), DurationField: 60}
}

// A client negotiating from one ephemeral port gets its grants, then Sync
// and Follow_Up pairs at 16 Hz whose precise origin lies between the
// client's send of the request... and its receipt, Announce at 2 Hz, and
// Delay_Resp for its Delay_Req; IPv4 and IPv6.
func TestUnicastSession(t *testing.T) {
	for _, addr := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")} {
		t.Run(addr.String(), func(t *testing.T) {
			s, evAddr, genAddr := startService(t, addr)
			c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			if _, err := c.WriteToUDPAddrPort(signal(t, req(protocol.MessageAnnounce, -1), req(protocol.MessageSync, -4), req(protocol.MessageDelayResp, -4)), genAddr); err != nil {
				t.Fatal(err)
			}
			drb := delayReq(t, 77, protocol.FlagUnicast)
			counts := map[protocol.MessageType]int{}
			syncSeq := map[uint16]bool{}
			var grants int
			b := make([]byte, 1500)
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			sentDelayReq := time.Time{}
			for time.Since(start) < 2*time.Second {
				n, _, err := c.ReadFromUDPAddrPort(b)
				if err != nil {
					break
				}
				h, v := ptp.ParseHeader(b[:n], 0)
				if v != ptp.VerdictAnswered {
					t.Fatalf("bad message from the server: %v % x", v, b[:n])
				}
				counts[h.Type]++
				switch h.Type {
				case protocol.MessageSignaling:
					var m protocol.Signaling
					if err := m.UnmarshalBinary(b[:n]); err != nil {
						t.Fatal(err)
					}
					for _, tlv := range m.TLVs {
						if g, ok := tlv.(*protocol.GrantUnicastTransmissionTLV); ok && g.DurationField == 60 {
							grants++
						}
					}
					if _, err := c.WriteToUDPAddrPort(drb, evAddr); err != nil {
						t.Fatal(err)
					}
					sentDelayReq = time.Now()
				case protocol.MessageSync:
					syncSeq[h.Sequence] = true
				case protocol.MessageFollowUp:
					var f protocol.FollowUp
					if err := f.UnmarshalBinary(b[:n]); err != nil {
						t.Fatal(err)
					}
					if !syncSeq[h.Sequence] {
						t.Errorf("Follow_Up %d before its Sync", h.Sequence)
					}
					t1 := f.PreciseOriginTimestamp.Time().Add(-37 * time.Second)
					if d := time.Since(t1); d < 0 || d > 100*time.Millisecond {
						t.Errorf("Follow_Up origin %v is %v from now (TAI − 37 s)", t1, d)
					}
				case protocol.MessageDelayResp:
					var d protocol.DelayResp
					if err := d.UnmarshalBinary(b[:n]); err != nil {
						t.Fatal(err)
					}
					t4 := d.ReceiveTimestamp.Time().Add(-37 * time.Second)
					if d.SequenceID != 77 || d.RequestingPortIdentity != cli || t4.Before(sentDelayReq.Add(-time.Millisecond)) || time.Since(t4) > time.Second {
						t.Errorf("Delay_Resp %+v (t4 %v, sent %v)", d, t4, sentDelayReq)
					}
				}
			}
			st := s.Stats()
			// 2 s at 16 Hz: ≈ 32 Syncs; at 2 Hz ≈ 4 Announces.
			if grants != 3 || counts[protocol.MessageSync] < 24 || counts[protocol.MessageFollowUp] < 24 ||
				counts[protocol.MessageAnnounce] < 3 || counts[protocol.MessageDelayResp] != 1 {
				t.Errorf("received %v, %d grants; server stats %+v", counts, grants, st)
			}
			if st.TXMisses != 0 || st.Clients != 1 || st.Grants != 3 {
				t.Errorf("server stats %+v", st)
			}
		})
	}
}

// With IPv4 and IPv6 served at once, each client's Syncs come from the
// address it negotiated with, once each (no duplicate from the other
// address's sender).
func TestTwoAddressesOneStreamEach(t *testing.T) {
	v4, v6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	_, _, gen := startServiceOn(t, v4, v6)
	type res struct {
		syncs int
		dup   bool
	}
	results := make(chan res, 2)
	for _, a := range []netip.Addr{v4, v6} {
		go func() {
			c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
			if err != nil {
				t.Error(err)
				results <- res{}
				return
			}
			defer c.Close()
			if _, err := c.WriteToUDPAddrPort(signal(t, req(protocol.MessageSync, -4)), netip.AddrPortFrom(a, gen)); err != nil {
				t.Error(err)
			}
			seen := map[uint16]bool{}
			var r res
			b := make([]byte, 1500)
			c.SetReadDeadline(time.Now().Add(time.Second))
			for {
				n, _, err := c.ReadFromUDPAddrPort(b)
				if err != nil {
					break
				}
				if h, v := ptp.ParseHeader(b[:n], 0); v == ptp.VerdictAnswered && h.Type == protocol.MessageSync {
					r.dup = r.dup || seen[h.Sequence]
					seen[h.Sequence] = true
					r.syncs++
				}
			}
			results <- r
		}()
	}
	for range 2 {
		r := <-results
		// 1 s at 16 Hz.
		if r.dup || r.syncs < 12 || r.syncs > 18 {
			t.Errorf("%d Syncs in 1 s at 16 Hz, duplicates: %v", r.syncs, r.dup)
		}
	}
}

// Many clients whose Syncs fall due in the same pass (more than one
// sendmmsg batch's worth) each get every Sync and its Follow_Up.
func TestManyClientsSameInstant(t *testing.T) {
	const clients = 3*maxBatch + 7
	addr := netip.MustParseAddr("127.0.0.1")
	s, _, gen := startService(t, addr)
	conns := make([]*net.UDPConn, clients)
	for i := range conns {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	req := signal(t, req(protocol.MessageSync, -3))
	for _, c := range conns { // within one sender pass (maxSleep)
		if _, err := c.WriteToUDPAddrPort(req, gen); err != nil {
			t.Fatal(err)
		}
	}
	type count struct{ syncs, followUps int }
	results := make(chan count, clients)
	for _, c := range conns {
		go func() {
			var r count
			b := make([]byte, 1500)
			c.SetReadDeadline(time.Now().Add(time.Second))
			for {
				n, _, err := c.ReadFromUDPAddrPort(b)
				if err != nil {
					break
				}
				if h, v := ptp.ParseHeader(b[:n], 0); v == ptp.VerdictAnswered {
					switch h.Type {
					case protocol.MessageSync:
						r.syncs++
					case protocol.MessageFollowUp:
						r.followUps++
					}
				}
			}
			results <- r
		}()
	}
	short := 0
	for range clients {
		// 1 s at 8 Hz.
		if r := <-results; r.syncs < 6 || r.followUps < 6 {
			short++
			if short <= 3 {
				t.Errorf("a client got %d Syncs and %d Follow_Ups in 1 s at 8 Hz", r.syncs, r.followUps)
			}
		}
	}
	if st := s.Stats(); short > 0 || st.SendErrors != 0 || st.TXMisses != 0 || st.Clients != clients {
		t.Errorf("%d of %d clients short; server stats %+v", short, clients, st)
	}
}

// TestListenFailureClosesWhatItOpened: when a later socket of an address
// cannot be opened (its general port is taken), Listen fails naming it and
// closes what it had opened: the event port can be bound again at once.
func TestListenFailureClosesWhatItOpened(t *testing.T) {
	addr := netip.MustParseAddr("127.0.0.1")
	taken, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	gen := taken.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	ev := freePort(t, addr)
	srv, err := ptp.NewServer(ptp.Config{Identity: 1, Priority1: 128, Priority2: 128, Limits: ptp.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Listen: []netip.Addr{addr}, EventPort: ev, GeneralPort: gen, Timestamping: hwts.ModeSoftware,
		Server: srv, Clock: system.Clock{}, State: new(clock.StateCell)}
	if s, err := Listen(context.Background(), cfg); err == nil {
		s.Close()
		t.Fatalf("Listen with general port %d taken succeeded", gen)
	} else if want := netip.AddrPortFrom(addr, gen).String(); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, ev)))
	if err != nil {
		t.Fatalf("event port %d still held after the failed Listen: %v", ev, err)
	}
	c.Close()
}
