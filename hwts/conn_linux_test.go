//go:build linux

package hwts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func listen(t testing.TB, cfg Config) *Conn {
	t.Helper()
	c, err := Listen(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Listen(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrPort(t testing.TB, c *Conn) netip.AddrPort {
	t.Helper()
	return c.LocalAddr()
}

func newMsgs(n, size int) []Message {
	ms := make([]Message, n)
	for i := range ms {
		ms[i].Buf = make([]byte, size)
	}
	return ms
}

// readN reads exactly n datagrams (or fails after the deadline).
func readN(t testing.TB, c *Conn, n int, deadline time.Duration, fn func(m *Message)) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(deadline))
	defer c.SetReadDeadline(time.Time{})
	ms := newMsgs(32, 256)
	for got := 0; got < n; {
		k, err := c.ReadBatch(ms[:min(len(ms), n-got)])
		if err != nil {
			t.Fatalf("ReadBatch after %d of %d: %v", got, n, err)
		}
		for i := range k {
			fn(&ms[i])
		}
		got += k
	}
}

var families = []struct {
	name     string
	loopback netip.Addr
	any      netip.Addr
}{
	{"ipv4", netip.MustParseAddr("127.0.0.1"), netip.IPv4Unspecified()},
	{"ipv6", netip.IPv6Loopback(), netip.IPv6Unspecified()},
}

func loIndex(t testing.TB) int {
	ifi, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skipf("no lo interface: %v", err)
	}
	return ifi.Index
}

// TestRXKernelStamps checks that every datagram gets a kernel RX stamp and
// that the stamp precedes the user-space reading after ReadBatch by a small
// margin (p90 < 10 ms: generous for a loaded CI machine; the typical value
// is tens of µs).
func TestRXKernelStamps(t *testing.T) {
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			srv := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0)})
			if in := srv.Info(); in.RX != KindKernel || in.TX != KindKernel {
				t.Fatalf("Info() = %+v, want kernel RX and TX", in)
			}
			cli := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0), Timestamping: ModeNone})
			waitStampsLive(t, cli, srv)
			const n = 200
			lags := make([]time.Duration, 0, n)
			out := newMsgs(1, 64)
			in := newMsgs(4, 256)
			for i := range n {
				binary.BigEndian.PutUint32(out[0].Buf, uint32(i))
				out[0].N, out[0].Addr = 48, addrPort(t, srv)
				if k, err := cli.WriteBatch(out); k != 1 || err != nil {
					t.Fatalf("client WriteBatch = %d, %v", k, err)
				}
				srv.SetReadDeadline(time.Now().Add(5 * time.Second))
				k, err := srv.ReadBatch(in)
				user := time.Now()
				if err != nil || k != 1 {
					t.Fatalf("ReadBatch = %d, %v", k, err)
				}
				m := &in[0]
				if m.RX.Kind != KindKernel || m.RXHW.Kind != KindNone {
					t.Fatalf("packet %d: RX %v RXHW %v, want kernel and none", i, m.RX.Kind, m.RXHW.Kind)
				}
				if got := binary.BigEndian.Uint32(m.Buf); m.N != 48 || got != uint32(i) || m.Trunc {
					t.Fatalf("packet %d: N %d seq %d trunc %v", i, m.N, got, m.Trunc)
				}
				if m.Addr != addrPort(t, cli) {
					t.Fatalf("packet %d: Addr %v, want %v", i, m.Addr, addrPort(t, cli))
				}
				// Bound to one address: that is Local, without IP_PKTINFO
				// (so no interface).
				if m.Local != fam.loopback || m.IfIndex != 0 {
					t.Fatalf("packet %d: Local %v IfIndex %d, want %v 0", i, m.Local, m.IfIndex, fam.loopback)
				}
				if m.RX.Time.Location() != time.UTC || m.RX.Time != m.RX.Time.Round(0) {
					t.Fatalf("RX time %v has a location or monotonic reading", m.RX.Time)
				}
				lags = append(lags, user.Sub(m.RX.Time))
			}
			slices.Sort(lags)
			p50, p90 := lags[n/2], lags[n*9/10]
			t.Logf("user read − kernel RX stamp: min %v p50 %v p90 %v max %v", lags[0], p50, p90, lags[n-1])
			if lags[0] < -time.Millisecond {
				t.Errorf("kernel stamp later than user read by %v", -lags[0])
			}
			if p90 > 10*time.Millisecond {
				t.Errorf("p90 lag %v > 10ms", p90)
			}
		})
	}
}

