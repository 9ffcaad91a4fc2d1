package interop

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beevik/ntp"
)

// offsetBound is issue 2's bound on the offset a one-shot client sees. All
// namespaces share one clock, so the true offset is exactly 0.
const offsetBound = 50e-6 // s

// measured collects one statistic per server kind for a final log line that
// puts gnomond next to the chronyd baseline.
type measured struct {
	mu   sync.Mutex
	vals map[string]string
}

func (m *measured) set(kind, v string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.vals == nil {
		m.vals = map[string]string{}
	}
	m.vals[kind] = v
}

func (m *measured) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("gnomond: %s | chronyd baseline: %s", m.vals["gnomond"], m.vals["chronyd"])
}

// forEachServer runs fn against gnomond and, as a baseline measured the same
// way, against chronyd; each in its own namespace pair, in parallel. The
// baseline subtest only logs (its name says so) unless fn asserts on it.
func forEachServer(t *testing.T, fn func(t *testing.T, s *server)) {
	t.Helper()
	requirePeers(t)
	// The group subtest returns only when its parallel subtests are done.
	t.Run("servers", func(t *testing.T) {
		for _, kind := range []string{"gnomond", "chronyd"} {
			t.Run(kind, func(t *testing.T) {
				t.Parallel()
				pair := suite.h.NewPairT(t)
				var s *server
				if kind == "gnomond" {
					s = startGnomond(t, pair, gnomondOpts{}, 60*time.Second)
				} else {
					s = startChronydServer(t, pair, 60*time.Second)
				}
				s.waitReady(t)
				fn(t, s)
				s.stop(t)
			})
		}
	})
}

// TestChronydQ: `chronyd -x -Q` (CAP_SYS_TIME dropped) measures gnomond and
// prints "System clock wrong by X seconds"; |X| < 50 µs. Each run already
// combines 4 samples (iburst, maxsamples 4); three runs are made and their
// median asserted, i.e. two of three runs must meet the bound. A scheduling
// hiccup can spoil one run on a loaded 2-vCPU machine; a server that is
// really off spoils all three.
func TestChronydQ(t *testing.T) {
	var m measured
	forEachServer(t, func(t *testing.T, s *server) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var offs []float64
		for range 3 {
			off, _, err := chronydQ(ctx, s)
			if err != nil {
				t.Fatalf("%s: %v", s.kind, err)
			}
			offs = append(offs, off)
		}
		med := median(offs)
		m.set(s.kind, fmt.Sprintf("runs %v s, median %s", offs, us(med)))
		t.Logf("%s: chronyd -Q offsets %v s, median %s", s.kind, offs, us(med))
		if s.kind == "gnomond" && math.Abs(med) >= offsetBound {
			t.Errorf("gnomond: median chronyd -Q offset %s, want |x| < %s", us(med), us(offsetBound))
		}
	})
	t.Logf("chronyd -Q: %v", &m)
}

// causalitySlack absorbs ntpdig's float conversion of t1 and t4 (Python
// time.time() has ≈ 0.24 µs resolution at today's epoch).
const causalitySlack = time.Microsecond

// ntpdigRuns is how many one-shot ntpdig queries are made of each server
// (≈ 0.2 s each).
const ntpdigRuns = 15

// minDelayOffset is the clock-filter estimate of a set of samples: the
// median offset of the third with the lowest round-trip delay. A sample
// delayed by scheduling on either side has a large delay and a skewed
// offset; the fastest round trips carry the least of that error (the idea of
// RFC 5905 §10's clock filter, which picks the minimum-delay sample).
func minDelayOffset(ts []ntpdigTimes) float64 {
	sorted := slices.Clone(ts)
	slices.SortFunc(sorted, func(a, b ntpdigTimes) int { return cmp.Compare(a.delay(), b.delay()) })
	k := max(1, (len(sorted)+2)/3)
	offs := make([]float64, k)
	for i := range offs {
		offs[i] = sorted[i].offset()
	}
	return median(offs)
}

