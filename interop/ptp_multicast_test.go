package interop

import (
	"fmt"
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
func ptp4lMcastMasterConf(iface, uds string) string { return ptp4lMcastMasterConfSync(iface, uds, -3) }

// ptp4lMcastMasterConfSync is ptp4lMcastMasterConf with Sync every
// 2^logSync s.
func ptp4lMcastMasterConfSync(iface, uds string, logSync int) string {
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
logSyncInterval         %d
logAnnounceInterval     0
logMinDelayReqInterval  -3
uds_address             %s
[%s]
masterOnly              1
`, logSync, uds, iface)
}

// gnomondMcastOpts configure gnomond as the multicast grandmaster of
// pair's server interface with Sync every 2^logSync s, Announce at 1 Hz
// and logMinDelayReqInterval −3 (ptp4lMcastMasterConfSync's rates).
func gnomondMcastOpts(pair *netns.Pair, logSync int) gnomondOpts {
	return gnomondOpts{extra: fmt.Sprintf(`ptp:
  enabled: true
  listen: ["0.0.0.0"]
  interface: %q
  clock_identity: %q
  allow: [%q]
  multicast:
    enabled: true
    log_sync_interval: %d
    log_announce_interval: 0
    log_min_delay_req_interval: -3
`, pair.SrvIf, gmIdentity, pair.Prefix, logSync)}
}

// adoptedDelayReq is what ptp4l prints when a Delay_Resp's
// logMessageInterval changes its Delay_Req rate to 8 Hz.
const adoptedDelayReq = "minimum delay request interval 2^-3"

// foreignLogged matches gnomond's log of a foreign master's Announce with
// the ptp4l master's priority1 and clockClass.
var foreignLogged = regexp.MustCompile(`foreign PTP master announces.*priority1=1 clock_class=6`)

// TestPtp4lMulticastSlave: a ptp4l 3.1.1 multicast E2E slave (software
// timestamps, Sync 8 Hz, Delay_Req 8 Hz as the master says) measures a
// ptp4l multicast master and gnomond's multicast grandmaster with the same
// rates in the same namespaces (one clock: every offset is error). The two
// masters take turns on the server's PTP ports in rounds
// (comparePTPRounds: a 30 s window each, and only if that fails, 90 s more
// each), gnomond started afresh for each of its windows and stopped
// cleanly after it. In every window the slave must adopt the master's
// logMinDelayReqInterval and report offsets throughout; gnomond's pooled
// |offset| p95 must be ≤ 1.5× ptp4l's pooled p95 and < 5 µs (when ptp4l's
// is: ptpAbsLimit; the tail is TestPTPSyncPath's), and pmc on the
// slave must name gnomond's identity and clock class. Before gnomond's
// first window a ptp4l master started briefly on the client side must be
// logged by gnomond as a foreign master (and not obeyed). About 85 s when
// round 1 passes; about 5 min when it takes both rounds (each process is
// bounded by its Limit, every wait by a deadline).
func TestPtp4lMulticastSlave(t *testing.T) {
	requirePeers(t)
	netns.Require(t, "ptp4l", "pmc")
	pair := suite.h.NewPairT(t)
	slaveConf := func(uds string) string { return ptp4lMcastSlaveConf(pair.CliIf, uds) }

	ref := func(round int, window time.Duration) slaveRun {
		mp, _ := startPtp4l(t, pair.Srv, "ptp4l-mc-master", func(uds string) string { return ptp4lMcastMasterConf(pair.SrvIf, uds) }, window+90*time.Second)
		defer mp.Stop()
		r := runPtp4lSlaveConf(t, pair, "ptp4l-mc", window, slaveConf, nil)
		if !strings.Contains(r.out, adoptedDelayReq) {
			t.Errorf("round %d: the slave did not adopt the ptp4l master's logMinDelayReqInterval −3 (%q):\n%s", round, adoptedDelayReq, r.out)
		}
		if len(r.offsets) < ptpMinOffsets(window) {
			t.Logf("ptp4l multicast master output:\n%s", mp.Output())
		}
		return r
	}
	opts := gnomondMcastOpts(pair, -3)
	gnomond := func(round int, window time.Duration) slaveRun {
		g := startGnomond(t, pair, opts, window+120*time.Second)
		g.waitReady(t)
		if round == 1 {
			checkForeignMaster(t, pair, g)
		}
		got := runPtp4lSlaveConf(t, pair, "gnomond-mc", window, slaveConf, func(uds string) { checkPMCParent(t, pair, uds) })
		if !strings.Contains(got.out, adoptedDelayReq) {
			t.Errorf("round %d: the slave did not adopt gnomond's logMinDelayReqInterval −3 (%q):\n%s", round, adoptedDelayReq, got.out)
		}
		g.stop(t)
		t.Logf("gnomond PTP log, round %d:\n%s", round, grepLines(g.proc.Output(), "PTP"))
		return got
	}
	comparePTPRounds(t, "gnomond as a ptp4l multicast slave's master", ref, gnomond)
}

// checkForeignMaster starts a ptp4l multicast master in the client
// namespace (gnomond holds the server's ports), announcing once a second for
// at most 10 s, and checks that gnomond notes it (log and
// gnomon_ptp_foreign_announces_total) and obeys nothing.
func checkForeignMaster(t *testing.T, pair *netns.Pair, g *server) {
	t.Helper()
	fp, _ := startPtp4l(t, pair.Cli, "ptp4l-mc-foreign", func(uds string) string { return ptp4lMcastMasterConf(pair.CliIf, uds) }, 30*time.Second)
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
}
