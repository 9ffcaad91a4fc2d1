package interop

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	beevik "github.com/beevik/ntp"

	"github.com/gnomon-time/gnomon/internal/netns"
)

// Bounds of the discipline test (issue 3 §6, acceptance 3). All the clocks
// involved are the one host CLOCK_REALTIME, so the true offset of gnomond's
// virtual clock is whatever its discipline made of it: ideally 0.
const (
	// initialOffset is how far ahead of the host clock gnomond's virtual
	// clock starts (--virtual-clock-offset): above the default makestep
	// threshold (1 ms), so the first update steps and the source runner restarts
	// the associations, as it would for a real clock that is off.
	initialOffset = 3 * time.Millisecond
	// disciplineLock bounds the time from start until gnomond serves
	// stratum 2 and its own offset is below maxMeanOffset (iburst at 4 Hz
	// polls needs a few seconds).
	disciplineLock = 30 * time.Second
	// disciplineMeasure is how long the chronyd client measures gnomond.
	disciplineMeasure = 24 * time.Second
	// disciplineWarmup is skipped before the client's statistics.
	disciplineWarmup = 4 * time.Second
	// maxMeanOffset is acceptance 3's bound on the client's mean offset.
	maxMeanOffset = 5e-6
	// unreachableWithin bounds how long a stopped source takes to show
	// gnomon_source_reachable 0: 8 unanswered polls at 0.25 s, plus the
	// poll back-off the client core applies while timeouts accumulate.
	unreachableWithin = 30 * time.Second
)

// startChronydUpstream runs chronyd -x (CAP_SYS_TIME dropped by the
// harness) as a `local stratum 1` server bound to addr on pair.Cli.
func startChronydUpstream(t *testing.T, pair *netns.Pair, addr netip.Addr, limit time.Duration) *server {
	t.Helper()
	dir := stateDir(t, "chronyd-up")
	p := startChronyd(t, pair.Cli, dir, "chronyd-upstream", "chronyd upstream "+addr.String(), limit,
		[]string{"local stratum 1", "allow " + pair.Prefix.String(), "bindaddress " + addr.String()},
		[]string{"clientloglimit 10000000"})
	return &server{kind: "chronyd", pair: pair, addr: addr, stratum: 1, proc: p, dir: dir}
}

// scrapeValue returns one metric, failing the test if it is not exposed.
func scrapeValue(t *testing.T, text, name, labels string) float64 {
	t.Helper()
	v, err := metricValue(text, name, labels)
	if err != nil {
		t.Fatalf("gnomond metrics: %v", err)
	}
	return v
}

