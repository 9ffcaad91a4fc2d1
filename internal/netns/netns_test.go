package netns

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPairProcessesAndCleanup(t *testing.T) {
	Require(t, "ping", "sleep")
	h := New()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := h.NewPair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = p.Close(ctx)
		}
	}()
	for _, ns := range []*NS{p.Srv, p.Cli} {
		if !strings.HasPrefix(ns.Name, h.tag+"-") || len(ns.Name) > 15 {
			t.Errorf("namespace name %q: want prefix %q and ≤ 15 bytes", ns.Name, h.tag+"-")
		}
	}

	t.Run("ping", func(t *testing.T) {
		out, err := p.Cli.Run(ctx, Spec{Name: "ping", Args: []string{"ping", "-c", "2", "-W", "1", "-i", "0.2", p.SrvAddr.String()}, Limit: 10 * time.Second})
		if err != nil {
			t.Fatalf("ping %v from %s: %v\n%s", p.SrvAddr, p.Cli.Name, err, out)
		}
		if !strings.Contains(out, "2 received") {
			t.Errorf("ping output lacks \"2 received\":\n%s", out)
		}
	})

	t.Run("cap_sys_time_dropped", func(t *testing.T) {
		pr, err := p.Srv.Start(Spec{Name: "sleep", Args: []string{"sleep", "30"}, Limit: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var capEff uint64
		deadline := time.Now().Add(5 * time.Second)
		for {
			// The wrapper chain (ip → timeout → setpriv → sleep) needs a
			// moment to exec; CapEff is read from the final program.
			capEff, err = pr.CapEff()
			if err == nil && strings.Contains(procComm(pr.ProgramPID()), "sleep") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("program never appeared: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if capEff&CapSysTime != 0 {
			t.Errorf("CapEff %#x has CAP_SYS_TIME (bit 25)", capEff)
		}
		if capEff == 0 {
			t.Errorf("CapEff is 0: expected root's other capabilities to remain")
		}
		pids, err := p.Srv.Pids(ctx)
		if err != nil || len(pids) == 0 {
			t.Errorf("ip netns pids %s = %v, %v; want the sleep", p.Srv.Name, pids, err)
		}
		if err := pr.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := pr.Stop(); !errors.Is(err, errStopped) {
			t.Errorf("second stop: %v, want errStopped", err)
		}
	})

	t.Run("stop_is_graceful", func(t *testing.T) {
		// A program that exits 0 on its first SIGTERM must end with status 0.
		pr, err := p.Srv.Start(Spec{Name: "sh", Args: []string{"sh", "-c", `trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done`}, Limit: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(pr.Output(), "ready") {
			if time.Now().After(deadline) {
				t.Fatalf("sh never started: %q", pr.Output())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := pr.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := pr.Err(); err != nil {
			t.Errorf("exit after Stop: %v, want status 0", err)
		}
	})

	t.Run("limit_bounds_lifetime", func(t *testing.T) {
		start := time.Now()
		_, err := p.Cli.Run(ctx, Spec{Name: "sleep", Args: []string{"sleep", "60"}, Limit: 500 * time.Millisecond})
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("sleep 60 with Limit 0.5 s ran %v", el)
		}
		if err == nil {
			t.Errorf("expected a timeout exit status, got success")
		}
	})

	t.Run("dial_udp_between_namespaces", func(t *testing.T) {
		var srv *net.UDPConn
		err := p.Srv.Do(func() error {
			var err error
			srv, err = net.ListenUDP("udp", &net.UDPAddr{IP: p.SrvAddr.AsSlice(), Port: 0})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		go func() {
			// Echo until the deadline: the client may resend (below).
			buf := make([]byte, 64)
			_ = srv.SetReadDeadline(time.Now().Add(10 * time.Second))
			for {
				n, from, err := srv.ReadFromUDP(buf)
				if err != nil {
					return
				}
				_, _ = srv.WriteToUDP(buf[:n], from)
			}
		}()
		c, err := p.Cli.DialUDP("", srv.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// The calling process must be back in its own namespace.
		for _, ns := range []*NS{p.Srv, p.Cli} {
			pids, err := ns.Pids(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, pid := range pids {
				if pid == strconv.Itoa(os.Getpid()) {
					t.Errorf("test process still listed in %s after Do", ns.Name)
				}
			}
		}
		if got := c.LocalAddr().(*net.UDPAddr).IP.String(); got != p.CliAddr.String() {
			t.Errorf("client source %s, want %s (socket not in the client namespace?)", got, p.CliAddr)
		}
		// A datagram can be dropped on a loaded host (the per-CPU backlog is
		// shared with everything else); resend, bounded: 5 tries of 1 s.
		buf := make([]byte, 64)
		var n int
		for try := 0; try < 5; try++ {
			if _, err = c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if n, err = c.Read(buf); err == nil {
				break
			}
		}
		if err != nil || string(buf[:n]) != "hello" {
			t.Fatalf("echo: %q, %v", buf[:n], err)
		}
	})

	// A process left running is stopped by Close.
	if _, err := p.Srv.Start(Spec{Name: "sleep-left", Args: []string{"sleep", "30"}, Limit: 20 * time.Second}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	closed = true
	if err := p.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := h.Leaks(ctx); err != nil {
		t.Fatalf("leaks after close: %v", err)
	}
	if len(h.Created()) != 2 || len(h.StartedPIDs()) < 4 {
		t.Errorf("created %v, pids %v: bookkeeping lost something", h.Created(), h.StartedPIDs())
	}
}

func procComm(pid int) string {
	if pid == 0 {
		return ""
	}
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return string(b)
}
