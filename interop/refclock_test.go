package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
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
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := s.pair.Cli.Do(func() error {
			var err error
			c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://" + s.metricsAddr() + "/ptp/status")
	if err != nil {
		t.Fatalf("/ptp/status: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/ptp/status: status %d, %v", resp.StatusCode, err)
	}
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
	c := startChronydClient(t, pair, g.addr, window+40*time.Second)
	time.Sleep(window)
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
	if m := stratumMetric.FindStringSubmatch(g.scrape(t)); m == nil || m[1] != "1" {
		t.Errorf("served stratum after the outage: %v, want 1", m)
	}
}