// txRecord is what a TX test learns about one sent datagram.
type txRecord struct {
	seq  int
	id   uint32
	tx   []time.Time
	rx   time.Time
	recv bool
}

// TestTXStampsMatch sends 1000 datagrams in batches of 32 to a second
// socket and checks that every TXID is reported exactly once and that the
// stamps belong to the right datagram: on loopback the sender's TX stamp of
// packet i precedes the receiver's RX stamp of i, which precedes the TX
// stamp of i+1. A shifted ID would break that chain.
func TestTXStampsMatch(t *testing.T) {
	for _, fam := range families {
		for _, perPacket := range []bool{true, false} {
			name := fmt.Sprintf("%s/per_packet_id=%v", fam.name, perPacket)
			t.Run(name, func(t *testing.T) {
				if ok, _ := probeTSOptID(); perPacket && !ok {
					t.Skip("SCM_TS_OPT_ID needs Linux 6.13")
				}
				snd := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0)})
				snd.w.perPacket.Store(perPacket)
				rcv := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0), RecvBuffer: 4 << 20})
				runTXChain(t, snd, rcv, 1000, 32, nil, nil)
				if got := snd.Info().TXIDPerPacket; got != perPacket {
					t.Errorf("Info().TXIDPerPacket = %v, want %v", got, perPacket)
				}
			})
		}
	}
}

