package upstream

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp/client"
)

func TestSplitAddress(t *testing.T) {
	tests := []struct {
		in      string
		host    string
		port    uint16
		wantErr string
	}{
		{in: "127.0.0.1", host: "127.0.0.1", port: 123},
		{in: "127.0.0.1:1123", host: "127.0.0.1", port: 1123},
		{in: "::1", host: "::1", port: 123},
		{in: "[::1]:4123", host: "::1", port: 4123},
		{in: "[fe80::1%eth0]:123", host: "fe80::1%eth0", port: 123},
		{in: "time.example.org", host: "time.example.org", port: 123},
		{in: "time.example.org:1234", host: "time.example.org", port: 1234},
		{in: "time.example.org.", host: "time.example.org.", port: 123},
		{in: "", wantErr: "empty"},
		{in: "127.0.0.1:0", wantErr: "port 0"},
		{in: "host:99999", wantErr: "want 1 … 65535"},
		{in: "host:abc", wantErr: "want 1 … 65535"},
		{in: "bad host", wantErr: "neither an IP"},
		{in: "a..b", wantErr: "neither an IP"},
		{in: "[::1", wantErr: "neither an IP"},
		{in: strings.Repeat("a", 64) + ".org", wantErr: "neither an IP"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h, p, err := splitAddress(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("splitAddress(%q) = %q, %d, %v; want error containing %q", tt.in, h, p, err, tt.wantErr)
				}
				return
			}
			if err != nil || h != tt.host || p != tt.port {
				t.Fatalf("splitAddress(%q) = %q, %d, %v; want %q, %d", tt.in, h, p, err, tt.host, tt.port)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none = valid
	}{
		{name: "empty is valid", cfg: Config{}},
		{name: "good", cfg: Config{Servers: []ServerConfig{
			{Address: "127.0.0.1:1123", MinPoll: -4, MaxPoll: 0, IBurst: true, Prefer: true},
			{Name: "b", Address: "ntp.example.org"},
		}}},
		{name: "every problem at once", cfg: Config{
			Servers: []ServerConfig{
				{Address: "bad host"},
				{Address: "127.0.0.1", MinPoll: 5, MaxPoll: 3},
				{Address: "127.0.0.1", MinPoll: -9, MaxPoll: -9},
			},
			Bind4: netipMust("::1"), DSCP: 64, Timestamping: hwts.ModeHardware,
		}, want: []string{
			`servers[0] ("bad host"): address`,
			`servers[1] ("127.0.0.1"): ntp client config: minpoll 5 > maxpoll 3`,
			`servers[2] ("127.0.0.1"): name "127.0.0.1" already used by servers[1]`,
			"minpoll -9",
			"bind4 ::1",
			"dscp 64",
			"timestamping hardware",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, &offsetClock{}, nil, nil)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded; want errors")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	if _, err := New(Config{}, nil, nil, nil); err == nil {
		t.Error("New with nil clock succeeded")
	}
}

// TestSamplesFromFake polls an in-process server that answers with the
// real time: samples flow to the Sink with offsets near zero (same clock),
// T1 and T4 come from kernel stamps, and the sign and timescale follow the
// served clock: serving CLOCK_REALTIME + X makes every offset ≈ −X, which
// fails if a kernel stamp bypassed FromRealtime (T1 and T4 would then both
// be raw realtime and the offset ≈ 0) or if one of them did (≈ ±X/2).
func TestSamplesFromFake(t *testing.T) {
	for _, x := range []time.Duration{0, 250 * time.Millisecond, -3 * time.Second} {
		t.Run(x.String(), func(t *testing.T) {
			srv := startFake(t, fakeGood)
			clk := &offsetClock{}
			clk.off.Store(int64(x))
			sink := newRecSink()
			u, err := New(Config{Servers: []ServerConfig{{Name: "fake", Address: srv.addr().String(), MinPoll: -5, MaxPoll: -5}}},
				clk, sink, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			runUpstream(t, u)
			waitFor(t, livenessWait, "20 samples", func() bool { return len(sink.Samples("fake")) >= 20 })
			var offs, delays []time.Duration
			for _, s := range sink.Samples("fake") {
				offs = append(offs, s.Offset+x)
				delays = append(delays, s.Delay)
			}
			// The fake server stamps in user space (tens of µs of
			// scheduling noise each way), so the margin is wide; the
			// offset being checked is X, seconds.
			if m := median(offs); m < -time.Millisecond || m > time.Millisecond {
				t.Errorf("median offset + X = %v; want |·| < 1 ms (offsets should be ≈ −X = %v)", m, -x)
			}
			if m := median(delays); m <= 0 || m > 5*time.Millisecond {
				t.Errorf("median delay %v; want (0, 5 ms]", m)
			}
			st := status(t, u).source(t, "fake")
			if st.Estimate.Reach == 0 || !st.Estimate.Usable {
				t.Errorf("estimate reach %o usable %v; want reachable and usable", st.Estimate.Reach, st.Estimate.Usable)
			}
			if got := st.Stats.Verdicts[client.Accepted]; got < 20 {
				t.Errorf("accepted %d; want ≥ 20", got)
			}
			t.Logf("offset+X median %v, delay median %v, T1 kinds %v, T4 kinds %v", median(offs), median(delays), st.T1Kinds, st.T4Kinds)
			if st.T1Kinds[hwts.KindKernel] == 0 || st.T4Kinds[hwts.KindKernel] == 0 {
				t.Errorf("no kernel T1/T4 stamps used (T1 %v, T4 %v); loopback has kernel software timestamps", st.T1Kinds, st.T4Kinds)
			}
		})
	}
}

// TestKoDRate: a server that answers every request with RATE makes the
// source raise its poll exponent step by step to MaxPoll, and the request
// rate drops accordingly.
func TestKoDRate(t *testing.T) {
	srv := startFake(t, fakeRATE)
	sink := newRecSink()
	const minPoll, maxPoll = -6, -3
	u, err := New(Config{Servers: []ServerConfig{{Name: "r", Address: srv.addr().String(), MinPoll: minPoll, MaxPoll: maxPoll}}},
		&offsetClock{}, sink, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runUpstream(t, u)
	waitFor(t, livenessWait, "poll at maxpoll", func() bool {
		return status(t, u).source(t, "r").Estimate.Poll == maxPoll
	})
	// Stay a while at maxpoll (125 ms), then count.
	time.Sleep(time.Second)
	elapsed := time.Since(start)
	st := status(t, u).source(t, "r")
	n := srv.requests.Load()
	// At minpoll (15.6 ms) the elapsed time would hold elapsed/15.6 ms
	// requests; backing off must cut that by more than half.
	unthrottled := int64(elapsed / pollInterval(minPoll))
	if n >= unthrottled/2 {
		t.Errorf("server saw %d requests in %v; want < %d (half of %d at minpoll)", n, elapsed, unthrottled/2, unthrottled)
	}
	if st.Stats.Verdicts[client.KoDRate] == 0 || st.KissCode != "RATE" {
		t.Errorf("kod_rate verdicts %d, kiss code %q; want > 0 and RATE", st.Stats.Verdicts[client.KoDRate], st.KissCode)
	}
	if st.Estimate.State != client.StateActive {
		t.Errorf("state %v; RATE must not demobilise", st.Estimate.State)
	}
	// OnState saw the poll climb one step at a time.
	var polls []int8
	for _, e := range sink.States("r") {
		if len(polls) == 0 || polls[len(polls)-1] != e.Poll {
			polls = append(polls, e.Poll)
		}
	}
	want := []int8{-6, -5, -4, -3}
	if len(polls) != len(want) {
		t.Fatalf("poll exponents reported %v; want %v", polls, want)
	}
	for i := range want {
		if polls[i] != want[i] {
			t.Fatalf("poll exponents reported %v; want %v", polls, want)
		}
	}
	t.Logf("%d requests in %v (unthrottled %d), verdicts %v", n, elapsed.Round(time.Millisecond), unthrottled, st.Stats.Verdicts)
}

// TestKoDDeny: DENY demobilises the source (no more requests, OnState
// reports it unusable and demobilised); Restart brings it back.
func TestKoDDeny(t *testing.T) {
	srv := startFake(t, fakeDENY)
	sink := newRecSink()
	u, err := New(Config{Servers: []ServerConfig{{Name: "d", Address: srv.addr().String(), MinPoll: -6, MaxPoll: -6, IBurst: true}}},
		&offsetClock{}, sink, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runUpstream(t, u)
	waitFor(t, livenessWait, "demobilised", func() bool {
		return status(t, u).source(t, "d").Estimate.State == client.StateDemobilised
	})
	n := srv.requests.Load()
	time.Sleep(300 * time.Millisecond) // ≈ 19 polls at −6 if still polling
	if m := srv.requests.Load(); m != n || n != 1 {
		t.Errorf("server saw %d requests, then %d after 300 ms; want exactly 1 and no more", n, m)
	}
	st := sink.States("d")
	if len(st) == 0 || st[len(st)-1].State != client.StateDemobilised || st[len(st)-1].Usable {
		t.Fatalf("last OnState %+v; want demobilised and unusable", st[len(st)-1:])
	}
	if k := status(t, u).source(t, "d").KissCode; k != "DENY" {
		t.Errorf("kiss code %q; want DENY", k)
	}
	// Restart lifts the demobilisation: one more request, and (the server
	// still denies) demobilised again.
	srv.mode.Store(int32(fakeGood))
	if err := u.Restart("d"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, livenessWait, "samples after restart", func() bool { return len(sink.Samples("d")) > 0 })
	if err := u.Restart("nope"); err == nil {
		t.Error("Restart of an unknown source succeeded")
	}
}

// TestUnreachableAndStrangers: a silent server's reach stays 0 and its
// timeouts count; datagrams from unknown addresses are counted and ignored.
func TestUnreachableAndStrangers(t *testing.T) {
	good := startFake(t, fakeGood)
	silent := startFake(t, fakeSilent)
	sink := newRecSink()
	u, err := New(Config{Servers: []ServerConfig{
		{Name: "good", Address: good.addr().String(), MinPoll: -5, MaxPoll: -5},
		{Name: "silent", Address: silent.addr().String(), MinPoll: -5, MaxPoll: -4},
	}}, &offsetClock{}, sink, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runUpstream(t, u)
	waitFor(t, livenessWait, "10 timeouts", func() bool { return status(t, u).source(t, "silent").Stats.Timeouts >= 10 })
	st := status(t, u)
	s := st.source(t, "silent")
	if s.Estimate.Reach != 0 || s.Estimate.Usable {
		t.Errorf("silent: reach %o usable %v; want 0, false", s.Estimate.Reach, s.Estimate.Usable)
	}
	if s.Estimate.Poll != -4 {
		t.Errorf("silent: poll %d after ≥ 10 unanswered polls; want backed off to −4", s.Estimate.Poll)
	}
	if g := st.source(t, "good"); !fullReach(g.Estimate.Reach) {
		t.Errorf("good: reach %o; want 377 (or 376 with the last request in flight)", g.Estimate.Reach)
	}
	// A stranger sends garbage to our client socket.
	var local uint16
	for _, k := range st.Sockets {
		if k.Family == "ipv4" {
			local = k.Local.Port()
		}
	}
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(local)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		c.Write([]byte("not ntp at all"))
	}
	waitFor(t, livenessWait, "unknown replies counted", func() bool { return status(t, u).UnknownReplies >= 5 })
	if n := len(sink.Samples("silent")); n != 0 {
		t.Errorf("silent source produced %d samples", n)
	}
}

// TestClockStepBack: when the served clock is stepped back by an hour,
// polling goes on (the next poll would otherwise lie an hour ahead), and
// the samples show the new offset.
func TestClockStepBack(t *testing.T) {
	srv := startFake(t, fakeGood)
	clk := &offsetClock{}
	sink := newRecSink()
	u, err := New(Config{Servers: []ServerConfig{{Name: "s", Address: srv.addr().String(), MinPoll: -4, MaxPoll: -4}}},
		clk, sink, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runUpstream(t, u)
	waitFor(t, livenessWait, "first samples", func() bool { return len(sink.Samples("s")) >= 3 })
	clk.off.Store(int64(-time.Hour))
	waitFor(t, livenessWait, "samples after the step", func() bool {
		s := sink.Samples("s")
		return s[len(s)-1].Offset > 59*time.Minute
	})
	if st := status(t, u).source(t, "s"); st.ClockSteps == 0 {
		t.Errorf("clock steps %d; want ≥ 1", st.ClockSteps)
	}
}

// TestUnresolvedName: a name that does not resolve leaves its source
// unattached with the error in Status, and the others poll.
func TestUnresolvedName(t *testing.T) {
	srv := startFake(t, fakeGood)
	sink := newRecSink()
	u, err := New(Config{
		Servers: []ServerConfig{
			{Name: "ok", Address: srv.addr().String(), MinPoll: -5, MaxPoll: -5},
			{Name: "nx", Address: "gnomon-test.invalid"},
		},
		ResolveTimeout: 2 * time.Second,
	}, &offsetClock{}, sink, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runUpstream(t, u)
	waitFor(t, livenessWait, "samples from the resolved source", func() bool { return len(sink.Samples("ok")) >= 3 })
	nx := status(t, u).source(t, "nx")
	if nx.Addr.IsValid() || nx.ResolveError == "" || nx.Stats.Sent != 0 {
		t.Errorf("nx: addr %v, error %q, sent %d; want unresolved with an error and nothing sent", nx.Addr, nx.ResolveError, nx.Stats.Sent)
	}
}

// TestAge checks Age against the core itself: an Estimate aged from t to
// t+Δ equals the core's Estimate evaluated at t+Δ, for several samples in
// the filter and several Δ (the claim Cache relies on).
func TestAge(t *testing.T) {
	core, err := client.New(client.Config{MinPoll: 1, MaxPoll: 1})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	now := t0
	for i := range 5 {
		var req [client.RequestLen]byte
		send, _ := core.Poll(now, &req)
		if !send {
			t.Fatalf("poll %d: nothing to send", i)
		}
		rep := make([]byte, 48)
		rep[0], rep[1], rep[3] = 0x24, 1, 0xEC
		copy(rep[24:32], req[40:48])
		srvT := now.Add(time.Duration(100+i*37) * time.Microsecond)
		binary.BigEndian.PutUint64(rep[32:], ntpTime(srvT))
		binary.BigEndian.PutUint64(rep[40:], ntpTime(srvT.Add(10*time.Microsecond)))
		rx := now.Add(time.Duration(200+i*50) * time.Microsecond)
		if _, v := core.HandleReply(rep, rx, now); v != client.Accepted {
			t.Fatalf("reply %d: %v", i, v)
		}
		now = now.Add(2 * time.Second)
	}
	at := now
	e := core.Estimate(at)
	for _, d := range []time.Duration{0, time.Millisecond, 17 * time.Second, time.Hour, 24 * time.Hour, 1e7 * time.Second} {
		want := core.Estimate(at.Add(d))
		got := Age(e, at, at.Add(d))
		if diff := (got.Dispersion - want.Dispersion).Abs(); diff > 2 {
			t.Errorf("aged by %v: dispersion %v, core says %v", d, got.Dispersion, want.Dispersion)
		}
		got.Dispersion = want.Dispersion
		if got != want {
			t.Errorf("aged by %v: %+v\ncore says %+v", d, got, want)
		}
	}
	if got := Age(e, at, at.Add(-time.Second)); got != e {
		t.Errorf("aged backwards: %+v; want unchanged", got)
	}
	if got := Age(e, at, at.Add(1e8*time.Second)).Dispersion; got != filter.MaxDispersion {
		t.Errorf("aged 1e8 s: %v; want MaxDispersion", got)
	}
}

// TestCache: a Cache in front of the Sink forwards every event and answers
// Estimate from another goroutine with the latest report.
func TestCache(t *testing.T) {
	srv := startFake(t, fakeGood)
	rec := newRecSink()
	cache := NewCache([]string{"c"}, rec)
	if _, ok := cache.Estimate("c", time.Now()); ok {
		t.Fatal("estimate before any report")
	}
	u, err := New(Config{Servers: []ServerConfig{{Name: "c", Address: srv.addr().String(), MinPoll: -5, MaxPoll: -5}}},
		&offsetClock{}, cache, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runUpstream(t, u)
	waitFor(t, livenessWait, "10 samples", func() bool { return len(rec.Samples("c")) >= 10 })
	e, ok := cache.Estimate("c", time.Now())
	if !ok || !e.Usable || e.Samples == 0 || e.Reach == 0 {
		t.Fatalf("cached estimate ok=%v %+v; want usable with samples", ok, e)
	}
	if _, ok := cache.Estimate("other", time.Now()); ok {
		t.Error("estimate for an unknown id")
	}
}
