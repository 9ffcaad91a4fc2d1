package serve

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ptp"
)

// simNIC wraps a loopback socket as a NIC that stamps packets with a PHC:
// every received datagram gets a hardware stamp and every kernel TX stamp
// a hardware companion after it, both the PHC's time at the kernel stamp
// (phc). Every missEvery-th packet gets none (0 = never miss), as a NIC
// under load may. It is the hardware path of this package tested through
// the socket interface, since these machines have no timestamping NIC.
type simNIC struct {
	packetConn
	index     int
	phc       func(time.Time) time.Time
	missEvery int

	mu      sync.Mutex
	rx, tx  int
	pending []nicStamp
}

type nicStamp struct {
	id uint32
	ts hwts.Timestamp
}

func (c *simNIC) Info() hwts.Info {
	i := c.packetConn.Info()
	i.RX, i.TX, i.PHCIndex = hwts.KindHardware, hwts.KindHardware, c.index
	return i
}

func (c *simNIC) miss(n *int) bool {
	*n++
	return c.missEvery > 0 && *n%c.missEvery == 0
}

func (c *simNIC) ReadBatch(msgs []hwts.Message) (int, error) {
	n, err := c.packetConn.ReadBatch(msgs)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range n {
		msgs[i].RXHW = hwts.Timestamp{}
		if !c.miss(&c.rx) {
			msgs[i].RXHW = hwts.Timestamp{Time: c.phc(msgs[i].RX.Time), Kind: hwts.KindHardware}
		}
	}
	return n, err
}

func (c *simNIC) ReadTX(fn func(id uint32, ts hwts.Timestamp)) (int, error) {
	n, err := c.packetConn.ReadTX(func(id uint32, ts hwts.Timestamp) {
		fn(id, ts)
		if ts.Kind != hwts.KindKernel {
			return
		}
		c.mu.Lock()
		if !c.miss(&c.tx) {
			// The NIC's stamp arrives later than the kernel's: on the next read.
			c.pending = append(c.pending, nicStamp{id, hwts.Timestamp{Time: c.phc(ts.Time), Kind: hwts.KindHardware}})
		}
		c.mu.Unlock()
	})
	c.mu.Lock()
	p := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, s := range p {
		fn(s.id, s.ts)
	}
	return n + len(p), err
}

// TestHardwareTimestampsFromServedPHC serves with a simulated NIC whose
// PHC keeps TAI 250 ms ahead of the kernel's clock (+37 s): Follow_Up and
// Delay_Resp carry the PHC's stamps as they are, so their times are 250 ms
// after the kernel's; with every 5th stamp missing, the kernel stamp
// stands in and is counted; a PHC other than the served one is not used.
func TestHardwareTimestampsFromServedPHC(t *testing.T) {
	const ahead = 250 * time.Millisecond
	phc := func(k time.Time) time.Time { return k.Add(37*time.Second + ahead) }
	for _, tc := range []struct {
		name      string
		served    *PHCTime
		missEvery int
		wantShift time.Duration // of the carried times from the kernel's UTC
	}{
		{"served PHC", &PHCTime{Index: 3, TAI: true}, 0, ahead},
		{"served PHC, NIC misses stamps", &PHCTime{Index: 3, TAI: true}, 5, ahead},
		{"another PHC", &PHCTime{Index: 4, TAI: true}, 0, 0},
		{"no PHC served", nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := netip.MustParseAddr("127.0.0.1")
			var nics []*simNIC
			s, ev, gen := startServiceWith(t, func(cfg *Config, s *Service) {
				if s == nil {
					cfg.PHC = tc.served
					return
				}
				for _, tr := range s.trios {
					e := &simNIC{packetConn: tr.event, index: 3, phc: phc, missEvery: tc.missEvery}
					snd := &simNIC{packetConn: tr.send, index: 3, phc: phc, missEvery: tc.missEvery}
					tr.event, tr.send = e, snd
					nics = append(nics, e, snd)
					s.useHardware(tr)
				}
			}, addr)
			hwSession(t, s, netip.AddrPortFrom(addr, ev), netip.AddrPortFrom(addr, gen), tc.wantShift, tc.missEvery)
			st := s.Stats()
			hw := tc.wantShift != 0
			if hw && (st.Stamps[rxStamp][hwStamp] == 0 || st.Stamps[txStamp][hwStamp] < 10) ||
				!hw && (st.Stamps[rxStamp][hwStamp] != 0 || st.Stamps[txStamp][hwStamp] != 0) {
				t.Errorf("stamps used %v, hardware wanted %v", st.Stamps, hw)
			}
			if missed := st.HWMissing[txStamp] > 0; missed != (tc.missEvery > 0) || !hw && st.HWMissing != [numDirections]uint64{} {
				t.Errorf("hardware stamps missing %v with a NIC missing every %d", st.HWMissing, tc.missEvery)
			}
			if tc.missEvery > 0 && st.Stamps[txStamp][kernelStamp] == 0 {
				t.Errorf("no kernel stamp stood in for a missing hardware one: %v", st.Stamps)
			}
		})
	}
}

