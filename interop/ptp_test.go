package interop

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// ptp4lOffset matches ptp4l's per-sample line (peers.md §6.3).
var ptp4lOffset = regexp.MustCompile(`master offset\s+(-?\d+)\s+s(\d)\s+freq\s+([+-]\d+)\s+path delay\s+(-?\d+)`)

// ptp4lSlaveConf is a software-stamping ptp4l unicast slave that never
// touches the clock (free_running, kernel_leap 0; peers.md §6.2) and asks
// master for Sync and Delay_Resp at 8 Hz.
func ptp4lSlaveConf(iface, master, uds string) string {
	return fmt.Sprintf(`[global]
slaveOnly               1
priority1               255
domainNumber            0
time_stamping           software
network_transport       UDPv4
delay_mechanism         E2E
free_running            1
freq_est_interval       0
kernel_leap             0
logSyncInterval         -3
logMinDelayReqInterval  -3
logAnnounceInterval     0
summary_interval        -3
unicast_req_duration    20
uds_address             %s
[unicast_master_table]
table_id                1
logQueryInterval        0
UDPv4                   %s
[%s]
unicast_master_table    1
`, uds, master, iface)
}

// ptp4lMasterConf is the reference: a software-stamping ptp4l unicast
// master of the same (undisciplined) clock.
func ptp4lMasterConf(iface, uds string) string {
	return fmt.Sprintf(`[global]
priority1               1
priority2               1
clockClass              6
clockAccuracy           0x21
timeSource              0x20
domainNumber            0
time_stamping           software
network_transport       UDPv4
delay_mechanism         E2E
free_running            1
kernel_leap             0
uds_address             %s
[%s]
masterOnly              1
unicast_listen          1
inhibit_multicast_service 1
`, uds, iface)
}

// slaveRun is what a ptp4l slave reported.
type slaveRun struct {
	offsets []float64 // ns, local − master
	out     string
}

// ptpWindows bounds the measurement windows of gnomond in the PTP interop
// tests that judge gnomond alone (TestPtp4lUnicastSlaveIPv6,
// TestSptpAgainstGnomond): a window that misses a statistical limit on a
// loaded machine is measured again, and one passing window passes. The
// comparisons with a ptp4l master run in rounds instead (ptp_rounds_test.go).
const ptpWindows = 3

// gmIdentity is the clock identity the test gives gnomond.
const gmIdentity = "02a0b0.fffe.c0d0e0"

// runPtp4lSlave runs a ptp4l unicast slave against master for d after its
// first offset line and returns its offsets (the first 2 s dropped).
func runPtp4lSlave(t *testing.T, pair *netns.Pair, name string, d time.Duration, during func(uds string)) slaveRun {
	t.Helper()
	return runPtp4lSlaveConf(t, pair, name, d, func(uds string) string { return ptp4lSlaveConf(pair.CliIf, pair.SrvAddr.String(), uds) }, during)
}

// runPtp4lSlaveConf is runPtp4lSlave with the slave's configuration from
// conf (given its uds_address).
func runPtp4lSlaveConf(t *testing.T, pair *netns.Pair, name string, d time.Duration, conf func(uds string) string, during func(uds string)) slaveRun {
	t.Helper()
	p, uds := startPtp4l(t, pair.Cli, "ptp4l-slave-"+name, conf, d+60*time.Second)
	defer p.Stop()
	var first time.Time
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if first.IsZero() && ptp4lOffset.MatchString(p.Output()) {
			first = time.Now()
			deadline = first.Add(d + 2*time.Second)
		}
		select {
		case <-p.Done():
			t.Fatalf("ptp4l slave (%s) exited: %v\n%s", name, p.Err(), p.Output())
		case <-time.After(200 * time.Millisecond):
		}
	}
	if first.IsZero() {
		t.Fatalf("ptp4l slave (%s) printed no offset in 45 s:\n%s", name, p.Output())
	}
	if during != nil {
		during(uds)
	}
	p.Stop()
	out := p.Output()
	var r slaveRun
	r.out = out
	for _, m := range ptp4lOffset.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		r.offsets = append(r.offsets, v)
	}
	// free_running prints one line per second (the latest sample); the
	// first two are dropped.
	if len(r.offsets) > 2 {
		r.offsets = r.offsets[2:]
	}
	return r
}

