package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// The simulated reference chain's timeline (seconds after gnomond starts):
// the PPS is pulled at refOutageAt for refOutageFor.
const (
	refOutageAt  = 60
	refOutageFor = 20
)

// refclockConfig is gnomond's reference chain on simulated devices: a
// PHC 1 ms off and 10 ppm fast, disciplined by a simulated receiver whose
// pulse (20 ns jitter) and time of day follow the host clock (the truth
// every namespace shares), and the served virtual clock following that
// PHC. PTP is on so that /ptp/status shows the PHC's clockClass.
func refclockConfig(pairPrefix, srvAddr string) (sources, extra string) {
	sources = "sources:\n  - phc: {device: sim}\n"
	extra = fmt.Sprintf(`phc:
  device: sim
  sim: {offset: 0.001, freq_ppm: 10, read_noise: 2.0e-7}
  gnss:
    pps:
      source: sim
      sim: {jitter: 2.0e-8, outages: [{after: %d, for: %d}]}
    time_of_day: {source: sim}
holdover:
  after: 6
ptp:
  enabled: true
  listen: [%q]
  event_port: 11319
  general_port: 11320
  clock_identity: %q
  allow: [%q]
`, refOutageAt, refOutageFor, srvAddr, gmIdentity, pairPrefix)
	return sources, extra
}

// ptpClass reads the clockClass gnomond's PTP grandmaster announces
// (/ptp/status, from the client namespace).
func (s *server) ptpClass(t *testing.T) int {
	t.Helper()
	b := s.httpGet(t, "/ptp/status")
	var st struct{ ClockClass int }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("/ptp/status: %v\n%s", err, b)
	}
	return st.ClockClass
}

var stratumMetric = regexp.MustCompile(`(?m)^gnomon_sync_stratum ([0-9]+)$`)

