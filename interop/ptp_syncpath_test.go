package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/internal/netns"
	"github.com/gnomon-time/gnomon/ptp"
	ptpload "github.com/gnomon-time/gnomon/ptp/loadgen"
)

// Sync-path comparisons (TestPTPSyncPath, TestPTPSyncPathUnicast): the
// Sync rate of both masters, the window of one round, the rounds, and what
// counts as a late Sync (the generator's bound, which it counts itself).
const (
	syncPathLogSync = -5 // 32 Hz
	syncPathWindow  = 60 * time.Second
	syncPathRounds  = 2
	syncPathLate    = ptpload.TransitLate
	// syncPathExcess is how much larger gnomond's share of late Syncs may
	// be than ptp4l's in the same windows. Measured: gnomond before the
	// kernel sleep 1.0–1.3 %, after it 0.2–0.4 % (8 ms sleep chunks);
	// ptp4l's master 0–0.9 % (multicast and unicast, same windows). With
	// ≈ 1,900 Syncs a side the difference of two such shares has a
	// standard error of ≈ 0.2 %.
	syncPathExcess = 0.005
)

// syncPaths listens on pair's client interface for the multicast Syncs and
// Follow_Ups of the master on the server side for d and returns, per Sync,
// its kernel RX stamp minus its Follow_Up's precise origin (ns). Both are
// one clock, so that is the Sync's time from its software TX stamp to its
// delivery. The TAI − UTC offset on the wire drops out (whole seconds).
func syncPaths(pair *netns.Pair, d time.Duration) ([]int64, error) {
	var ev, gen *hwts.Conn
	err := pair.Cli.Do(func() error {
		var err error
		cfg := hwts.Config{Addr: netip.AddrPortFrom(netip.IPv4Unspecified(), ptp.EventPort), Interface: pair.CliIf,
			Timestamping: hwts.ModeSoftware, Traffic: hwts.TrafficPTP, Multicast: []netip.Addr{ptp.Group(false)}}
		if ev, err = hwts.Listen(context.Background(), cfg); err != nil {
			return err
		}
		cfg.Addr, cfg.Timestamping = netip.AddrPortFrom(netip.IPv4Unspecified(), ptp.GeneralPort), hwts.ModeNone
		if gen, err = hwts.Listen(context.Background(), cfg); err != nil {
			ev.Close()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sync-path listener: %w", err)
	}
	defer ev.Close()
	defer gen.Close()
	deadline := time.Now().Add(d)
	ev.SetReadDeadline(deadline)
	gen.SetReadDeadline(deadline)
	var mu sync.Mutex
	rx, origin := map[uint16]time.Time{}, map[uint16]time.Time{}
	var paths []int64
	var errs [2]error
	// half records one half of Sync seq's exchange (its RX stamp when isRX,
	// else its precise origin); the second half makes a path.
	half := func(seq uint16, t time.Time, isRX bool) {
		mu.Lock()
		defer mu.Unlock()
		mine, other := origin, rx
		if isRX {
			mine, other = rx, origin
		}
		o, ok := other[seq]
		if !ok {
			mine[seq] = t
			return
		}
		delete(other, seq)
		rxAt, originAt := o, t
		if isRX {
			rxAt, originAt = t, o
		}
		// The wire's TAI − UTC offset is whole seconds: Transit drops them.
		paths = append(paths, ptpload.Transit(rxAt.UnixNano(), int64(originAt.Nanosecond())))
	}
	read := func(c *hwts.Conn, want protocol.MessageType, i int) {
		msgs := []hwts.Message{{Buf: make([]byte, ptp.MaxMessageLen)}}
		for {
			n, err := c.ReadBatch(msgs)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) && time.Now().Before(deadline) {
					errs[i] = err
				}
				return
			}
			m := &msgs[0]
			if n != 1 {
				continue
			}
			h, v := ptp.ParseHeader(m.Buf[:m.N], 0)
			if v != ptp.VerdictAnswered || h.Type != want {
				continue
			}
			if want == protocol.MessageSync { // its receive stamp
				half(h.Sequence, m.RX.Time, true)
				continue
			}
			var f protocol.FollowUp
			if f.UnmarshalBinary(m.Buf[:m.N]) != nil {
				continue
			}
			half(h.Sequence, f.PreciseOriginTimestamp.Time(), false)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); read(ev, protocol.MessageSync, 0) }()
	go func() { defer wg.Done(); read(gen, protocol.MessageFollowUp, 1) }()
	wg.Wait()
	return paths, errors.Join(errs[:]...)
}

