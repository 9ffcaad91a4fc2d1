package probe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/probe"
	"github.com/gnomon-time/gnomon/ntp/probe/probetest"
)

// near is how far a loopback measurement may be from the fake server's
// shift: two clock reads and a scheduling delay on a loaded machine.
const near = 5 * time.Millisecond

func probeAll(t *testing.T, o probe.Options, addrs ...string) probe.Report {
	t.Helper()
	ts, err := probe.ParseTargets(addrs, 123)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r, err := probe.Probe(t.Context(), ts, o)
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent: all servers together take about one timeout per request
	// round, not one per server.
	if limit := time.Duration(o.Count)*(o.Timeout+o.Interval) + time.Second; time.Since(start) > limit {
		t.Errorf("probe took %v, want ≤ %v (servers queried one after another?)", time.Since(start), limit)
	}
	if len(r.Results) != len(addrs) {
		t.Fatalf("%d results for %d targets", len(r.Results), len(addrs))
	}
	return r
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T) string {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	a := c.LocalAddr().String()
	c.Close()
	return a
}

func TestProbeFakeServers(t *testing.T) {
	good4 := probetest.Start(t, "udp4", probetest.Server{State: probetest.Good()})
	good6 := probetest.Start(t, "udp6", probetest.Server{State: probetest.Good()})
	far := probetest.Start(t, "udp4", probetest.Server{State: probetest.Good(), Shift: 2 * time.Second})
	warn6 := probetest.Start(t, "udp6", probetest.Server{State: probetest.Good(), Shift: -30 * time.Millisecond})
	unsync := probetest.Start(t, "udp4", probetest.Server{State: clock.Unsynchronised(-20)})
	silent := probetest.Start(t, "udp6", probetest.Server{Silent: true})
	refused := closedPort(t)

	o := probe.DefaultOptions() // warn 10 ms, crit 100 ms
	o.Timeout = 500 * time.Millisecond
	r := probeAll(t, o, good4, good6, far, warn6, unsync, silent, refused)

	want := []struct {
		status probe.Status
		offset time.Duration // with a reply
		reply  bool
		reason string
	}{
		{probe.OK, 0, true, ""},
		{probe.OK, 0, true, ""},
		{probe.Critical, 2 * time.Second, true, "> crit 100ms"},
		{probe.Warning, -30 * time.Millisecond, true, "> warn 10ms"},
		{probe.Critical, 0, true, "unsynchronised (LI 3, stratum 0)"},
		{probe.Unknown, 0, false, "no reply: timeout (500ms)"},
		{probe.Unknown, 0, false, "no reply: port unreachable (ICMP)"},
	}
	for i, w := range want {
		x := r.Results[i]
		t.Logf("%s: %v %q reply %+v", x.Target, x.Status, x.Reason, x.Reply)
		if x.Status != w.status || !strings.Contains(x.Reason, w.reason) || (x.Reply != nil) != w.reply {
			t.Errorf("%s: %v %q reply %v, want %v %q reply %v", x.Target, x.Status, x.Reason, x.Reply != nil, w.status, w.reason, w.reply)
			continue
		}
		if x.Address != x.Target {
			t.Errorf("%s: address %q", x.Target, x.Address)
		}
		if x.Sent != 1 {
			t.Errorf("%s: sent %d", x.Target, x.Sent)
		}
		if !w.reply {
			if x.Replies != 0 || x.Err == "" {
				t.Errorf("%s: replies %d err %q", x.Target, x.Replies, x.Err)
			}
			continue
		}
		p := x.Reply
		if (p.Offset-w.offset).Abs() > near || p.Delay < 0 || p.Delay > near {
			t.Errorf("%s: offset %v delay %v, want offset %v ± %v", x.Target, p.Offset, p.Delay, w.offset, near)
		}
		if x.Replies != 1 || x.Err != "" || p.Version != 4 {
			t.Errorf("%s: replies %d err %q version %d", x.Target, x.Replies, x.Err, p.Version)
		}
		if w.reason == "unsynchronised (LI 3, stratum 0)" {
			if p.Leap != clock.LeapUnsync || p.Stratum != 0 || p.Invalid == "" {
				t.Errorf("%s: leap %v stratum %d invalid %q", x.Target, p.Leap, p.Stratum, p.Invalid)
			}
			continue
		}
		// The synchronised fakes serve stratum 1 "GPS" with no root delay
		// and 10 µs root dispersion, one 16.16 unit (15.3 µs) on the wire:
		// root distance = delay/2 + dispersion.
		if p.Stratum != 1 || p.Leap != clock.LeapNone || p.RefID != 0x47505300 || p.RefIDASCII() != "GPS" || p.Invalid != "" {
			t.Errorf("%s: stratum %d leap %v refid %#x %q invalid %q", x.Target, p.Stratum, p.Leap, p.RefID, p.RefIDASCII(), p.Invalid)
		}
		if d := p.RootDistance - (p.Delay/2 + p.RootDispersion); d.Abs() > time.Microsecond || p.RootDispersion < 10*time.Microsecond || p.RootDispersion > 50*time.Microsecond {
			t.Errorf("%s: root distance %v, dispersion %v, delay %v", x.Target, p.RootDistance, p.RootDispersion, p.Delay)
		}
	}
	if r.Status != probe.Critical {
		t.Errorf("overall %v, want CRITICAL", r.Status)
	}

	// The same servers in subsets: the worst wins, UNKNOWN below WARNING.
	subsets := []struct {
		addrs []string
		want  probe.Status
	}{
		{[]string{good4, good6}, probe.OK},
		{[]string{good4, warn6}, probe.Warning},
		{[]string{good4, silent}, probe.Unknown},
		{[]string{warn6, silent}, probe.Warning},
		{[]string{good6, unsync}, probe.Critical},
		{[]string{far, refused}, probe.Critical},
	}
	for _, s := range subsets {
		if got := probeAll(t, o, s.addrs...).Status; got != s.want {
			t.Errorf("%v: %v, want %v", s.addrs, got, s.want)
		}
	}
	// Raised thresholds: the 2 s server is only a warning, the 30 ms one OK.
	o.WarnOffset, o.CritOffset = time.Second, 10*time.Second
	if r := probeAll(t, o, far, warn6); r.Status != probe.Warning || r.Results[1].Status != probe.OK {
		t.Errorf("warn 1s crit 10s: %v (%v, %v)", r.Status, r.Results[0].Status, r.Results[1].Status)
	}
	// A root-distance limit below the fakes' 15 µs dispersion.
	o.CritDistance = 5 * time.Microsecond
	if r := probeAll(t, o, good4); r.Status != probe.Critical || !strings.Contains(r.Results[0].Reason, "root distance") {
		t.Errorf("crit-distance 5µs: %v %q", r.Status, r.Results[0].Reason)
	}
}

