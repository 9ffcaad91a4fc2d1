package interop

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// xleaveRun is how long each interleaved chronyd client runs (issue 2: ≥ 30 s).
const xleaveRun = 32 * time.Second

// xleaveAttempts bounds the measurement windows of the spread comparison.
const xleaveAttempts = 3

// xleaveSpreadOK is the comparison: gnomond's offset spread at most
// twice chronyd's, as robust σ (see the end of TestChronydXleaveClient).
func xleaveSpreadOK(gnomond, chronyd xleaveResult) bool {
	return gnomond.offsets.robustSigma <= 2*chronyd.offsets.robustSigma
}

// xleaveWarmup is skipped before statistics: iburst and the first two
// exchanges, which cannot be interleaved yet (RFC 9769: "the third response
// is the earliest one that can be interleaved").
const xleaveWarmup = 3 * time.Second

// chronydClient is chronyd -x as an interleaved 16 Hz client in pair.Cli
// (peers.md §5.2) that logs every measurement.
type chronydClient struct {
	pair *netns.Pair
	dir  string
	proc *netns.Proc
}

func startChronydClient(t *testing.T, pair *netns.Pair, srv netip.Addr, limit time.Duration, extra ...string) *chronydClient {
	t.Helper()
	dir := stateDir(t, "chronyd-cli")
	p := startChronyd(t, pair.Cli, dir, "chronyd-client", "chronyd client", limit,
		[]string{fmt.Sprintf("server %s iburst minpoll -4 maxpoll -4 xleave", srv)},
		append([]string{"logdir " + dir, "log rawmeasurements"}, extra...))
	return &chronydClient{pair: pair, dir: dir, proc: p}
}

// startChronyd writes dir/chronyd.conf (head, the per-instance state
// directives that keep parallel instances apart, then tail) and runs
// chronyd -x -d on it in ns under name, for at most limit (the harness
// drops CAP_SYS_TIME). On test failure the output is logged under label.
func startChronyd(t *testing.T, ns *netns.NS, dir, name, label string, limit time.Duration, head, tail []string) *netns.Proc {
	t.Helper()
	lines := append(append(slices.Clone(head),
		"bindcmdaddress "+filepath.Join(dir, "chronyd.sock"),
		"cmdport 0",
		"pidfile "+filepath.Join(dir, "chronyd.pid"),
		"driftfile "+filepath.Join(dir, "chrony.drift"),
	), tail...)
	conf := strings.Join(lines, "\n") + "\n"
	path := filepath.Join(dir, "chronyd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := ns.Start(netns.Spec{Name: name, Args: []string{"chronyd", "-x", "-d", "-f", path}, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", label, p.Output())
		}
	})
	return p
}

// chronyc runs chronyc against the client's command socket (Unix-socket
// only commands such as ntpdata: peers.md pitfall 3).
func (c *chronydClient) chronyc(ctx context.Context, args ...string) (string, error) {
	return c.pair.Cli.Run(ctx, netns.Spec{
		Name:  "chronyc",
		Args:  append([]string{"chronyc", "-n", "-h", filepath.Join(c.dir, "chronyd.sock")}, args...),
		Limit: 10 * time.Second,
	})
}

func (c *chronydClient) measurements() ([]measurement, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "measurements.log"))
	if err != nil {
		return nil, fmt.Errorf("read measurements log: %w", err)
	}
	return parseMeasurements(string(b))
}

// xleaveResult is what one client saw of one server.
type xleaveResult struct {
	kind        string
	ntpdata     map[string]string
	all         []measurement
	used        []measurement // after warm-up, all tests passed
	interleaved int           // of used
	offsets     summary       // of used, seconds (chrony sign: local − server)
	delays      summary
	err         error
}

func (r xleaveResult) String() string {
	return fmt.Sprintf("%-7s samples=%d used=%d interleaved=%d offset: median=%s mean=%s stddev=%s robustσ=%s p99|x|=%s min=%s max=%s; delay median=%s",
		r.kind, len(r.all), len(r.used), r.interleaved, us(r.offsets.median), us(r.offsets.mean), us(r.offsets.stddev),
		us(r.offsets.robustSigma), us(r.offsets.p99Abs), us(r.offsets.min), us(r.offsets.max), us(r.delays.median))
}

