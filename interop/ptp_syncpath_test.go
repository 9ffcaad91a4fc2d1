package interop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/internal/netns"
	"github.com/gnomon-time/gnomon/ptp"
)

// Sync-path comparison (TestPTPSyncPath): the Sync rate of both masters,
// the window of one round, the rounds, and what counts as a late Sync.
const (
	syncPathLogSync = -5 // 32 Hz
	syncPathWindow  = 60 * time.Second
	syncPathRounds  = 2
	syncPathLate    = 5 * time.Microsecond
	// syncPathExcess is how much larger gnomond's share of late Syncs may
	// be than ptp4l's in the same windows. Measured: gnomond before the
	// kernel sleep 1.0–1.3 %, after it 0.2–0.4 % (8 ms sleep chunks);
	// ptp4l's master 0–0.26 %. With ≈ 1,900 Syncs a side the difference
	// of two such shares has a standard error of ≈ 0.2 %.
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
	// half records one half of Sync seq's exchange (its RX stamp or its
	// precise origin); the second half makes a path.
	half := func(seq uint16, t time.Time, mine, other map[uint16]time.Time, sign int64) {
		mu.Lock()
		defer mu.Unlock()
		o, ok := other[seq]
		if !ok {
			mine[seq] = t
			return
		}
		delete(other, seq)
		x := sign * t.Sub(o).Nanoseconds() % 1e9 // the wire's UTC offset is whole seconds
		if x > 5e8 {
			x -= 1e9
		} else if x < -5e8 {
			x += 1e9
		}
		paths = append(paths, x)
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
				half(h.Sequence, m.RX.Time, rx, origin, 1)
				continue
			}
			var f protocol.FollowUp
			if f.UnmarshalBinary(m.Buf[:m.N]) != nil {
				continue
			}
			half(h.Sequence, f.PreciseOriginTimestamp.Time(), origin, rx, -1)
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

// TestPTPSyncPath: gnomond's multicast grandmaster and ptp4l's, side by
// side in two namespace pairs and the same windows (so the same machine
// load), at 32 Hz; a kernel-stamping listener on each client side measures
// every Sync's path from its software TX stamp to its delivery
// (syncPaths), ≈ 1,900 Syncs a side a minute where a ptp4l slave reports
// one sample a second. Anything that delays a Sync in the sender's kernel
// after its stamp lands there whole: gnomond's sender woken by a Go timer
// had 1.0–1.3 % of its Syncs 5–45 µs late (the runtime's other threads
// interrupting its CPU), ptp4l's master 0–0.26 %. gnomond's share of
// Syncs later than 5 µs must be at most syncPathExcess (0.5 %) above
// ptp4l's, pooled over the rounds so far (a second 60 s round only when
// the first fails), and each side must deliver ≥ 3/4 of its Syncs in the
// window. About 70 s.
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
	var refPool, gnPool []int64
	var verdict string
	for round := 1; round <= syncPathRounds; round++ {
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
		t.Logf("round %d (%v), ptp4l master: %v", round, syncPathWindow, statsOf(ref))
		t.Logf("round %d (%v), gnomond: %v", round, syncPathWindow, statsOf(gn))
		if len(ref) < want {
			t.Fatalf("round %d: only %d Syncs with Follow_Up from the ptp4l master in %v (want ≥ %d):\n%s", round, len(ref), syncPathWindow, want, lastLines(mp.Output(), 30))
		}
		if len(gn) < want {
			t.Fatalf("round %d: only %d Syncs with Follow_Up from gnomond in %v (want ≥ %d)", round, len(gn), syncPathWindow, want)
		}
		refPool, gnPool = append(refPool, ref...), append(gnPool, gn...)
		rs, gs := statsOf(refPool), statsOf(gnPool)
		limitShare := rs.lateShare + syncPathExcess
		verdict = fmt.Sprintf("after round %d, pooled: gnomond %d of %d Syncs later than %v (%.2f %%), want ≤ ptp4l's %d of %d (%.2f %%) + 0.5 %% = %.2f %%",
			round, gs.late, gs.n, syncPathLate, 100*gs.lateShare, rs.late, rs.n, 100*rs.lateShare, 100*limitShare)
		t.Log(verdict)
		if gs.lateShare <= limitShare {
			return
		}
	}
	t.Error(verdict)
}