func TestProbeCount(t *testing.T) {
	good := probetest.Start(t, "udp4", probetest.Server{State: probetest.Good()})
	silent := probetest.Start(t, "udp4", probetest.Server{Silent: true})
	o := probe.DefaultOptions()
	o.Count, o.Interval, o.Timeout = 3, 10*time.Millisecond, 200*time.Millisecond
	r := probeAll(t, o, good, silent)
	if g := r.Results[0]; g.Sent != 3 || g.Replies != 3 || g.Status != probe.OK {
		t.Errorf("good: sent %d replies %d %v", g.Sent, g.Replies, g.Status)
	}
	if s := r.Results[1]; s.Sent != 3 || s.Replies != 0 || s.Status != probe.Unknown {
		t.Errorf("silent: sent %d replies %d %v", s.Sent, s.Replies, s.Status)
	}
}

// noDNS is a resolver that reads /etc/hosts but sends no DNS query (tests
// send nothing off loopback).
func noDNS() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in tests")
	}}
}

func TestProbeNames(t *testing.T) {
	o := probe.DefaultOptions()
	o.Timeout, o.Resolver = 300*time.Millisecond, noDNS()
	r := probeAll(t, o, "no-such-host.invalid", "localhost:9")
	if x := r.Results[0]; x.Status != probe.Unknown || x.Address != "" || !strings.Contains(x.Reason, "resolve no-such-host.invalid") {
		t.Errorf("%v %q address %q", x.Status, x.Reason, x.Address)
	}
	// localhost comes from /etc/hosts; port 9 (discard) is closed or silent.
	x := r.Results[1]
	ap, err := netip.ParseAddrPort(x.Address)
	if err != nil || !ap.Addr().IsLoopback() || ap.Port() != 9 || x.Status != probe.Unknown {
		t.Errorf("localhost:9: address %q (%v), %v %q", x.Address, err, x.Status, x.Reason)
	}
}

