package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The PTP accuracy comparisons (TestPtp4lUnicastSlave,
// TestPtp4lMulticastSlave) run in rounds. Each round measures the reference
// (a ptp4l master of the same clock) for one window and then gnomond for one
// window of the same length, next to each other, so both see the same
// machine load. The verdict is on the offsets of all rounds so far, pooled
// per side, at their 95th percentile.
//
// Why p95 and not p99: a free-running ptp4l slave reports one offset a
// second (the last Sync of each freq_est_interval), so a pool holds 30–120
// offsets and its nearest-rank p99 is its largest or second-largest value.
// Both masters send 0.1–1 % of their Syncs 5–80 µs late on this VM (an
// interrupt on the sending CPU between the TX stamp and the delivery; more
// on a loaded machine), so that p99 counted one or two rare events and
// failed about one fresh-clone run in two by chance while gnomond's tail
// matched ptp4l's. The tail is judged where it can be resolved: the
// Sync-path tests (TestPTPSyncPath, TestPTPSyncPathUnicast) measure every
// Sync of both masters in the same windows, about 1,900 a side a minute.
// Here p95 is the 2nd largest of a 30 s round and the 7th largest of both
// rounds pooled: one late Sync does not decide it, a master that is worse
// in the bulk of its offsets (or late on more than a few per cent of its
// Syncs) still fails.
//
// Round 1 has 30 s windows: the happy path costs what a single comparison
// did. Only if round 1 fails, round 2 measures both sides for 90 s more
// (≥ ~115 offsets a pool). There is no round 3 (the worst case stays
// bounded).
const (
	ptpRounds       = 2
	ptpFirstWindow  = 30 * time.Second
	ptpLaterWindows = 90 * time.Second
)

// ptpRoundWindow is the window length of round (1-based).
func ptpRoundWindow(round int) time.Duration {
	if round == 1 {
		return ptpFirstWindow
	}
	return ptpLaterWindows
}

// ptpMinOffsets is the fewest offsets a ptp4l slave (free_running: one line
// a second) must report in a window of length d: 3/4 of its seconds. Fewer
// mean it lost its master for a while (unicast: a grant not renewed).
func ptpMinOffsets(d time.Duration) int { return int(d/time.Second) * 3 / 4 }

// ptpMeasure measures one side for one window: it starts the side's master,
// runs the ptp4l slave against it for window and stops the master again (the
// sides take turns on the server namespace's PTP ports).
type ptpMeasure func(round int, window time.Duration) slaveRun

// ptpAbsLimit is the absolute |offset| p95 gnomond must hold (ns), judged
// whenever ptp4l's own master holds it in the same rounds. When the
// reference misses it too (a loaded machine: 2–5 % of both masters'
// offsets are 9–40 µs scheduling outliers then), the machine, not the
// master, sets the tail, and gnomond is judged against ptp4l alone (the
// 1.5× bound); the log says so.
const ptpAbsLimit = 5000

// comparePTPRounds judges gnomond against the reference in up to ptpRounds
// rounds (see ptpRounds): in each, ref then gnomond measure one window; the
// pooled |offset| p95 of gnomond must be ≤ 1.5 × the pooled p95 of the
// reference and < ptpAbsLimit (when the reference's is), and gnomond's
// window must hold ≥ ptpMinOffsets offsets.
// The first round that passes passes; after the last, every round's failure
// is reported. A reference window short of offsets fails the test at once:
// there is nothing to compare with. what names the comparison in the logs.
func comparePTPRounds(t *testing.T, what string, ref, gnomond ptpMeasure) {
	t.Helper()
	var refPool, gotPool []float64
	var fails []string
	for round := 1; round <= ptpRounds; round++ {
		window := ptpRoundWindow(round)
		want := ptpMinOffsets(window)
		r := ref(round, window)
		t.Logf("%s round %d, ptp4l master (%v): %d offsets, |offset| p99 %.0f ns, median %.0f ns %v",
			what, round, window, len(r.offsets), absP99(r.offsets), absMedian(r.offsets), r.offsets)
		if len(r.offsets) < want {
			t.Fatalf("%s round %d: only %d offsets from the ptp4l master in %v (want ≥ %d):\n%s", what, round, len(r.offsets), window, want, lastLines(r.out, 40))
		}
		g := gnomond(round, window)
		t.Logf("%s round %d, gnomond (%v): %d offsets, |offset| p99 %.0f ns, median %.0f ns %v",
			what, round, window, len(g.offsets), absP99(g.offsets), absMedian(g.offsets), g.offsets)
		refPool = append(refPool, r.offsets...)
		gotPool = append(gotPool, g.offsets...)
		refP95, gotP95 := absQuantile(refPool, 0.95), absQuantile(gotPool, 0.95)
		t.Logf("%s after round %d, pooled: ptp4l master %d offsets, |offset| p95 %.0f ns, p99 %.0f ns, median %.0f ns; gnomond %d offsets, |offset| p95 %.0f ns, p99 %.0f ns, median %.0f ns",
			what, round, len(refPool), refP95, absP99(refPool), absMedian(refPool), len(gotPool), gotP95, absP99(gotPool), absMedian(gotPool))
		switch {
		case len(g.offsets) < want:
			t.Logf("%s round %d: gnomond's slave output (last lines):\n%s", what, round, lastLines(g.out, 40))
			fails = append(fails, fmt.Sprintf("round %d: only %d offsets from gnomond in %v (want ≥ %d)", round, len(g.offsets), window, want))
		case !(gotP95 <= 1.5*refP95) || refP95 < ptpAbsLimit && !(gotP95 < ptpAbsLimit):
			fails = append(fails, fmt.Sprintf("round %d: pooled |offset| p95 %.0f ns over %d offsets, want ≤ 1.5 × ptp4l's %.0f ns over %d and < %d ns",
				round, gotP95, len(gotPool), refP95, len(refPool), ptpAbsLimit))
		default:
			if !(refP95 < ptpAbsLimit) {
				t.Logf("%s: NOTE the absolute limit (p95 < %d ns) was not judged: ptp4l's own master missed it (%.0f ns) on this machine now; gnomond was judged against it only", what, ptpAbsLimit, refP95)
			}
			t.Logf("%s: passes in round %d", what, round)
			return
		}
		t.Logf("%s: %s", what, fails[len(fails)-1])
	}
	t.Errorf("%s: %s", what, strings.Join(fails, "; "))
}
