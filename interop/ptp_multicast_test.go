package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// ptp4lMcastSlaveConf is peers.md §6.1's multicast E2E slave: software
// stamps, never touching the clock (free_running, kernel_leap 0), one
// offset line per second. Its own logMinDelayReqInterval is the default 0:
// it adopts the master's from the Delay_Resp (peers.md pitfall 10), which
// the test checks.
func ptp4lMcastSlaveConf(iface, uds string) string {
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
summary_interval        -3
uds_address             %s
[%s]
`, uds, iface)
}

// ptp4lMcastMasterConf is §6.1's multicast master: Sync 8 Hz, Announce
// 1 Hz, logMinDelayReqInterval −3, of the same (undisciplined) clock.
func ptp4lMcastMasterConf(iface, uds string) string {
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
logSyncInterval         -3
logAnnounceInterval     0
logMinDelayReqInterval  -3
uds_address             %s
[%s]
masterOnly              1
`, uds, iface)
}

// adoptedDelayReq is what ptp4l prints when a Delay_Resp's
// logMessageInterval changes its Delay_Req rate to 8 Hz.
const adoptedDelayReq = "minimum delay request interval 2^-3"

// foreignLogged matches gnomond's log of a foreign master's Announce with
// the ptp4l master's priority1 and clockClass.
var foreignLogged = regexp.MustCompile(`foreign PTP master announces.*priority1=1 clock_class=6`)

// TestPtp4lMulticastSlave: a ptp4l 3.1.1 multicast E2E slave (software
// timestamps, Sync 8 Hz, Delay_Req 8 Hz as the master says) measures a
// ptp4l multicast master for 30 s, then gnomond's multicast grandmaster
// with the same rates for 30 s, in the same namespaces (one clock: every
// offset is error). A ptp4l master started briefly on the client side must
// be logged by gnomond as a foreign master (and not obeyed); the slave
// must report offsets through the window, gnomond's |offset| p99 must be
// < 5 µs and ≤ 1.5× ptp4l's (up to ptpWindows windows), and pmc on the
// slave must name gnomond's identity and clock class.
func TestPtp4lMulticastSlave(t *testing.T) {
	requirePeers(t)
	netns.Require(t, "ptp4l", "pmc")
	pair := suite.h.NewPairT(t)
	const window = 30 * time.Second
	slaveConf := func(uds string) string { return ptp4lMcastSlaveConf(pair.CliIf, uds) }

	dir := stateDir(t, "ptp4l-mc-master")
	mconf := filepath.Join(dir, "master.cfg")
	if err := os.WriteFile(mconf, []byte(ptp4lMcastMasterConf(pair.SrvIf, filepath.Join(dir, "master.sock"))), 0o644); err != nil {
		t.Fatal(err)
	}
	mp, err := pair.Srv.Start(netns.Spec{Name: "ptp4l-mc-master", Args: []string{"ptp4l", "-f", mconf, "-m", "-q"}, Limit: window + 120*time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Stop()
	ref := runPtp4lSlaveConf(t, pair, "ptp4l-mc", window, slaveConf, nil)
	mp.Stop()
	if !strings.Contains(ref.out, adoptedDelayReq) {
		t.Errorf("the slave did not adopt the ptp4l master's logMinDelayReqInterval −3 (%q):\n%s", adoptedDelayReq, ref.out)
	}
	refP99 := absP99(ref.offsets)
	t.Logf("ptp4l multicast master: %d offsets, |offset| p99 %.0f ns, median %.0f ns %v", len(ref.offsets), refP99, absMedian(ref.offsets), ref.offsets)
	if len(ref.offsets) < int(window/time.Second)*3/4 {
		t.Fatalf("only %d offsets from the ptp4l multicast master in %v:\n%s\nmaster:\n%s", len(ref.offsets), window, ref.out, mp.Output())
	}

	g := startGnomond(t, pair, gnomondOpts{extra: fmt.Sprintf(`ptp:
  enabled: true
  listen: ["0.0.0.0"]
  interface: %q
  clock_identity: %q
  allow: [%q]
  multicast:
    enabled: true
    log_sync_interval: -3
    log_announce_interval: 0
    log_min_delay_req_interval: -3
`, pair.SrvIf, gmIdentity, pair.Prefix)}, ptpWindows*window+150*time.Second)
	g.waitReady(t)
	// A foreign master: the same ptp4l master, now in the client namespace
	// (gnomond holds the server's ports), announcing once a second for at
	// most 10 s. gnomond notes it and obeys nothing.
	fdir := stateDir(t, "ptp4l-mc-foreign")
	fconf := filepath.Join(fdir, "master.cfg")
	if err := os.WriteFile(fconf, []byte(ptp4lMcastMasterConf(pair.CliIf, filepath.Join(fdir, "master.sock"))), 0o644); err != nil {
		t.Fatal(err)
	}
	fp, err := pair.Cli.Start(netns.Spec{Name: "ptp4l-mc-foreign", Args: []string{"ptp4l", "-f", fconf, "-m", "-q"}, Limit: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Stop()
	for deadline := time.Now().Add(10 * time.Second); !foreignLogged.MatchString(g.proc.Output()) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	if !foreignLogged.MatchString(g.proc.Output()) {
		t.Errorf("gnomond did not log the ptp4l master's Announces as foreign within 10 s:\n%s", grepLines(g.proc.Output(), "PTP", "ptp"))
	}
	fp.Stop()
	if m := regexp.MustCompile(`(?m)^gnomon_ptp_foreign_announces_total ([0-9]+)$`).FindStringSubmatch(g.scrape(t)); m == nil || m[1] == "0" {
		t.Errorf("gnomon_ptp_foreign_announces_total: %v, want > 0", m)
	}
	if !foreignLogged.MatchString(g.proc.Output()) {
		t.Logf("foreign ptp4l master log:\n%s", fp.Output())
	}
	var fails []string
	for attempt := 1; attempt <= ptpWindows; attempt++ {
		got := runPtp4lSlaveConf(t, pair, "gnomond-mc", window, slaveConf, func(uds string) { checkPMCParent(t, pair, uds) })
		gotP99 := absP99(got.offsets)
		t.Logf("gnomond multicast window %d: %d offsets, |offset| p99 %.0f ns, median %.0f ns %v", attempt, len(got.offsets), gotP99, absMedian(got.offsets), got.offsets)
		if !strings.Contains(got.out, adoptedDelayReq) {
			t.Errorf("window %d: the slave did not adopt gnomond's logMinDelayReqInterval −3 (%q):\n%s", attempt, adoptedDelayReq, got.out)
		}
		switch {
		case len(got.offsets) < int(window/time.Second)*3/4:
			fails = append(fails, fmt.Sprintf("window %d: only %d offsets in %v", attempt, len(got.offsets), window))
		case !(gotP99 < 5000) || !(gotP99 <= 1.5*refP99):
			fails = append(fails, fmt.Sprintf("window %d: |offset| p99 %.0f ns, want < 5000 ns and ≤ 1.5 × ptp4l's %.0f ns", attempt, gotP99, refP99))
		default:
			fails = nil
		}
		if fails == nil {
			break
		}
	}
	if fails != nil {
		t.Errorf("gnomond as a ptp4l multicast slave's master: %s", strings.Join(fails, "; "))
	}
	t.Logf("gnomond PTP log:\n%s", grepLines(g.proc.Output(), "PTP"))
}