// pathStats are a side's paths in a round or pooled.
type pathStats struct {
	n          int
	p50, p99   time.Duration
	max        time.Duration
	late       int // paths > syncPathLate
	lateShare  float64
	lateValues []time.Duration
}

func statsOf(paths []int64) pathStats {
	a := slices.Clone(paths)
	slices.Sort(a)
	s := pathStats{n: len(a)}
	if len(a) == 0 {
		return s
	}
	at := func(q float64) time.Duration { return time.Duration(a[int(q*float64(len(a)-1))]) }
	s.p50, s.p99, s.max = at(0.5), at(0.99), time.Duration(a[len(a)-1])
	for _, x := range a {
		if time.Duration(x) > syncPathLate {
			s.late++
			s.lateValues = append(s.lateValues, time.Duration(x))
		}
	}
	s.lateShare = float64(s.late) / float64(len(a))
	return s
}

func (s pathStats) String() string {
	return fmt.Sprintf("%d Syncs, path p50 %v p99 %v max %v, %d later than %v (%.2f %%) %v",
		s.n, s.p50, s.p99, s.max, s.late, syncPathLate, 100*s.lateShare, s.lateValues)
}

// lateCount is one side's Syncs in a round (or pooled) and how many of
// them were later than syncPathLate.
type lateCount struct{ n, late int }

func (c lateCount) share() float64 {
	if c.n == 0 {
		return 0
	}
	return float64(c.late) / float64(c.n)
}

// judgeSyncPaths measures both masters in the same windows, up to
// syncPathRounds rounds (measure returns a round's counts, the ptp4l
// master's first, and fails the test itself when a side delivered too few
// Syncs). gnomond's pooled share of late Syncs must be at most
// syncPathExcess above ptp4l's; the first round that holds passes.
func judgeSyncPaths(t *testing.T, what string, measure func(round int) (ref, gn lateCount)) {
	t.Helper()
	var refPool, gnPool lateCount
	var verdict string
	for round := 1; round <= syncPathRounds; round++ {
		ref, gn := measure(round)
		refPool.n, refPool.late = refPool.n+ref.n, refPool.late+ref.late
		gnPool.n, gnPool.late = gnPool.n+gn.n, gnPool.late+gn.late
		limit := refPool.share() + syncPathExcess
		verdict = fmt.Sprintf("%s after round %d, pooled: gnomond %d of %d Syncs later than %v (%.2f %%), want ≤ ptp4l's %d of %d (%.2f %%) + %.1f %% = %.2f %%",
			what, round, gnPool.late, gnPool.n, syncPathLate, 100*gnPool.share(), refPool.late, refPool.n, 100*refPool.share(), 100*syncPathExcess, 100*limit)
		t.Log(verdict)
		if gnPool.share() <= limit {
			return
		}
	}
	t.Error(verdict)
}

