package engine

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// bubbleClock reads the synctest bubble's fake time.
type bubbleClock struct{}

func (bubbleClock) Now() time.Time { return time.Now().Round(0) }

// fakeNet answers each request from a perfect server (time.Now in the
// bubble, plus offset) after a one-way delay, and delivers the reply after
// another.
type fakeNet struct {
	srv     *ntp.Server
	clk     clock.Clock // the engine's clock, which stamps RX
	offsets []time.Duration
	owd     time.Duration
	ch      chan Packet
}

func (n *fakeNet) Replies() <-chan Packet { return n.ch }

func (n *fakeNet) Send(id int, req []byte) (time.Time, error) {
	tx := n.clk.Now()
	q := append([]byte(nil), req...)
	go func() {
		time.Sleep(n.owd)
		srvNow := func() time.Time { return time.Now().Add(n.offsets[id]) }
		st := &clock.SyncState{Synchronized: true, Stratum: 1, RefID: 0x47505300, RefTime: srvNow().Add(-time.Second),
			RootDispersion: 10 * time.Microsecond, Precision: -20}
		out := make([]byte, ntp.HeaderLen)
		k, v := n.srv.Respond(out, q, netip.MustParseAddrPort("198.51.100.1:32123"), ntp.TimeFromTime(srvNow()), st)
		if !v.Replied() {
			return
		}
		time.Sleep(5 * time.Microsecond) // processing: Transmit after Receive
		ntp.PutTransmit(out[:k], ntp.TimeFromTime(srvNow()))
		time.Sleep(n.owd)
		n.ch <- Packet{Source: id, Data: out[:k], RX: n.clk.Now()}
	}()
	return tx, nil
}

// TestShell runs the shell over a fake network in a synctest bubble: a
// virtual clock 5 ms ahead, three servers of which one is 50 ms off, 1 s
// polls. After a simulated minute the engine is locked to a truechimer and
// the virtual clock is within 20 µs of the servers' time (the fake network
// is symmetric and jitter-free, so only the steering matters).
func TestShell(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := clock.NewVirtual(bubbleClock{})
		if err := v.Step(5 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		acl, err := ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := ntp.DefaultServerConfig()
		cfg.ACL = acl
		srv, err := ntp.NewServer(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		nw := &fakeNet{srv: srv, clk: v, offsets: []time.Duration{0, 0, 50 * time.Millisecond}, owd: 200 * time.Microsecond, ch: make(chan Packet, 64)}
		cell := &clock.StateCell{}
		ecfg := DefaultConfig()
		counters := &Counters{}
		ecfg.Sink = NewLogSink(slog.New(slog.NewTextHandler(t.Output(), nil)), counters)
		e, err := New(ecfg, v, cell)
		if err != nil {
			t.Fatal(err)
		}
		sh, err := NewShell(e, nw, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"a", "b", "bad"} {
			addr := netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
			if _, err := sh.AddServer(SourceConfig{ID: name, Addr: addr}, client.Config{MinPoll: 0, MaxPoll: 1}); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := sh.Run(ctx); err != nil {
			t.Fatal(err)
		}
		st, s := cell.Load(), e.Status()
		if !st.Synchronized || st.Stratum != 2 || s.Mode != ModeLocked || (s.Peer != "a" && s.Peer != "b") {
			t.Errorf("state %+v, mode %v, peer %q", st, s.Mode, s.Peer)
		}
		if off := v.Offset(); off.Abs() > 20*time.Microsecond {
			t.Errorf("virtual clock off by %v after a minute", off)
		}
		if s.Sources[2].State.Char() != 'x' {
			t.Errorf("bad server state %c", s.Sources[2].State.Char())
		}
		if s.Steps != 1 || sh.SendErrors != 0 || counters.ModeEntries[ModeHoldover].Load() != 0 {
			t.Errorf("steps %d, send errors %d, holdovers %d", s.Steps, sh.SendErrors, counters.ModeEntries[ModeHoldover].Load())
		}
		time.Sleep(time.Second) // let in-flight exchanges end (the buffered channel takes their replies)
		synctest.Wait()
	})
}

// deadNet fails every send and never answers.
type deadNet struct{ ch chan Packet }

func (n deadNet) Send(int, []byte) (time.Time, error) {
	return time.Time{}, errors.New("network is unreachable")
}
func (n deadNet) Replies() <-chan Packet { return n.ch }

// With a dead network the shell keeps polling (counting the errors), the
// engine stays unsynchronised, and Run ends cleanly with its context.
func TestShellDeadNetwork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cell := &clock.StateCell{}
		e, err := New(DefaultConfig(), clock.NewVirtual(bubbleClock{}), cell)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewShell(nil, deadNet{}, nil); err == nil {
			t.Error("nil engine accepted")
		}
		sh, err := NewShell(e, deadNet{make(chan Packet)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sh.AddServer(SourceConfig{ID: "a"}, client.Config{MinPoll: 0, MaxPoll: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := sh.AddServer(SourceConfig{ID: "bad"}, client.Config{MinPoll: 5, MaxPoll: 4}); err == nil {
			t.Error("invalid client config accepted")
		}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		if err := sh.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if sh.SendErrors < 10 || cell.Load().Synchronized {
			t.Errorf("send errors %d, synchronised %v", sh.SendErrors, cell.Load().Synchronized)
		}
	})
}

// A transport that closes its reply channel ends Run with an error instead
// of spinning.
func TestShellClosedTransport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, err := New(DefaultConfig(), clock.NewVirtual(bubbleClock{}), &clock.StateCell{})
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan Packet)
		close(ch)
		sh, err := NewShell(e, deadNet{ch}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := sh.Run(t.Context()); err == nil {
			t.Error("Run returned nil on a closed transport")
		}
	})
}