// TestNtpdig: `ntpdig -d -j` against gnomond, alternating with the same
// query against chronyd in a second namespace pair so that both see the same
// machine load. Asserted for gnomond:
//
//   - every reply: the configured stratum, leap "no-leap";
//   - causality, exact: with one shared clock the server's receive and
//     transmit timestamps must lie inside ntpdig's own [t1, t4] window
//     (t1 ≤ t2 ≤ t3 ≤ t4, read from -d's 32.32 hex dump). ntpdig's noise can
//     only widen the window, so this cannot fail because of the client;
//   - the offset ntpdig sees, |x| < 50 µs (issue 2), estimated from the
//     lowest-delay third of the samples (minDelayOffset): ntpdig takes its
//     timestamps in Python (t1 before it even creates the socket, t4 after
//     the interpreter wakes up), so single offsets carry 100–200 µs of noise
//     on an idle machine (peers.md §5.3) and milliseconds on a loaded one.
//     ntpdig runs under SCHED_FIFO (see ntpdig) to keep other load out of
//     its timestamps; its fixed overhead still biases it by ≈ +25…+30 µs;
//   - |gnomond's estimate − chronyd's estimate| < 50 µs, in which ntpdig's
//     own bias cancels.
//
// If the chronyd baseline itself misses the absolute bound in the same run,
// ntpdig cannot resolve 50 µs on this machine at this moment: the test says
// so loudly and relies on the causality and differential checks. The plain
// medians of ntpdig's JSON offsets are logged too. The two offset bounds get
// one re-measurement (a second window) when the first window misses them;
// the verdicts are printed last, after the servers' logs.
func TestNtpdig(t *testing.T) {
	requirePeers(t)
	// Registered first, so it runs after the servers' log dumps: a failure's
	// reason is the last thing this test prints.
	var verdicts []string
	t.Cleanup(func() {
		for _, v := range verdicts {
			t.Error(v)
		}
	})
	gp, cp := suite.h.NewPairT(t), suite.h.NewPairT(t)
	g := startGnomond(t, gp, gnomondOpts{}, 90*time.Second)
	c := startChronydServer(t, cp, 90*time.Second)
	g.waitReady(t)
	c.waitReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The exact checks fail at once; the offset bounds get one re-measurement
	// (a second window of ntpdigRuns queries each) when the first misses.
	for window := 1; window <= 2; window++ {
		exact, offset := ntpdigWindow(ctx, t, window, g, c)
		if len(exact) > 0 {
			verdicts = append(verdicts, exact...)
			break
		}
		if len(offset) == 0 {
			verdicts = nil
			break
		}
		verdicts = offset
		for _, v := range offset {
			t.Logf("window %d: %s", window, v)
		}
	}
	g.stop(t)
	c.stop(t)
}

