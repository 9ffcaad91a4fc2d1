package serve

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// A request from a non-loopback address (dropped and counted by the
// shell) is not tested here: it needs a second address, i.e. a network
// namespace, and the house rules keep these unit tests on loopback.

// run starts s.Run and returns a stop function that cancels it and
// returns Run's error.
func run(t *testing.T, s *Service) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			return errors.New("Run did not return within 5 s of its context's end")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// send writes raw on c and returns the reply, or nil when none comes
// within wait.
func send(t *testing.T, c net.Conn, raw []byte, wait time.Duration) []byte {
	t.Helper()
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	b := make([]byte, 2048)
	n, err := c.Read(b)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.ECONNREFUSED) {
			// No answer: none sent, or (UDP) nobody listening any more.
			return nil
		}
		t.Fatal(err)
	}
	return b[:n]
}

// Every read-only command over UDP answers; every socket-only one is
// refused UNAUTH; runts, oversize datagrams and garbage get nothing and
// do not stop the server.
func TestUDPRefusesSocketOnly(t *testing.T) {
	s, err := Listen(Config{Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, Handler: handler()})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, s)
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cmd := range []wire.Command{wire.CmdServerStats, wire.CmdMakestep, wire.CmdResetSources, wire.CmdReloadSources} {
		if h := exchange(t, c, cmd); h.Status != wire.StatusUnauth {
			t.Errorf("%v over UDP: %v, want not authorised", cmd, h.Status)
		}
	}
	for _, raw := range [][]byte{make([]byte, 27), make([]byte, 2000), bytes.Repeat([]byte{0xFF}, 100)} {
		if out := send(t, c, raw, 200*time.Millisecond); out != nil {
			t.Errorf("reply of %d bytes to %d bytes of junk", len(out), len(raw))
		}
	}
	if h := exchange(t, c, wire.CmdTracking); h.Status != wire.StatusSuccess || h.Reply != wire.RpyTracking {
		t.Errorf("tracking after the junk: %+v", h)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if out := send(t, c, mustRequest(t, wire.CmdTracking), 200*time.Millisecond); out != nil {
		t.Error("an answer after Run returned")
	}
}

func mustRequest(t *testing.T, cmd wire.Command) []byte {
	t.Helper()
	b, err := wire.AppendRequest(nil, cmd, 1, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The socket's defaults: its directory is created 0750, the file is a
// socket of mode 0660 and, with SocketGroup a number, of that group.
// Another listener's live socket is not taken over (and keeps its file);
// the file is removed when Run returns.
func TestSocketFile(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "new", "gnomond.sock")
	gid := os.Getgid()
	s, err := Listen(Config{Socket: sock, SocketGroup: strconv.Itoa(gid), Handler: handler()})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, s)
	if fi, err := os.Stat(filepath.Dir(sock)); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("socket directory: %v %v, want mode 0750", err, fi)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket %s: %v %v, want a socket of mode 0660", sock, err, fi)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Gid) != gid {
		t.Errorf("socket group %d, want %d", st.Gid, gid)
	}
	// A client bound to its own path gets replies; an unbound one cannot
	// (nowhere to send them), and does not disturb the server.
	anon, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if out := send(t, anon, mustRequest(t, wire.CmdTracking), 200*time.Millisecond); out != nil {
		t.Errorf("an unbound client got %d bytes", len(out))
	}
	uc, err := net.DialUnix("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "c.sock"), Net: "unixgram"},
		&net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if h := exchange(t, uc, wire.CmdServerStats); h.Status != wire.StatusSuccess || h.Reply != wire.RpyServerStats4 {
		t.Errorf("serverstats over the socket: %+v", h)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file after Run: %v", err)
	}

	// Some other process's live socket at the path.
	other := filepath.Join(dir, "other.sock")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: other, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if s, err := Listen(Config{Socket: other, Handler: handler()}); err == nil {
		s.Close()
		t.Fatal("Listen took over a live socket")
	} else if !strings.Contains(err.Error(), other) {
		t.Errorf("error %q does not name the path", err)
	}
	// Still the other listener's: a datagram sent to the path reaches it.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: other, Net: "unixgram"})
	if err != nil {
		t.Fatalf("the other socket is gone: %v", err)
	}
	defer c.Close()
	c.Write([]byte("ping"))
	l.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, _, err := l.ReadFrom(make([]byte, 16)); err != nil || n != 4 {
		t.Errorf("the other listener no longer receives: %d %v", n, err)
	}
}

// SocketOptional: a socket that cannot be made is a logged warning that
// names the path; UDP still serves. Without it Listen fails, and the UDP
// sockets it opened first are closed again.
func TestSocketOptional(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := Listen(Config{Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, Socket: file,
		SocketOptional: true, Handler: handler(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, s)
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), file) {
		t.Errorf("no warning naming %s: %q", file, logs.String())
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if h := exchange(t, c, wire.CmdTracking); h.Status != wire.StatusSuccess {
		t.Errorf("tracking over UDP with the socket skipped: %v", h.Status)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}

	// Not optional: an error, and the UDP port is free again.
	udp := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), s.Addrs()[0].Port())
	if _, err := Listen(Config{Listen: []netip.AddrPort{udp}, Socket: file, Handler: handler()}); err == nil {
		t.Fatal("a regular file at the socket path: no error")
	}
	if c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(udp)); err != nil {
		t.Errorf("UDP %v still held after the failed Listen: %v", udp, err)
	} else {
		c.Close()
	}
	// An optional UDP address that cannot be bound (taken) is skipped.
	taken, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	logs.Reset()
	s, err = Listen(Config{Optional: []netip.AddrPort{taken.LocalAddr().(*net.UDPAddr).AddrPort()}, Handler: handler(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil || len(s.Addrs()) != 0 || !strings.Contains(logs.String(), "optional address not served") {
		t.Errorf("optional taken address: %v, %d addresses, log %q", err, len(s.Addrs()), logs.String())
	}
	if s != nil {
		s.Close()
	}
}

// Listen without a handler is an error, not a later nil dereference.
func TestListenNoHandler(t *testing.T) {
	if _, err := Listen(Config{}); err == nil {
		t.Error("Listen without a handler: no error")
	}
}
