package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clockbound"
	"github.com/gnomon-time/gnomon/internal/netns"
)

// TestPrometheusScrapesGnomond is issue 11's Prometheus acceptance: the
// exposition of a gnomond that disciplines from an upstream and serves a
// client (so source, server and client-log series all exist) passes
// `promtool check metrics` (names, units, _total, HELP/TYPE) without a
// finding, and a real Prometheus server scrapes it and answers queries with
// the values gnomond exposes. The same gnomond writes a ClockBound segment,
// which a reader follows across an update (checkClockBound).
func TestPrometheusScrapesGnomond(t *testing.T) {
	requirePeers(t)
	for _, tool := range []string{"prometheus", "promtool", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (scripts/install-peers.sh installs it): %v", tool, err)
		}
	}
	limit := 90 * time.Second
	pair := suite.h.NewPairT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	a := pair.Prefix.Addr().As4()
	a[3] = 31
	up := netip.AddrFrom4(a)
	if err := pair.AddCliAddr(ctx, up); err != nil {
		t.Fatal(err)
	}
	startChronydUpstream(t, pair, up, limit).waitReadyFrom(t, pair.Srv)
	shm := filepath.Join(stateDir(t, "clockbound"), "shm0")
	g := startGnomond(t, pair, gnomondOpts{stratum: 2,
		sources: fmt.Sprintf("sources:\n  - ntp: {address: %q, iburst: true, minpoll: -2, maxpoll: -2}\n", up),
		extra:   fmt.Sprintf("clockbound:\n  path: %q\n", shm)}, limit)
	g.waitReady(t)
	startChronydClient(t, pair, g.addr, limit)
	var m string
	for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		m = g.scrape(t)
		st, _ := metricValue(m, "gnomon_sync_stratum", "")
		replies, _ := metricValue(m, "gnomon_ntp_replies_total", "")
		if st == 2 && replies > 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gnomond not at stratum 2 serving the client within 40 s:\n%s", grepMetrics(m, "gnomon_sync_", "gnomon_ntp_replies"))
		}
	}

	// 1. promtool's lint on the real exposition.
	cmd := exec.CommandContext(ctx, "promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(m)
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	for _, name := range []string{"gnomon_source_offset_seconds", "gnomon_ntp_requests_total", "gnomon_ntp_client_log_hits_total",
		"gnomon_clock_error_bound_seconds", "gnomon_build_info", "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(m, "\n"+name) {
			t.Errorf("the exposition checked has no %s: the lint saw less than gnomond exposes", name)
		}
	}

	// 2. A real Prometheus in the client namespace scrapes gnomond every
	// second; its HTTP API must return gnomond's values.
	dir := stateDir(t, "prometheus")
	conf := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: gnomond
    static_configs:
      - targets: [%q]
