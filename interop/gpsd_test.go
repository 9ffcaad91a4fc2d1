package interop

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/netns"
	refclk "github.com/gnomon-time/gnomon/refclock"
	"github.com/gnomon-time/gnomon/refclock/gpsd"
)

// nmeaSentence frames body as an NMEA 0183 sentence: $body*CS\r\n, CS the
// XOR of the bytes between '$' and '*' in two upper-case hex digits.
func nmeaSentence(body string) string {
	var cs byte
	for i := 0; i < len(body); i++ {
		cs ^= body[i]
	}
	return fmt.Sprintf("$%s*%02X\r\n", body, cs)
}

// nmeaEpoch is one second of a receiver's output (peers.md §7): RMC, GGA,
// GSA and ZDA for the label at (whole seconds; hhmmss.00). fix false is a
// receiver without a fix: RMC status V, GGA quality 0, GSA mode 1, ZDA
// still giving its clock's time.
func nmeaEpoch(at time.Time, fix bool) string {
	at = at.UTC()
	hms := at.Format("150405") + ".00"
	dmy := at.Format("020106")
	var s strings.Builder
	if fix {
		s.WriteString(nmeaSentence("GPRMC," + hms + ",A,5213.7820,N,02100.7320,E,0.02,0.0," + dmy + ",,,A"))
		s.WriteString(nmeaSentence("GPGGA," + hms + ",5213.7820,N,02100.7320,E,1,09,0.9,110.0,M,34.5,M,,"))
		s.WriteString(nmeaSentence("GPGSA,A,3,02,05,07,09,13,15,18,20,30,,,,1.6,0.9,1.3"))
	} else {
		s.WriteString(nmeaSentence("GPRMC," + hms + ",V,,,,,,," + dmy + ",,,N"))
		s.WriteString(nmeaSentence("GPGGA," + hms + ",,,,,0,00,99.99,,,,,,"))
		s.WriteString(nmeaSentence("GPGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99"))
	}
	s.WriteString(nmeaSentence(fmt.Sprintf("GPZDA,%s,%02d,%02d,%04d,00,00", hms, at.Day(), int(at.Month()), at.Year())))
	return s.String()
}

// TestGpsdNMEAGenerator checks the generator against the sentences in
// peers.md §7 (their checksums came from a real receiver's format).
func TestGpsdNMEAGenerator(t *testing.T) {
	got := nmeaEpoch(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), true)
	want := "$GPRMC,080000.00,A,5213.7820,N,02100.7320,E,0.02,0.0,221126,,,A*6D\r\n" +
		"$GPGGA,080000.00,5213.7820,N,02100.7320,E,1,09,0.9,110.0,M,34.5,M,,*6B\r\n" +
		"$GPGSA,A,3,02,05,07,09,13,15,18,20,30,,,,1.6,0.9,1.3*39\r\n" +
		"$GPZDA,080000.00,22,11,2026,00,00*68\r\n"
	if got != want {
		t.Errorf("epoch:\n%s\nwant:\n%s", got, want)
	}
	// Without a fix every RMC field but time, status, date and mode is
	// empty: still 13 fields.
	noFix := nmeaEpoch(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), false)
	rmc, _, _ := strings.Cut(noFix, "*")
	if f := strings.Split(rmc, ","); len(f) != 13 || f[9] != "221126" || f[2] != "V" {
		t.Errorf("RMC without fix: %q", rmc)
	}
}

// TestGpsd runs the real gpsd (3.22, started by gpsfake replaying an NMEA
// log generated here) in a server namespace and gnomon's gpsd client
// against it, and checks that every second of the log arrives as one
// report with the log's exact label, Valid and Fix, for a receiver with a
// 3D fix and one without.
func TestGpsd(t *testing.T) {
	requirePeers(t)
	netns.Require(t, "gpsd", "gpsfake", "unshare")
	pair := suite.h.NewPairT(t)
	dir, err := os.MkdirTemp(suite.dir, "gpsd-")
	if err != nil {
		t.Fatal(err)
	}
	// Both replays share the namespace; ports are unique per test binary
	// anyway (peers.md pitfall 9).
	base := 20000 + os.Getpid()%20000
	t.Run("fix", func(t *testing.T) {
		t.Parallel()
		gpsdReplay(t, pair, dir, base, 16, true)
	})
	t.Run("nofix", func(t *testing.T) {
		t.Parallel()
		gpsdReplay(t, pair, dir, base+1, 10, false)
	})
}

