package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/internal/sdnotify"
)

// notifications collects the datagrams gnomond sends to a test's own
// NOTIFY_SOCKET.
type notifications struct {
	c   chan string
	all []string
}

func listenNotify(t *testing.T, name string) *notifications {
	t.Helper()
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifications{c: make(chan string, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := l.Read(buf)
			if err != nil {
				close(n.c)
				return
			}
			n.c <- string(buf[:k])
		}
	}()
	t.Cleanup(func() { l.Close() })
	return n
}

// next returns the next datagram that is not a bare WATCHDOG=1 (those are
// counted in *watchdogs), waiting at most 10 s.
func (n *notifications) next(t *testing.T, watchdogs *int) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-n.c:
			if !ok {
				t.Fatalf("notification socket closed; so far %q", n.all)
			}
			n.all = append(n.all, m)
			if m == sdnotify.Watchdog {
				*watchdogs++
				continue
			}
			return m
		case <-deadline:
			t.Fatalf("no notification within 10 s; so far %q", n.all)
		}
	}
}

func lines(m string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(m, "\n") {
		k, v, _ := strings.Cut(l, "=")
		out[k] = v
	}
	return out
}

// The built binary speaks sd_notify to the socket it is given (an abstract
// one here): READY=1 with a STATUS= once serving, WATCHDOG=1 every half of
// WATCHDOG_USEC, RELOADING=1 with MONOTONIC_USEC then READY=1 around a
// SIGHUP reload (also a failed one, with the reason in STATUS=), STOPPING=1
// on SIGTERM.
func TestBinarySystemdNotify(t *testing.T) {
	bin := buildGnomond(t)
	sock := fmt.Sprintf("@gnomon-notify-test-%d", os.Getpid())
	n := listenNotify(t, sock)
	conf := filepath.Join(t.TempDir(), "gnomond.yaml")
	good := strings.Replace(binaryConfig, "%DENY%", "", 1)
	if err := os.WriteFile(conf, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	const watchdogUsec = 200_000 // → WATCHDOG=1 every 100 ms
	cmd := exec.Command(bin, "--config", conf)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC="+strconv.Itoa(watchdogUsec))
	p := startCmd(t, cmd)

	wd := 0
	first := lines(n.next(t, &wd))
	if _, ok := first["READY"]; !ok || first["READY"] != "1" {
		t.Fatalf("first notification %q, want READY=1", n.all)
	}
	if _, ok := first["STATUS"]; !ok {
		t.Errorf("READY=1 without STATUS=: %q", n.all)
	}
	// Watchdog pings keep coming at about 100 ms.
	start, wd0 := time.Now(), wd
	time.Sleep(time.Second)
	p.cmd.Process.Signal(syscall.SIGHUP)
	rel := lines(n.next(t, &wd))
	elapsed, pings := time.Since(start), wd-wd0
	if want := int(elapsed / (watchdogUsec * time.Microsecond / 2)); pings < want/2 || pings > want+2 {
		t.Errorf("%d WATCHDOG=1 in %v, want about %d", pings, elapsed, want)
	}
	if rel["RELOADING"] != "1" {
		t.Fatalf("after SIGHUP %q, want RELOADING=1", n.all)
	}
	mono, err := sdnotify.Monotonic()
	if err != nil {
		t.Fatal(err)
	}
	if us, err := strconv.ParseInt(rel["MONOTONIC_USEC"], 10, 64); err != nil || us <= 0 || us > mono.Microseconds() {
		t.Errorf("MONOTONIC_USEC=%q: want CLOCK_MONOTONIC µs before now (%d)", rel["MONOTONIC_USEC"], mono.Microseconds())
	}
	if r := lines(n.next(t, &wd)); r["READY"] != "1" || strings.HasPrefix(r["STATUS"], "reload failed") {
		t.Errorf("after a good reload %q, want READY=1 and the status", n.all)
	}

	// A bad file: RELOADING, then READY with the reason.
	if err := os.WriteFile(conf, []byte("ntp:\n  allow: [not-a-prefix]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	if r := lines(n.next(t, &wd)); r["RELOADING"] != "1" {
		t.Errorf("after SIGHUP %q, want RELOADING=1", n.all)
	}
	r := lines(n.next(t, &wd))
	if r["READY"] != "1" || !strings.Contains(r["STATUS"], "reload failed") || !strings.Contains(r["STATUS"], "ntp.allow[0]") {
		t.Errorf("after a failed reload %q, want READY=1 and STATUS naming ntp.allow[0]", n.all)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	if r := lines(n.next(t, &wd)); r["STOPPING"] != "1" {
		t.Errorf("after SIGTERM %q, want STOPPING=1", n.all)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.log())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("gnomond still running 10 s after SIGTERM")
	}
	t.Logf("notifications: %d (%d WATCHDOG=1)", len(n.all), wd)
}

// WATCHDOG_PID naming another process turns the watchdog off.
func TestBinaryWatchdogOtherPID(t *testing.T) {
	bin := buildGnomond(t)
	sock := filepath.Join(t.TempDir(), "notify")
	n := listenNotify(t, sock)
	conf := filepath.Join(t.TempDir(), "gnomond.yaml")
	if err := os.WriteFile(conf, []byte(strings.Replace(binaryConfig, "%DENY%", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", conf)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=100000", "WATCHDOG_PID=1")
	p := startCmd(t, cmd)
	wd := 0
	if r := lines(n.next(t, &wd)); r["READY"] != "1" {
		t.Fatalf("first notification %q, want READY=1", n.all)
	}
	time.Sleep(500 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if r := lines(n.next(t, &wd)); r["STOPPING"] != "1" {
		t.Errorf("after SIGTERM %q, want STOPPING=1", n.all)
	}
	if wd != 0 {
		t.Errorf("%d WATCHDOG=1 with WATCHDOG_PID=1 (another process)", wd)
	}
	<-p.done
}