// runTXChain sends n datagrams in batches; skip[i] makes datagram i go to
// an address the kernel refuses (255.255.255.255 without SO_BROADCAST:
// EACCES before the datagram is built) to exercise partial sendmmsg. With
// want (a Config.TXOnDemand sender) datagram i asks for a TX stamp iff
// want(i), and exactly those must get one.
func runTXChain(t *testing.T, snd, rcv *Conn, n, batch int, skip map[int]bool, want func(int) bool) {
	t.Helper()
	if want == nil {
		want = func(int) bool { return true }
	}
	waitStampsLive(t, snd, rcv)
	recs := make([]txRecord, n)
	byID := map[uint32]int{}
	out := newMsgs(batch, 64)
	dst := addrPort(t, rcv)
	bad := netip.AddrPortFrom(netip.MustParseAddr("255.255.255.255"), dst.Port())
	sent := 0
	failed := 0
	onTX := func(id uint32, ts Timestamp) {
		seq, ok := byID[id]
		if !ok {
			t.Errorf("TX stamp for unknown id %d", id)
			return
		}
		if ts.Kind != KindKernel {
			t.Errorf("TX stamp kind %v, want kernel", ts.Kind)
		}
		recs[seq].tx = append(recs[seq].tx, ts.Time)
	}
	for seq := 0; seq < n; {
		k := min(batch, n-seq)
		for i := range k {
			binary.BigEndian.PutUint32(out[i].Buf, uint32(seq+i))
			out[i].N = 48
			out[i].Addr = dst
			out[i].WantTX = want(seq + i)
			if skip[seq+i] {
				out[i].Addr = bad
			}
		}
		ms := out[:k]
		base := seq
		for len(ms) > 0 {
			w, err := snd.WriteBatch(ms)
			for i := range w {
				s := base + i
				recs[s].seq = s
				if !want(s) {
					continue
				}
				if _, dup := byID[ms[i].TXID]; dup {
					t.Fatalf("TXID %d assigned twice", ms[i].TXID)
				}
				byID[ms[i].TXID] = s
				recs[s].seq, recs[s].id = s, ms[i].TXID
			}
			sent += w
			if err != nil {
				if !skip[base+w] || !errors.Is(err, unix.EACCES) {
					t.Fatalf("WriteBatch: sent %d, err %v", w, err)
				}
				failed++
				w++ // skip the refused datagram
			} else if w != len(ms) {
				t.Fatalf("WriteBatch sent %d of %d without error", w, len(ms))
			}
			ms = ms[w:]
			base += w
		}
		if _, err := snd.ReadTX(onTX); err != nil {
			t.Fatalf("ReadTX: %v", err)
		}
		seq += k
	}
	if failed != len(skip) {
		t.Errorf("%d sends refused, want %d", failed, len(skip))
	}
	// Stamps are queued when sendmmsg returns (software, loopback); drain
	// whatever is left with a bounded wait.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		missing := 0
		for s := range recs {
			if !skip[s] && want(s) && len(recs[s].tx) == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if _, err := snd.ReadTX(onTX); err != nil {
			t.Fatalf("ReadTX: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	readN(t, rcv, sent, 5*time.Second, func(m *Message) {
		s := int(binary.BigEndian.Uint32(m.Buf))
		if s >= n || recs[s].recv || skip[s] {
			t.Fatalf("unexpected datagram seq %d", s)
		}
		if m.RX.Kind != KindKernel {
			t.Fatalf("datagram %d: RX kind %v, want kernel", s, m.RX.Kind)
		}
		recs[s].recv, recs[s].rx = true, m.RX.Time
	})
	var prev time.Time
	stamped := 0
	for s, r := range recs {
		if skip[s] || !want(s) {
			if len(r.tx) != 0 {
				t.Errorf("datagram %d (refused %v, wanted a stamp %v) got a TX stamp", s, skip[s], want(s))
			}
			continue
		}
		stamped++
		if len(r.tx) != 1 {
			t.Fatalf("datagram %d (id %d): %d TX stamps, want 1", s, r.id, len(r.tx))
		}
		tx := r.tx[0]
		if tx.Before(prev) {
			t.Errorf("datagram %d: TX %v before previous stamp %v", s, tx, prev)
		}
		if r.rx.Before(tx) {
			t.Errorf("datagram %d: RX %v before its TX %v (ID mismatch?)", s, r.rx, tx)
		}
		prev = r.rx
	}
	// Nothing else may be waiting: a stamp for a datagram that did not ask
	// for one would have an ID that matches nothing (reported above) or
	// shift the counter.
	if k, err := snd.ReadTX(onTX); err != nil || k != 0 {
		t.Errorf("ReadTX after the chain: %d stamps, %v; want none", k, err)
	}
	if stamped == 0 {
		t.Error("no datagram was stamped")
	}
}

// waitStampsLive waits until the kernel stamps datagrams on arrival. The
// first socket asking for RX timestamps enables a global static key
// (netstamp_needed_key) from a work queue; datagrams that arrive before
// that ran carry no software stamp and ReadBatch gives them daemon stamps.
// It also drains the sender's TX stamps.
func waitStampsLive(t testing.TB, snd, rcv *Conn) {
	t.Helper()
	out := []Message{{Buf: make([]byte, 48), N: 48, Addr: addrPort(t, rcv)}}
	in := newMsgs(1, 64)
	for start := time.Now(); time.Since(start) < 2*time.Second; {
		if _, err := snd.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		before := time.Now()
		rcv.SetReadDeadline(time.Now().Add(time.Second))
		k, err := rcv.ReadBatch(in)
		if err != nil || k != 1 {
			t.Fatalf("warm-up ReadBatch = %d, %v", k, err)
		}
		snd.ReadTX(func(uint32, Timestamp) {})
		if in[0].RX.Kind == KindKernel && in[0].RX.Time.Before(before) {
			return
		}
	}
	t.Fatal("kernel RX stamps still taken at read time after 2s")
}

// TestTXOnDemand stamps only the datagrams that ask (Config.TXOnDemand):
// those get exactly one stamp with the right ID, the others none, with
// per-packet IDs and with the socket counter (which the kernel advances
// only for stamped datagrams), also across partial sendmmsg batches.
func TestTXOnDemand(t *testing.T) {
	want := func(i int) bool { return i%3 == 0 || i%7 == 1 }
	for _, fam := range families {
		for _, perPacket := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/per_packet_id=%v", fam.name, perPacket), func(t *testing.T) {
				if ok, _ := probeTSOptID(); perPacket && !ok {
					t.Skip("SCM_TS_OPT_ID needs Linux 6.13")
				}
				snd := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0), TXOnDemand: true})
				snd.w.perPacket.Store(perPacket)
				rcv := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0), RecvBuffer: 4 << 20})
				runTXChain(t, snd, rcv, 600, 32, nil, want)
				if fam.name == "ipv4" {
					// Refused datagrams (EACCES) among stamped and unstamped ones.
					skip := map[int]bool{0: true, 1: true, 2: true, 5: true, 31: true, 40: true, 63: true}
					runTXChain(t, snd, rcv, 100, 16, skip, want)
				}
			})
		}
	}
}

