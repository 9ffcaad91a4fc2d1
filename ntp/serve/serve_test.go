package serve

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/system"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

type testServer struct {
	svc    *Service
	srv    *ntp.Server
	addrs  []netip.AddrPort
	cancel context.CancelFunc
	done   chan error
}

type testOpts struct {
	listen  []netip.AddrPort
	opt     []netip.AddrPort
	workers int
	clk     clock.Served
	acl     *ntp.ACL
	state   *clock.SyncState // nil = local stratum 2
	batch   int
	// netpoller: the workers park in Go's netpoller (Config.Netpoller)
	// instead of sleeping in recvmmsg.
	netpoller bool
	// nts gives the server an NTS core.
	nts *nts.Core
}

func loopbackACL(t testing.TB) *ntp.ACL {
	t.Helper()
	a, err := ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// buildService returns an opened but not running Service with the ntp
// Server it uses.
func buildService(t testing.TB, o testOpts) (*Service, *ntp.Server) {
	t.Helper()
	if o.listen == nil {
		o.listen = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	}
	if o.workers == 0 {
		o.workers = 2
	}
	if o.clk == nil {
		o.clk = system.Clock{}
	}
	if o.acl == nil {
		o.acl = loopbackACL(t)
	}
	cl, err := clientlog.New(clientlog.Config{Clients: 64})
	if err != nil {
		t.Fatal(err)
	}
	scfg := ntp.DefaultServerConfig()
	scfg.ACL = o.acl
	scfg.NTS = o.nts
	srv, err := ntp.NewServer(scfg, cl)
	if err != nil {
		t.Fatal(err)
	}
	cell := new(clock.StateCell)
	st := o.state
	if st == nil {
		l := clock.Local{Stratum: 2, Precision: -20, RootDispersion: 10 * time.Microsecond}
		// Reference time a little in the past: a reference time equal to
		// the transmit time is an inconsistency for clients.
		st = l.State(o.clk.Now().Add(-time.Second))
	}
	cell.Store(st)
	svc, err := New(Config{Listen: o.listen, Optional: o.opt, Workers: o.workers, BatchSize: o.batch, Netpoller: o.netpoller, Server: srv, Clock: o.clk, State: cell})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.close)
	return svc, srv
}

