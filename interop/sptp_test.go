package interop

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	// sptp is built from this module's facebook/time (go build
	// github.com/facebook/time/cmd/sptp); importing its client package
	// keeps its dependencies in go.mod.
	_ "github.com/facebook/time/ptp/sptp/client"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// sptpInputs matches sptp's debug line with T1…T4.
var sptpInputs = regexp.MustCompile(`inputs \[T1 ([^A-Z]+ UTC) T2 ([^A-Z]+ UTC) T3 ([^A-Z]+ UTC) T4 ([^A-Z]+ UTC)`)

// sptpOffset matches sptp's per-exchange debug line.
var sptpOffset = regexp.MustCompile(`\[([0-9.]+) gmid:([0-9a-f.]+)\] offset (-?[0-9.]+[a-zµ]*s) delay`)

// buildFB builds a facebook/time command at the module's version.
func buildFB(t *testing.T, name string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(stateDir(t, name+"-bin"), name)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/facebook/time/cmd/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	return bin
}

// runSptp runs sptp against the server address for d and returns
// |offset + 37 s| of each exchange after the first second, in ns.
func runSptp(t *testing.T, pair *netns.Pair, bin, gm string, d time.Duration) []float64 {
	t.Helper()
	dir := stateDir(t, "sptp")
	conf := filepath.Join(dir, "sptp.yaml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`iface: %s
timestamping: software
interval: 125ms
freerunning: true
monitoringport: 14269
servers:
  "%s": 1
`, pair.CliIf, pair.SrvAddr)), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := pair.Cli.Start(netns.Spec{Name: "sptp", Args: []string{bin, "-config", conf, "-verbose"}, Limit: d + 20*time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	select {
	case <-p.Done():
		t.Fatalf("sptp exited: %v\n%s", p.Err(), p.Output())
	case <-time.After(d + 2*time.Second):
	}
	p.Stop()
	out := p.Output()
	var abs []float64
	for _, m := range sptpOffset.FindAllStringSubmatch(out, -1) {
		if m[1] != pair.SrvAddr.String() || (gm != "" && m[2] != gm) {
			t.Errorf("offset from %s gm %s, want %s gm %s", m[1], m[2], pair.SrvAddr, gm)
			continue
		}
		v, err := time.ParseDuration(m[3])
		if err != nil {
			t.Fatalf("offset %q: %v", m[3], err)
		}
		abs = append(abs, math.Abs(float64(v+37*time.Second)))
	}
	if len(abs) > 8 {
		abs = abs[8:] // the first second
	}
	// The two one-way legs (T2 − T1 server → client, T4 − T3 client →
	// server; T1 and T4 are TAI), for the log.
	var fwd, back []time.Duration
	const layout = "2006-01-02 15:04:05.999999999 -0700 MST"
	for _, m := range sptpInputs.FindAllStringSubmatch(out, -1) {
		var ts [4]time.Time
		ok := true
		for i := range ts {
			var err error
			if ts[i], err = time.Parse(layout, m[i+1]); err != nil {
				ok = false
			}
		}
		if ok {
			fwd = append(fwd, ts[1].Sub(ts[0])+37*time.Second)
			back = append(back, ts[3].Sub(ts[2])-37*time.Second)
		}
	}
	slices.Sort(fwd)
	slices.Sort(back)
	if len(fwd) > 0 {
		t.Logf("sptp one-way legs, median: server → client %v, client → server %v", fwd[len(fwd)/2], back[len(back)/2])
	}
	if len(abs) < int(d/time.Second)*8/2 {
		t.Fatalf("%d offsets in %v at 8 Hz:\n%s", len(abs), d, lastLines(out, 40))
	}
	slices.Sort(abs)
	return abs
}

// TestSptpAgainstGnomond: facebook/time's sptp client (software
// timestamps, free-running, 8 exchanges a second) measures facebook/time's
// ptp4u and then gnomond, 15 s each, in the same test. sptp compares
// CLOCK_REALTIME (UTC) with PTP's TAI, so its offsets are −37 s plus the
// error; all namespaces share one clock. gnomond's |error| median must be
// within 5 µs or no worse than ptp4u's + 2 µs, its p95 no worse than
// ptp4u's + 3 µs. Most of the error is the client's own and the same for
// both servers: its Delay_Req reaches the server 5–12 µs after its TX
// stamp (a Go client whose socket is in the netpoller; see hwts
// Config.SendOnly), while gnomond's Sync arrives 0.2–1 µs after its TX
// stamp. Medians measured here: ptp4u 4.8 µs, gnomond 3.2–6.2 µs.
func TestSptpAgainstGnomond(t *testing.T) {
	requirePeers(t)
	sptp, ptp4u := buildFB(t, "sptp"), buildFB(t, "ptp4u")
	pair := suite.h.NewPairT(t)
	const window = 15 * time.Second

	dir := stateDir(t, "ptp4u")
	up, err := pair.Srv.Start(netns.Spec{Name: "ptp4u", Args: []string{ptp4u, "-iface", pair.SrvIf, "-ip", pair.SrvAddr.String(),
		"-timestamptype", "software", "-pidfile", filepath.Join(dir, "pid"), "-drainfile", filepath.Join(dir, "drain"),
		"-undrainfile", filepath.Join(dir, "undrain"), "-monitoringport", "18888", "-workers", "2", "-recvworkers", "1"},
		Limit: window + 40*time.Second})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	ref := runSptp(t, pair, sptp, "", window)
	up.Stop()

	g := startGnomond(t, pair, gnomondOpts{extra: fmt.Sprintf(`ptp:
  enabled: true
  listen: [%q]
  clock_identity: %q
  allow: [%q]
`, pair.SrvAddr, gmIdentity, pair.Prefix)}, ptpWindows*(window+20*time.Second)+30*time.Second)
	g.waitReady(t)
	pct := func(a []float64, q float64) float64 { return a[int(q*float64(len(a)-1))] }
	t.Logf("sptp vs ptp4u: %d exchanges, |offset + 37 s| median %.0f ns, p95 %.0f ns, max %.0f ns", len(ref), pct(ref, 0.5), pct(ref, 0.95), ref[len(ref)-1])
	// gnomond's window is measured at most ptpWindows times (the client's
	// own leg swings by several µs between windows on this machine).
	var fails []string
	for attempt := 1; attempt <= ptpWindows; attempt++ {
		got := runSptp(t, pair, sptp, gmIdentity, window)
		t.Logf("sptp vs gnomond, window %d: %d exchanges, |offset + 37 s| median %.0f ns, p95 %.0f ns, max %.0f ns", attempt, len(got), pct(got, 0.5), pct(got, 0.95), got[len(got)-1])
		fails = nil
		if med := pct(got, 0.5); med > 5000 && med > pct(ref, 0.5)+2000 {
			fails = append(fails, fmt.Sprintf("window %d: median %.0f ns, want ≤ 5 µs or ≤ ptp4u's %.0f ns + 2 µs", attempt, med, pct(ref, 0.5)))
		}
		if p95 := pct(got, 0.95); p95 > pct(ref, 0.95)+3000 {
			fails = append(fails, fmt.Sprintf("window %d: p95 %.0f ns, want ≤ ptp4u's %.0f ns + 3 µs", attempt, p95, pct(ref, 0.95)))
		}
		if fails == nil {
			break
		}
	}
	if fails != nil {
		t.Errorf("sptp against gnomond: %s", strings.Join(fails, "; "))
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
