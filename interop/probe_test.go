package interop

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// probeOut is the part of `gnomonctl probe --json` the test reads.
type probeOut struct {
	Status   string
	ExitCode int `json:"exit_code"`
	Servers  []struct {
		Target, Address, Status, Reason, Error string
		Reply                                  *struct {
			OffsetNS   int64  `json:"offset_ns"`
			DelayNS    int64  `json:"delay_ns"`
			Stratum    int    `json:"stratum"`
			Leap       string `json:"leap"`
			RefID      string `json:"refid"`
			RefIDASCII string `json:"refid_ascii"`
			RootDistNS int64  `json:"root_distance_ns"`
			Invalid    string `json:"invalid"`
		}
	}
}

// buildGnomonctl builds gnomonctl into dir.
func buildGnomonctl(t *testing.T, dir string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "gnomonctl")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gnomonctl")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gnomonctl: %v\n%s", err, out)
	}
	return bin
}

// runProbe runs `gnomonctl probe --json ARGS` in ns and returns its exit
// code and parsed output (stdout and stderr are combined by the harness;
// probe writes nothing to stderr when it gets as far as probing).
func runProbe(t *testing.T, ns *netns.NS, bin string, args ...string) (int, probeOut) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := ns.Run(ctx, netns.Spec{Name: "gnomonctl-probe",
		Args: append([]string{bin, "probe", "--json"}, args...), Limit: 30 * time.Second})
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("gnomonctl probe: %v\n%s", err, out)
	}
	var p probeOut
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("gnomonctl probe (exit %d): output is not JSON: %v\n%s", code, err, out)
	}
	t.Logf("gnomonctl probe %v: exit %d\n%s", args, code, out)
	if p.ExitCode != code {
		t.Errorf("exit code %d, JSON exit_code %d", code, p.ExitCode)
	}
	return code, p
}

// waitAnswer waits until addr answers an NTP query from ns (any reply, for
// at most 10 s), failing at once if proc exits first.
func waitAnswer(t *testing.T, ns *netns.NS, proc *netns.Proc, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-proc.Done():
			t.Fatalf("%s exited before answering: %v\n%s", proc.Name, proc.Err(), proc.Output())
		default:
		}
		if _, lastErr = beevikQuery(ns, "", addr, 200*time.Millisecond); lastErr == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s on %s did not answer within 10 s: %v", proc.Name, addr, lastErr)
}

