//go:build linux

package hwts

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsPair is two fresh network namespaces joined by a veth pair.
type netnsPair struct {
	nsA, nsB     string
	vethA, vethB string
	addrA, addrB netip.Addr
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newNetnsPair creates the namespaces (names include the PID) and removes
// them at cleanup; deleting a namespace also deletes its veth end.
func newNetnsPair(t *testing.T) *netnsPair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2 (ip)")
	}
	pid := os.Getpid()
	p := &netnsPair{
		nsA: fmt.Sprintf("gnomon-hwts-%d-a", pid), nsB: fmt.Sprintf("gnomon-hwts-%d-b", pid),
		vethA: fmt.Sprintf("ghw%da", pid%10000000), vethB: fmt.Sprintf("ghw%db", pid%10000000),
		addrA: netip.MustParseAddr("10.231.0.1"), addrB: netip.MustParseAddr("10.231.0.2"),
	}
	run(t, "ip", "netns", "add", p.nsA)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.nsA).Run() })
	run(t, "ip", "netns", "add", p.nsB)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.nsB).Run() })
	run(t, "ip", "link", "add", p.vethA, "netns", p.nsA, "type", "veth", "peer", "name", p.vethB, "netns", p.nsB)
	for _, x := range []struct {
		ns, dev string
		addr    netip.Addr
	}{{p.nsA, p.vethA, p.addrA}, {p.nsB, p.vethB, p.addrB}} {
		run(t, "ip", "-n", x.ns, "addr", "add", x.addr.String()+"/24", "dev", x.dev)
		run(t, "ip", "-n", x.ns, "link", "set", x.dev, "up")
		run(t, "ip", "-n", x.ns, "link", "set", "lo", "up")
	}
	return p
}

// inNetns runs fn on an OS thread switched into namespace ns. Sockets keep
// the namespace they were created in. The thread is never unlocked, so the
// runtime discards it instead of reusing a thread in a foreign namespace.
func inNetns(ns string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// TestVethNetns runs the socket over a veth pair in fresh namespaces: auto
// mode on a veth (software-only ethtool caps) falls back to kernel stamps,
// hardware mode fails, SO_BINDTODEVICE by name receives from the veth and a
// socket bound to lo does not, pktinfo reports the veth's index, and TX
// stamps arrive.
func TestVethNetns(t *testing.T) {
	p := newNetnsPair(t)
	var srv, onLo, cli *Conn
	var vethIdx int
	err := inNetns(p.nsA, func() error {
		ifi, err := net.InterfaceByName(p.vethA)
		if err != nil {
			return err
		}
		vethIdx = ifi.Index
		_, err = Listen(t.Context(), Config{Addr: netip.AddrPortFrom(netip.IPv4Unspecified(), 0),
			Interface: p.vethA, Timestamping: ModeHardware})
		if !errors.Is(err, ErrNoHardware) {
			return fmt.Errorf("hardware mode on veth: err = %v, want ErrNoHardware", err)
		}
		srv, err = Listen(t.Context(), Config{Addr: netip.AddrPortFrom(netip.IPv4Unspecified(), 0), Interface: p.vethA})
		if err != nil {
			return err
		}
		onLo, err = Listen(t.Context(), Config{Addr: netip.AddrPortFrom(netip.IPv4Unspecified(), 0), Interface: "lo"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); onLo.Close() })
	if err := inNetns(p.nsB, func() (err error) {
		cli, err = Listen(t.Context(), Config{Addr: netip.AddrPortFrom(p.addrB, 0)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })

	in := srv.Info()
	t.Logf("auto on veth: %+v", in)
	if in.RX != KindKernel || in.TX != KindKernel || !strings.HasPrefix(in.Fallback, "hardware: ") {
		t.Errorf("auto on veth: Info() = %+v, want kernel stamps and a hardware fallback reason", in)
	}

	dst := netip.AddrPortFrom(p.addrA, addrPort(t, srv).Port())
	cliAddr := addrPort(t, cli)
	out := []Message{{Buf: make([]byte, 48), N: 48, Addr: dst}}
	ms := newMsgs(1, 128)
	back := newMsgs(1, 128)
	var oneWay []time.Duration
	live := false
	for i := 0; len(oneWay) < 200; i++ {
		if i > 5000 {
			t.Fatalf("only %d kernel-stamped datagrams after %d sends", len(oneWay), i)
		}
		if k, err := cli.WriteBatch(out); k != 1 || err != nil {
			t.Fatalf("client WriteBatch = %d, %v", k, err)
		}
		// The first datagram waits for ARP, so its TX stamp comes later
		// than sendmmsg returns.
		tx, _ := waitTX(cli, out[0].TXID)
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		if k, err := srv.ReadBatch(ms); k != 1 || err != nil {
			t.Fatalf("server ReadBatch = %d, %v", k, err)
		}
		m := &ms[0]
		if m.Local != p.addrA || m.IfIndex != vethIdx || m.Addr != cliAddr {
			t.Fatalf("Local %v IfIndex %d Addr %v, want %v %d %v", m.Local, m.IfIndex, m.Addr, p.addrA, vethIdx, cliAddr)
		}
		if m.RX.Kind != KindKernel {
			if live {
				t.Fatalf("datagram %d: RX kind %v after kernel stamps started", i, m.RX.Kind)
			}
			time.Sleep(time.Millisecond) // see waitStampsLive
			continue
		}
		live = true
		if tx.IsZero() {
			t.Fatalf("datagram %d: no TX stamp on the client", i)
		}
		d := m.RX.Time.Sub(tx)
		if d < 0 {
			t.Fatalf("datagram %d: RX stamp %v before TX stamp %v", i, m.RX.Time, tx)
		}
		oneWay = append(oneWay, d)
		// Reply from the pktinfo address; the server gets a TX stamp.
		if k, err := srv.WriteBatch(ms); k != 1 || err != nil {
			t.Fatalf("server WriteBatch = %d, %v", k, err)
		}
		if _, n := waitTX(srv, ms[0].TXID); n != 1 {
			t.Fatalf("datagram %d: %d server TX stamps for id %d, want 1", i, n, ms[0].TXID)
		}
		cli.SetReadDeadline(time.Now().Add(5 * time.Second))
		if k, err := cli.ReadBatch(back); k != 1 || err != nil || back[0].Addr != dst {
			t.Fatalf("client ReadBatch = %d, %v, from %v; want 1 from %v", k, err, back[0].Addr, dst)
		}
	}
	pc := percentiles(oneWay)
	t.Logf("veth kernel TX → kernel RX: p50 %v p90 %v p99 %v max %v", pc[0], pc[1], pc[2], pc[3])

	// A socket bound to lo must not see datagrams arriving on the veth.
	out[0].Addr = netip.AddrPortFrom(p.addrA, addrPort(t, onLo).Port())
	if _, err := cli.WriteBatch(out); err != nil {
		t.Fatal(err)
	}
	onLo.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if k, err := onLo.ReadBatch(ms); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("socket bound to lo: ReadBatch = %d, %v; want a timeout", k, err)
	}
}

// waitTX polls ReadTX (for at most 2 s) until the kernel stamp for id
// arrives and returns it with the number of kernel stamps seen for id.
func waitTX(c *Conn, id uint32) (time.Time, int) {
	var tx time.Time
	n := 0
	for start := time.Now(); n == 0 && time.Since(start) < 2*time.Second; {
		c.ReadTX(func(got uint32, ts Timestamp) {
			if got == id && ts.Kind == KindKernel {
				tx = ts.Time
				n++
			}
		})
		if n == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	return tx, n
}
