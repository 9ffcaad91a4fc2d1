package client

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// fakeServer answers each request with what respond returns (zero or more
// datagrams) and records the request headers.
type fakeServer struct {
	conn    net.PacketConn
	respond func(h wire.RequestHeader, req []byte) [][]byte
	mu      sync.Mutex
	reqs    []wire.RequestHeader
	lens    []int
	from    []net.Addr
}

func startUDP(t *testing.T, respond func(wire.RequestHeader, []byte) [][]byte) *fakeServer {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveFake(t, c, respond)
}

func serveFake(t *testing.T, c net.PacketConn, respond func(wire.RequestHeader, []byte) [][]byte) *fakeServer {
	s := &fakeServer{conn: c, respond: respond}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			h, err := wire.ParseRequestHeader(buf[:n])
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.reqs, s.lens, s.from = append(s.reqs, h), append(s.lens, n), append(s.from, from)
			s.mu.Unlock()
			for _, out := range respond(h, buf[:n]) {
				c.WriteTo(out, from)
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return s
}

func (s *fakeServer) requests() []wire.RequestHeader {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wire.RequestHeader(nil), s.reqs...)
}

func (s *fakeServer) lengths() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.lens...)
}

func udpTarget(s *fakeServer) Target { return Target{"udp", s.conn.LocalAddr().String()} }

func reply(h wire.RequestHeader, t wire.ReplyType, st wire.Status) wire.ReplyHeader {
	return wire.ReplyTo(h, t, st)
}

// build is wire.AppendReply for tests (which give valid bodies).
func build(h wire.ReplyHeader, body wire.ReplyBody) []byte {
	b, err := wire.AppendReply(nil, h, body)
	if err != nil {
		panic(err)
	}
	return b
}

func activityReply(h wire.RequestHeader, online int32) []byte {
	return build(reply(h, wire.RpyActivity, wire.StatusSuccess), &wire.Activity{Online: online})
}

func newClient(t *testing.T, ts ...Target) *Client {
	t.Helper()
	c, err := New(ts)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 50 * time.Millisecond
	t.Cleanup(func() { c.Close() })
	return c
}

// TestAcceptRules: replies that fail chronyc's header checks are ignored
// and the good one that follows is taken.
func TestAcceptRules(t *testing.T) {
	s := startUDP(t, func(h wire.RequestHeader, _ []byte) [][]byte {
		bad := func(mut func(*wire.ReplyHeader)) []byte {
			r := reply(h, wire.RpyActivity, wire.StatusSuccess)
			mut(&r)
			return build(r, &wire.Activity{Online: 99})
		}
		return [][]byte{
			bad(func(r *wire.ReplyHeader) { r.Sequence++ }),
			bad(func(r *wire.ReplyHeader) { r.Command = wire.CmdTracking }),
			bad(func(r *wire.ReplyHeader) { r.Version = 5 }),
			bad(func(r *wire.ReplyHeader) { r.PktType = wire.PktRequest }),
			bad(func(r *wire.ReplyHeader) { r.Res1 = 1 }),
			bad(func(r *wire.ReplyHeader) { r.Res2 = 1 }),
			[]byte{6, 2, 0},
			activityReply(h, 4),
		}
	})
	c := newClient(t, udpTarget(s))
	a, err := c.Activity(context.Background())
	if err != nil || a.Online != 4 {
		t.Fatalf("Activity = %+v, %v; want online 4 from the only valid reply", a, err)
	}
	if r := s.requests(); len(r) != 1 || r[0].Attempt != 0 || r[0].Version != wire.Version || r[0].PktType != wire.PktRequest {
		t.Errorf("requests %+v, want one attempt 0", r)
	}
	if l := s.lengths()[0]; l != 48 {
		t.Errorf("ACTIVITY request is %d bytes, want 48 (padded to its reply)", l)
	}
}

// TestResendAndTooShort: a reply shorter than its type is dropped and the
// request resent at once with attempt+1 and a new sequence; silence is
// answered by resends after the timeout, doubling.
func TestResendAndTooShort(t *testing.T) {
	s := startUDP(t, func(h wire.RequestHeader, _ []byte) [][]byte {
		switch h.Attempt {
		case 0:
			return [][]byte{activityReply(h, 1)[:40]} // too short for ACTIVITY (48)
		case 1:
			return nil // silence: wait for the timeout
		}
		return [][]byte{activityReply(h, 2)}
	})
	c := newClient(t, udpTarget(s))
	c.Timeout = 300 * time.Millisecond
	start := time.Now()
	a, err := c.Activity(context.Background())
	el := time.Since(start)
	if err != nil || a.Online != 2 {
		t.Fatalf("Activity = %+v, %v", a, err)
	}
	r := s.requests()
	if len(r) != 3 || r[0].Attempt != 0 || r[1].Attempt != 1 || r[2].Attempt != 2 {
		t.Fatalf("requests %+v, want attempts 0, 1, 2", r)
	}
	if r[0].Sequence == r[1].Sequence || r[1].Sequence == r[2].Sequence {
		t.Errorf("sequence reused across attempts: %+v", r)
	}
	// Attempt 1 waited its full timeout (2 × 300 ms); attempt 0 none (it
	// would add 300 ms had the short reply not caused an immediate resend).
	if el < 600*time.Millisecond || el >= 850*time.Millisecond {
		t.Errorf("took %v, want 600 ms", el)
	}
}