`, g.metricsAddr())), 0o644); err != nil {
		t.Fatal(err)
	}
	const web = "127.0.0.1:19090"
	p, err := pair.Cli.Start(netns.Spec{Name: "prometheus", Limit: 60 * time.Second, Args: []string{"prometheus",
		"--config.file=" + conf, "--storage.tsdb.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + web}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Stop(); err != nil {
			t.Logf("stop prometheus: %v", err)
		}
		if t.Failed() {
			t.Logf("prometheus output:\n%s", p.Output())
		}
	}()
	query := func(q string) (float64, bool) {
		out, err := pair.Cli.Run(ctx, netns.Spec{Name: "curl", Limit: 10 * time.Second,
			Args: []string{"curl", "-sf", "--get", "--data-urlencode", "query=" + q, "http://" + web + "/api/v1/query"}})
		if err != nil {
			return 0, false
		}
		var r struct {
			Status string
			Data   struct {
				Result []struct {
					Value [2]any
				}
			}
		}
		if json.Unmarshal([]byte(out), &r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
			return 0, false
		}
		s, _ := r.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	var stratum float64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if v, ok := query(`gnomon_sync_stratum{job="gnomond"}`); ok {
			stratum = v
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus has no gnomon_sync_stratum after 30 s")
		}
	}
	if stratum != 2 {
		t.Errorf("prometheus says gnomon_sync_stratum = %v, gnomond serves 2", stratum)
	}
	// A counter that moves: Prometheus' latest sample lies between two of
	// our own scrapes taken around a scrape interval.
	before := sumMetric(g.scrape(t), "gnomon_ntp_requests_total")
	time.Sleep(2500 * time.Millisecond)
	got, ok := query(`sum(gnomon_ntp_requests_total{job="gnomond"})`)
	after := sumMetric(g.scrape(t), "gnomon_ntp_requests_total")
	if !ok || got < before || got > after || got == 0 {
		t.Errorf("prometheus sum(gnomon_ntp_requests_total) = %v (ok %v); gnomond's own scrapes %v … %v", got, ok, before, after)
	}
	if up, ok := query(`up{job="gnomond"}`); !ok || up != 1 {
		t.Errorf("prometheus up = %v (%v)", up, ok)
	}

	checkClockBound(t, g, shm)
}

// checkClockBound reads gnomond's ClockBound segment across one update
// while sampling gnomond's own error bound: the new segment says
// synchronised, its as_of is CLOCK_MONOTONIC_COARSE about now, and its
// bound is one of the error bounds gnomond exposed meanwhile, plus at most
// the virtual clock's distance from CLOCK_REALTIME (the segment bounds
// CLOCK_REALTIME).
func checkClockBound(t *testing.T, g *server, path string) {
	t.Helper()
	first, err := clockbound.Read(path)
	if err != nil {
		t.Fatalf("clockbound segment: %v", err)
	}
	lo, hi, maxOff := math.Inf(1), math.Inf(-1), 0.0
	var next clockbound.Segment
	for deadline := time.Now().Add(5 * time.Second); ; {
		m := g.scrape(t)
		eb := scrapeValue(t, m, "gnomon_clock_error_bound_seconds", "")
		lo, hi = min(lo, eb), max(hi, eb)
		maxOff = max(maxOff, math.Abs(scrapeValue(t, m, "gnomon_clock_offset_seconds", "")))
		if next, err = clockbound.Read(path); err == nil && next.Generation != first.Generation {
			// One more sample after the update.
			eb := scrapeValue(t, g.scrape(t), "gnomon_clock_error_bound_seconds", "")
			lo, hi = min(lo, eb), max(hi, eb)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clockbound segment not updated within 5 s (generation %d, %v)", first.Generation, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if next.Status != clockbound.StatusSynchronized || next.MaxDriftPPB != 50000 || next.VoidAfter != next.AsOf+clockbound.VoidAfter {
		t.Errorf("segment %+v: want synchronized, max drift 50000 ppb, void after as_of + 1000 s", next)
	}
	if d := clockbound.Monotonic() - next.AsOf; d < 0 || d > 2*time.Second {
		t.Errorf("segment as_of %v is %v before CLOCK_MONOTONIC_COARSE now", next.AsOf, d)
	}
	if d := next.AsOf - first.AsOf; d < 500*time.Millisecond || d > 3*time.Second {
		t.Errorf("as_of moved by %v between updates, want about 1 s", d)
	}
	// The virtual clock's distance from CLOCK_REALTIME is about its last
	// offset (all namespaces share one clock); allow 50 µs of slew since.
	b := next.Bound.Seconds()
	if b < lo-1e-9 || b > hi+maxOff+50e-6 {
		t.Errorf("segment bound %v s; gnomond's error bound %v … %v s (+ up to %v s to CLOCK_REALTIME)", b, lo, hi, maxOff+50e-6)
	}
	t.Logf("ClockBound segment: bound %v, gnomond's error bound %.1f … %.1f µs", next.Bound, lo*1e6, hi*1e6)
}