// TestProbeGnomondChronyd runs `gnomonctl probe` from the client namespace
// against gnomond (local stratum 3, port 123), a synchronised chronyd
// (local stratum 1, port 11123) and an unsynchronised one (no reference,
// port 11124), all in the server namespace and all serving the one host
// clock, and checks each row and the exit code: both synchronised servers
// OK with |offset| < 1 ms (best of 4; the true offset is 0) → exit 0; plus
// a port nobody listens on → UNKNOWN, exit 3; plus the unsynchronised
// chronyd → CRITICAL, exit 2 (CRITICAL outranks UNKNOWN).
func TestProbeGnomondChronyd(t *testing.T) {
	requirePeers(t)
	bin := buildGnomonctl(t, t.TempDir())
	pair := suite.h.NewPairT(t)

	g := startGnomond(t, pair, gnomondOpts{}, 90*time.Second)
	g.waitReady(t)
	chronyAddr := netip.AddrPortFrom(pair.SrvAddr, 11123).String()
	c := startChronyd(t, pair.Srv, stateDir(t, "chronyd-probe"), "chronyd-probe", "chronyd (probe, synchronised)", 90*time.Second,
		[]string{"local stratum 1", "allow " + pair.Prefix.String(), "port 11123"}, nil)
	waitAnswer(t, pair.Cli, c, chronyAddr)
	unsyncAddr := netip.AddrPortFrom(pair.SrvAddr, 11124).String()
	u := startChronyd(t, pair.Srv, stateDir(t, "chronyd-unsync"), "chronyd-unsync", "chronyd (probe, unsynchronised)", 90*time.Second,
		[]string{"allow " + pair.Prefix.String(), "port 11124"}, nil)
	waitAnswer(t, pair.Cli, u, unsyncAddr)
	closed := netip.AddrPortFrom(pair.SrvAddr, 9).String() // discard: nobody listens

	// Both synchronised servers: OK, exit 0.
	code, p := runProbe(t, pair.Cli, bin, "--count", "4", "--interval", "100ms", g.hostPort(), chronyAddr)
	if code != 0 || p.Status != "OK" || len(p.Servers) != 2 {
		t.Fatalf("gnomond + chronyd: exit %d status %s, want 0 OK", code, p.Status)
	}
	for i, want := range []struct {
		target  string
		stratum int
	}{{g.hostPort(), gnomondStratum}, {chronyAddr, 1}} {
		s := p.Servers[i]
		if s.Target != want.target || s.Address != want.target || s.Status != "OK" || s.Reply == nil {
			t.Errorf("row %d: %+v, want %s OK with a reply", i, s, want.target)
			continue
		}
		r := s.Reply
		if off := time.Duration(r.OffsetNS).Abs(); off > time.Millisecond || r.DelayNS <= 0 || r.DelayNS > int64(10*time.Millisecond) {
			t.Errorf("%s: offset %v delay %v, want |offset| < 1ms, 0 < delay < 10ms", s.Target, time.Duration(r.OffsetNS), time.Duration(r.DelayNS))
		}
		// Both serve a local reference: 127.127.1.1, not shown as text.
		if r.RefID != "0x7F7F0101" || r.RefIDASCII != "" {
			t.Errorf("%s: refid %s %q, want 0x7F7F0101 (LOCAL) without text", s.Target, r.RefID, r.RefIDASCII)
		}
		if r.Stratum != want.stratum || r.Leap != "none" || r.Invalid != "" || r.RootDistNS <= 0 {
			t.Errorf("%s: stratum %d leap %s invalid %q root distance %d, want stratum %d, leap none, valid",
				s.Target, r.Stratum, r.Leap, r.Invalid, r.RootDistNS, want.stratum)
		}
	}

	// One more, unreachable: UNKNOWN, exit 3; the others stay OK.
	code, p = runProbe(t, pair.Cli, bin, "--timeout", "1s", g.hostPort(), chronyAddr, closed)
	if code != 3 || p.Status != "UNKNOWN" || len(p.Servers) != 3 {
		t.Fatalf("with %s: exit %d status %s, want 3 UNKNOWN", closed, code, p.Status)
	}
	if p.Servers[0].Status != "OK" || p.Servers[1].Status != "OK" || p.Servers[2].Status != "UNKNOWN" || p.Servers[2].Reply != nil {
		t.Errorf("statuses %s %s %s, want OK OK UNKNOWN (no reply)", p.Servers[0].Status, p.Servers[1].Status, p.Servers[2].Status)
	}

	// And the unsynchronised chronyd: CRITICAL (LI 3), exit 2.
	code, p = runProbe(t, pair.Cli, bin, "--timeout", "1s", g.hostPort(), chronyAddr, closed, unsyncAddr)
	if code != 2 || p.Status != "CRITICAL" || len(p.Servers) != 4 {
		t.Fatalf("with %s: exit %d status %s, want 2 CRITICAL", unsyncAddr, code, p.Status)
	}
	if s := p.Servers[3]; s.Status != "CRITICAL" || s.Reply == nil || s.Reply.Leap != "unsynchronised" || s.Reply.Invalid == "" {
		t.Errorf("unsynchronised chronyd: %+v %+v", s, s.Reply)
	}

	g.stop(t)
	for _, p := range []*netns.Proc{c, u} {
		if err := p.Stop(); err != nil {
			t.Errorf("stop %s: %v", p.Name, err)
		}
	}
}
