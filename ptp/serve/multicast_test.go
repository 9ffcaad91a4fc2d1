package serve

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/system"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/internal/netns"
	"github.com/gnomon-time/gnomon/ptp"
)

// TestMulticast runs a multicast grandmaster (0.0.0.0 and :: on a veth in
// a fresh namespace, ports 319/320) and a client that joined the groups on
// the other end: Sync + Follow_Up at 8 Hz and Announce at 4 Hz arrive on
// the groups with the unicast flag clear and the configured
// logMessageInterval, each Follow_Up's precise origin just before its
// Sync's receipt; a multicast Delay_Req is answered to the group with
// logMinDelayReqInterval; a foreign Announce sent to the group is counted
// and answered by nothing.
func TestMulticast(t *testing.T) {
	if err := netns.CanRun(); err != nil {
		t.Skip(err)
	}
	pair := netns.New().NewPairT(t)
	srv6, cli6 := netip.MustParseAddr("2001:db8:5::1"), netip.MustParseAddr("2001:db8:5::2")
	for _, a := range []struct {
		ns, dev string
		addr    netip.Addr
	}{{pair.Srv.Name, pair.SrvIf, srv6}, {pair.Cli.Name, pair.CliIf, cli6}} {
		if out, err := exec.Command("ip", "-n", a.ns, "addr", "add", a.addr.String()+"/64", "dev", a.dev, "nodad").CombinedOutput(); err != nil {
			t.Fatalf("ip addr add: %v %s", err, out)
		}
	}
	core, err := ptp.NewServer(ptp.Config{Identity: 0x0200_00ff_fe00_0001, Priority1: 128, Priority2: 128,
		Limits: ptp.DefaultLimits(), Allow: []netip.Prefix{pair.Prefix, netip.MustParsePrefix("2001:db8:5::/64")},
		Multicast: ptp.Multicast{LogSync: -3, LogAnnounce: -2, LogMinDelayReq: -4}})
	if err != nil {
		t.Fatal(err)
	}
	cell := new(clock.StateCell)
	cell.Store(&clock.SyncState{Synchronized: true, ClockClass: clock.ClockClassLocked, UTCOffset: 37, UTCOffsetValid: true})
	var svc *Service
	if err := pair.Srv.Do(func() (err error) {
		svc, err = Listen(t.Context(), Config{Listen: []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()},
			Interface: pair.SrvIf, Timestamping: hwts.ModeSoftware, Multicast: true, Server: core, Clock: system.Clock{}, State: cell})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	// Another master, for the foreign Announce.
	other, err := ptp.NewServer(ptp.Config{Identity: 0x0200_00ff_fe00_0077, Priority1: 1, Priority2: 1, Limits: ptp.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		any      netip.Addr
		from     netip.Addr
		foreignN uint64
	}{{"ipv4", netip.IPv4Unspecified(), pair.SrvAddr, 1}, {"ipv6", netip.IPv6Unspecified(), srv6, 2}} {
		t.Run(c.name, func(t *testing.T) {
			group := ptp.Group(c.any.Is6())
			var ev, gen *hwts.Conn
			if err := pair.Cli.Do(func() (err error) {
				listen := func(port uint16) (*hwts.Conn, error) {
					return hwts.Listen(t.Context(), hwts.Config{Addr: netip.AddrPortFrom(c.any, port), Interface: pair.CliIf,
						Timestamping: hwts.ModeSoftware, Multicast: []netip.Addr{group}})
				}
				if ev, err = listen(ptp.EventPort); err != nil {
					return err
				}
				gen, err = listen(ptp.GeneralPort)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer ev.Close()
			defer gen.Close()
			type rcvd struct {
				h   ptp.Header
				m   hwts.Message
				pkt []byte
			}
			var mu sync.Mutex
			var got []rcvd
			var wg sync.WaitGroup
			// The event reader stops 100 ms after the general one, so that
			// every Follow_Up read has its (earlier) Sync read too.
			end := time.Now().Add(1500 * time.Millisecond)
			for _, conn := range []*hwts.Conn{ev, gen} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ms := []hwts.Message{{Buf: make([]byte, 1500)}}
					if conn == ev {
						conn.SetReadDeadline(end.Add(100 * time.Millisecond))
					} else {
						conn.SetReadDeadline(end)
					}
					for range 1000 {
						if _, err := conn.ReadBatch(ms); err != nil {
							if !errors.Is(err, os.ErrDeadlineExceeded) {
								t.Error(err)
							}
							return
						}
						h, v := ptp.ParseHeader(ms[0].Buf[:ms[0].N], 0)
						if v != ptp.VerdictAnswered {
							t.Errorf("bad message %v from %v", v, ms[0].Addr)
							continue
						}
						mu.Lock()
						got = append(got, rcvd{h, ms[0], append([]byte(nil), ms[0].Buf[:ms[0].N]...)})
						mu.Unlock()
					}
				}()
			}
			// A multicast Delay_Req from 319 and a foreign Announce, to the group.
			dr := protocol.SyncDelayReq{Header: protocol.Header{SdoIDAndMsgType: protocol.NewSdoIDAndMsgType(protocol.MessageDelayReq, 0),
				Version: 2, MessageLength: ptp.DelayReqLen, SourcePortIdentity: cli, SequenceID: 4242, ControlField: 1, LogMessageInterval: 0x7f}}
			out := []hwts.Message{{Buf: make([]byte, ptp.AnnounceLen)}}
			if out[0].N, err = dr.MarshalBinaryTo(out[0].Buf); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // the groups' membership settles
			out[0].Addr = netip.AddrPortFrom(group, ptp.EventPort)
			if n, err := ev.WriteBatch(out); n != 1 || err != nil {
				t.Fatalf("Delay_Req: %d, %v", n, err)
			}
			out[0].N = other.AppendAnnounce(out[0].Buf, ptp.QualityOf(nil), 0, 1, 0, time.Now(), 0)
			out[0].Addr = netip.AddrPortFrom(group, ptp.GeneralPort)
			if n, err := gen.WriteBatch(out); n != 1 || err != nil {
				t.Fatalf("Announce: %d, %v", n, err)
			}
			wg.Wait()

			counts := map[protocol.MessageType]int{}
			syncRX := map[uint16]time.Time{} // the readers append in any order
			for _, r := range got {
				if r.h.Type == protocol.MessageSync {
					syncRX[r.h.Sequence] = r.m.RX.Time
				}
			}
			for _, r := range got {
				counts[r.h.Type]++
				if r.m.Local != group || r.m.Addr.Addr() != c.from {
					t.Errorf("%v from %v to %v; want from %v to the group %v", r.h.Type, r.m.Addr, r.m.Local, c.from, group)
				}
				if r.h.Flags&protocol.FlagUnicast != 0 {
					t.Errorf("%v with the unicast flag", r.h.Type)
				}
				want := map[protocol.MessageType]int8{protocol.MessageSync: -3, protocol.MessageFollowUp: -3,
					protocol.MessageAnnounce: -2, protocol.MessageDelayResp: -4}[r.h.Type]
				if r.h.LogInterval != want {
					t.Errorf("%v: logMessageInterval %d, want %d", r.h.Type, r.h.LogInterval, want)
				}
				switch r.h.Type {
				case protocol.MessageFollowUp:
					var f protocol.FollowUp
					if err := f.UnmarshalBinary(r.pkt); err != nil {
						t.Fatal(err)
					}
					rx, ok := syncRX[r.h.Sequence]
					t1 := f.PreciseOriginTimestamp.Time().Add(-37 * time.Second)
					if d := rx.Sub(t1); !ok || d < 0 || d > time.Millisecond {
						t.Errorf("Follow_Up %d: origin %v, its Sync received %v (seen %v)", r.h.Sequence, t1, rx, ok)
					}
				case protocol.MessageDelayResp:
					var d protocol.DelayResp
					if err := d.UnmarshalBinary(r.pkt); err != nil {
						t.Fatal(err)
					}
					if d.SequenceID != 4242 || d.RequestingPortIdentity != cli {
						t.Errorf("Delay_Resp %+v", d)
					}
				}
			}
			// 1.5 s (less start-up) at 8 Hz and 4 Hz.
			if counts[protocol.MessageSync] < 8 || counts[protocol.MessageFollowUp] < 8 || counts[protocol.MessageAnnounce] < 4 ||
				counts[protocol.MessageDelayResp] != 1 {
				t.Errorf("received %v", counts)
			}
			if st := svc.Stats(); st.ForeignAnnounces != c.foreignN || st.TXMisses != 0 {
				t.Errorf("stats %+v; want %d foreign Announces, no TX misses", st, c.foreignN)
			}
		})
	}
}
