//go:build linux

package hwts

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMulticastValidate(t *testing.T) {
	g4, g6 := netip.MustParseAddr("224.0.1.129"), netip.MustParseAddr("ff0e::181")
	any4 := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Addr: any4, Multicast: []netip.Addr{g4}}, "multicast: needs interface"},
		{Config{Addr: any4, MulticastSend: true}, "multicast: needs interface"},
		{Config{Addr: any4, Interface: "lo", Multicast: []netip.Addr{g6}}, "multicast ff0e::181: not a multicast group"},
		{Config{Addr: any4, Interface: "lo", Multicast: []netip.Addr{netip.MustParseAddr("10.0.0.1")}}, "multicast 10.0.0.1: not a multicast group"},
	} {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if err := (&Config{Addr: any4, Interface: "lo", Multicast: []netip.Addr{g4}}).Validate(); err != nil {
		t.Error(err)
	}
}

// TestMulticastNetns: over a veth pair, a socket that joined the PTP group
// on its interface receives what the peer sends to the group (pktinfo
// names the group, a kernel RX stamp comes with it), its own multicast
// reaches the peer's joined socket with a TX stamp, and does not loop back
// to itself; IPv4 and IPv6.
func TestMulticastNetns(t *testing.T) {
	p := newNetnsPair(t)
	a6, b6 := netip.MustParseAddr("2001:db8:231::1"), netip.MustParseAddr("2001:db8:231::2")
	run(t, "ip", "-n", p.nsA, "addr", "add", a6.String()+"/64", "dev", p.vethA, "nodad")
	run(t, "ip", "-n", p.nsB, "addr", "add", b6.String()+"/64", "dev", p.vethB, "nodad")
	for _, c := range []struct {
		name         string
		any, group   netip.Addr
		addrA, addrB netip.Addr
	}{
		{"ipv4", netip.IPv4Unspecified(), netip.MustParseAddr("224.0.1.129"), p.addrA, p.addrB},
		{"ipv6", netip.IPv6Unspecified(), netip.MustParseAddr("ff0e::181"), a6, b6},
	} {
		t.Run(c.name, func(t *testing.T) {
			open := func(ns, dev string) *Conn {
				var conn *Conn
				if err := inNetns(ns, func() (err error) {
					conn, err = Listen(t.Context(), Config{Addr: netip.AddrPortFrom(c.any, 0), Interface: dev,
						Timestamping: ModeSoftware, Multicast: []netip.Addr{c.group}})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close() })
				return conn
			}
			a, b := open(p.nsA, p.vethA), open(p.nsB, p.vethB)
			ms := newMsgs(1, 128)
			// b → group:a's port, retried while the membership report and
			// neighbour state settle, and until a datagram carries a kernel
			// stamp: the kernel turns software RX stamping on through a
			// deferred static key when the first socket in the system asks
			// for it, so on a quiet machine the first datagrams may arrive
			// unstamped (hwts then falls back to a daemon stamp).
			out := []Message{{Buf: make([]byte, 44), N: 44, Addr: netip.AddrPortFrom(c.group, a.LocalAddr().Port())}}
			// The static key is switched by a work item, so a datagram that
			// arrives unstamped is retried after a pause (at most ≈ 2 s in
			// all): 20 back-to-back retries once took under 1 ms, all
			// before the key flipped (fresh-clone CI, no-cgo run).
			got := false
			for i := 0; i < 40 && !got; i++ {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				if k, err := b.WriteBatch(out); k != 1 || err != nil {
					t.Fatalf("b WriteBatch = %d, %v", k, err)
				}
				a.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
				k, err := a.ReadBatch(ms)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					continue
				}
				if k != 1 || err != nil {
					t.Fatalf("a ReadBatch = %d, %v", k, err)
				}
				got = ms[0].RX.Kind == KindKernel
			}
			if !got {
				t.Fatalf("a never received b's datagram to the group with a kernel stamp (last: RX %v)", ms[0].RX.Kind)
			}
			if m := &ms[0]; m.Local != c.group || m.Addr.Addr() != c.addrB || m.RX.Kind != KindKernel {
				t.Errorf("a received: Local %v from %v RX %v; want the group %v from %v, a kernel stamp", m.Local, m.Addr, m.RX.Kind, c.group, c.addrB)
			}
			// a → group:b's port: b receives it, a gets its TX stamp.
			out[0].Addr = netip.AddrPortFrom(c.group, b.LocalAddr().Port())
			if k, err := a.WriteBatch(out); k != 1 || err != nil {
				t.Fatalf("a WriteBatch = %d, %v", k, err)
			}
			if _, n := waitTX(a, out[0].TXID); n != 1 {
				t.Errorf("a: %d TX stamps for its multicast datagram, want 1", n)
			}
			b.SetReadDeadline(time.Now().Add(2 * time.Second))
			if k, err := b.ReadBatch(ms); k != 1 || err != nil || ms[0].Local != c.group || ms[0].Addr.Addr() != c.addrA {
				t.Errorf("b ReadBatch = %d, %v, Local %v from %v; want the group from %v", k, err, ms[0].Local, ms[0].Addr, c.addrA)
			}
			// a → group:a's own port: no loopback.
			out[0].Addr = netip.AddrPortFrom(c.group, a.LocalAddr().Port())
			if k, err := a.WriteBatch(out); k != 1 || err != nil {
				t.Fatalf("a WriteBatch = %d, %v", k, err)
			}
			a.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if k, err := a.ReadBatch(ms); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("a heard its own multicast: ReadBatch = %d, %v from %v", k, err, ms[0].Addr)
			}
		})
	}
}