// startPtp4l writes the ptp4l configuration conf (given its uds_address)
// into a fresh state directory named after name and starts ptp4l with it
// in ns for at most limit; it returns the process and the UDS address.
func startPtp4l(t *testing.T, ns *netns.NS, name string, conf func(uds string) string, limit time.Duration) (*netns.Proc, string) {
	t.Helper()
	dir := stateDir(t, name)
	path := filepath.Join(dir, "ptp4l.cfg")
	uds := filepath.Join(dir, "ptp4l.sock")
	if err := os.WriteFile(path, []byte(conf(uds)), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := ns.Start(netns.Spec{Name: name, Args: []string{"ptp4l", "-f", path, "-m", "-q"}, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	return p, uds
}

func absMedian(xs []float64) float64 {
	a := make([]float64, len(xs))
	for i, x := range xs {
		a[i] = math.Abs(x)
	}
	slices.Sort(a)
	if len(a) == 0 {
		return math.NaN()
	}
	return a[len(a)/2]
}

func absP99(xs []float64) float64 { return absQuantile(xs, 0.99) }

// absQuantile is the nearest-rank q-quantile of |xs| (NaN for none).
func absQuantile(xs []float64, q float64) float64 {
	a := make([]float64, len(xs))
	for i, x := range xs {
		a[i] = math.Abs(x)
	}
	slices.Sort(a)
	if len(a) == 0 {
		return math.NaN()
	}
	return a[max(int(math.Ceil(q*float64(len(a))))-1, 0)]
}

// TestPtp4lUnicastSlave: a ptp4l 3.1.1 unicast slave (software
// timestamps, 8 Hz Sync and Delay_Req, 20 s grants) negotiates with
// gnomond's grandmaster; the same slave measures a ptp4l unicast master of
// the same clock in the same namespaces. All namespaces share one clock:
// every offset is error. The two masters take turns on the server's PTP
// ports in rounds (comparePTPRounds: a 30 s window each, and only if that
// fails, 90 s more each), gnomond started afresh for each of its windows
// and stopped cleanly after it. The slave must report offsets through each
// window (its 20 s grants expire unless renewals work), gnomond's pooled
// |offset| p95 must be ≤ 1.5× ptp4l's pooled p95 and < 5 µs (when ptp4l's
// is: ptpAbsLimit; the tail is TestPTPSyncPathUnicast's), and while the
// slave runs pmc must name gnomond's grandmaster identity and clock class
// and gnomonctl ptp status and the metrics the slave's grants. About 80 s
// when round 1 passes; about 5 min when it takes both rounds (each process
// is bounded by its Limit, every wait by a deadline).
func TestPtp4lUnicastSlave(t *testing.T) {
	requirePeers(t)
	netns.Require(t, "ptp4l", "pmc")
	pair := suite.h.NewPairT(t)

	// The reference: ptp4l as unicast master.
	ref := func(round int, window time.Duration) slaveRun {
		mp, _ := startPtp4l(t, pair.Srv, "ptp4l-master", func(uds string) string { return ptp4lMasterConf(pair.SrvIf, uds) }, window+90*time.Second)
		defer mp.Stop()
		r := runPtp4lSlave(t, pair, "ptp4l", window, nil)
		if len(r.offsets) < ptpMinOffsets(window) {
			t.Logf("ptp4l master output:\n%s", mp.Output())
		}
		return r
	}
	opts := gnomondUnicastOpts(pair)
	gnomond := func(round int, window time.Duration) slaveRun {
		g := startGnomond(t, pair, opts, window+90*time.Second)
		g.waitReady(t)
		got := runPtp4lSlave(t, pair, "gnomond", window, func(uds string) { checkGnomondPTPState(t, pair, g, uds) })
		g.stop(t)
		t.Logf("gnomond PTP log, round %d:\n%s", round, grepLines(g.proc.Output(), "PTP"))
		return got
	}
	comparePTPRounds(t, "gnomond as a ptp4l unicast slave's master", ref, gnomond)
}

// gnomondUnicastOpts configure gnomond as the unicast grandmaster of
// pair's server address and interface, granting the pair's prefix.
func gnomondUnicastOpts(pair *netns.Pair) gnomondOpts {
	return gnomondOpts{extra: fmt.Sprintf(`ptp:
  enabled: true
  listen: [%q]
  interface: %q
  clock_identity: %q
  allow: [%q]
`, pair.SrvAddr, pair.SrvIf, gmIdentity, pair.Prefix)}
}

func grepLines(s string, subs ...string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				b.WriteString(l + "\n")
				break
			}
		}
	}
	return b.String()
}

// checkGnomondPTPState checks, while the slave runs: pmc on the slave names
// gnomond's grandmaster and its class; gnomonctl ptp status shows the
// slave's grants and Syncs at its 8 Hz; the metrics agree.
func checkGnomondPTPState(t *testing.T, pair *netns.Pair, g *server, uds string) {
	t.Helper()
	checkPMCParent(t, pair, uds)
	url := "http://" + g.metricsAddr()
	out, err := pair.Cli.Run(t.Context(), netns.Spec{Name: "gnomonctl", Args: []string{gnomonctlBinary(t), "ptp", "status", "--url", url, "--interval", "2s"}, Limit: 20 * time.Second})
	t.Logf("gnomonctl ptp status:\n%s", out)
	if err != nil {
		t.Errorf("gnomonctl ptp status: %v", err)
		return
	}
	m := regexp.MustCompile(`Sent            : sync ([0-9.]+)/s`).FindStringSubmatch(out)
	rate := 0.0
	if m != nil {
		rate, _ = strconv.ParseFloat(m[1], 64)
	}
	if !strings.Contains(out, "Grandmaster     : "+gmIdentity) || !strings.Contains(out, "Clients         : 1") ||
		!regexp.MustCompile(pair.CliAddr.String()+`:320 .* sync +1/8s`).MatchString(out) || rate < 6 || rate > 10 {
		t.Errorf("gnomonctl ptp status: want our grandmaster, 1 client with a 1/8 s Sync grant and ≈ 8 Syncs/s (got %v/s)", rate)
	}
	text := g.scrape(t)
	for _, series := range []string{`gnomon_ptp_unicast_grants{type="sync"} 1`, `gnomon_ptp_unicast_grants{type="announce"} 1`,
		`gnomon_ptp_unicast_clients 1`} {
		if !strings.Contains(text, series) {
			t.Errorf("metrics lack %s:\n%s", series, grepLines(text, "gnomon_ptp_"))
		}
	}
}