// newTestServer runs a Service until the test ends.
func newTestServer(t testing.TB, o testOpts) *testServer {
	t.Helper()
	svc, srv := buildService(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{svc: svc, srv: srv, addrs: svc.Addrs(), cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- svc.Run(ctx) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop cancels Run and checks that it returns promptly and without error.
func (ts *testServer) stop(t testing.TB) {
	t.Helper()
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	ts.cancel = nil
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of cancel")
	}
}

// waitStats polls Stats until cond holds (bounded: 5 s).
func (ts *testServer) waitStats(t testing.TB, what string, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := ts.svc.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within 5 s; stats %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func query(t *testing.T, ap netip.AddrPort) *beevik.Response {
	t.Helper()
	r, err := beevik.QueryWithOptions(ap.Addr().String(), beevik.QueryOptions{Port: int(ap.Port()), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("query %s: %v", ap, err)
	}
	return r
}

// checkOffset asserts |offset − want| ≤ RTT/2 + 1 µs. Client and server
// share one CLOCK_REALTIME, so T1 ≤ T2 ≤ T3 ≤ T4 on it and the measured
// offset error of a server serving realtime+want lies within ±RTT/2 (the 1
// µs covers NTP timestamp truncation).
func checkOffset(t *testing.T, r *beevik.Response, want time.Duration) {
	t.Helper()
	bound := r.RTT/2 + time.Microsecond
	if d := r.ClockOffset - want; d < -bound || d > bound {
		t.Errorf("offset %v, want %v ± %v (RTT %v)", r.ClockOffset, want, bound, r.RTT)
	}
	if r.RTT < 0 || r.RTT > time.Second {
		t.Errorf("RTT %v out of range", r.RTT)
	}
}

func TestServeBeevik(t *testing.T) {
	for _, tc := range []struct {
		name string
		addr string
	}{{"ipv4", "127.0.0.1:0"}, {"ipv6", "[::1]:0"}} {
		t.Run(tc.name, func(t *testing.T) {
			ap := netip.MustParseAddrPort(tc.addr)
			if ap.Addr().Is6() && !haveIPv6Loopback() {
				t.Skip("no IPv6 loopback on this host")
			}
			ts := newTestServer(t, testOpts{listen: []netip.AddrPort{ap}})
			if ts.addrs[0].Port() == 0 {
				t.Fatalf("Addrs did not report the ephemeral port: %v", ts.addrs)
			}
			const n = 5
			for range n {
				r := query(t, ts.addrs[0])
				if err := r.Validate(); err != nil {
					t.Fatalf("Validate: %v (%+v)", err, r)
				}
				if r.Stratum != 2 {
					t.Errorf("stratum %d, want 2", r.Stratum)
				}
				checkOffset(t, r, 0)
			}
			// The client can hold its last reply before the worker has counted
			// the send and drained the TX timestamp: wait for every counter
			// asserted below.
			st := ts.waitStats(t, "served, replied and TX-stamped", func(s Stats) bool {
				return s.Requests[ntp.VerdictServed] >= n && s.Replies >= n && s.TXTimestamps[hwts.KindDaemon] >= n
			})
			if st.Requests[ntp.VerdictServed] != n || st.Total() != n {
				t.Errorf("requests %v, want %d served and nothing else", st.Requests, n)
			}
			if st.Replies != n {
				t.Errorf("replies %d, want %d", st.Replies, n)
			}
			if got := st.RXTimestamps[hwts.KindKernel] + st.RXTimestamps[hwts.KindDaemon]; got != n {
				t.Errorf("rx timestamps %v, want %d in total", st.RXTimestamps, n)
			}
			if st.TXTimestamps[hwts.KindDaemon] != n {
				t.Errorf("daemon tx timestamps %d, want %d", st.TXTimestamps[hwts.KindDaemon], n)
			}
		})
	}
}

func haveIPv6Loopback() bool {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// A server serving a virtual clock 1.5 s ahead of the system clock must
// show that offset to a client on the system clock: receive timestamps
// (kernel, CLOCK_REALTIME) go through FromRealtime and transmit timestamps
// are read from the served clock. Converting only one of them would put
// the offset near 0.75 s.
func TestServeVirtualClockOffset(t *testing.T) {
	v := clock.NewVirtual(system.Clock{})
	const inject = 1500 * time.Millisecond
	if err := v.Step(inject); err != nil { // moves only the virtual clock
		t.Fatal(err)
	}
	ts := newTestServer(t, testOpts{clk: v})
	for range 3 {
		r := query(t, ts.addrs[0])
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		checkOffset(t, r, inject)
	}
}

func TestServeUnsynchronised(t *testing.T) {
	ts := newTestServer(t, testOpts{state: clock.Unsynchronised(-20)})
	r := query(t, ts.addrs[0])
	if r.Leap != beevik.LeapNotInSync || r.Stratum != 0 {
		t.Errorf("leap %v stratum %d, want LI=3 stratum 0", r.Leap, r.Stratum)
	}
	if err := r.Validate(); err == nil {
		t.Error("beevik accepted an unsynchronised reply")
	}
}

// rawClient is a plain UDP socket for hand-made packets.
func rawClient(t *testing.T, to netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func request(version, mode byte, xmt uint64) []byte {
	p := make([]byte, 48)
	p[0] = version<<3 | mode
	binary.BigEndian.PutUint64(p[40:], xmt)
	return p
}

// expectNoReply asserts that nothing arrives within wait.
func expectNoReply(t *testing.T, c *net.UDPConn, wait time.Duration) {
	t.Helper()
	buf := make([]byte, 512)
	c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(buf)
	if err == nil {
		t.Fatalf("got a %d-byte reply, want none", n)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v", err)
	}
}

func TestServeDropsAndCounts(t *testing.T) {
	ts := newTestServer(t, testOpts{workers: 1})
	tests := []struct {
		name string
		pkt  []byte
		want ntp.Verdict
	}{
		{"short", []byte{0x23, 0, 0, 0, 1, 2, 3, 4, 5, 6}, ntp.VerdictMalformed},
		{"garbage 50 bytes", append(request(4, 3, 1), 0xff, 0xff), ntp.VerdictMalformed},
		{"server mode", request(4, 4, 1), ntp.VerdictBadMode},
		{"control mode 6", request(2, 6, 1), ntp.VerdictBadMode},
		{"version 0", request(0, 3, 1), ntp.VerdictBadVersion},
		{"version 7", request(7, 3, 1), ntp.VerdictBadVersion},
		{"oversized (truncated)", append(request(4, 3, 1), make([]byte, bufSize)...), ntp.VerdictMalformed},
	}
	c := rawClient(t, ts.addrs[0])
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.svc.Stats()
			if _, err := c.Write(tt.pkt); err != nil {
				t.Fatal(err)
			}
			ts.waitStats(t, tt.want.String(), func(s Stats) bool { return s.Requests[tt.want] > before.Requests[tt.want] })
			expectNoReply(t, c, 50*time.Millisecond)
			after := ts.svc.Stats()
			if after.Total() != before.Total()+1 {
				t.Errorf("total requests %d → %d, want +1", before.Total(), after.Total())
			}
			if after.Replies != before.Replies {
				t.Errorf("replies %d → %d, want no reply", before.Replies, after.Replies)
			}
		})
	}
	// The server still answers after all that.
	if _, err := c.Write(request(4, 3, 0x1234)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	if err != nil || n != 48 {
		t.Fatalf("valid request after garbage: n=%d err=%v", n, err)
	}
	if got := binary.BigEndian.Uint64(buf[24:]); got != 0x1234 {
		t.Errorf("origin %#x, want the request's transmit 0x1234", got)
	}
}

func TestServeDenied(t *testing.T) {
	acl, err := ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, testOpts{acl: acl, workers: 1})
	c := rawClient(t, ts.addrs[0])
	if _, err := c.Write(request(4, 3, 1)); err != nil {
		t.Fatal(err)
	}
	ts.waitStats(t, "denied", func(s Stats) bool { return s.Requests[ntp.VerdictDenied] == 1 })
	expectNoReply(t, c, 50*time.Millisecond)

	// Swapping the ACL takes effect on the next packet.
	ts.srv.SetACL(loopbackACL(t))
	r := query(t, ts.addrs[0])
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}

// An RFC 9769 exchange as a chronyd xleave client makes it: the second
// request's Origin is the first reply's Receive field; the reply must be
// interleaved and carry the kernel TX timestamp of the first reply. This
// checks the whole TX path: WriteBatch TXID → ring → ReadTX → RecordTX.
// Interleaved mode with both worker designs: the TX stamp of a reply is
// drained after its send (a blocking recvmmsg does not wake for the error
// queue) and serves the next request.
func TestServeInterleaved(t *testing.T) {
	for _, np := range []bool{false, true} {
		t.Run("netpoller="+strconv.FormatBool(np), func(t *testing.T) { testServeInterleaved(t, np) })
	}
}

func testServeInterleaved(t *testing.T, netpoller bool) {
	ts := newTestServer(t, testOpts{workers: 1, netpoller: netpoller})
	so := ts.svc.Sockets()[0]
	if so.Info.TX != hwts.KindKernel && so.Info.TX != hwts.KindHardware {
		t.Skipf("no kernel TX timestamps on loopback here (%v): interleaved mode cannot work", so.Info.TX)
	}
	c := rawClient(t, ts.addrs[0])
	buf := make([]byte, 512)
	read := func() []byte {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err != nil || n != 48 {
			t.Fatalf("read reply: n=%d err=%v", n, err)
		}
		return append([]byte(nil), buf[:48]...)
	}
	// chronyd's xleave exchange: a basic first request; then requests with
	// Origin = the previous reply's Receive and Receive, Transmit = cookies
	// that differ.
	xleave := func(prevRecv uint64, cookie uint64) []byte {
		req := request(4, 3, cookie)
		binary.BigEndian.PutUint64(req[24:], prevRecv)
		binary.BigEndian.PutUint64(req[32:], cookie+0x1110)
		return req
	}
	if _, err := c.Write(request(4, 3, uint64(wire.TimeFromTime(time.Now())))); err != nil {
		t.Fatal(err)
	}
	first := read()
	recv1 := binary.BigEndian.Uint64(first[32:])
	// A basic request cannot lead to an interleaved reply, so its reply
	// asks for no kernel TX timestamp (ntp.Server.WantsTX).
	if st := ts.svc.Stats(); st.TXTimestamps[hwts.KindKernel] != 0 || st.TXRecorded != 0 {
		t.Errorf("basic reply: kernel TX stamps %d recorded %d, want 0 and 0",
			st.TXTimestamps[hwts.KindKernel], st.TXRecorded)
	}

	// The second request is in interleaved form, but the first reply has
	// no TX stamp: a basic reply, whose kernel TX stamp is recorded.
	if _, err := c.Write(xleave(recv1, 0x1111111111111110)); err != nil {
		t.Fatal(err)
	}
	second := read()
	if got := binary.BigEndian.Uint64(second[24:]); got != 0x1111111111111110 {
		t.Errorf("second reply origin %#x, want the request's transmit (basic)", got)
	}
	sentAfter := wire.Time(binary.BigEndian.Uint64(second[40:]))
	recv2 := binary.BigEndian.Uint64(second[32:])
	st2 := ts.waitStats(t, "TX timestamp recorded", func(s Stats) bool { return s.TXRecorded >= 1 })
	if st2.TXTimestamps[hwts.KindKernel] != 1 {
		t.Errorf("kernel TX stamps %d after two replies, want 1 (the basic one has none)", st2.TXTimestamps[hwts.KindKernel])
	}

	if _, err := c.Write(xleave(recv2, 0x3333333333333330)); err != nil {
		t.Fatal(err)
	}
	third := read()
	st := ts.waitStats(t, "interleaved verdict", func(s Stats) bool { return s.Requests[ntp.VerdictInterleaved] >= 1 })
	if st.TXTimestamps[hwts.KindKernel] < 1 {
		t.Errorf("kernel TX timestamps %d, want ≥ 1", st.TXTimestamps[hwts.KindKernel])
	}
	if got := binary.BigEndian.Uint64(third[24:]); got != 0x3333333333333330+0x1110 {
		t.Errorf("interleaved origin %#x, want the request's receive field", got)
	}
	prevTX := wire.Time(binary.BigEndian.Uint64(third[40:]))
	recv3 := wire.Time(binary.BigEndian.Uint64(third[32:]))
	// The kernel stamped the second reply after the daemon wrote its
	// Transmit field and before the third request arrived.
	if d := prevTX.Sub(sentAfter); d < 0 || d > time.Second {
		t.Errorf("previous TX %v is %v after the second reply's transmit %v, want ≥ 0 and small", prevTX, d, sentAfter)
	}
	if recv3.Sub(prevTX) <= 0 {
		t.Errorf("interleaved transmit %v not before receive %v", prevTX, recv3)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ts := newTestServer(t, testOpts{workers: 3, listen: []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:0"), netip.MustParseAddrPort("127.0.0.1:0")}})
	if n := len(ts.svc.Sockets()); n != 6 {
		t.Fatalf("%d sockets, want 3 workers × 2 addresses", n)
	}
	a := ts.addrs
	if len(a) != 2 || a[0].Port() == a[1].Port() {
		t.Fatalf("addrs %v: want two distinct ports", a)
	}
	for _, s := range ts.svc.Sockets() {
		if s.Addr != a[0] && s.Addr != a[1] {
			t.Errorf("worker socket on %v, not on a listen address %v", s.Addr, a)
		}
	}
	start := time.Now()
	ts.stop(t)
	t.Logf("Run returned %v after cancel", time.Since(start))
	// The port is free again.
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(a[0]))
	if err != nil {
		t.Fatalf("port still bound after Run returned: %v", err)
	}
	c.Close()
}

func TestConfigValidate(t *testing.T) {
	err := (&Config{RecvBuffer: -2}).Validate()
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, want := range []string{"listen", "workers", "server", "clock", "state", "recv_buffer -2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

// The receive buffer: 0 asks for DefaultRecvBuffer, -1 keeps the system
// default, a size is asked for as given. Linux reports twice what it
// stores; without CAP_NET_ADMIN it caps at net.core.rmem_max, so the
// expectation follows what this process may get.
func TestRecvBuffer(t *testing.T) {
	sysDefault := readSysctl(t, "/proc/sys/net/core/rmem_default")
	rmemMax := readSysctl(t, "/proc/sys/net/core/rmem_max")
	forced := os.Geteuid() == 0 // root normally has CAP_NET_ADMIN
	want := func(req int) int {
		if !forced && req > rmemMax {
			req = rmemMax
		}
		return 2 * req
	}
	for _, tc := range []struct {
		cfg, want int
	}{
		{0, want(DefaultRecvBuffer)},
		{-1, sysDefault}, // the default is reported as is, not doubled
		{1 << 20, want(1 << 20)},
	} {
		t.Run(strconv.Itoa(tc.cfg), func(t *testing.T) {
			cl, err := clientlog.New(clientlog.Config{Clients: 64})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := ntp.NewServer(ntp.DefaultServerConfig(), cl)
			if err != nil {
				t.Fatal(err)
			}
			svc, err := New(Config{Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, Workers: 1,
				RecvBuffer: tc.cfg, Server: srv, Clock: system.Clock{}, State: new(clock.StateCell)})
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Open(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer svc.Close()
			got := svc.Sockets()[0].Info.RecvBuffer
			if got != tc.want && !(forced && got == want(min(tc.cfg, rmemMax))) {
				t.Errorf("recv buffer %d, want %d", got, tc.want)
			}
		})
	}
}

func readSysctl(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("cannot read %s: %v", path, err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// A second Service on a port already served fails instead of sharing it
// through SO_REUSEPORT.
func TestOpenRefusesBusyPort(t *testing.T) {
	ts := newTestServer(t, testOpts{workers: 1})
	svc, err := New(Config{Listen: ts.addrs, Workers: 2, Server: ts.srv, Clock: system.Clock{}, State: new(clock.StateCell)})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Open(t.Context()); err == nil {
		svc.Close()
		t.Fatalf("second Open on %v succeeded", ts.addrs)
	}
}

// Wildcard IPv4 and IPv6 listeners on one port coexist (IPv6 sockets are
// IPv6-only).
func TestOpenWildcardBothFamilies(t *testing.T) {
	if !haveIPv6Loopback() {
		t.Skip("no IPv6")
	}
	// Find a free port for both families.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	svc, _ := buildService(t, testOpts{workers: 2, listen: []netip.AddrPort{
		netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)),
		netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port)),
	}})
	if n := len(svc.Sockets()); n != 4 {
		t.Errorf("%d sockets, want 4", n)
	}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}

// Random datagrams (bounded: 2000, lengths 0–600, mostly with plausible
// first bytes) never stop the service; each one is counted exactly once.
func TestServeGarbage(t *testing.T) {
	ts := newTestServer(t, testOpts{workers: 2})
	c := rawClient(t, ts.addrs[0])
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 2000
	for i := range n {
		p := make([]byte, rng.IntN(601))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		if len(p) > 0 && i%2 == 0 {
			p[0] = byte(rng.IntN(8))<<3 | byte(rng.IntN(8)) // any version, any mode
		}
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		if i%64 == 63 {
			// Let the workers keep up (a full socket buffer drops
			// datagrams, which the counters would then miss).
			ts.waitStats(t, "catch up", func(s Stats) bool { return s.Total() == uint64(i+1) })
		}
	}
	st := ts.waitStats(t, "all counted", func(s Stats) bool { return s.Total() == n })
	t.Logf("verdicts of %d random datagrams: %v (replies %d)", n, st.Requests, st.Replies)
	if st.Replies != st.Requests[ntp.VerdictServed]+st.Requests[ntp.VerdictInterleaved]+st.Requests[ntp.VerdictKoDRate] {
		t.Errorf("replies %d do not match replied verdicts %v", st.Replies, st.Requests)
	}
	r := query(t, ts.addrs[0])
	if err := r.Validate(); err != nil {
		t.Fatalf("after garbage: %v", err)
	}
}

// TestOptionalAddress checks that an optional address is served when it can
// be bound and skipped, not fatal, when someone else holds it.
func TestOptionalAddress(t *testing.T) {
	held, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	busy := held.LocalAddr().(*net.UDPAddr).AddrPort()
	// A free port: bind and release (the small race with other processes
	// only makes the optional address skipped, which the check below names).
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	free := probe.LocalAddr().(*net.UDPAddr).AddrPort()
	probe.Close()

	ts := newTestServer(t, testOpts{
		listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")},
		opt:    []netip.AddrPort{busy, free},
	})
	if len(ts.addrs) != 2 || ts.addrs[1] != free {
		t.Fatalf("served %v, want the ephemeral address and %v (not the busy %v)", ts.addrs, free, busy)
	}
	r := query(t, free)
	if err := r.Validate(); err != nil {
		t.Fatalf("reply on the optional address: %v", err)
	}
}
