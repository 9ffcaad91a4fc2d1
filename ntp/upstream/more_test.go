package upstream

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
)

// TestIPv6 polls a server on ::1 through the IPv6 socket, next to an IPv4
// one.
func TestIPv6(t *testing.T) {
	c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("SKIPPING: no IPv6 loopback: %v", err)
	}
	srv6 := startFakeOn(t, c6, fakeGood)
	srv4 := startFake(t, fakeGood)
	sink := newRecSink()
	u, err := New(Config{Servers: []ServerConfig{
		{Name: "v6", Address: srv6.addr().String(), MinPoll: -5, MaxPoll: -5},
		{Name: "v4", Address: srv4.addr().String(), MinPoll: -5, MaxPoll: -5},
	}}, &offsetClock{}, sink, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runUpstream(t, u)
	waitFor(t, livenessWait, "samples from both", func() bool {
		return len(sink.Samples("v6")) >= 5 && len(sink.Samples("v4")) >= 5
	})
	st := status(t, u)
	if len(st.Sockets) != 2 {
		t.Errorf("sockets %+v; want one per family", st.Sockets)
	}
	if k := st.source(t, "v6").T1Kinds[hwts.KindKernel]; k == 0 {
		t.Errorf("v6: no kernel TX stamps")
	}
}

// TestStopped: after Run returns, control calls and Status say so, and Run
// cannot be called again.
func TestStopped(t *testing.T) {
	u, err := New(Config{Servers: []ServerConfig{{Name: "x", Address: "127.0.0.1:9", MinPoll: -2, MaxPoll: -2}}},
		&offsetClock{}, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	status(t, u) // Status works while running
	if err := u.SetPoll("x", 0); err != nil {
		t.Errorf("SetPoll while running: %v", err)
	}
	if err := u.Burst("x", 0); err == nil {
		t.Error("Burst 0 accepted")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of cancel")
	}
	if _, err := u.Status(t.Context()); !errors.Is(err, ErrStopped) {
		t.Errorf("Status after Run: %v; want ErrStopped", err)
	}
	if err := u.RestartAll(); !errors.Is(err, ErrStopped) {
		t.Errorf("RestartAll after Run: %v; want ErrStopped", err)
	}
	if err := u.SetPoll("nope", 1); !errors.Is(err, ErrUnknownSource) {
		t.Errorf("SetPoll of unknown source: %v; want ErrUnknownSource", err)
	}
	if err := u.Run(t.Context()); err == nil {
		t.Error("second Run succeeded")
	}
}