// TestPartialBatch makes sendmmsg stop in the middle of batches and checks
// that TXIDs stay matched, with per-packet IDs and with the socket counter.
func TestPartialBatch(t *testing.T) {
	for _, perPacket := range []bool{true, false} {
		t.Run(fmt.Sprintf("per_packet_id=%v", perPacket), func(t *testing.T) {
			if ok, _ := probeTSOptID(); perPacket && !ok {
				t.Skip("SCM_TS_OPT_ID needs Linux 6.13")
			}
			lo := netip.MustParseAddr("127.0.0.1")
			snd := listen(t, Config{Addr: netip.AddrPortFrom(lo, 0)})
			snd.w.perPacket.Store(perPacket)
			rcv := listen(t, Config{Addr: netip.AddrPortFrom(lo, 0), RecvBuffer: 1 << 20})
			skip := map[int]bool{0: true, 3: true, 4: true, 31: true, 40: true, 63: true}
			runTXChain(t, snd, rcv, 100, 16, skip, nil)
		})
	}
}

// TestReusePort checks that two sockets share a port and both receive when
// clients use many source ports (the kernel hashes the 4-tuple).
func TestReusePort(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	a := listen(t, Config{Addr: netip.AddrPortFrom(lo, 0), ReusePort: true})
	port := addrPort(t, a).Port()
	b := listen(t, Config{Addr: netip.AddrPortFrom(lo, port), ReusePort: true})
	if _, err := Listen(t.Context(), Config{Addr: netip.AddrPortFrom(lo, port)}); err == nil {
		t.Error("third socket without SO_REUSEPORT bound the same port")
	}
	const clients = 64
	for i := range clients {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteToUDPAddrPort([]byte{byte(i)}, netip.AddrPortFrom(lo, port)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	count := func(c *Conn) int {
		n := 0
		ms := newMsgs(32, 64)
		for {
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			k, err := c.ReadBatch(ms)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return n
			}
			if err != nil {
				t.Fatal(err)
			}
			n += k
		}
	}
	na, nb := count(a), count(b)
	t.Logf("socket a got %d, socket b got %d", na, nb)
	if na == 0 || nb == 0 || na+nb != clients {
		t.Errorf("a %d + b %d datagrams, want both > 0 and sum %d", na, nb, clients)
	}
}

// TestPktinfoReplySource checks that Local reports the address a datagram
// was sent to and that a reply with Local set leaves from that address:
// 127.0.0.2 on a wildcard socket (without pktinfo the kernel would pick
// 127.0.0.1), through IP_PKTINFO with the arrival interface; and on a
// socket bound to 127.0.0.2 or ::1, without IP_PKTINFO (Local is the bound
// address, IfIndex 0) and with no control message on the reply.
func TestPktinfoReplySource(t *testing.T) {
	tests := []struct {
		name   string
		listen netip.Addr
		dst    netip.Addr
		mode   Mode // ModeNone: no TX-stamp control message on the reply
	}{
		{"ipv4", netip.IPv4Unspecified(), netip.MustParseAddr("127.0.0.2"), ModeAuto},
		{"ipv6", netip.IPv6Unspecified(), netip.IPv6Loopback(), ModeAuto},
		{"ipv4 bound", netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.2"), ModeNone},
		{"ipv6 bound", netip.IPv6Loopback(), netip.IPv6Loopback(), ModeNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bound := !tt.listen.IsUnspecified()
			srv := listen(t, Config{Addr: netip.AddrPortFrom(tt.listen, 0), Timestamping: tt.mode})
			network := "udp4"
			if tt.dst.Is6() {
				network = "udp6"
			}
			cli, err := net.ListenUDP(network, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			dst := netip.AddrPortFrom(tt.dst, addrPort(t, srv).Port())
			if _, err := cli.WriteToUDPAddrPort([]byte("hello"), dst); err != nil {
				t.Fatal(err)
			}
			ms := newMsgs(1, 64)
			srv.SetReadDeadline(time.Now().Add(5 * time.Second))
			if k, err := srv.ReadBatch(ms); k != 1 || err != nil {
				t.Fatalf("ReadBatch = %d, %v", k, err)
			}
			m := &ms[0]
			wantIf := loIndex(t)
			if bound {
				wantIf = 0
			}
			if m.Local != tt.dst || m.IfIndex != wantIf {
				t.Fatalf("Local %v IfIndex %d, want %v %d", m.Local, m.IfIndex, tt.dst, wantIf)
			}
			copy(m.Buf, "world")
			m.N = 5
			if k, err := srv.WriteBatch(ms); k != 1 || err != nil {
				t.Fatalf("WriteBatch = %d, %v", k, err)
			}
			if l := srv.w.hdrs[0].Hdr.Controllen; bound && l != 0 {
				t.Errorf("reply from the bound address carried %d bytes of control messages, want none", l)
			}
			cli.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64)
			n, from, err := cli.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatal(err)
			}
			if from != dst || !bytes.Equal(buf[:n], []byte("world")) {
				t.Errorf("reply %q from %v, want %q from %v", buf[:n], from, "world", dst)
			}
			// A multicast Local (request sent to a group) is not used as
			// the source on a wildcard socket; the reply still goes out.
			if tt.dst.Is4() && !bound {
				m.Local = netip.MustParseAddr("224.0.1.1")
				if k, err := srv.WriteBatch(ms); k != 1 || err != nil {
					t.Fatalf("WriteBatch with multicast Local = %d, %v", k, err)
				}
				if _, from, err = cli.ReadFromUDPAddrPort(buf); err != nil || from.Addr() != netip.MustParseAddr("127.0.0.1") {
					t.Errorf("reply with multicast Local from %v, %v; want 127.0.0.1", from, err)
				}
			}
		})
	}
}

