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
// per side: with ~30 offsets a window's p99 is its maximum, and one
// scheduling outlier (20 µs, ptp4l's own master has them too) decides it.
//
// Round 1 has 30 s windows: the happy path costs what a single comparison
// did. Only if round 1 fails, round 2 measures both sides for 90 s more:
// each pool then holds ≥ ~115 offsets, whose nearest-rank p99 is at most
// the second largest. There is no round 3 (the worst case stays bounded).
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

// ptpAbsLimit is the absolute |offset| p99 gnomond must hold (ns), judged
// whenever ptp4l's own master holds it in the same rounds. When the
// reference misses it too (a loaded machine: 2–5 % of both masters'
// offsets are 9–40 µs scheduling outliers then), the machine, not the
// master, sets the p99, and gnomond is judged against ptp4l alone (the
// 1.5× bound); the log says so.
const ptpAbsLimit = 5000

// comparePTPRounds judges gnomond against the reference in up to ptpRounds
// rounds (see ptpRounds): in each, ref then gnomond measure one window; the
// pooled |offset| p99 of gnomond must be ≤ 1.5 × the pooled p99 of the
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
		refP99, gotP99 := absP99(refPool), absP99(gotPool)
		t.Logf("%s after round %d, pooled: ptp4l master %d offsets, |offset| p99 %.0f ns, median %.0f ns; gnomond %d offsets, |offset| p99 %.0f ns, median %.0f ns",
			what, round, len(refPool), refP99, absMedian(refPool), len(gotPool), gotP99, absMedian(gotPool))
		switch {
		case len(g.offsets) < want:
			t.Logf("%s round %d: gnomond's slave output (last lines):\n%s", what, round, lastLines(g.out, 40))
			fails = append(fails, fmt.Sprintf("round %d: only %d offsets from gnomond in %v (want ≥ %d)", round, len(g.offsets), window, want))
		case !(gotP99 <= 1.5*refP99) || refP99 < ptpAbsLimit && !(gotP99 < ptpAbsLimit):
			fails = append(fails, fmt.Sprintf("round %d: pooled |offset| p99 %.0f ns over %d offsets, want ≤ 1.5 × ptp4l's %.0f ns over %d and < %d ns",
				round, gotP99, len(gotPool), refP99, len(refPool), ptpAbsLimit))
		default:
			if !(refP99 < ptpAbsLimit) {
				t.Logf("%s: NOTE the absolute limit (p99 < %d ns) was not judged: ptp4l's own master missed it (%.0f ns) on this machine now; gnomond was judged against it only", what, ptpAbsLimit, refP99)
			}
			t.Logf("%s: passes in round %d", what, round)
			return
		}
		t.Logf("%s: %s", what, fails[len(fails)-1])
	}
	t.Errorf("%s: %s", what, strings.Join(fails, "; "))
}
