package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func runFake(t *testing.T, f *fakeMaster, cfg Config) *Result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wait := f.start(ctx)
	defer func() { cancel(); wait() }()
	ev, gen := f.ports()
	cfg.Server = netip.MustParseAddr("127.0.0.1")
	cfg.EventPort, cfg.GeneralPort = ev, gen
	cfg.Source = netip.MustParseAddr("127.0.0.1")
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := res.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", buf.String())
	return res
}

func TestFakeMasterAllReceived(t *testing.T) {
	f := newFakeMaster(t)
	f.taiOrigin = true // whole seconds drop out of the Sync transit
	res := runFake(t, f, Config{Clients: 8, SyncRate: 16, AnnounceLog: -2, Duration: 3 * time.Second, Grant: 2 * time.Second, Workers: 2})
	for name, fl := range map[string]Flow{"announce": res.Announce, "sync": res.Sync, "follow_up": res.FollowUp, "delay_resp": res.DelayResp} {
		if fl.Expected == 0 || fl.Pct < 99 {
			t.Errorf("%s: %d of %d received (%.2f %%), want ≥ 99 %%", name, fl.Received, fl.Expected, fl.Pct)
		}
	}
	// 16 Hz for ≈ 3 s minus the start: at least 8 clients × 40 Syncs expected.
	if res.Sync.Expected < 8*40 {
		t.Errorf("sync expected %d, want ≥ 320", res.Sync.Expected)
	}
	g := res.Grants
	// Three contracts per client, renewed at 1.5 s of a 2 s grant.
	if g.Granted < 8*3*2 || g.Renewals < 8*3 || g.Denied != 0 {
		t.Errorf("grants %+v: want ≥ 48 granted, ≥ 24 renewals, none denied", g)
	}
	if g.CancelsSent != 8*3 || g.AckCancels != g.CancelsSent {
		t.Errorf("cancels sent %d acked %d, want 24 and all acked", g.CancelsSent, g.AckCancels)
	}
	f.mu.Lock()
	cancels := f.cancels
	f.mu.Unlock()
	if cancels != 24 {
		t.Errorf("fake saw %d CANCEL TLVs, want 24", cancels)
	}
	if res.DelayRespRTT.Samples == 0 || res.DelayRespRTT.P50US <= 0 || res.FollowUpLag.Samples == 0 {
		t.Errorf("latencies missing: rtt %+v lag %+v", res.DelayRespRTT, res.FollowUpLag)
	}
	if res.NoKernelStamp != 0 || res.Malformed != 0 || res.ForeignSource != 0 {
		t.Errorf("odd counts: %+v", res)
	}
	checkTransit(t, res)
}

// checkTransit: against the fake master (origin = its wall clock before the
// Sync's send, one clock with the kernel's receive stamps) every matched
// Follow_Up gives one Sync transit, none negative and none near ±0.5 s.
func checkTransit(t *testing.T, res *Result) {
	t.Helper()
	tr := res.SyncTransit
	if tr.Samples == 0 || tr.Samples != res.FollowUp.Received || res.SyncTransitNegative != 0 || tr.MaxUS > 100e3 {
		t.Errorf("sync transit %+v negative %d, want one sample per matched Follow_Up (%d), none negative, max < 100 ms",
			tr, res.SyncTransitNegative, res.FollowUp.Received)
	}
	if res.SyncTransitLate > tr.Samples {
		t.Errorf("sync transit late %d of %d samples", res.SyncTransitLate, tr.Samples)
	}
}

func TestFakeMasterDropsFollowUps(t *testing.T) {
	f := newFakeMaster(t)
	f.dropFUEvery = 10
	res := runFake(t, f, Config{Clients: 6, SyncRate: 32, Duration: 2 * time.Second})
	if p := res.FollowUp.Pct; p < 89 || p > 91 {
		t.Errorf("follow_up %.2f %% (%d of %d), want 90 ± 1", p, res.FollowUp.Received, res.FollowUp.Expected)
	}
	if res.FollowUp.Missing == 0 || res.Sync.Pct < 99 {
		t.Errorf("missing %d sync %.2f %%", res.FollowUp.Missing, res.Sync.Pct)
	}
	checkTransit(t, res)
}

func TestFakeMasterDeniesSync(t *testing.T) {
	f := newFakeMaster(t)
	f.denySync = true
	res := runFake(t, f, Config{Clients: 4, SyncRate: 8, Duration: 2500 * time.Millisecond, GrantWait: 500 * time.Millisecond})
	if res.Grants.Denied < 4*2 {
		t.Errorf("denied %d, want ≥ 8 (Sync asked again after each denial)", res.Grants.Denied)
	}
	if res.Sync.Expected == 0 || res.Sync.Received != 0 || res.Sync.Pct != 0 {
		t.Errorf("sync %+v: want expected > 0 and nothing received", res.Sync)
	}
	if res.Announce.Pct < 99 {
		t.Errorf("announce %.2f %%, want ≥ 99", res.Announce.Pct)
	}
}