// ntpdigWindow makes ntpdigRuns queries of each server, alternating, and
// returns the violated exact checks (stratum, leap, causality) and the
// violated offset bounds.
func ntpdigWindow(ctx context.Context, t *testing.T, window int, servers ...*server) (exact, offset []string) {
	t.Helper()
	jsonOffs := map[string][]float64{}
	times := map[string][]ntpdigTimes{}
	for range ntpdigRuns {
		for _, s := range servers {
			out, err := ntpdig(ctx, s, "-d", "-j", "-t", "2")
			if err != nil {
				return append(exact, fmt.Sprintf("%s: ntpdig: %v\n%s", s.kind, err, out)), nil
			}
			r, err := parseNtpdigJSON(out)
			if err != nil {
				return append(exact, fmt.Sprintf("%s: %v", s.kind, err)), nil
			}
			ts, err := parseNtpdigDebug(out)
			if err != nil {
				return append(exact, fmt.Sprintf("%s: %v", s.kind, err)), nil
			}
			if r.Stratum != s.stratum || r.Leap != "no-leap" {
				exact = append(exact, fmt.Sprintf("%s: ntpdig stratum %d leap %q, want %d \"no-leap\"", s.kind, r.Stratum, r.Leap, s.stratum))
			}
			if v := ts.causalityViolation(); v > causalitySlack && s.kind == "gnomond" {
				exact = append(exact, fmt.Sprintf("gnomond: server timestamps outside the client's window by %v: %v", v, ts))
			}
			jsonOffs[s.kind] = append(jsonOffs[s.kind], r.Offset)
			times[s.kind] = append(times[s.kind], ts)
		}
	}
	est := map[string]float64{}
	for _, kind := range []string{"gnomond", "chronyd"} {
		var dels []float64
		for _, ts := range times[kind] {
			dels = append(dels, ts.delay())
		}
		js, ds := summarize(jsonOffs[kind]), summarize(dels)
		est[kind] = minDelayOffset(times[kind])
		t.Logf("window %d: ntpdig vs %s: min-delay-third offset %s; all %d: median offset %s, robust σ %s, delay min %s median %s",
			window, kind, us(est[kind]), js.n, us(js.median), us(js.robustSigma), us(ds.min), us(ds.median))
	}
	if d := est["gnomond"] - est["chronyd"]; math.Abs(d) >= offsetBound {
		offset = append(offset, fmt.Sprintf("gnomond's ntpdig offset %s differs from chronyd's %s by %s, want < %s",
			us(est["gnomond"]), us(est["chronyd"]), us(d), us(offsetBound)))
	}
	switch {
	case math.Abs(est["gnomond"]) < offsetBound:
	case math.Abs(est["chronyd"]) >= offsetBound:
		t.Logf("!!! NOTE: ntpdig's offset of gnomond (%s) is not within %s, but neither is chronyd's (%s) in the same run: "+
			"ntpdig's own timestamp error exceeds the bound here; the causality and differential checks stand in for it",
			us(est["gnomond"]), us(offsetBound), us(est["chronyd"]))
	default:
		offset = append(offset, fmt.Sprintf("gnomond: ntpdig offset %s, want |x| < %s (chronyd baseline meets it: %s)",
			us(est["gnomond"]), us(offsetBound), us(est["chronyd"])))
	}
	return exact, offset
}

// TestBeevik: github.com/beevik/ntp, running inside the client namespace,
// gets replies that pass Validate() with the configured stratum and no leap
// warning. Its offsets (user-space Go timestamps) are logged.
func TestBeevik(t *testing.T) {
	var m measured
	forEachServer(t, func(t *testing.T, s *server) {
		var offs []float64
		for range 9 {
			r, err := beevikQuery(s.pair.Cli, "", s.hostPort(), 2*time.Second)
			if err != nil {
				t.Fatalf("%s: query: %v", s.kind, err)
			}
			if err := r.Validate(); err != nil {
				t.Errorf("%s: Validate: %v", s.kind, err)
			}
			if int(r.Stratum) != s.stratum || r.Leap != ntp.LeapNoWarning {
				t.Errorf("%s: stratum %d leap %v, want %d LeapNoWarning", s.kind, r.Stratum, r.Leap, s.stratum)
			}
			if r.IsKissOfDeath() {
				t.Errorf("%s: unexpected KoD %q", s.kind, r.KissCode)
			}
			offs = append(offs, r.ClockOffset.Seconds())
		}
		st := summarize(offs)
		m.set(s.kind, fmt.Sprintf("median %s robustσ %s", us(st.median), us(st.robustSigma)))
		if s.kind == "gnomond" && math.Abs(st.median) >= offsetBound {
			t.Errorf("gnomond: median beevik offset %s, want |x| < %s", us(st.median), us(offsetBound))
		}
	})
	t.Logf("beevik/ntp offsets: %v", &m)
}