// TestReferenceChainSim is issue 9's end-to-end test on simulated devices:
// gnomond locks its simulated PHC to the simulated GNSS receiver, steers
// its virtual clock from the PHC and serves NTP at stratum 1 with refid
// GPS; a chronyd xleave client in the client namespace sees stratum 1,
// refid GPS and |offset| p95 < 5 µs once locked (every namespace shares one
// clock, the simulation's truth, so each offset is error); pulling the
// simulated PPS moves the PHC's state to holdover (PTP clockClass 7) and
// back to locked (6).
func TestReferenceChainSim(t *testing.T) {
	requirePeers(t)
	pair := suite.h.NewPairT(t)
	sources, extra := refclockConfig(pair.Prefix.String(), pair.SrvAddr.String())
	limit := (refOutageAt + refOutageFor + 90) * time.Second
	g := startGnomond(t, pair, gnomondOpts{sources: sources, stratum: 1, extra: extra}, limit)
	start := time.Now()
	g.waitReady(t)

	// Locked: the PHC's class 6 and the served stratum 1.
	var class, stratum int
	for deadline := start.Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		class = g.ptpClass(t)
		if m := stratumMetric.FindStringSubmatch(g.scrape(t)); m != nil {
			fmt.Sscan(m[1], &stratum)
		}
		if class == 6 && stratum == 1 {
			break
		}
	}
	if class != 6 || stratum != 1 {
		t.Fatalf("60 s after start: PTP clockClass %d, served stratum %d; want 6 (the PHC locked to GNSS) and 1", class, stratum)
	}
	t.Logf("locked %.1f s after start", time.Since(start).Seconds())

	// A chronyd xleave client measures the served clock until shortly
	// before the outage.
	window := time.Until(start.Add((refOutageAt - 5) * time.Second))
	if window < 20*time.Second {
		t.Fatalf("locked too late for a 20 s window before the outage at %d s", refOutageAt)
	}
	windowEnd := time.Now().Add(window)
	c := startChronydClient(t, pair, g.addr, window+40*time.Second)
	// Meanwhile, the readers show the PHC's engine and its receiver.
	checkReferenceReaders(t, g)
	time.Sleep(time.Until(windowEnd))
	r := collectXleave(c, g)
	if r.err != nil {
		t.Fatalf("chronyd client: %v", r.err)
	}
	t.Logf("%v", r)
	var abs []float64
	for _, m := range r.used {
		abs = append(abs, math.Abs(m.offset))
	}
	slices.Sort(abs)
	if len(abs) < 100 {
		t.Fatalf("only %d good samples in %v", len(abs), window)
	}
	p95 := abs[len(abs)*95/100]
	t.Logf("chronyd xleave client vs gnomond on the simulated reference chain: %d samples, |offset| p95 %s", len(abs), us(p95))
	if p95 >= 5e-6 {
		t.Errorf("|offset| p95 %s, want < 5 µs", us(p95))
	}
	if got := r.ntpdata["Stratum"]; got != "1" {
		t.Errorf("chronyc ntpdata Stratum = %q, want 1", got)
	}
	if got := r.ntpdata["Reference ID"]; !strings.HasPrefix(got, "47505300") {
		t.Errorf("chronyc ntpdata Reference ID = %q, want 47505300 (GPS)", got)
	}

	// The outage: holdover (class 7) while the PPS is pulled, locked (6)
	// after it returns.
	seen := map[int]bool{}
	var trace []string
	for deadline := start.Add((refOutageAt + refOutageFor + 40) * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		class := g.ptpClass(t)
		at := time.Since(start).Seconds()
		if len(trace) == 0 || !strings.HasSuffix(trace[len(trace)-1], fmt.Sprintf("class %d", class)) {
			trace = append(trace, fmt.Sprintf("%.0f s: class %d", at, class))
		}
		seen[class] = true
		if seen[7] && class == 6 {
			break
		}
	}
	t.Logf("clockClass around the outage (%d s for %d s): %s", refOutageAt, refOutageFor, strings.Join(trace, ", "))
	if !seen[7] || !strings.HasSuffix(trace[len(trace)-1], "class 6") {
		t.Errorf("the PPS outage did not go holdover (7) and back to locked (6): %s", strings.Join(trace, ", "))
	}
	m := g.scrape(t)
	if m := stratumMetric.FindStringSubmatch(m); m == nil || m[1] != "1" {
		t.Errorf("served stratum after the outage: %v, want 1", m)
	}
	// The outage in the PHC engine's counters: one holdover, recovered.
	entries := scrapeValue(t, m, "gnomon_phc_holdover_entries_total", "")
	recovered := scrapeValue(t, m, "gnomon_phc_holdover_recoveries_total", `recovery="slew"`) +
		scrapeValue(t, m, "gnomon_phc_holdover_recoveries_total", `recovery="step"`)
	orphans := scrapeValue(t, m, "gnomon_gnss_pairs_total", `source="gnss:GPS",verdict="orphan"`)
	t.Logf("after the outage: gnomon_phc_holdover_entries_total %v, recoveries %v, orphan reports %v", entries, recovered, orphans)
	if entries < 1 || recovered < 1 {
		t.Errorf("after the outage: %v holdover entries, %v recoveries; want ≥ 1 each", entries, recovered)
	}
}

