package upstream

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/internal/syncbuf"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// chronyd is a chronyd server child process on loopback.
type chronyd struct {
	port int
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{} // closed when the process has been reaped
}

// needChronyd skips the test (or fails it with GNOMON_REQUIRE_INTEROP=1)
// when chronyd cannot be run safely here.
func needChronyd(t *testing.T) {
	t.Helper()
	var missing []string
	for _, bin := range []string{"chronyd", "setpriv"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin+" not in PATH")
		}
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "not root (chronyd needs it to start and drop privileges)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "SKIPPING chronyd interop test: " + strings.Join(missing, "; ")
	if requireInterop() {
		t.Fatal(msg + " (GNOMON_REQUIRE_INTEROP=1)")
	}
	t.Skip(msg)
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startChronyd runs `chronyd -x -d` serving the undisciplined system clock
// as stratum 1 on 127.0.0.1:port, with CAP_SYS_TIME dropped from its
// inheritable and bounding sets, no command port or socket, and private
// pid and drift files (peers.md §2, §5.1). It is killed by PID at cleanup.
func startChronyd(t *testing.T) *chronyd {
	t.Helper()
	dir := t.TempDir()
	if u, err := user.Lookup("_chrony"); err == nil {
		// chronyd drops to _chrony and writes the drift file as that user.
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(dir, uid, gid)
	}
	port := freeUDPPort(t)
	conf := strings.Join([]string{
		"local stratum 1",
		"allow 127.0.0.0/8",
		"port " + strconv.Itoa(port),
		"bindaddress 127.0.0.1",
		"cmdport 0",
		"bindcmdaddress /", // no Unix command socket (the default path is shared)
		"pidfile " + filepath.Join(dir, "chronyd.pid"),
		"driftfile " + filepath.Join(dir, "chrony.drift"),
	}, "\n") + "\n"
	path := filepath.Join(dir, "chronyd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &chronyd{port: port, out: &syncbuf.Buffer{}, done: make(chan struct{})}
	c.cmd = exec.Command("setpriv", "--inh-caps=-sys_time", "--bounding-set=-sys_time",
		"chronyd", "-x", "-d", "-f", path)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start chronyd: %v", err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.stop(t)
		if t.Failed() {
			t.Logf("chronyd :%d output:\n%s", port, c.out.String())
		}
	})
	// setpriv execs chronyd, so the PID is chronyd's: check that it
	// really runs without CAP_SYS_TIME (bit 25), and that it started.
	waitFor(t, livenessWait, "chronyd to start", func() bool {
		return strings.Contains(c.out.String(), "Disabled control of system clock")
	})
	capEff, err := procCapEff(c.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if capEff&(1<<25) != 0 {
		t.Fatalf("chronyd runs with CAP_SYS_TIME (CapEff %#x)", capEff)
	}
	return c
}

// stop sends SIGTERM to the recorded PID, then SIGKILL after 3 s.
func (c *chronyd) stop(t *testing.T) {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		t.Logf("chronyd :%d needed SIGKILL", c.port)
	}
}

func procCapEff(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff line")
}

