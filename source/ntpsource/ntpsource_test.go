package ntpsource

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/metrics"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/client"
	"github.com/gnomon-time/gnomon/ntp/upstream"
	"github.com/gnomon-time/gnomon/ntp/wire"
	"github.com/gnomon-time/gnomon/source"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// sysClock is the host clock, read only.
type sysClock struct{}

func (sysClock) Now() time.Time { return time.Now().Round(0) }

// fakeServer answers NTP requests on loopback with the host clock plus off
// (a perfect stratum-1 server, no network between).
type fakeServer struct {
	conn *net.UDPConn
	srv  *ntp.Server
	off  time.Duration
}

func startServer(t *testing.T, off time.Duration) *fakeServer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	acl, err := ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ntp.DefaultServerConfig()
	cfg.ACL = acl
	srv, err := ntp.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{conn: c, srv: srv, off: off}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var buf [512]byte
		out := make([]byte, 512)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf[:])
			if err != nil {
				return
			}
			now := time.Now().Add(f.off)
			st := &clock.SyncState{Synchronized: true, Stratum: 1, RefID: 0x47505300, RefTime: now.Add(-time.Second),
				RootDispersion: 10 * time.Microsecond, Precision: -20}
			k, v := srv.Respond(out, buf[:n], from, wire.TimeFromTime(now), st)
			if !v.Replied() {
				continue
			}
			if v.NeedsTransmit() {
				wire.PutTransmit(out[:k], wire.TimeFromTime(time.Now().Add(f.off)))
			}
			c.WriteToUDPAddrPort(out[:k], from)
		}
	}()
	t.Cleanup(func() { c.Close(); wg.Wait() })
	return f
}