// checkReferenceReaders: with gnomond locked on the simulated reference
// chain, /metrics exports the PHC's engine (gnomon_phc_*, class 6, the
// GNSS reference selected) and its receiver (gnomon_gnss_*: accepted pairs
// increasing, time-of-day reports fresh), and chronyc's and gnomonctl's
// sources list the GNSS reference after the served clock's PHC.
func checkReferenceReaders(t *testing.T, g *server) {
	t.Helper()
	const gnss = `source="gnss:GPS"`
	m1 := g.scrape(t)
	time.Sleep(2 * time.Second)
	m2 := g.scrape(t)
	t.Logf("PHC engine and receiver while locked:\n%s", grepMetrics(m2, "gnomon_phc_clock_class", "gnomon_phc_offset_seconds",
		"gnomon_phc_error_bound_seconds", "gnomon_phc_sync_mode", "gnomon_phc_source_selected", "gnomon_gnss_", "gnomon_clock_class"))
	if v := scrapeValue(t, m2, "gnomon_phc_clock_class", ""); v != 6 {
		t.Errorf("gnomon_phc_clock_class %v, want 6 (locked)", v)
	}
	if v := scrapeValue(t, m2, "gnomon_phc_sync_mode", `mode="locked"`); v != 1 {
		t.Errorf(`gnomon_phc_sync_mode{mode="locked"} %v, want 1`, v)
	}
	if v := scrapeValue(t, m2, "gnomon_phc_source_selected", gnss); v != 1 {
		t.Errorf("gnomon_phc_source_selected{%s} %v, want 1", gnss, v)
	}
	// Within the lock threshold (100 µs): a few seconds after locking the
	// servo is still settling (tens of µs).
	if v := scrapeValue(t, m2, "gnomon_phc_offset_seconds", ""); math.Abs(v) > 100e-6 {
		t.Errorf("gnomon_phc_offset_seconds %v, want |offset| < 100 µs while locked", v)
	}
	a1 := scrapeValue(t, m1, "gnomon_gnss_pairs_total", gnss+`,verdict="accepted"`)
	a2 := scrapeValue(t, m2, "gnomon_gnss_pairs_total", gnss+`,verdict="accepted"`)
	if a1 < 3 || a2 < a1+1 {
		t.Errorf("accepted pairs %v then %v 2 s later: want ≥ 3 (locked) and increasing", a1, a2)
	}
	if v := scrapeValue(t, m2, "gnomon_gnss_time_of_day_reports_total", gnss); v < a2 {
		t.Errorf("%v time-of-day reports for %v accepted pairs", v, a2)
	}
	last := scrapeValue(t, m2, "gnomon_gnss_time_of_day_last_report_timestamp_seconds", gnss)
	if age := float64(time.Now().UnixNano())/1e9 - last; age < 0 || age > 3 {
		t.Errorf("last time-of-day report %.1f s old, want ≤ 3 s", age)
	}
	if _, err := metricValue(m2, "gnomon_clock_class", ""); err != nil {
		t.Errorf("served clock: %v", err)
	}

	ctx := context.Background()
	sock := filepath.Join(g.dir, "gnomond.sock")
	run := func(args ...string) string {
		t.Helper()
		out, err := g.pair.Srv.Run(ctx, netns.Spec{Name: args[0], Args: args, Limit: 15 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	t.Logf("chronyc sources:\n%s", run("chronyc", "-n", "-h", sock, "sources"))
	t.Logf("chronyc sourcestats:\n%s", run("chronyc", "-n", "-h", sock, "sourcestats"))
	// CSV: the served clock's PHC (a refclock with the receiver's refid,
	// stratum 1: the PHC's engine's), then the receiver (stratum 0).
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(run("chronyc", "-c", "-n", "-h", sock, "sources")), "\n") {
		rows = append(rows, strings.Split(l, ","))
	}
	if len(rows) != 2 || len(rows[1]) < 4 || rows[1][0] != "#" || rows[1][1] != "*" || rows[1][2] != "GPS" || rows[1][3] != "0" {
		t.Errorf("chronyc -c sources: %q; want 2 rows, the second the GNSS reference #,*,GPS,0", rows)
	}
	ctl := gnomonctlBinary(t)
	t.Logf("gnomonctl sources:\n%s", run(ctl, "--host", sock, "sources"))
	var js []struct {
		Name, Mode, State string
		Stratum           int
		Reachability      int
	}
	out := run(ctl, "--host", sock, "sources", "--json")
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("gnomonctl sources --json: %v\n%s", err, out)
	}
	if n := len(js); n != 2 || js[1].Name != "GPS" || js[1].Mode != "refclock" || js[1].State != "selected" ||
		js[1].Stratum != 0 || js[1].Reachability == 0 {
		t.Errorf("gnomonctl sources --json: %+v; want the GNSS reference (GPS, refclock, selected, stratum 0, reachable) second", js)
	}
}