// hwSession negotiates Sync and Delay_Resp for 1.5 s, sends a Delay_Req on
// every Follow_Up, and checks that the carried times are the kernel's
// (TAI − 37 s) shifted by shift, within the loopback's delays; with a NIC
// that misses stamps the kernel stamps that stand in are not shifted.
func hwSession(t *testing.T, s *Service, evAddr, genAddr netip.AddrPort, shift time.Duration, missEvery int) {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(evAddr.Addr(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteToUDPAddrPort(signal(t, req(protocol.MessageSync, -4), req(protocol.MessageDelayResp, -4)), genAddr); err != nil {
		t.Fatal(err)
	}
	drb := make([]byte, ptp.DelayReqLen)
	// near reports whether at (a carried time less TAI − UTC) is shift (or,
	// when stamps may be missing, 0) after the kernel time ref, allowing
	// for the loopback's delays on a loaded machine.
	near := func(at, ref time.Time) bool {
		for _, sh := range []time.Duration{shift, 0} {
			if d := at.Add(-sh).Sub(ref); d > -100*time.Millisecond && d < 100*time.Millisecond {
				return sh == shift || missEvery > 0
			}
		}
		return false
	}
	var follows, resps int
	b := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for start := time.Now(); time.Since(start) < 1500*time.Millisecond; {
		n, _, err := c.ReadFromUDPAddrPort(b)
		if err != nil {
			break
		}
		now := time.Now()
		h, _ := ptp.ParseHeader(b[:n], 0)
		switch h.Type {
		case protocol.MessageFollowUp:
			var f protocol.FollowUp
			if err := f.UnmarshalBinary(b[:n]); err != nil {
				t.Fatal(err)
			}
			follows++
			if t1 := f.PreciseOriginTimestamp.Time().Add(-37 * time.Second); !near(t1, now) {
				t.Errorf("Follow_Up origin %v, received %v: want %v later", t1, now, shift)
			}
			dr := protocol.SyncDelayReq{Header: protocol.Header{SdoIDAndMsgType: protocol.NewSdoIDAndMsgType(protocol.MessageDelayReq, 0),
				Version: 2, MessageLength: ptp.DelayReqLen, FlagField: protocol.FlagUnicast, SourcePortIdentity: cli, SequenceID: h.Sequence, ControlField: 1}}
			if _, err := dr.MarshalBinaryTo(drb); err != nil {
				t.Fatal(err)
			}
			if _, err := c.WriteToUDPAddrPort(drb, evAddr); err != nil {
				t.Fatal(err)
			}
		case protocol.MessageDelayResp:
			var d protocol.DelayResp
			if err := d.UnmarshalBinary(b[:n]); err != nil {
				t.Fatal(err)
			}
			resps++
			if t4 := d.ReceiveTimestamp.Time().Add(-37 * time.Second); !near(t4, now) {
				t.Errorf("Delay_Resp receive time %v, received %v: want %v later", t4, now, shift)
			}
		}
	}
	if follows < 10 || resps < 10 {
		t.Errorf("%d Follow_Ups, %d Delay_Resps in 1.5 s at 16 Hz; stats %+v", follows, resps, s.Stats())
	}
}