func TestSilentThenNextTarget(t *testing.T) {
	silent := startUDP(t, func(wire.RequestHeader, []byte) [][]byte { return nil })
	good := startUDP(t, func(h wire.RequestHeader, _ []byte) [][]byte { return [][]byte{activityReply(h, 3)} })
	c := newClient(t, udpTarget(silent), udpTarget(good))
	start := time.Now()
	a, err := c.Activity(context.Background())
	if err != nil || a.Online != 3 {
		t.Fatalf("Activity = %+v, %v", a, err)
	}
	if n := len(silent.requests()); n != 3 {
		t.Errorf("silent target got %d requests, want 3 (2 retries)", n)
	}
	if el := time.Since(start); el < 350*time.Millisecond {
		t.Errorf("gave up on the silent target after %v, want 50+100+200 ms", el)
	}
	c2 := newClient(t, udpTarget(silent))
	if _, err := c2.Activity(context.Background()); !errors.Is(err, ErrNoDaemon) || err.Error() != "506 Cannot talk to daemon" {
		t.Errorf("all silent: %v", err)
	}
}

func TestStatusAndType(t *testing.T) {
	s := startUDP(t, func(h wire.RequestHeader, _ []byte) [][]byte {
		if h.Command == wire.CmdTracking {
			return [][]byte{wire.AppendErrorReply(nil, h, wire.StatusUnauth)}
		}
		return [][]byte{build(reply(h, wire.RpyNSources, wire.StatusSuccess), &wire.NSources{N: 1})}
	})
	c := newClient(t, udpTarget(s))
	_, err := c.Tracking(context.Background())
	var se *wire.StatusError
	if !errors.As(err, &se) || se.Status != wire.StatusUnauth || err.Error() != "501 Not authorised" {
		t.Errorf("Tracking: %v, want 501 Not authorised", err)
	}
	// An N_SOURCES reply to ACTIVITY is a bad reply.
	if _, err := c.Activity(context.Background()); !errors.Is(err, ErrBadReply) || err.Error() != "508 Bad reply from daemon" {
		t.Errorf("Activity answered by N_SOURCES: %v", err)
	}
}

// TestOldTypes: SERVER_STATS is asked for with room for SERVER_STATS4, and
// a SERVER_STATS3 answer (chrony 4.3) is taken.
func TestOldTypes(t *testing.T) {
	s := startUDP(t, func(h wire.RequestHeader, req []byte) [][]byte {
		return [][]byte{build(reply(h, wire.RpyServerStats3, 0), &wire.ServerStats{NTPHits: 7})}
	})
	c := newClient(t, udpTarget(s))
	st, v4, err := c.ServerStats(context.Background())
	if err != nil || v4 || st.NTPHits != 7 {
		t.Errorf("ServerStats = %+v, v4 %v, %v", st, v4, err)
	}
	if l := s.lengths()[0]; l != 196 {
		t.Errorf("SERVER_STATS request is %d bytes, want 196", l)
	}
}

// TestCancel: a cancelled context ends a wait at once and leaves no
// goroutine behind.
func TestCancel(t *testing.T) {
	s := startUDP(t, func(wire.RequestHeader, []byte) [][]byte { return nil })
	before := runtime.NumGoroutine()
	c := newClient(t, udpTarget(s))
	c.Timeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Tracking(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Tracking: %v, want the context's error", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("returned after %v", el)
	}
	c.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines, %d before", n, before)
	}
}

// TestUnixSocket: over a Unix datagram socket the client binds its own
// path (writable by a daemon running as another user) and removes it on
// Close.
func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.sock")
	pc, err := net.ListenPacket("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	s := serveFake(t, pc, func(h wire.RequestHeader, _ []byte) [][]byte { return [][]byte{activityReply(h, 5)} })
	c := newClient(t, Target{"unixgram", path})
	a, err := c.Activity(context.Background())
	if err != nil || a.Online != 5 {
		t.Fatalf("Activity = %+v, %v", a, err)
	}
	s.mu.Lock()
	local := s.from[0].String()
	s.mu.Unlock()
	if !strings.HasPrefix(local, os.TempDir()) {
		t.Errorf("client socket %q not in %s", local, os.TempDir())
	}
	fi, err := os.Stat(local)
	if err != nil || fi.Mode().Perm() != 0o666 {
		t.Errorf("client socket %q: %v, mode %v", local, err, fi.Mode())
	}
	c.Close()
	if _, err := os.Stat(local); !os.IsNotExist(err) {
		t.Errorf("client socket %q left behind: %v", local, err)
	}
	// A missing socket is not an address to wait for.
	c2 := newClient(t, Target{"unixgram", filepath.Join(dir, "none.sock")})
	if _, err := c2.Activity(context.Background()); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("missing socket: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(os.TempDir(), "gnomonctl."+strings.Split(filepath.Base(local), ".")[1]+".*")); len(m) != 0 {
		t.Errorf("client sockets left behind: %v", m)
	}
}

func TestParseTargets(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		in, want string
	}{
		{"127.0.0.1", "udp 127.0.0.1:323"},
		{"127.0.0.1:1234", "udp 127.0.0.1:1234"},
		{"::1", "udp [::1]:323"},
		{"[::1]:99", "udp [::1]:99"},
		{"/run/x.sock", "unixgram /run/x.sock"},
		{"/a,127.0.0.2", "unixgram /a|udp 127.0.0.2:323"},
	} {
		ts, err := ParseTargets(ctx, tc.in, DefaultPort)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var got []string
		for _, x := range ts {
			got = append(got, x.Network+" "+x.Address)
		}
		if strings.Join(got, "|") != tc.want {
			t.Errorf("%q: %v, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:0", "127.0.0.1:x", "[::1]:70000"} {
		if _, err := ParseTargets(ctx, bad, DefaultPort); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	d := DefaultTargets(filepath.Join(t.TempDir(), "absent.sock"), 323)
	if len(d) != 2 || d[0].Address != "127.0.0.1:323" || d[1].Address != "[::1]:323" {
		t.Errorf("DefaultTargets without a socket: %v", d)
	}
}