func (f *fakeServer) addr() string { return f.conn.LocalAddr().(*net.UDPAddr).AddrPort().String() }

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// TestRunnerDisciplinesFromNTP runs a source Runner with the NTP source against three loopback servers, one
// of them 50 ms off, with the virtual clock starting 5 ms ahead: the first
// update steps it (makestep), the Runner restarts the associations and
// discards samples from before the step, the engine locks to a truechimer
// and the virtual clock ends within 200 µs of the host clock (loopback
// round trips are tens of µs; the bound leaves room for a loaded machine).
func TestRunnerDisciplinesFromNTP(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time test")
	}
	good1, good2, bad := startServer(t, 0), startServer(t, 0), startServer(t, 50*time.Millisecond)
	v := clock.NewVirtual(sysClock{})
	if err := v.Step(5 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ec := engine.DefaultConfig()
	counters := &engine.Counters{}
	ec.Sink = engine.NewLogSink(testLog(t), counters)
	var servers []upstream.ServerConfig
	for _, f := range []*fakeServer{good1, good2, bad} {
		servers = append(servers, upstream.ServerConfig{Address: f.addr(), MinPoll: -3, MaxPoll: -3, IBurst: true})
	}
	cell := new(clock.StateCell)
	ns, err := New(upstream.Config{Servers: servers}, v, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	d, err := source.New(source.Config{Engine: ec}, v, cell, testLog(t), ns)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	deadline := time.Now().Add(20 * time.Second)
	for {
		st := d.Status()
		if st.Mode == engine.ModeLocked && st.Updates >= 40 && v.Offset().Abs() < 200*time.Microsecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged in 20 s: mode %v, updates %d, virtual offset %v, stats %+v", st.Mode, st.Updates, v.Offset(), d.Stats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Counters needs the poller running.
	sc := ns.Counters(t.Context())
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st, s := cell.Load(), d.Status()
	if !st.Synchronized || st.Stratum != 2 || (s.Peer != servers[0].ID() && s.Peer != servers[1].ID()) {
		t.Errorf("state %+v, peer %q", st, s.Peer)
	}
	if st.TimeSource != clock.TimeSourceNTP || st.ClockClass != clock.ClockClassLocked {
		t.Errorf("time source %v clock class %v, want NTP, locked", st.TimeSource, st.ClockClass)
	}
	if s.Sources[2].State != selection.Falseticker {
		t.Errorf("the 50 ms server is %v, want falseticker", s.Sources[2].State)
	}
	ds := d.Stats()
	t.Logf("virtual clock offset %v; steps %d; stats %+v; counters %+v", v.Offset(), s.Steps, ds, sc)
	if s.Steps != 1 || counters.Steps.Load() != 1 {
		t.Errorf("steps %d (sink %d), want 1 (the initial 5 ms)", s.Steps, counters.Steps.Load())
	}
	if ds.Restarts != 1 {
		t.Errorf("restarts %d, want 1 (after the step)", ds.Restarts)
	}
	if ds.Dropped != 0 {
		t.Errorf("%d samples dropped with an idle discipline goroutine", ds.Dropped)
	}
	if len(sc) != 3 || sc[0].Polls < 20 || sc[0].ID != servers[0].ID() {
		t.Errorf("source counters %+v", sc)
	}
}

// countSink counts what a source delivers, per reference.
type countSink struct{ n map[int]int }

func (c *countSink) Sample(ref int, _ engine.Sample) { c.n[ref]++ }

// The forwarder hands each accepted sample of a known server to the Sink
// under the server's reference index, and nothing for a stranger.
func TestForwarderMapsServers(t *testing.T) {
	cfg := upstream.Config{Servers: []upstream.ServerConfig{{Address: "127.0.0.1:1"}, {Address: "127.0.0.1:2"}}}
	ns, err := New(cfg, clock.NewVirtual(sysClock{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &countSink{n: map[int]int{}}
	ns.out = c
	f := (*forwarder)(ns)
	for range 3 {
		f.OnSample("127.0.0.1:2", filter.Sample{Time: time.Now()}, client.Estimate{})
	}
	f.OnSample("127.0.0.1:1", filter.Sample{Time: time.Now()}, client.Estimate{})
	f.OnSample("unknown", filter.Sample{}, client.Estimate{})
	if len(c.n) != 2 || c.n[0] != 1 || c.n[1] != 3 {
		t.Errorf("delivered %v, want map[0:1 1:3]", c.n)
	}
}

func TestNewRejects(t *testing.T) {
	dup := upstream.Config{Servers: []upstream.ServerConfig{{Address: "127.0.0.1:1"}, {Address: "127.0.0.1:1"}}}
	if _, err := New(dup, clock.NewVirtual(sysClock{}), nil); err == nil {
		t.Error("duplicate servers accepted")
	}
	// The same server in two sources: the Runner refuses the second ID.
	one := upstream.Config{Servers: []upstream.ServerConfig{{Address: "127.0.0.1:1"}}}
	a, err := New(one, clock.NewVirtual(sysClock{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(one, clock.NewVirtual(sysClock{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := source.New(source.Config{Engine: engine.DefaultConfig()}, clock.NewVirtual(sysClock{}), new(clock.StateCell), nil, a, b); err == nil {
		t.Error("duplicate servers accepted")
	}
}

// A source configured by host name gets its resolved address (and so the
// reference ID served when it is the peer) from upstream.
func TestHostNameAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time test")
	}
	f := startServer(t, 0)
	_, port, _ := net.SplitHostPort(f.addr())
	servers := []upstream.ServerConfig{{Address: net.JoinHostPort("localhost", port), MinPoll: -2, MaxPoll: -2, IBurst: true}}
	v := clock.NewVirtual(sysClock{})
	ns, err := New(upstream.Config{Servers: servers}, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := source.New(source.Config{Engine: engine.DefaultConfig()}, v, new(clock.StateCell), nil, ns)
	if err != nil {
		t.Fatal(err)
	}
	if !ns.names {
		t.Fatal("host name not noticed")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st := d.Status(); len(st.Sources) == 1 && st.Sources[0].Addr.IsLoopback() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no resolved address in the status within 10 s: %+v", d.Status().Sources)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// stoppedClock reads a fixed time.
type stoppedClock struct{ t time.Time }

func (c stoppedClock) Now() time.Time { return c.t }

var (
	_ metrics.Served     = (*source.Runner)(nil)
	_ metrics.Discipline = (*source.Runner)(nil)
)

// The collector over a Runner with the NTP poller (not running): an
// unsynchronised engine with two sources, read through report only.
func TestMetricsOverAdapters(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	uc := upstream.Config{Servers: []upstream.ServerConfig{{Address: "192.0.2.1:123"}, {Address: "192.0.2.2:123"}}}
	cell := new(clock.StateCell)
	v := clock.NewVirtual(stoppedClock{now})
	ns, err := New(uc, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := source.New(source.Config{Engine: engine.DefaultConfig()}, v, cell, nil, ns)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Engine().Tick(); err != nil {
		t.Fatal(err)
	}
	c := metrics.NewCollector(metrics.Sources{Served: d, Discipline: d})
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP gnomon_clock_sync_mode 1 for the discipline's current mode (unsynchronised, locking, locked, holdover, local), 0 for the others.
# TYPE gnomon_clock_sync_mode gauge
gnomon_clock_sync_mode{mode="holdover"} 0
gnomon_clock_sync_mode{mode="local"} 0
gnomon_clock_sync_mode{mode="locked"} 0
gnomon_clock_sync_mode{mode="locking"} 0
gnomon_clock_sync_mode{mode="unsynchronised"} 1
# HELP gnomon_clock_error_bound_seconds Bound on |disciplined clock − true time| at the scrape (+Inf when unsynchronised).
# TYPE gnomon_clock_error_bound_seconds gauge
gnomon_clock_error_bound_seconds +Inf
# HELP gnomon_sync_stratum Stratum of the served clock (16 = unsynchronised).
# TYPE gnomon_sync_stratum gauge
gnomon_sync_stratum 16
# HELP gnomon_source_reach_register The source's reachability register (0-255; 255 = the last 8 polls answered).
# TYPE gnomon_source_reach_register gauge
gnomon_source_reach_register{source="192.0.2.1:123"} 0
gnomon_source_reach_register{source="192.0.2.2:123"} 0
`), "gnomon_clock_sync_mode", "gnomon_clock_error_bound_seconds", "gnomon_sync_stratum",
		"gnomon_source_reach_register"); err != nil {
		t.Error(err)
	}
}