func TestOutput(t *testing.T) {
	good := probetest.Start(t, "udp6", probetest.Server{State: probetest.Good()})
	silent := probetest.Start(t, "udp4", probetest.Server{Silent: true})
	o := probe.DefaultOptions()
	o.Timeout = 200 * time.Millisecond
	r := probeAll(t, o, good, silent)

	var text bytes.Buffer
	if err := probe.WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want status line, header and 2 rows:\n%s", text.String())
	}
	if want := "NTP UNKNOWN: 1 OK, 1 UNKNOWN; " + silent + ": no reply: "; !strings.HasPrefix(lines[0], want) {
		t.Errorf("status line %q, want prefix %q", lines[0], want)
	}
	if f := strings.Fields(lines[2]); len(f) < 10 || f[0] != good || f[2] != "OK" || f[5] != "1" || f[6] != "none" || f[7] != "47505300" || f[8] != "GPS" {
		t.Errorf("good row %q", lines[2])
	}
	if f := strings.Fields(lines[3]); f[0] != silent || f[2] != "UNKNOWN" || f[3] != "-" {
		t.Errorf("silent row %q", lines[3])
	}

	var js bytes.Buffer
	if err := probe.WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Status     string
		ExitCode   int `json:"exit_code"`
		Thresholds map[string]int64
		Servers    []struct {
			Target, Status, Error string
			Reply                 map[string]any
		}
	}
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	if m.Status != "UNKNOWN" || m.ExitCode != 3 || m.Thresholds["warn_offset_ns"] != 10e6 || m.Thresholds["crit_offset_ns"] != 100e6 || len(m.Servers) != 2 {
		t.Fatalf("json:\n%s", js.String())
	}
	g, s := m.Servers[0], m.Servers[1]
	if g.Status != "OK" || g.Reply["refid"] != "0x47505300" || g.Reply["refid_ascii"] != "GPS" || g.Reply["stratum"] != 1.0 || g.Reply["leap"] != "none" {
		t.Errorf("good server json %+v", g)
	}
	if _, ok := g.Reply["offset_ns"].(float64); !ok {
		t.Errorf("no offset_ns: %+v", g.Reply)
	}
	if s.Status != "UNKNOWN" || s.Reply != nil || s.Error == "" {
		t.Errorf("silent server json %+v", s)
	}
}

func TestProbeCancelled(t *testing.T) {
	silent := probetest.Start(t, "udp4", probetest.Server{Silent: true})
	ts, err := probe.ParseTargets([]string{silent}, 123)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	o := probe.DefaultOptions()
	o.Count = 16
	r, err := probe.Probe(ctx, ts, o)
	if err != nil {
		t.Fatal(err)
	}
	if x := r.Results[0]; time.Since(start) > time.Second || x.Sent != 0 || x.Status != probe.Unknown || !strings.Contains(x.Reason, "cancelled") {
		t.Errorf("after %v: sent %d, %v %q", time.Since(start), x.Sent, x.Status, x.Reason)
	}
	if _, err := probe.Probe(t.Context(), ts, probe.Options{}); err == nil {
		t.Error("zero Options accepted")
	}
}