func TestCloseUnblocksReadBatch(t *testing.T) {
	c, err := Listen(t.Context(), Config{Addr: netip.MustParseAddrPort("127.0.0.1:0")})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadBatch(newMsgs(4, 64))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it park
	select {
	case err := <-done:
		t.Fatalf("ReadBatch returned before Close: %v", err)
	default:
	}
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadBatch after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch still blocked 5s after Close")
	}
}

func TestReadDeadline(t *testing.T) {
	c := listen(t, Config{Addr: netip.MustParseAddrPort("[::1]:0")})
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadBatch(newMsgs(4, 64))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("ReadBatch: %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch still blocked 5s after its deadline")
	}
}

// TestModeNone checks daemon stamps from the injected clock and that no TX
// stamps are produced.
func TestModeNone(t *testing.T) {
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	calls := 0
	srv := listen(t, Config{Addr: netip.MustParseAddrPort("127.0.0.1:0"), Timestamping: ModeNone,
		Now: func() time.Time { calls++; return fixed }})
	if in := srv.Info(); in.RX != KindDaemon || in.TX != KindNone {
		t.Fatalf("Info() = %+v, want daemon RX, no TX", in)
	}
	cli := listen(t, Config{Addr: netip.MustParseAddrPort("127.0.0.1:0"), Timestamping: ModeNone})
	out := newMsgs(8, 64)
	for i := range out {
		out[i].N, out[i].Addr = 10, addrPort(t, srv)
	}
	if k, err := cli.WriteBatch(out); k != 8 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", k, err)
	}
	got := 0
	readN(t, srv, 8, 5*time.Second, func(m *Message) {
		got++
		if m.RX != (Timestamp{Time: fixed, Kind: KindDaemon}) {
			t.Errorf("RX = %+v, want daemon %v", m.RX, fixed)
		}
	})
	if calls == 0 || calls > got {
		t.Errorf("Now called %d times for %d datagrams, want 1 per batch", calls, got)
	}
	if k, err := srv.WriteBatch(out[:1]); k != 1 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", k, err)
	}
	if k, err := srv.ReadTX(func(uint32, Timestamp) { t.Error("TX stamp in mode none") }); k != 0 || err != nil {
		t.Errorf("ReadTX = %d, %v; want 0, nil", k, err)
	}
}