// TestPTPSyncPath: gnomond's multicast grandmaster and ptp4l's, side by
// side in two namespace pairs and the same windows (so the same machine
// load), at 32 Hz; a kernel-stamping listener on each client side measures
// every Sync's path from its software TX stamp to its delivery
// (syncPaths), ≈ 1,900 Syncs a side a minute where a ptp4l slave reports
// one sample a second. Anything that delays a Sync in the sender's kernel
// after its stamp lands there whole: gnomond's sender woken by a Go timer
// had 1.0–1.3 % of its Syncs 5–45 µs late (the runtime's other threads
// interrupting its CPU), ptp4l's master 0–0.9 %. gnomond's share of
// Syncs later than 5 µs must be at most syncPathExcess (0.5 %) above
// ptp4l's, pooled over the rounds so far (a second 60 s round only when
// the first fails: judgeSyncPaths), and each side must deliver ≥ 3/4 of
// its Syncs in the window. About 70 s.
func TestPTPSyncPath(t *testing.T) {
	requirePeers(t)
	netns.Require(t, "ptp4l")
	refPair, gnPair := suite.h.NewPairT(t), suite.h.NewPairT(t)
	limit := syncPathRounds*syncPathWindow + 60*time.Second
	mp, _ := startPtp4l(t, refPair.Srv, "ptp4l-mc-master", func(uds string) string {
		return ptp4lMcastMasterConfSync(refPair.SrvIf, uds, syncPathLogSync)
	}, limit)
	defer mp.Stop()
	g := startGnomond(t, gnPair, gnomondMcastOpts(gnPair, syncPathLogSync), limit)
	g.waitReady(t)
	defer g.stop(t)
	// ptp4l turns master after its announce receipt timeout (3 s).
	time.Sleep(5 * time.Second)

	perSecond := 1 << -syncPathLogSync
	want := int(syncPathWindow/time.Second) * perSecond * 3 / 4
	judgeSyncPaths(t, "multicast", func(round int) (lateCount, lateCount) {
		var ref, gn []int64
		var refErr, gnErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); ref, refErr = syncPaths(refPair, syncPathWindow) }()
		go func() { defer wg.Done(); gn, gnErr = syncPaths(gnPair, syncPathWindow) }()
		wg.Wait()
		if err := errors.Join(refErr, gnErr); err != nil {
			t.Fatal(err)
		}
		rs, gs := statsOf(ref), statsOf(gn)
		t.Logf("round %d (%v), ptp4l master: %v", round, syncPathWindow, rs)
		t.Logf("round %d (%v), gnomond: %v", round, syncPathWindow, gs)
		if len(ref) < want {
			t.Fatalf("round %d: only %d Syncs with Follow_Up from the ptp4l master in %v (want ≥ %d):\n%s", round, len(ref), syncPathWindow, want, lastLines(mp.Output(), 30))
		}
		if len(gn) < want {
			t.Fatalf("round %d: only %d Syncs with Follow_Up from gnomond in %v (want ≥ %d)", round, len(gn), syncPathWindow, want)
		}
		return lateCount{rs.n, rs.late}, lateCount{gs.n, gs.late}
	})
}

// syncPathClients is how many unicast clients TestPTPSyncPathUnicast's
// generator runs against each master, each on its own address. One, as a
// ptp4l slave: the sender then sleeps a whole Sync period between passes,
// which is when Go's runtime bothered it (see "The sender's sleep" in
// ptp/serve's doc.go). With four clients at 32 Hz it wakes every 8 ms and
// the old sender was as punctual as ptp4l's.
const syncPathClients = 1

// transitResult is the part of `gnomonctl bench ptp --json` that
// TestPTPSyncPathUnicast reads: the Sync transits (kernel RX stamp −
// preciseOriginTimestamp, the same figure as syncPaths) and the accounting.
type transitResult struct {
	Transit struct {
		Samples uint64  `json:"samples"`
		P50US   float64 `json:"p50_us"`
		P99US   float64 `json:"p99_us"`
		MaxUS   float64 `json:"max_us"`
	} `json:"sync_transit"`
	Late      uint64 `json:"sync_transit_late"`
	Negative  uint64 `json:"sync_transit_negative"`
	DelayResp struct {
		Pct float64 `json:"received_pct"`
	} `json:"delay_resp"`
}

// benchTransits runs `gnomonctl bench ptp` for window in pair's client
// namespace against its server address, syncPathClients clients on their
// own addresses (prefix) at the Sync rate of syncPathLogSync, Delay_Req
// at the same rate, and returns its result.
func benchTransits(ctx context.Context, ctl string, pair *netns.Pair, prefix netip.Prefix, name string) (transitResult, string, error) {
	var r transitResult
	rate := fmt.Sprint(1 << -syncPathLogSync)
	out, err := pair.Cli.Run(ctx, netns.Spec{Name: name, Limit: syncPathWindow + 30*time.Second,
		Args: []string{ctl, "bench", "ptp", "--server", pair.SrvAddr.String(), "--clients", fmt.Sprint(syncPathClients),
			"--sync-rate", rate, "--announce-log", "0", "--grant", "60s", "--duration", syncPathWindow.String(),
			"--source-prefix", prefix.String(), "--json"}})
	if err != nil {
		return r, out, fmt.Errorf("%s: gnomonctl bench ptp: %w", name, err)
	}
	if i := strings.Index(out, "{"); i < 0 || json.Unmarshal([]byte(out[i:]), &r) != nil {
		return r, out, fmt.Errorf("%s: no JSON result from gnomonctl bench ptp", name)
	}
	return r, out, nil
}

