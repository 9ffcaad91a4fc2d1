package hwts

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// A NoWait socket's ReadBatch returns 0 at once when nothing is queued; a
// Poller waits the timeout when nothing arrives, wakes for the socket that
// got data (and only that one), which then reads with a kernel stamp.
// Sockets not opened with NoWait are refused; a closed one ends Wait.
func TestNoWaitPoller(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	open := func(noWait bool) *Conn {
		c, err := Listen(context.Background(), Config{Addr: netip.AddrPortFrom(lo, 0), Timestamping: ModeSoftware,
			TXOnDemand: true, NoWait: noWait})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b, plain := open(true), open(true), open(false)
	if _, err := NewPoller(a, plain); err == nil {
		t.Error("NewPoller accepted a socket without no_wait")
	}
	if _, err := Listen(context.Background(), Config{Addr: netip.AddrPortFrom(lo, 0), NoWait: true, SendOnly: true}); err == nil {
		t.Error("Listen accepted send_only with no_wait")
	}
	msgs := []Message{{Buf: make([]byte, 64)}, {Buf: make([]byte, 64)}}
	t0 := time.Now()
	if n, err := a.ReadBatch(msgs); n != 0 || err != nil {
		t.Fatalf("empty NoWait read: %d %v", n, err)
	}
	if el := time.Since(t0); el > 100*time.Millisecond {
		t.Errorf("empty NoWait read took %v", el)
	}
	p, err := NewPoller(a, b)
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	if n, err := p.Wait(30 * time.Millisecond); n != 0 || err != nil {
		t.Fatalf("idle wait: %d %v", n, err)
	}
	if el := time.Since(t0); el < 25*time.Millisecond || el > time.Second {
		t.Errorf("idle wait took %v, want ≈ 30 ms", el)
	}
	out := []Message{{Buf: []byte("ping"), N: 4, Addr: b.LocalAddr()}}
	if n, err := plain.WriteBatch(out); n != 1 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	if n, err := p.Wait(2 * time.Second); n != 1 || err != nil || p.Readable(0) || !p.Readable(1) {
		t.Fatalf("wait: %d %v readable %v %v", n, err, p.Readable(0), p.Readable(1))
	}
	if n, err := b.ReadBatch(msgs); n != 1 || err != nil || string(msgs[0].Buf[:msgs[0].N]) != "ping" ||
		msgs[0].RX.Kind != KindKernel || msgs[0].Local != lo {
		t.Fatalf("read: %d %v %+v", n, err, msgs[0])
	}
	if n, err := b.ReadBatch(msgs); n != 0 || err != nil {
		t.Fatalf("drained read: %d %v", n, err)
	}
	a.Close()
	if _, err := p.Wait(time.Millisecond); !errors.Is(err, net.ErrClosed) {
		t.Errorf("wait on a closed socket: %v", err)
	}
}