// TestDisciplineFromThreeChronyd: gnomond disciplines its virtual clock from
// three chronyd servers and serves it; a chronyd client measuring gnomond
// sees |mean offset| < 5 µs; gnomond's own offset converges; when one
// chronyd is stopped, selection carries on (stratum 2, still served) and
// the stopped source becomes unreachable in /metrics.
func TestDisciplineFromThreeChronyd(t *testing.T) {
	requirePeers(t)
	limit := 150 * time.Second
	pair := suite.h.NewPairT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var ups []*server
	var srcYAML strings.Builder
	srcYAML.WriteString("sources:\n")
	for i := range 3 {
		a := pair.Prefix.Addr().As4()
		a[3] = byte(11 + i)
		addr := netip.AddrFrom4(a)
		if err := pair.AddCliAddr(ctx, addr); err != nil {
			t.Fatal(err)
		}
		ups = append(ups, startChronydUpstream(t, pair, addr, limit))
		// 4 Hz polls: enough samples for the servo within the test's
		// time; chronyd answers them without rate limiting.
		fmt.Fprintf(&srcYAML, "  - ntp: {address: %q, iburst: true, minpoll: -2, maxpoll: -2}\n", addr.String())
	}
	// The upstreams must answer before gnomond starts polling, or its
	// start-up wait and iburst are spent on silence.
	for _, u := range ups {
		u.waitReadyFrom(t, pair.Srv)
	}
	start := time.Now()
	g := startGnomond(t, pair, gnomondOpts{sources: srcYAML.String(), stratum: 2, extra: "clock:\n  mode: virtual\n",
		args: []string{"--virtual-clock-offset", initialOffset.String()}}, limit)
	g.waitReady(t)

	// 1. Lock and converge: stratum 2, locked mode, the 3 ms stepped away
	// (one step) and gnomond's own last offset below 5 µs.
	var m string
	var lockedAfter, convergedAfter time.Duration
	for {
		m = g.scrape(t)
		st, _ := metricValue(m, "gnomon_sync_stratum", "")
		locked, _ := metricValue(m, "gnomon_clock_sync_mode", `mode="locked"`)
		steps, _ := metricValue(m, "gnomon_clock_steps_total", "")
		off, _ := metricValue(m, "gnomon_clock_offset_seconds", "")
		if st == 2 && locked == 1 && lockedAfter == 0 {
			lockedAfter = time.Since(start)
		}
		if lockedAfter != 0 && steps == 1 && math.Abs(off) < maxMeanOffset {
			convergedAfter = time.Since(start)
			break
		}
		if time.Since(start) > disciplineLock {
			t.Fatalf("gnomond not locked at stratum 2 with |offset| < %s within %v; metrics:\n%s", us(maxMeanOffset), disciplineLock,
				grepMetrics(m, "gnomon_sync_", "gnomon_clock_", "gnomon_source_", "gnomon_discipline_"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("gnomond (virtual clock started %v ahead) locked %v and converged (|last offset| < %s) %v after start; straddling samples discarded: %v",
		initialOffset, lockedAfter.Round(time.Millisecond), us(maxMeanOffset), convergedAfter.Round(time.Millisecond),
		scrapeValue(t, m, "gnomon_discipline_samples_straddled_total", ""))

	// 2. A chronyd client measures gnomond (interleaved, 16 Hz) while
	// gnomond's own view is scraped once a second.
	cl := startChronydClient(t, pair, g.addr, limit, "port 0")
	var ownOffsets, errBounds []float64
	// The window is disciplineMeasure; when a loaded machine has left the
	// client fewer than minGood good samples by then, it is extended
	// (bounded: once more the same length) instead of judging too few.
	const minGood = 100
	measureEnd := time.Now().Add(disciplineMeasure)
	hardEnd := measureEnd.Add(disciplineMeasure)
	for {
		if now := time.Now(); !now.Before(measureEnd) && (now.After(hardEnd) || goodAfterWarmup(cl) >= minGood) {
			break
		}
		time.Sleep(time.Second)
		m = g.scrape(t)
		ownOffsets = append(ownOffsets, scrapeValue(t, m, "gnomon_clock_offset_seconds", ""))
		errBounds = append(errBounds, scrapeValue(t, m, "gnomon_clock_error_bound_seconds", ""))
		if st := scrapeValue(t, m, "gnomon_sync_stratum", ""); st != 2 {
			t.Errorf("gnomond stratum %v during the measurement, want 2", st)
		}
	}
	res := collectXleave(cl, g)
	if res.err != nil {
		t.Fatalf("chronyd client: %v", res.err)
	}
	t0 := res.all[0].at
	var offs []float64
	for _, x := range res.all {
		if x.at.Sub(t0) >= disciplineWarmup && x.good() {
			offs = append(offs, x.offset)
		}
	}
	if len(offs) < minGood {
		t.Fatalf("chronyd client: %d good samples after warm-up, want ≥ %d (of ~%d at 16 Hz)", len(offs), minGood, int(disciplineMeasure.Seconds()*16))
	}
	// The statistic (stated as acceptance 3 asks): the mean of the
	// client's offsets after warm-up, with outliers beyond 5 robust σ
	// (1.4826 × MAD) of the median removed, since single scheduling
	// hiccups of tens of µs on a shared machine would dominate a plain
	// mean of ~300 samples; the median itself must meet the bound too.
	sum := summarize(offs)
	var kept []float64
	for _, x := range offs {
		if math.Abs(x-sum.median) <= 5*math.Max(sum.robustSigma, 1e-7) {
			kept = append(kept, x)
		}
	}
	trimmed := summarize(kept)
	own := summarize(ownOffsets[len(ownOffsets)/2:])
	t.Logf("chronyd client → gnomond: n=%d (kept %d) median=%s trimmed mean=%s robustσ=%s mean(all)=%s min=%s max=%s",
		len(offs), len(kept), us(sum.median), us(trimmed.mean), us(sum.robustSigma), us(sum.mean), us(sum.min), us(sum.max))
	t.Logf("gnomond's own offset over the second half: median=%s max|x|=%s; error bound last=%s",
		us(own.median), us(math.Max(math.Abs(own.min), math.Abs(own.max))), us(errBounds[len(errBounds)-1]))
	if math.Abs(trimmed.mean) >= maxMeanOffset || math.Abs(sum.median) >= maxMeanOffset {
		t.Errorf("chronyd client sees gnomond at trimmed mean %s, median %s: want |x| < %s",
			us(trimmed.mean), us(sum.median), us(maxMeanOffset))
	}
	// gnomond's own view converges: its last-update offsets settle within
	// the same bound (median of the second half, and no second-half value
	// beyond 10× it), and its error bound is finite and below 1 ms.
	if math.Abs(own.median) >= maxMeanOffset {
		t.Errorf("gnomond's own offset median over the second half %s, want |x| < %s", us(own.median), us(maxMeanOffset))
	}
	if math.Max(math.Abs(own.min), math.Abs(own.max)) >= 10*maxMeanOffset {
		t.Errorf("gnomond's own offset reached %s/%s in the second half, want within ±%s", us(own.min), us(own.max), us(10*maxMeanOffset))
	}
	if eb := errBounds[len(errBounds)-1]; math.IsInf(eb, 0) || eb <= 0 || eb > 1e-3 {
		t.Errorf("gnomond error bound %v s, want finite, > 0 and < 1 ms", eb)
	}
	if steps := scrapeValue(t, m, "gnomon_clock_steps_total", ""); steps != 1 {
		t.Errorf("gnomond stepped %v times, want 1 (the initial %v only)", steps, initialOffset)
	}

	// 3. Stop one upstream: gnomond stays locked at stratum 2 and serves;
	// the stopped source goes unreachable.
	stopped := ups[0]
	stopped.stop(t)
	stopAt := time.Now()
	label := fmt.Sprintf("source=%q", stopped.addr.String())
	var unreachableAfter time.Duration
	for {
		m = g.scrape(t)
		if v, err := metricValue(m, "gnomon_source_reachable", label); err == nil && v == 0 {
			unreachableAfter = time.Since(stopAt)
			break
		}
		if time.Since(stopAt) > unreachableWithin {
			t.Fatalf("stopped source still reachable after %v:\n%s", unreachableWithin, grepMetrics(m, "gnomon_source_"))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("stopped source %s unreachable %v after the stop", stopped.addr, unreachableAfter.Round(time.Millisecond))
	selected := 0
	for _, u := range ups[1:] {
		l := fmt.Sprintf("source=%q", u.addr.String())
		if v := scrapeValue(t, m, "gnomon_source_reachable", l); v != 1 {
			t.Errorf("running source %s: reachable %v, want 1", u.addr, v)
		}
		selected += int(scrapeValue(t, m, "gnomon_source_selected", l))
	}
	if selected != 1 {
		t.Errorf("%d of the running sources selected, want 1:\n%s", selected, grepMetrics(m, "gnomon_source_"))
	}
	if v := scrapeValue(t, m, "gnomon_source_selected", label); v != 0 {
		t.Errorf("stopped source still selected")
	}
	if v := scrapeValue(t, m, "gnomon_sync_synchronized", ""); v != 1 {
		t.Errorf("gnomond unsynchronised after one of three sources stopped")
	}
	refs := map[uint32]bool{}
	for _, u := range ups[1:] {
		a := u.addr.As4()
		refs[uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3])] = true
	}
	// The reference ID moves to the new peer at its first clock update
	// (a quarter second at 4 Hz); allow a few seconds.
	var r *beevik.Response
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		r, err = beevikQuery(pair.Cli, "", g.hostPort(), 2*time.Second)
		if err == nil && r.Stratum == 2 && r.Leap == 0 && refs[r.ReferenceID] || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("query gnomond after the stop: %v", err)
	}
	if r.Stratum != 2 || r.Leap != 0 || !refs[r.ReferenceID] {
		t.Errorf("gnomond after the stop: stratum %d leap %d refid %08x, want stratum 2, leap 0, refid of a running upstream",
			r.Stratum, r.Leap, r.ReferenceID)
	}
	g.stop(t)
	for _, u := range ups[1:] {
		u.stop(t)
	}
}

// TestUnreachableSourcesUnsynchronised is acceptance 2: sources that never
// answer and no local fallback → replies say unsynchronised (LI=3,
// stratum 0 on the wire).
func TestUnreachableSourcesUnsynchronised(t *testing.T) {
	requirePeers(t)
	pair := suite.h.NewPairT(t)
	// Nothing listens on these addresses (inside the pair's prefix, never
	// assigned: ARP fails and requests vanish).
	a := pair.Prefix.Addr().As4()
	a[3] = 201
	b := a
	b[3] = 202
	src := fmt.Sprintf("sources:\n  - ntp: {address: %q, iburst: true, minpoll: -2, maxpoll: -2}\n  - ntp: {address: %q, iburst: true, minpoll: -2, maxpoll: -2}\n",
		netip.AddrFrom4(a).String(), netip.AddrFrom4(b).String())
	g := startGnomond(t, pair, gnomondOpts{sources: src, stratum: 0}, 40*time.Second)
	g.waitReady(t)
	// Well past the engine's start-up wait (8 s) is not needed for this
	// check: the engine publishes unsynchronised from the start and only
	// a selected source could change that. Query a few times over 3 s.
	for i := range 4 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		r, err := beevikQuery(pair.Cli, "", g.hostPort(), 2*time.Second)
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		if r.Leap != 3 || r.Stratum != 0 {
			t.Errorf("query %d: leap %d stratum %d, want leap 3 (unsynchronised) stratum 0", i, r.Leap, r.Stratum)
		}
	}
	m := g.scrape(t)
	if v := scrapeValue(t, m, "gnomon_sync_synchronized", ""); v != 0 {
		t.Errorf("gnomon_sync_synchronized %v, want 0", v)
	}
	if v := scrapeValue(t, m, "gnomon_source_reachable", fmt.Sprintf("source=%q", netip.AddrFrom4(a).String())); v != 0 {
		t.Errorf("unanswering source reachable %v, want 0", v)
	}
	if v := scrapeValue(t, m, "gnomon_source_polls_total", fmt.Sprintf("source=%q", netip.AddrFrom4(a).String())); v < 2 {
		t.Errorf("unanswering source polled %v times, want ≥ 2 (is it polled at all?)", v)
	}
	g.stop(t)
}

// grepMetrics returns the exposition lines starting with any prefix.
func grepMetrics(text string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// goodAfterWarmup counts the client's good samples so far after the
// warm-up (0 if its log cannot be read yet).
func goodAfterWarmup(cl *chronydClient) int {
	all, err := cl.measurements()
	if err != nil || len(all) == 0 {
		return 0
	}
	n := 0
	for _, x := range all {
		if x.at.Sub(all[0].at) >= disciplineWarmup && x.good() {
			n++
		}
	}
	return n
}