// TestPTPSyncPathUnicast is TestPTPSyncPath for unicast: ptp4l's unicast
// master and gnomond's, side by side in two namespace pairs and the same
// windows, each serving syncPathClients unicast clients of `gnomonctl bench
// ptp` (negotiated grants, Sync and Delay_Req at 32 Hz each, so the
// masters also answer Delay_Reqs while they send Syncs). The generator
// measures every Sync's transit from the master's software TX stamp (its
// Follow_Up's precise origin) to the client's kernel RX stamp, ≈ 1,900
// Syncs a side a minute. Judged as TestPTPSyncPath (judgeSyncPaths); no
// transit may be negative (one clock), and each side must deliver ≥ 3/4 of
// its Syncs with Follow_Up and ≥ 99 % of its Delay_Resps. Measured before
// the sender's yields (8 windows pooled): gnomond 0.68 % late, ptp4l
// 0.40 %; after (18 windows): 0.22 % and 0.18 %. Such excesses are within
// one round's margin (syncPathExcess): the test catches excesses of about
// 1 % and more, such as the Go-timer sender's, not those. About 70 s.
func TestPTPSyncPathUnicast(t *testing.T) {
	requirePeers(t)
	netns.Require(t, "ptp4l")
	ctl := gnomonctlBinary(t)
	refPair, gnPair := suite.h.NewPairT(t), suite.h.NewPairT(t)
	limit := syncPathRounds*(syncPathWindow+40*time.Second) + 60*time.Second
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	refPrefix := addClientAddrs(t, ctx, refPair, syncPathClients)
	gnPrefix := addClientAddrs(t, ctx, gnPair, syncPathClients)
	mp, _ := startPtp4l(t, refPair.Srv, "ptp4l-uc-master", func(uds string) string { return ptp4lUnicastMaster(refPair.SrvIf, uds) }, limit)
	defer mp.Stop()
	g := startGnomond(t, gnPair, gnomondUnicastOpts(gnPair), limit)
	g.waitReady(t)
	defer g.stop(t)
	waitPtp4lGrandmaster(t, mp)

	want := uint64(syncPathWindow/time.Second) * (1 << -syncPathLogSync) * syncPathClients * 3 / 4
	judgeSyncPaths(t, "unicast", func(round int) (lateCount, lateCount) {
		var res [2]transitResult
		var outs [2]string
		var errs [2]error
		var wg sync.WaitGroup
		for i, side := range []struct {
			pair   *netns.Pair
			prefix netip.Prefix
			name   string
		}{{refPair, refPrefix, "bench-ptp4l"}, {gnPair, gnPrefix, "bench-gnomond"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i], outs[i], errs[i] = benchTransits(ctx, ctl, side.pair, side.prefix, side.name)
			}()
		}
		wg.Wait()
		var counts [2]lateCount
		for i, who := range []string{"ptp4l master", "gnomond"} {
			if errs[i] != nil {
				t.Fatalf("round %d, %s: %v\n%s", round, who, errs[i], outs[i])
			}
			r := res[i]
			t.Logf("round %d (%v), %s: %d Syncs, transit p50 %.1f µs p99 %.1f µs max %.1f µs, %d later than %v (%.2f %%), Delay_Resp %.2f %%",
				round, syncPathWindow, who, r.Transit.Samples, r.Transit.P50US, r.Transit.P99US, r.Transit.MaxUS, r.Late, syncPathLate,
				100*float64(r.Late)/max(1, float64(r.Transit.Samples)), r.DelayResp.Pct)
			switch {
			case r.Transit.Samples < want:
				t.Fatalf("round %d, %s: only %d Syncs with Follow_Up in %v (want ≥ %d):\n%s", round, who, r.Transit.Samples, syncPathWindow, want, outs[i])
			case r.Negative > 0:
				t.Fatalf("round %d, %s: %d negative transits on one clock:\n%s", round, who, r.Negative, outs[i])
			case r.DelayResp.Pct < 99:
				t.Fatalf("round %d, %s: %.2f %% of Delay_Resps (want ≥ 99 %%):\n%s", round, who, r.DelayResp.Pct, outs[i])
			}
			counts[i] = lateCount{int(r.Transit.Samples), int(r.Late)}
		}
		return counts[0], counts[1]
	})
}