// TestHardwareOnLoopback: lo has no NIC timestamping, so hardware mode must
// fail with a reason and auto mode must fall back to kernel stamps.
func TestHardwareOnLoopback(t *testing.T) {
	addr := netip.MustParseAddrPort("127.0.0.1:0")
	_, err := Listen(t.Context(), Config{Addr: addr, Interface: "lo", Timestamping: ModeHardware})
	if !errors.Is(err, ErrNoHardware) || !strings.Contains(err.Error(), "lo") {
		t.Fatalf("hardware mode on lo: err = %v, want ErrNoHardware naming lo", err)
	}
	t.Logf("hardware mode on lo: %v", err)
	c := listen(t, Config{Addr: addr, Interface: "lo"})
	in := c.Info()
	if in.RX != KindKernel || in.TX != KindKernel || in.PHCIndex != -1 || in.RXFilter != FilterUnknown {
		t.Errorf("auto on lo: Info() = %+v, want kernel/kernel, PHC -1, filter unknown", in)
	}
	if !strings.HasPrefix(in.Fallback, "hardware: ") {
		t.Errorf("auto on lo: Fallback = %q, want a hardware reason", in.Fallback)
	}
	t.Logf("auto on lo: fallback %q", in.Fallback)
	// Without an interface auto does not try hardware and says so.
	if in := listen(t, Config{Addr: addr}).Info(); !strings.Contains(in.Fallback, "no interface") {
		t.Errorf("auto without interface: Fallback = %q", in.Fallback)
	}
	// Software mode satisfied: no fallback.
	if in := listen(t, Config{Addr: addr, Timestamping: ModeSoftware}).Info(); in.Fallback != "" || in.RX != KindKernel {
		t.Errorf("software mode: Info() = %+v", in)
	}
}

func TestListenErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"missing interface", Config{Addr: netip.MustParseAddrPort("127.0.0.1:0"), Interface: "gnomon-nope0"}, "gnomon-nope0"},
		{"invalid config", Config{Addr: netip.MustParseAddrPort("127.0.0.1:0"), DSCP: 99}, "dscp 99"},
		{"address not local", Config{Addr: netip.MustParseAddrPort("192.0.2.1:0")}, "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Listen(t.Context(), tt.cfg)
			if err == nil {
				c.Close()
				t.Fatal("Listen succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Listen err = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

func TestSocketOptions(t *testing.T) {
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			c := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0), DSCP: 46, RecvBuffer: 1 << 20, Interface: "lo"})
			var tos, dev int
			var dname string
			var gerr error
			c.rc.Control(func(fd uintptr) {
				if fam.loopback.Is4() {
					tos, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TOS)
				} else {
					tos, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_TCLASS)
				}
				if gerr == nil {
					dname, gerr = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
				}
				dev = len(dname)
			})
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tos != 46<<2 {
				t.Errorf("TOS/TCLASS = %#x, want %#x", tos, 46<<2)
			}
			if dname != "lo" {
				t.Errorf("SO_BINDTODEVICE = %q (%d bytes), want lo", dname, dev)
			}
			// Linux doubles SO_RCVBUF; SO_RCVBUFFORCE (root) ignores rmem_max.
			if rb := c.Info().RecvBuffer; os.Geteuid() == 0 && rb < 1<<20 {
				t.Errorf("RecvBuffer = %d, want ≥ %d as root", rb, 1<<20)
			}
		})
	}
}