// collectXleave reads what client c saw of server s: chronyc ntpdata while
// it runs, then (after stopping it) its measurement log.
func collectXleave(c *chronydClient, s *server) xleaveResult {
	res := xleaveResult{kind: s.kind}
	select {
	case <-c.proc.Done():
		res.err = fmt.Errorf("chronyd client exited early: %v\n%s", c.proc.Err(), c.proc.Output())
		return res
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := c.chronyc(ctx, "ntpdata")
	if err != nil {
		res.err = fmt.Errorf("chronyc ntpdata: %w\n%s", err, out)
		return res
	}
	res.ntpdata = parseColonBlock(out)
	if err := c.proc.Stop(); err != nil {
		res.err = err
		return res
	}
	res.all, res.err = c.measurements()
	if res.err != nil {
		return res
	}
	if len(res.all) == 0 {
		res.err = fmt.Errorf("empty measurements log")
		return res
	}
	t0 := res.all[0].at
	var offs, dels []float64
	for _, m := range res.all {
		if m.at.Sub(t0) < xleaveWarmup || !m.good() {
			continue
		}
		res.used = append(res.used, m)
		if m.interleaved() {
			res.interleaved++
		}
		offs = append(offs, m.offset)
		dels = append(dels, m.delay)
	}
	res.offsets, res.delays = summarize(offs), summarize(dels)
	return res
}

// TestChronydXleaveClient runs the same interleaved 16 Hz chronyd client
// configuration against gnomond and against chronyd at the same time (two
// namespace pairs, so both see the same machine load) for 32 s each, then
// checks what chronyc ntpdata reports and compares the offset spread (a
// window that fails the comparison is measured again, xleaveAttempts
// windows at most).
func TestChronydXleaveClient(t *testing.T) {
	requirePeers(t)
	clientLimit := xleaveRun + 40*time.Second
	limit := xleaveAttempts*(xleaveRun+20*time.Second) + 40*time.Second
	gp := suite.h.NewPairT(t)
	cp := suite.h.NewPairT(t)
	g := startGnomond(t, gp, gnomondOpts{}, limit)
	c := startChronydServer(t, cp, limit)
	g.waitReady(t)
	c.waitReady(t)

	// Both clients run at the same time, so they share whatever load the
	// machine has. The spread comparison below is a measurement on a shared
	// machine: a window in which it fails is measured again with fresh
	// clients, at most xleaveAttempts windows in all, and the last window
	// decides (every other check uses it too).
	var gr, cr xleaveResult
	for attempt := 1; ; attempt++ {
		gc := startChronydClient(t, gp, g.addr, clientLimit)
		cc := startChronydClient(t, cp, c.addr, clientLimit)
		time.Sleep(xleaveRun)
		gr, cr = collectXleave(gc, g), collectXleave(cc, c)
		for _, r := range []xleaveResult{gr, cr} {
			t.Logf("window %d: %v", attempt, r)
			if r.err != nil {
				t.Fatalf("%s: %v", r.kind, r.err)
			}
		}
		if xleaveSpreadOK(gr, cr) || attempt == xleaveAttempts {
			break
		}
		t.Logf("window %d: gnomond offset robust σ %s > 2 × chronyd's %s; measuring again (%d windows at most)",
			attempt, us(gr.offsets.robustSigma), us(cr.offsets.robustSigma), xleaveAttempts)
	}
	metrics := g.scrape(t)
	g.stop(t)
	c.stop(t)
	results := []xleaveResult{gr, cr}

	// gnomond's own counters agree with what the client saw.
	for _, m := range []struct {
		name, labels string
		min          int
	}{
		{"gnomon_ntp_requests_total", `verdict="interleaved"`, gr.interleaved},
		{"gnomon_ntp_rx_timestamps_total", `kind="kernel"`, len(gr.all)},
		{"gnomon_ntp_tx_timestamps_total", `kind="kernel"`, gr.interleaved},
		{"gnomon_ntp_interleaved_tx_timestamps_recorded_total", "", gr.interleaved},
	} {
		v, err := metricValue(metrics, m.name, m.labels)
		if err != nil {
			t.Errorf("gnomond metrics: %v", err)
		} else if v < float64(m.min) {
			t.Errorf("gnomond metrics: %s{%s} = %v, want ≥ %d (client log)", m.name, m.labels, v, m.min)
		}
	}

	// What the client says about gnomond. "Interleaved : Yes" is the
	// server's doing (it answered with the previous reply's TX timestamp);
	// "TX/RX timestamping" describe the client's own timestamps (chronyc
	// docs), checked because issue 2 names them: they show that the
	// comparison ran with kernel stamps on the client side.
	for _, kv := range [][2]string{
		{"Interleaved", "Yes"},
		{"TX timestamping", "Kernel"},
		{"RX timestamping", "Kernel"},
		{"Mode", "Server"},
		{"Stratum", fmt.Sprint(gnomondStratum)},
		{"Leap status", "Normal"},
	} {
		if got := gr.ntpdata[kv[0]]; got != kv[1] {
			t.Errorf("gnomond: chronyc ntpdata %q = %q, want %q", kv[0], got, kv[1])
		}
	}
	// "NTP tests" describe the last sample only. Tests 1–3 and 5–7 judge
	// the packet and its header (what the server controls) and D the
	// absence of a synchronisation loop: those must all pass. A–C compare
	// the sample's delay with the client's recent delays, so on a loaded
	// machine a single sample can fail them against any server (chronyd
	// rejects about half its samples here, for both servers); that share
	// is judged over the whole window by the good-sample comparison below.
	if got := gr.ntpdata["NTP tests"]; !ntpTestsValid(got) {
		t.Errorf("gnomond: chronyc ntpdata \"NTP tests\" = %q, want \"111 111 ???1\" (header tests and D pass)", got)
	}
	if cr.ntpdata["Interleaved"] != "Yes" {
		t.Errorf("baseline chronyd server: ntpdata Interleaved = %q: the test setup is broken", cr.ntpdata["Interleaved"])
	}
	// A server that answers reliably gives the client as many good samples
	// as chronyd does in the same run (≈ 280–370 of the nominal 16 Hz ×
	// 29 s here: chrony rejects some under load); demand 70 % of that.
	if floor := 0.7 * float64(len(cr.used)); float64(len(gr.used)) < floor {
		t.Errorf("gnomond: %d good samples after warm-up, want ≥ %.0f (70 %% of chronyd's %d)", len(gr.used), floor, len(cr.used))
	}
	for _, r := range results {
		// Once warmed up, every response should be interleaved; allow 5 %
		// for a reply whose TX timestamp was not yet recorded or a lost
		// packet that restarts the interleaved chain.
		if frac := float64(r.interleaved) / math.Max(1, float64(len(r.used))); frac < 0.95 {
			t.Errorf("%s: %.1f %% of samples interleaved, want ≥ 95 %%", r.kind, 100*frac)
		}
	}

	// The comparison: gnomond's offset spread ≤ 2 × chronyd's, measured the
	// same way at the same time. Robust σ (MAD) is asserted because both
	// clients share two vCPUs with the rest of the machine and single
	// scheduling hiccups (tens of µs, peers.md §9.17) would dominate a plain
	// stddev; the plain stddev is logged too.
	t.Logf("offset robust σ: gnomond %s, chronyd %s (ratio %.2f); stddev: gnomond %s, chronyd %s",
		us(gr.offsets.robustSigma), us(cr.offsets.robustSigma), gr.offsets.robustSigma/cr.offsets.robustSigma,
		us(gr.offsets.stddev), us(cr.offsets.stddev))
	if !xleaveSpreadOK(gr, cr) {
		t.Errorf("gnomond offset robust σ %s > 2 × chronyd's %s", us(gr.offsets.robustSigma), us(cr.offsets.robustSigma))
	}
}

// ntpTestsValid reports whether chronyc ntpdata's "NTP tests" field (tests
// 1 2 3, 5 6 7, A B C D) has every packet and header test and test D
// passed; A–C, statistics over the client's recent delays, may have failed.
func ntpTestsValid(s string) bool {
	return len(s) == 12 && s[:8] == "111 111 " && s[11] == '1'
}