// gpsdReplay generates n epochs, replays them with gpsfake on port and
// checks what gnomon's client receives.
func gpsdReplay(t *testing.T, pair *netns.Pair, dir string, port, n int, fix bool) {
	// Labels start a few seconds ahead, so that Received − label is
	// gpsfake's and gpsd's delay (gpsfake starts feeding about a second
	// after it starts, then paces sentences by -c).
	first := time.Now().Truncate(time.Second).Add(2 * time.Second).UTC()
	var log strings.Builder
	for i := range n {
		log.WriteString(nmeaEpoch(first.Add(time.Duration(i)*time.Second), fix))
	}
	name := fmt.Sprintf("gpsfake-%d-%d.nmea", os.Getpid(), port)
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(log.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	last := first.Add(time.Duration(n-1) * time.Second)

	// gpsfake runs gpsd -b -N (read-only, foreground) on a pty; under its
	// own IPC namespace (SHM segments, pitfall 7), without CAP_SYS_TIME
	// (the harness's setpriv), bounded by timeout -k (it does not exit at
	// the end of the log: pitfall 8) and stopped by PID.
	limit := time.Duration(n)*1500*time.Millisecond + 15*time.Second
	p, err := pair.Srv.Start(netns.Spec{
		Name:  "gpsfake-" + strconv.Itoa(port),
		Args:  []string{"unshare", "--ipc", "gpsfake", "-1", "-q", "-c", "0.25", "-P", strconv.Itoa(port), file},
		Limit: limit,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// gpsfake (the program timeout(1) runs: setpriv and unshare exec)
		// leaves its control socket behind when it is killed.
		pid := p.ProgramPID()
		_ = p.Stop()
		if pid != 0 {
			sock := fmt.Sprintf("/tmp/gpsfake-%d.sock", pid)
			if err := os.Remove(sock); err != nil && !os.IsNotExist(err) {
				t.Errorf("remove gpsfake's socket: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("gpsfake output:\n%s", p.Output())
		}
	}()

	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	var (
		mu   sync.Mutex
		toff []refclk.PPSReport
	)
	c := &gpsd.Client{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var conn net.Conn
			err := pair.Srv.Do(func() error {
				var d net.Dialer
				var err error
				conn, err = d.DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		},
		Logger:     slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		OnTOFF:     func(r refclk.PPSReport) { mu.Lock(); toff = append(toff, r); mu.Unlock() },
		Silence:    10 * time.Second,
		MinBackoff: 100 * time.Millisecond,
		MaxBackoff: 500 * time.Millisecond,
	}
	reports := make(chan refclk.TimeOfDay, 4*n)
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx, func(tod refclk.TimeOfDay) { reports <- tod }) }()

	var got []refclk.TimeOfDay
	checkedCaps := false
collect:
	for {
		select {
		case tod := <-reports:
			got = append(got, tod)
			if !checkedCaps {
				checkedCaps = true
				checkGpsdCaps(t, pair.Srv)
			}
			if !tod.UTC.Before(last) {
				break collect
			}
		case <-ctx.Done():
			t.Errorf("timed out after %v waiting for the label %s; status %+v", limit, last.Format(time.RFC3339), c.Status())
			break collect
		}
	}
	st := c.Status()
	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2 s of cancel")
	}

	// Untimed TPVs come first (gpsd learning the device). Then one report
	// per label, in order, except while gpsd learns the cycle (the first
	// three labels): a label may repeat, one TPV per sentence, and the
	// first TPV of an epoch, made from RMC alone, says 2D.
	const learning = 3 * time.Second
	var labels []time.Time
	var lat []time.Duration
	var seen strings.Builder
	untimed, dups := 0, 0
	for i, tod := range got {
		fmt.Fprintf(&seen, " %s/%v/%v", tod.UTC.Format("15:04:05.000"), tod.Valid, tod.Fix)
		if tod.UTC.IsZero() {
			untimed++
			if tod.Valid {
				t.Errorf("report %d: Valid without a time", i)
			}
			continue
		}
		early := len(labels) == 0 || tod.UTC.Sub(labels[0]) < learning
		if tod.Valid != fix {
			t.Errorf("report %d (%s): Valid = %v, want %v", i, tod.UTC.Format(time.RFC3339Nano), tod.Valid, fix)
		}
		wantFix := refclk.FixNone
		if fix {
			wantFix = refclk.Fix3D
		}
		if tod.Fix != wantFix && !(early && fix && tod.Fix == refclk.Fix2D) {
			t.Errorf("report %d (%s): Fix = %v, want %v", i, tod.UTC.Format(time.RFC3339Nano), tod.Fix, wantFix)
		}
		if tod.TAIOffsetKnown {
			t.Errorf("report %d: TAI offset %d from an NMEA receiver", i, tod.TAIOffset)
		}
		if n := len(labels); n > 0 {
			switch d := tod.UTC.Sub(labels[n-1]); {
			case d == 0 && early:
				dups++
				continue // the first report of a label counts for latency
			case d != time.Second:
				t.Errorf("report %d: label %s after %s (step %v), want one second", i,
					tod.UTC.Format(time.RFC3339Nano), labels[n-1].Format(time.RFC3339Nano), d)
			}
		}
		labels = append(labels, tod.UTC)
		lat = append(lat, tod.Received.Sub(tod.UTC))
	}
	t.Logf("reports (label/Valid/Fix):%s", seen.String())
	if len(labels) == 0 {
		t.Fatalf("no timed reports among %d; status %+v", len(got), st)
	}
	for _, l := range labels {
		if l.Before(first) || l.After(last) || l.Sub(first)%time.Second != 0 {
			t.Errorf("label %s is not in the log (%s … %s)", l.Format(time.RFC3339Nano), first.Format(time.RFC3339), last.Format(time.RFC3339))
		}
	}
	if skipped := labels[0].Sub(first) / time.Second; skipped > 3 {
		t.Errorf("first label %s: %d epochs of the log never reported", labels[0].Format(time.RFC3339), skipped)
	}
	if !labels[len(labels)-1].Equal(last) {
		t.Errorf("last label %s, want %s", labels[len(labels)-1].Format(time.RFC3339), last.Format(time.RFC3339))
	}
	if st.Malformed != 0 || st.ServerErrors != 0 || st.Release != "3.22" && !strings.HasPrefix(st.Release, "3.") {
		t.Errorf("status %+v", st)
	}

	// gpsfake's pacing: Received spacing between consecutive labels.
	var spacing []time.Duration
	for i := 1; i < len(lat); i++ {
		spacing = append(spacing, time.Second+lat[i]-lat[i-1])
	}
	slices.Sort(spacing)
	slices.Sort(lat)
	mu.Lock()
	var arrive []time.Duration // TOFF: when the cycle's first sentence arrived, after its label
	for _, r := range toff {
		arrive = append(arrive, r.Clock.Sub(r.Real))
	}
	mu.Unlock()
	slices.Sort(arrive)
	t.Logf("gpsd %s, fix=%v: %d reports (%d untimed, %d repeated labels), labels %s … %s of %s … %s; "+
		"latency Received − label min %v median %v max %v (labels are fixed before gpsfake starts, so this includes its start-up); "+
		"Received spacing per label median %v, max %v; "+
		"TOFF clock − real: %d, median %v; sessions %d",
		st.Release, fix, len(got), untimed, dups,
		labels[0].Format("15:04:05"), labels[len(labels)-1].Format("15:04:05"), first.Format("15:04:05"), last.Format("15:04:05"),
		lat[0].Round(time.Millisecond), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond),
		medianDuration(spacing).Round(time.Millisecond), maxDuration(spacing).Round(time.Millisecond),
		len(arrive), medianDuration(arrive).Round(time.Millisecond), st.Sessions)
}

// checkGpsdCaps asserts that the gpsd processes in ns cannot set the clock.
func checkGpsdCaps(t *testing.T, ns *netns.NS) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pids, err := ns.Pids(ctx)
	if err != nil {
		t.Errorf("pids in %s: %v", ns.Name, err)
		return
	}
	seen := 0
	for _, pid := range pids {
		comm, err := os.ReadFile("/proc/" + pid + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "gpsd" {
			continue
		}
		status, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			for _, key := range []string{"CapEff:", "CapBnd:"} {
				if v, ok := strings.CutPrefix(line, key); ok {
					caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
					if err != nil || caps&netns.CapSysTime != 0 {
						t.Errorf("gpsd pid %s %s %s: CAP_SYS_TIME present", pid, key, strings.TrimSpace(v))
					}
				}
			}
		}
		seen++
	}
	if seen == 0 {
		t.Errorf("no gpsd process in %s", ns.Name)
	}
}

func medianDuration(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)/2]
}

func maxDuration(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)-1]
}

// tlogWriter sends slog output to t.Log.
type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