func TestWriteBatchBadInput(t *testing.T) {
	c4 := listen(t, Config{Addr: netip.MustParseAddrPort("127.0.0.1:0")})
	c6 := listen(t, Config{Addr: netip.MustParseAddrPort("[::1]:0")})
	good4 := addrPort(t, c4)
	tests := []struct {
		name string
		c    *Conn
		m    Message
		want string
	}{
		{"N beyond buffer", c4, Message{Buf: make([]byte, 4), N: 5, Addr: good4}, "length 5"},
		{"negative N", c4, Message{Buf: make([]byte, 4), N: -1, Addr: good4}, "length -1"},
		{"v6 dest on v4 socket", c4, Message{Buf: make([]byte, 4), N: 4, Addr: netip.MustParseAddrPort("[::1]:1")}, "not IPv4"},
		{"v4 dest on v6 socket", c6, Message{Buf: make([]byte, 4), N: 4, Addr: good4}, "not IPv6"},
		{"zero dest", c4, Message{Buf: make([]byte, 4), N: 4}, "not IPv4"},
		{"port 0", c4, Message{Buf: make([]byte, 4), N: 4, Addr: netip.MustParseAddrPort("127.0.0.1:0")}, "port 0"},
		{"v6 local on v4 socket", c4, Message{Buf: make([]byte, 4), N: 4, Addr: good4, Local: netip.IPv6Loopback()}, "local address"},
		{"unknown zone", c6, Message{Buf: make([]byte, 4), N: 4, Addr: netip.MustParseAddrPort("[fe80::1%gnomon-nope0]:1")}, "gnomon-nope0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := []Message{{Buf: []byte("ok"), N: 2, Addr: addrPort(t, tt.c)}, tt.m}
			n, err := tt.c.WriteBatch(ms)
			if n != 1 || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("WriteBatch = %d, %v; want 1 sent and error %q", n, err, tt.want)
			}
		})
	}
}

// TestSteadyStateAllocs: the echo path (ReadBatch, WriteBatch, ReadTX on
// both ends) allocates nothing per packet once buffers exist.
func TestSteadyStateAllocs(t *testing.T) {
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			srv := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0)})
			cli := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0)})
			e := newEcho(t, srv, cli, 8)
			e.round(t) // warm up (zone cache, netpoller registration)
			allocs := testing.AllocsPerRun(200, func() { e.round(t) })
			if allocs != 0 {
				t.Errorf("echo round: %v allocs, want 0", allocs)
			}
			if e.txSeen == 0 {
				t.Error("no TX stamps seen")
			}
		})
	}
}

// echo drives one client→server→client round of a batch.
type echo struct {
	srv, cli     *Conn
	out, sin, in []Message
	txSeen       int
	onTX         func(uint32, Timestamp)
}

func newEcho(t testing.TB, srv, cli *Conn, batch int) *echo {
	e := &echo{srv: srv, cli: cli, out: newMsgs(batch, 48), sin: newMsgs(batch, 128), in: newMsgs(batch, 128)}
	for i := range e.out {
		e.out[i].N, e.out[i].Addr = 48, addrPort(t, srv)
	}
	e.onTX = func(uint32, Timestamp) { e.txSeen++ }
	return e
}

func (e *echo) round(t testing.TB) {
	b := len(e.out)
	if k, err := e.cli.WriteBatch(e.out); k != b || err != nil {
		t.Fatalf("client WriteBatch = %d, %v", k, err)
	}
	for got := 0; got < b; {
		k, err := e.srv.ReadBatch(e.sin[got:])
		if err != nil {
			t.Fatalf("server ReadBatch: %v", err)
		}
		got += k
	}
	if k, err := e.srv.WriteBatch(e.sin[:b]); k != b || err != nil {
		t.Fatalf("server WriteBatch = %d, %v", k, err)
	}
	if _, err := e.srv.ReadTX(e.onTX); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.ReadTX(e.onTX); err != nil {
		t.Fatal(err)
	}
	for got := 0; got < b; {
		k, err := e.cli.ReadBatch(e.in[got:])
		if err != nil {
			t.Fatalf("client ReadBatch: %v", err)
		}
		got += k
	}
}