// checkPMCParent checks with pmc on the slave's socket that its parent is
// gnomond's grandmaster with clockClass 248 (a local reference).
func checkPMCParent(t *testing.T, pair *netns.Pair, uds string) {
	t.Helper()
	out, err := pair.Cli.Run(t.Context(), netns.Spec{Name: "pmc", Args: []string{"pmc", "-u", "-b", "0", "-s", uds, "GET PARENT_DATA_SET"}, Limit: 10 * time.Second})
	if err != nil {
		t.Errorf("pmc: %v\n%s", err, out)
	} else if !strings.Contains(out, "grandmasterIdentity                   "+gmIdentity) ||
		!regexp.MustCompile(`gm\.ClockClass\s+248\b`).MatchString(out) {
		t.Errorf("pmc PARENT_DATA_SET: want grandmaster %s with clockClass 248 (a local reference):\n%s", gmIdentity, out)
	}
	t.Logf("pmc GET PARENT_DATA_SET:\n%s", out)
}

// TestPtp4lUnicastSlaveIPv6: the ptp4l 3.1.1 unicast slave of
// TestPtp4lUnicastSlave over UDPv6 (network_transport UDPv6, the master
// table naming gnomond's IPv6 address): it negotiates, its |offset| p99 is
// < 5 µs (up to ptpWindows windows), and pmc names gnomond's grandmaster.
func TestPtp4lUnicastSlaveIPv6(t *testing.T) {
	requirePeers(t)
	netns.Require(t, "ptp4l", "pmc")
	const window = 20 * time.Second
	pair := suite.h.NewPairT(t)
	n := pair.Prefix.Addr().As4()[2]
	srv6 := netip.MustParseAddr(fmt.Sprintf("fd00:201:%x::1", n))
	cli6 := netip.MustParseAddr(fmt.Sprintf("fd00:201:%x::2", n))
	for _, a := range []struct {
		ns    *netns.NS
		iface string
		addr  netip.Addr
	}{{pair.Srv, pair.SrvIf, srv6}, {pair.Cli, pair.CliIf, cli6}} {
		if out, err := a.ns.Run(t.Context(), netns.Spec{Name: "ip", Args: []string{"ip", "addr", "add", a.addr.String() + "/64", "dev", a.iface, "nodad"},
			Limit: 10 * time.Second}); err != nil {
			t.Fatalf("ip addr add %v: %v\n%s", a.addr, err, out)
		}
	}
	g := startGnomond(t, pair, gnomondOpts{extra: fmt.Sprintf(`ptp:
  enabled: true
  listen: [%q]
  clock_identity: %q
  allow: ["fd00:201:%x::/64"]
`, srv6, gmIdentity, n)}, ptpWindows*(window+20*time.Second)+30*time.Second)
	g.waitReady(t)
	conf := func(uds string) string {
		return strings.ReplaceAll(ptp4lSlaveConf(pair.CliIf, srv6.String(), uds), "UDPv4", "UDPv6")
	}
	var fails []string
	for attempt := 1; attempt <= ptpWindows; attempt++ {
		got := runPtp4lSlaveConf(t, pair, "gnomond-v6", window, conf, func(uds string) { checkPMCParent(t, pair, uds) })
		p99 := absP99(got.offsets)
		t.Logf("gnomond over UDPv6, window %d: %d offsets, |offset| p99 %.0f ns, median %.0f ns %v", attempt, len(got.offsets), p99, absMedian(got.offsets), got.offsets)
		switch {
		case len(got.offsets) < int(window/time.Second)*3/4:
			fails = append(fails, fmt.Sprintf("window %d: only %d offsets in %v", attempt, len(got.offsets), window))
		case p99 >= 5000:
			fails = append(fails, fmt.Sprintf("window %d: |offset| p99 %.0f ns, want < 5000 ns", attempt, p99))
		default:
			return
		}
	}
	t.Errorf("gnomond as a ptp4l UDPv6 slave's master: %s", strings.Join(fails, "; "))
}