// TestChronydServers polls three chronyd servers on loopback at 16 Hz.
// Everything shares one CLOCK_REALTIME, so the true offset is exactly 0
// and every measured offset is measurement error (peers.md §1). Then one
// server is stopped: it becomes unreachable with timeouts counted while
// the others carry on.
func TestChronydServers(t *testing.T) {
	needChronyd(t)
	const n = 3
	var srvs []*chronyd
	var cfg Config
	for i := range n {
		c := startChronyd(t)
		srvs = append(srvs, c)
		cfg.Servers = append(cfg.Servers, ServerConfig{
			Name: fmt.Sprintf("chronyd%d", i), Address: fmt.Sprintf("127.0.0.1:%d", c.port),
			MinPoll: -4, MaxPoll: -2,
		})
	}
	sink := newRecSink()
	u, err := New(cfg, &offsetClock{}, sink, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runUpstream(t, u)

	// Phase 1: every source reachable (register full: 8 answered polls
	// in a row). Unloaded this takes < 1 s; on a busy 2-CPU machine one
	// late reply restarts the register, so the wait is bounded at 15 s.
	waitFor(t, 15*time.Second, "all reach 377", func() bool {
		for _, s := range status(t, u).Sources {
			if s.Estimate.Reach != 0xff {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Until(start.Add(6 * time.Second)))
	st := status(t, u)
	phase1 := make([]int, n)
	for i, s := range st.Sources {
		smp := sink.Samples(s.ID)
		phase1[i] = len(smp)
		var offs, absOffs, delays []time.Duration
		for _, x := range smp {
			offs = append(offs, x.Offset)
			absOffs = append(absOffs, x.Offset.Abs())
			delays = append(delays, x.Delay)
		}
		e := s.Estimate
		t.Logf("%s: %d samples, offset median %v p90|·| %v, delay median %v p90 %v; filter: offset %v delay %v jitter %v disp %v; reach %o stratum %d; T1 %v T4 %v; sent %d timeouts %d",
			s.ID, len(smp), median(offs), quantile(absOffs, 0.9), median(delays), quantile(delays, 0.9),
			e.Offset, e.Delay, e.Jitter, e.Dispersion, e.Reach, e.Stratum, s.T1Kinds, s.T4Kinds, s.Stats.Sent, s.Stats.Timeouts)
		// 16 Hz for ≈ 6 s is ≈ 96 polls; ask for half.
		if len(smp) < 48 {
			t.Errorf("%s: %d samples in 6 s at 16 Hz; want ≥ 48", s.ID, len(smp))
		}
		// Same clock → true offset 0. Software stamps at 16 Hz show 1–3 µs
		// of path asymmetry with tails of tens of µs (peers.md §8); 50 µs
		// on the median leaves a wide statistical margin.
		if m := median(offs); m.Abs() >= 50*time.Microsecond {
			t.Errorf("%s: median offset %v; want |·| < 50 µs (true offset is 0)", s.ID, m)
		}
		if m := median(delays); m <= 0 || m >= time.Millisecond {
			t.Errorf("%s: median delay %v; want (0, 1 ms) on loopback", s.ID, m)
		}
		if !e.Usable || e.Stratum != 1 || e.Leap != 0 {
			t.Errorf("%s: estimate usable %v stratum %d leap %d; want usable, 1, 0", s.ID, e.Usable, e.Stratum, e.Leap)
		}
		// The point of the shell: T1 and T4 are kernel stamps.
		if k := s.T1Kinds[hwts.KindKernel]; int(k) < len(smp)*9/10 {
			t.Errorf("%s: %d of %d samples with a kernel TX stamp as T1; want ≥ 90 %%", s.ID, k, len(smp))
		}
		if k := s.T4Kinds[hwts.KindKernel]; int(k) < len(smp)*9/10 {
			t.Errorf("%s: %d of %d samples with a kernel RX stamp as T4; want ≥ 90 %%", s.ID, k, len(smp))
		}
	}

	// Phase 2: stop the last server.
	stopped := st.Sources[n-1].ID
	timeoutsBefore := st.Sources[n-1].Stats.Timeouts
	srvs[n-1].stop(t)
	stopAt := time.Now()
	waitFor(t, 3*time.Second, stopped+" unreachable", func() bool {
		return status(t, u).source(t, stopped).Estimate.Reach == 0
	})
	unreachAfter := time.Since(stopAt)
	time.Sleep(time.Until(stopAt.Add(3 * time.Second)))
	st = status(t, u)
	s := st.source(t, stopped)
	if got := s.Stats.Timeouts - timeoutsBefore; got < 8 {
		t.Errorf("%s: %d timeouts after stop; want ≥ 8 (one per unanswered poll)", stopped, got)
	}
	if s.Estimate.Poll <= -4 {
		t.Errorf("%s: poll %d after ≥ 8 unanswered polls; want backed off above −4", stopped, s.Estimate.Poll)
	}
	if got := len(sink.Samples(stopped)) - phase1[n-1]; got > 2 {
		t.Errorf("%s: %d samples after its server stopped", stopped, got)
	}
	// Reach decays visibly through the Sink too: its last state is 0.
	if sts := sink.States(stopped); sts[len(sts)-1].Reach != 0 {
		t.Errorf("%s: last reported reach %o; want 0", stopped, sts[len(sts)-1].Reach)
	}
	// The others stay reachable and usable. One reading can catch a reply
	// that a loaded machine delayed past the timeout, so the check is
	// repeated (bounded: 5 s) until all of them show a full register at
	// the same time.
	waitFor(t, 5*time.Second, "the other sources at full reach", func() bool {
		cur := status(t, u)
		for i := range n - 1 {
			o := cur.source(t, st.Sources[i].ID)
			if !fullReach(o.Estimate.Reach) || !o.Estimate.Usable {
				return false
			}
		}
		return true
	})
	for i := range n - 1 {
		o := st.Sources[i]
		if got := len(sink.Samples(o.ID)) - phase1[i]; got < 24 {
			t.Errorf("%s: %d new samples in the 3 s after another server stopped; want ≥ 24", o.ID, got)
		}
	}
	t.Logf("%s unreachable (reach 0) %v after stop; timeouts +%d, poll %d; receive errors %d, send errors %d, unmatched TX stamps %d",
		stopped, unreachAfter.Round(time.Millisecond), s.Stats.Timeouts-timeoutsBefore, s.Estimate.Poll, st.ReceiveErrors, s.SendErrors, st.TXUnmatched)
	_ = client.Accepted
}