// TestProbeTSOptID: the probe must agree with the kernel version (the
// control message arrived in Linux 6.13).
func TestProbeTSOptID(t *testing.T) {
	ok, err := probeTSOptID()
	if err != nil {
		t.Fatal(err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var major, minor int
	rel := unix.ByteSliceToString(u.Release[:])
	if _, err := fmt.Sscanf(rel, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("parse release %q: %v", rel, err)
	}
	if major > 6 || major == 6 && minor >= 13 {
		if !ok {
			t.Errorf("probeTSOptID() = false on Linux %s", rel)
		}
	} else if ok {
		t.Logf("probeTSOptID() = true on Linux %s (backport?)", rel)
	}
}

// TestDrops overflows a small receive buffer and checks that Drops reports
// the kernel's drop count at once (SO_MEMINFO), and the last count after
// Close.
func TestDrops(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	rcv := listen(t, Config{Addr: netip.AddrPortFrom(lo, 0), RecvBuffer: 4096, Timestamping: ModeNone})
	snd := listen(t, Config{Addr: netip.AddrPortFrom(lo, 0), Timestamping: ModeNone})
	out := newMsgs(32, 64)
	for i := range out {
		out[i].N, out[i].Addr = 64, addrPort(t, rcv)
	}
	for range 10 {
		if _, err := snd.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
	}
	d := rcv.Drops()
	if d == 0 {
		t.Fatal("Drops() = 0 after 320 datagrams into a 4 KiB buffer")
	}
	// Every datagram was either queued or dropped.
	ms := newMsgs(32, 128)
	k := 0
	for {
		rcv.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := rcv.ReadBatch(ms)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		k += n
	}
	if k == 0 || int(d)+k != 320 {
		t.Errorf("Drops() = %d before reading %d of 320 datagrams, want the sum 320", d, k)
	}
	if d2 := rcv.Drops(); d2 != d {
		t.Errorf("Drops() = %d after draining, want still %d", d2, d)
	}
	rcv.Close()
	if d2 := rcv.Drops(); d2 != d {
		t.Errorf("Drops() = %d after Close, want the last count %d", d2, d)
	}
	t.Logf("read %d, kernel dropped %d", k, d)
	// Close reads the count too: drops nobody asked about before Close
	// are still reported after it.
	rcv2 := listen(t, Config{Addr: netip.AddrPortFrom(lo, 0), RecvBuffer: 4096, Timestamping: ModeNone})
	for i := range out {
		out[i].Addr = addrPort(t, rcv2)
	}
	for range 10 {
		if _, err := snd.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
	}
	rcv2.Close()
	if d := rcv2.Drops(); d == 0 {
		t.Error("Drops() = 0 after Close of a socket that overflowed and was never asked")
	}
}

// TestReadNotPollableFallback drives the poll(2) fallback ReadBatch uses
// when the runtime reports "not pollable" (which cannot be provoked on
// purpose): it must return data that arrives later, and return after Close.
func TestReadNotPollableFallback(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	c := listen(t, Config{Addr: netip.AddrPortFrom(lo, 0)})
	cli := listen(t, Config{Addr: netip.AddrPortFrom(lo, 0), Timestamping: ModeNone})
	ms := newMsgs(4, 64)
	c.prepareRX(ms)
	go func() {
		time.Sleep(30 * time.Millisecond)
		cli.WriteBatch([]Message{{Buf: []byte("late"), N: 4, Addr: addrPort(t, c)}})
	}()
	if err := c.readNotPollable(); err != nil || c.r.got != 1 || c.r.errno != 0 {
		t.Fatalf("readNotPollable = %v, got %d errno %v; want one datagram", err, c.r.got, c.r.errno)
	}
	if !isNotPollable(fmt.Errorf("wrapped: %w", &net.OpError{Op: "raw-read", Err: errors.New("not pollable")})) {
		t.Error("isNotPollable does not see a wrapped poll error")
	}
	if isNotPollable(net.ErrClosed) || isNotPollable(os.ErrDeadlineExceeded) {
		t.Error("isNotPollable claims closed/deadline errors")
	}
	c.prepareRX(ms)
	done := make(chan error, 1)
	go func() { done <- c.readNotPollable() }()
	time.Sleep(30 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("readNotPollable after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("readNotPollable still running 5s after Close")
	}
}
