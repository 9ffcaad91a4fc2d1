package serve

import (
	"bytes"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// osThreads is the number of OS threads of this process (/proc/self/status).
func osThreads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("Threads:")); ok {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				t.Fatalf("Threads: %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// Workers asleep in recvmmsg (the default) on IPv4 and IPv6 answer, and
// cancelling Run stops them within a bounded time: Close's shutdown(2) wakes
// each at once, well before the 1 s SO_RCVTIMEO backstop. Repeated
// start/stop cycles leave no goroutine and no OS thread behind: a worker
// that stayed asleep in the kernel after Close would keep its thread, and
// the thread count would grow by the number of workers per cycle.
func TestServeBlockingStopNoLeak(t *testing.T) {
	listen := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	if haveIPv6Loopback() {
		listen = append(listen, netip.MustParseAddrPort("[::1]:0"))
	}
	const workers = 3
	cycle := func() time.Duration {
		ts := newTestServer(t, testOpts{workers: workers, listen: listen})
		if n := ts.svc.BlockingWorkers(); n != workers*len(listen) {
			t.Fatalf("BlockingWorkers = %d, want %d", n, workers*len(listen))
		}
		for _, a := range ts.addrs {
			checkOffset(t, query(t, a), 0)
		}
		time.Sleep(20 * time.Millisecond) // every worker back asleep in recvmmsg
		start := time.Now()
		ts.stop(t)
		return time.Since(start)
	}
	cycle() // the runtime creates its threads once
	runtime.GC()
	g0, th0 := runtime.NumGoroutine(), osThreads(t)
	const cycles = 4
	for range cycles {
		if d := cycle(); d > 500*time.Millisecond {
			t.Errorf("Run returned %v after cancel, want < 500 ms (shutdown, not the receive timeout)", d)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > g0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > g0 {
		t.Errorf("%d goroutines after %d start/stop cycles, %d before", g, cycles, g0)
	}
	// A little slack for the runtime's own threads (GC, a spinning M).
	if th := osThreads(t); th > th0+2 {
		t.Errorf("%d OS threads after %d start/stop cycles of %d workers, %d before: workers' threads leaked",
			th, cycles, workers*len(listen), th0)
	}
}

// The netpoller design stays available (Config.Netpoller) and reports no
// blocking workers.
func TestServeNetpollerWorkers(t *testing.T) {
	ts := newTestServer(t, testOpts{workers: 2, netpoller: true})
	if n := ts.svc.BlockingWorkers(); n != 0 {
		t.Errorf("BlockingWorkers = %d with Netpoller, want 0", n)
	}
	checkOffset(t, query(t, ts.addrs[0]), 0)
	start := time.Now()
	ts.stop(t)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Run returned %v after cancel", d)
	}
}
