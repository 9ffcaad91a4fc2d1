package serve

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon"
	"github.com/gnomon-time/gnomon/cmdmon/wire"
	"github.com/gnomon-time/gnomon/report"
)

type fakeDisc struct{}

func (fakeDisc) Tracking() (report.Tracking, bool) {
	return report.Tracking{Synchronized: true, Stratum: 3, RefID: 0x7F7F0101}, true
}
func (fakeDisc) Sources(context.Context) []report.Source               { return nil }
func (fakeDisc) SourceStats() []report.SourceStats                     { return nil }
func (fakeDisc) SelectData() []report.SelectData                       { return nil }
func (fakeDisc) NTPData(context.Context) []report.NTPData              { return nil }
func (fakeDisc) Burst(context.Context, netip.Prefix, int) (int, error) { return 0, nil }
func (fakeDisc) MakeStep(context.Context) error                        { return nil }
func (fakeDisc) ResetSources(context.Context) error                    { return nil }

func handler() *cmdmon.Handler { return cmdmon.New(cmdmon.Config{Discipline: fakeDisc{}}) }

// exchange sends req on c and returns the reply's status and type.
func exchange(t *testing.T, c net.Conn, cmd wire.Command) wire.ReplyHeader {
	t.Helper()
	req, err := wire.AppendRequest(nil, cmd, 77, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1024)
	n, err := c.Read(b)
	if err != nil {
		t.Fatalf("%v: no reply: %v", cmd, err)
	}
	h, err := wire.ParseReplyHeader(b[:n])
	if err != nil && h.Status == 0 {
		t.Fatal(err)
	}
	return h
}

func TestSocketAndUDP(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "gnomond.sock")
	s, err := Listen(Config{Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, Socket: sock,
		SocketMode: 0o640, Handler: handler()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o640 {
		t.Fatalf("socket %s: %v %v, want a socket with mode 0640", sock, err, fi)
	}
	local := filepath.Join(dir, "client.sock")
	uc, err := net.DialUnix("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"}, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if h := exchange(t, uc, wire.CmdTracking); h.Status != wire.StatusSuccess || h.Reply != wire.RpyTracking || h.Sequence != 77 {
		t.Errorf("tracking over the socket: %+v", h)
	}
	if h := exchange(t, uc, wire.CmdMakestep); h.Status != wire.StatusSuccess {
		t.Errorf("makestep over the socket: %v", h.Status)
	}
	udp, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	if h := exchange(t, udp, wire.CmdTracking); h.Status != wire.StatusSuccess || h.Reply != wire.RpyTracking {
		t.Errorf("tracking over UDP: %+v", h)
	}
	if h := exchange(t, udp, wire.CmdMakestep); h.Status != wire.StatusUnauth {
		t.Errorf("makestep over UDP: %v, want not authorised", h.Status)
	}

	// A second daemon may not take over a live socket; a stale one it may.
	if _, err := Listen(Config{Socket: sock, Handler: handler()}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Listen on a live socket: %v, want in use", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file left after Run: %v", err)
	}
}

func TestStaleAndForeignPaths(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "stale.sock")
	// A socket nobody reads any more (bound, then closed without unlink).
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Skipf("the closed socket's file is gone already: %v", err)
	}
	s, err := Listen(Config{Socket: sock, Handler: handler()})
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	s.Close()

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(Config{Socket: file, Handler: handler()}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file at the socket path: %v, want an error", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Errorf("the regular file was touched")
	}
	// Optional: the same failure is a warning, and the UDP part serves.
	s, err = Listen(Config{Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, Socket: file,
		SocketOptional: true, Handler: handler()})
	if err != nil || s.SocketPath() != "" || len(s.Addrs()) != 1 {
		t.Fatalf("optional socket: %v, path %q", err, s.SocketPath())
	}
	s.Close()
}

// A group that does not resolve is an error even for an optional socket,
// and no file (neither the socket nor its temporary name) is left; a
// mode is applied before the socket appears at its path.
func TestSocketGroupAndMode(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "g.sock")
	for _, optional := range []bool{false, true} {
		_, err := Listen(Config{Socket: sock, SocketGroup: "no-such-group-gnomon", SocketOptional: optional, Handler: handler()})
		if err == nil || !strings.Contains(err.Error(), "no-such-group-gnomon") {
			t.Errorf("optional=%v: unknown group: %v, want an error naming it", optional, err)
		}
	}
	gid := os.Getgid()
	s, err := Listen(Config{Socket: sock, SocketMode: 0o600, SocketGroup: fmt.Sprint(gid), Handler: handler()})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Gid != uint32(gid) {
		t.Errorf("socket: %v %v, want mode 0600 group %d", err, fi, gid)
	}
	s.Close()
	s.Close() // twice is fine
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}
