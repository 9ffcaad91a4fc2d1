package interop

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

// xleaveNATClients is the number of chronyd xleave clients behind one
// address in TestChronydXleaveNAT (issue 13 §5).
const xleaveNATClients = 4

// xleaveNATRun is how long they poll; with start-up and collection the
// test stays under 60 s.
const xleaveNATRun = 30 * time.Second

// TestChronydXleaveNAT runs four interleaved 16 Hz chronyd clients in ONE
// client namespace (one source address, as behind a NAT or with several
// chronyd instances on one host; each its own state directory, command
// socket, pidfile, `port 0`, and random source ports) against gnomond, and
// the same four against chronyd in a second namespace pair at the same
// time as a baseline. Each client must see gnomond interleaved for ≥ 95 %
// of its good samples after warm-up: the client log keeps the interleaved
// timestamps per association (keyed by Receive field), not per address.
// Every process runs with a hard limit, so the test cannot hang.
func TestChronydXleaveNAT(t *testing.T) {
	requirePeers(t)
	start := time.Now()
	clientLimit := xleaveNATRun + 20*time.Second
	limit := xleaveNATRun + 25*time.Second
	gp := suite.h.NewPairT(t)
	cp := suite.h.NewPairT(t)
	g := startGnomond(t, gp, gnomondOpts{}, limit)
	c := startChronydServer(t, cp, limit)
	g.waitReady(t)
	c.waitReady(t)

	var gcs, ccs []*chronydClient
	for range xleaveNATClients {
		gcs = append(gcs, startChronydClient(t, gp, g.addr, clientLimit, "port 0"))
		ccs = append(ccs, startChronydClient(t, cp, c.addr, clientLimit, "port 0"))
	}
	time.Sleep(xleaveNATRun)

	// Collect all eight at once (chronyc ntpdata, stop, read the logs).
	results := make([][]xleaveResult, 2)
	for i := range results {
		results[i] = make([]xleaveResult, xleaveNATClients)
	}
	var wg sync.WaitGroup
	for i := range xleaveNATClients {
		wg.Go(func() { results[0][i] = collectXleave(gcs[i], g) })
		wg.Go(func() { results[1][i] = collectXleave(ccs[i], c) })
	}
	wg.Wait()
	metrics := g.scrape(t)
	g.stop(t)
	c.stop(t)

	for s, rs := range results {
		for i, r := range rs {
			t.Logf("%s client %d: %v", r.kind, i, r)
			if r.err != nil {
				t.Fatalf("%s client %d: %v", r.kind, i, r.err)
			}
			frac := float64(r.interleaved) / math.Max(1, float64(len(r.used)))
			verdict := fmt.Sprintf("%s client %d: %d of %d good samples after warm-up interleaved (%.1f %%), ntpdata Interleaved = %q",
				r.kind, i, r.interleaved, len(r.used), 100*frac, r.ntpdata["Interleaved"])
			t.Log(verdict)
			if s == 1 {
				continue // chronyd is the baseline: reported, not asserted
			}
			if len(r.used) < 50 {
				t.Errorf("%s: too few good samples to judge", verdict)
			}
			if frac < 0.95 {
				t.Errorf("%s: want ≥ 95 %%", verdict)
			}
			if got := r.ntpdata["Interleaved"]; got != "Yes" {
				t.Errorf("gnomond client %d: chronyc ntpdata Interleaved = %q, want Yes", i, got)
			}
		}
	}
	var sum int
	for _, r := range results[0] {
		sum += r.interleaved
	}
	if v, err := metricValue(metrics, "gnomon_ntp_requests_total", `verdict="interleaved"`); err != nil {
		t.Errorf("gnomond metrics: %v", err)
	} else if v < float64(sum) {
		t.Errorf("gnomond: %v interleaved replies counted, clients saw %d", v, sum)
	}
	t.Logf("test ran %v", time.Since(start).Round(time.Millisecond))
}
