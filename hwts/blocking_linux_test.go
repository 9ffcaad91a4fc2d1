package hwts

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// A BlockingRead socket, IPv4 and IPv6: echo rounds with kernel RX and TX
// stamps (TX matched by ID) and no allocation; a batch queued while the
// reader is away comes back from one ReadBatch (MSG_WAITFORONE takes what
// is queued); deadlines are refused.
func TestBlockingRead(t *testing.T) {
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			srv := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0), Timestamping: ModeSoftware, BlockingRead: true})
			cli := listen(t, Config{Addr: netip.AddrPortFrom(fam.loopback, 0), Timestamping: ModeSoftware})
			if srv.Info().RX != KindKernel || srv.Info().TX != KindKernel {
				t.Fatalf("info %+v, want kernel stamps", srv.Info())
			}
			if err := srv.SetReadDeadline(time.Now()); !errors.Is(err, ErrUnsupported) {
				t.Errorf("SetReadDeadline: %v, want ErrUnsupported", err)
			}
			const batch = 8
			e := newEcho(t, srv, cli, batch)
			e.round(t)
			if !runtimeRaceEnabled {
				if allocs := testing.AllocsPerRun(100, func() { e.round(t) }); allocs != 0 {
					t.Errorf("echo round: %v allocs, want 0", allocs)
				}
			}
			if e.txSeen == 0 {
				t.Error("no TX stamps seen")
			}
			// The whole batch is queued before the server reads: one call.
			if k, err := cli.WriteBatch(e.out); k != batch || err != nil {
				t.Fatalf("client WriteBatch = %d, %v", k, err)
			}
			time.Sleep(20 * time.Millisecond)
			k, err := srv.ReadBatch(e.sin)
			if k != batch || err != nil {
				t.Fatalf("ReadBatch = %d, %v; want the %d queued datagrams at once", k, err, batch)
			}
			for i := range k {
				m := &e.sin[i]
				if m.N != 48 || m.Addr != cli.LocalAddr() || m.RX.Kind != KindKernel || m.Local != fam.loopback {
					t.Errorf("datagram %d: n %d from %v local %v rx %v", i, m.N, m.Addr, m.Local, m.RX.Kind)
				}
			}
		})
	}
}

// Close wakes a ReadBatch asleep in the kernel at once (well inside the
// 1 s SO_RCVTIMEO backstop: shutdown(2) does it), the reader gets
// net.ErrClosed, and later calls fail cleanly.
func TestBlockingReadClose(t *testing.T) {
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			c, err := Listen(t.Context(), Config{Addr: netip.AddrPortFrom(fam.loopback, 0), BlockingRead: true})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				_, err := c.ReadBatch(newMsgs(4, 64))
				done <- err
			}()
			time.Sleep(50 * time.Millisecond) // let it sleep in recvmmsg
			select {
			case err := <-done:
				t.Fatalf("ReadBatch returned before Close: %v", err)
			default:
			}
			t0 := time.Now()
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("ReadBatch after Close: %v, want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("ReadBatch still blocked 5 s after Close")
			}
			if d := time.Since(t0); d > blockingTimeout/2 {
				t.Errorf("Close took %v: woken by the timeout, not by shutdown", d)
			}
			if err := c.Close(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("second Close: %v, want net.ErrClosed", err)
			}
			if _, err := c.ReadBatch(newMsgs(1, 64)); !errors.Is(err, net.ErrClosed) {
				t.Errorf("ReadBatch after Close: %v", err)
			}
			if _, err := c.ReadTX(func(uint32, Timestamp) {}); err == nil && c.Info().TX != KindNone {
				t.Error("ReadTX after Close succeeded")
			}
		})
	}
}

// An idle blocking reader wakes at its SO_RCVTIMEO, goes back to sleep and
// still gets the next datagram.
func TestBlockingReadIdleTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the receive timeout")
	}
	srv := listen(t, Config{Addr: netip.MustParseAddrPort("127.0.0.1:0"), BlockingRead: true, Timestamping: ModeNone})
	cli := listen(t, Config{Addr: netip.MustParseAddrPort("127.0.0.1:0"), Timestamping: ModeNone})
	done := make(chan error, 1)
	in := newMsgs(4, 64)
	go func() {
		n, err := srv.ReadBatch(in)
		if err == nil && n != 1 {
			err = errors.New("not one datagram")
		}
		done <- err
	}()
	time.Sleep(blockingTimeout + 200*time.Millisecond)
	out := newMsgs(1, 8)
	out[0].N, out[0].Addr = 8, srv.LocalAddr()
	if k, err := cli.WriteBatch(out); k != 1 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", k, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		if in[0].RX.Kind != KindDaemon {
			t.Errorf("RX kind %v, want daemon (ModeNone)", in[0].RX.Kind)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no datagram 5 s after it was sent")
	}
}