func TestNoServer(t *testing.T) {
	// Nothing listens: every request times out, nothing is received, and
	// the run still ends on time.
	f := newFakeMaster(t)
	ev, gen := f.ports()
	f.ev.Close()
	f.gen.Close()
	cfg := Config{Server: netip.MustParseAddr("127.0.0.1"), EventPort: ev, GeneralPort: gen, Clients: 3,
		Duration: 1500 * time.Millisecond, GrantWait: 200 * time.Millisecond, AnnounceLog: -2}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	res, err := g.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > 3*time.Second {
		t.Errorf("run took %v", el)
	}
	if res.Grants.Timeouts < 3*4 || res.MessagesRecv != 0 || res.Announce.Expected == 0 || res.Announce.Pct != 0 {
		t.Errorf("timeouts %d received %d announce %+v", res.Grants.Timeouts, res.MessagesRecv, res.Announce)
	}
	b, err := json.Marshal(res)
	if err != nil || !strings.Contains(string(b), `"sync":{"expected"`) {
		t.Errorf("json %s: %v", b, err)
	}
}

func TestInterruptEndsRun(t *testing.T) {
	f := newFakeMaster(t)
	ctx, cancel := context.WithCancel(context.Background())
	wait := f.start(ctx)
	defer func() { cancel(); wait() }()
	ev, gen := f.ports()
	g, err := New(Config{Server: netip.MustParseAddr("127.0.0.1"), EventPort: ev, GeneralPort: gen, Clients: 2, Duration: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer rcancel()
	t0 := time.Now()
	res, err := g.Run(rctx)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > 4*time.Second || !res.Interrupted {
		t.Errorf("took %v interrupted %v", el, res.Interrupted)
	}
	if res.Grants.CancelsSent == 0 {
		t.Errorf("no CANCEL sent after an interrupt")
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Server: netip.MustParseAddr("10.0.0.1"), Duration: time.Second}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"public", func(c *Config) { c.Server = netip.MustParseAddr("8.8.8.8") }, "not a loopback"},
		{"v6", func(c *Config) { c.Server = netip.MustParseAddr("::1") }, "IPv4"},
		{"rate", func(c *Config) { c.SyncRate = 3 }, "power of two"},
		{"rate high", func(c *Config) { c.SyncRate = 256 }, "power of two"},
		{"clients", func(c *Config) { c.Clients = MaxClients + 1 }, "clients"},
		{"duration", func(c *Config) { c.Duration = time.Hour }, "duration"},
		{"grant", func(c *Config) { c.Grant = 1500 * time.Millisecond }, "grant"},
		{"prefix small", func(c *Config) {
			c.SourcePrefix = netip.MustParsePrefix("10.1.0.0/29")
			c.Clients = 7
		}, "host addresses"},
		{"ports", func(c *Config) { c.EventPort, c.GeneralPort = 5, 5 }, "differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			_, err := New(c, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := New(ok, nil); err != nil {
		t.Errorf("valid config: %v", err)
	}
	c := Config{SourcePrefix: netip.MustParsePrefix("10.201.0.128/25")}
	if a := c.clientAddr(0); a != netip.MustParseAddr("10.201.0.129") {
		t.Errorf("clientAddr(0) = %v", a)
	}
	if a := c.clientAddr(200); a != netip.MustParseAddr("10.201.1.73") {
		t.Errorf("clientAddr(200) = %v", a)
	}
	c = Config{SourcePrefix: netip.MustParsePrefix("10.201.0.3/24")}
	if a := c.clientAddr(0); a != netip.MustParseAddr("10.201.0.3") || c.prefixRoom() != 252 {
		t.Errorf("clientAddr(0) = %v room %d, want 10.201.0.3 and 252 (.3 … .254)", a, c.prefixRoom())
	}
	for _, tc := range []struct {
		prefix string
		room   uint64
	}{{"10.0.0.0/30", 2}, {"10.0.0.0/31", 0}, {"10.0.0.0/32", 0}, {"10.0.0.2/30", 1}, {"10.0.0.0/16", 65534}} {
		c := Config{SourcePrefix: netip.MustParsePrefix(tc.prefix)}
		if r := c.prefixRoom(); r != tc.room {
			t.Errorf("%s: room %d, want %d", tc.prefix, r, tc.room)
		}
	}
}
