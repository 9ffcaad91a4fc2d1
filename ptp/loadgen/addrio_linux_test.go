package loadgen

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// addrPair is a namespace pair with the fake master on the server side's
// 319/320 and n client addresses (prefix's network address + 1 + i) on the
// client side.
func addrPair(t *testing.T, n int) (*netns.Pair, *fakeMaster, netip.Prefix) {
	t.Helper()
	if err := netns.CanRun(); err != nil {
		t.Skip(netns.LoudSkip(err))
	}
	p := netns.New().NewPairT(t)
	b := p.Prefix.Addr().As4()
	prefix := netip.PrefixFrom(netip.AddrFrom4([4]byte{b[0], b[1], b[2], 64}), 26) // clients .65 …
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		if err := p.AddCliAddr(ctx, netip.AddrFrom4([4]byte{b[0], b[1], b[2], byte(65 + i)})); err != nil {
			t.Fatal(err)
		}
	}
	f := &fakeMaster{id: protocol.PortIdentity{ClockIdentity: 0xaabbccfffe000002, PortNumber: 1}, subs: map[netip.AddrPort]*fakeSub{}}
	err := p.Srv.Do(func() error {
		var err error
		if f.ev, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.SrvAddr, DefaultEventPort))); err != nil {
			return err
		}
		f.gen, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.SrvAddr, DefaultGeneralPort)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.ev.Close(); f.gen.Close() })
	return p, f, prefix
}

// TestAddressModeNetns: in address mode every client's messages leave from
// its own address to 319/320 and the master's answers to those addresses'
// 319/320 reach it through the two shared sockets: everything expected
// arrives, per client (each client's three contracts are granted and
// cancelled), with kernel stamps and nothing foreign. A second address-mode
// generator in the same namespace is refused with a clear error, and so is
// a prefix whose addresses are not configured.
func TestAddressModeNetns(t *testing.T) {
	const clients = 6
	p, f, prefix := addrPair(t, clients)
	ctx, cancel := context.WithCancel(context.Background())
	wait := f.start(ctx)
	defer func() { cancel(); wait() }()
	cfg := Config{Server: p.SrvAddr, SourcePrefix: prefix, Clients: clients, SyncRate: 16, AnnounceLog: -2,
		Duration: 3 * time.Second, Grant: 2 * time.Second}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var res *Result
	if err := p.Cli.Do(func() error { var err error; res, err = g.Run(context.Background()); return err }); err != nil {
		t.Fatal(err)
	}
	if res.Mode != "addresses" || res.Workers != 1 {
		t.Errorf("mode %q workers %d", res.Mode, res.Workers)
	}
	for name, fl := range map[string]Flow{"announce": res.Announce, "sync": res.Sync, "follow_up": res.FollowUp, "delay_resp": res.DelayResp} {
		if fl.Expected == 0 || fl.Pct < 99 {
			t.Errorf("%s: %d of %d received (%.2f %%), want ≥ 99 %%", name, fl.Received, fl.Expected, fl.Pct)
		}
	}
	if res.Sync.Expected < clients*35 {
		t.Errorf("sync expected %d, want ≥ %d", res.Sync.Expected, clients*35)
	}
	if gr := res.Grants; gr.Granted < clients*3*2 || gr.Denied != 0 || gr.CancelsSent != clients*3 || gr.AckCancels != gr.CancelsSent {
		t.Errorf("grants %+v", gr)
	}
	if res.ForeignSource != 0 || res.NoKernelStamp != 0 || res.SendErrors != 0 || res.DelayRespForeign != 0 || res.DelayRespUnmatched != 0 {
		t.Errorf("foreign %d no_kernel_stamp %d send_errors %d dr_foreign %d dr_unmatched %d",
			res.ForeignSource, res.NoKernelStamp, res.SendErrors, res.DelayRespForeign, res.DelayRespUnmatched)
	}
	checkTransit(t, res) // across namespaces, on hwts receive stamps
	f.mu.Lock()
	subs := len(f.subs)
	for ap := range f.subs {
		if !prefix.Contains(ap.Addr()) || ap.Port() != DefaultGeneralPort {
			t.Errorf("master saw a client at %v, want an address in %v port %d", ap, prefix, DefaultGeneralPort)
		}
	}
	f.mu.Unlock()
	if subs != clients {
		t.Errorf("master saw %d client addresses, want %d", subs, clients)
	}

	// A second generator while the first's sockets are open: refused.
	err = p.Cli.Do(func() error {
		a, err := openAddrIO(&g.cfg)
		if err != nil {
			return err
		}
		defer a.close()
		b, err := openAddrIO(&g.cfg)
		if err == nil {
			b.close()
		}
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "another address-mode generator") {
		t.Errorf("second generator: %v", err)
	}
	// Clients beyond the configured addresses: refused before any traffic.
	cfg.Clients = clients + 1
	g2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Cli.Do(func() error { _, err := g2.Run(context.Background()); return err })
	if err == nil || !strings.Contains(err.Error(), "configured on an interface") {
		t.Errorf("unconfigured client address: %v", err)
	}
}
