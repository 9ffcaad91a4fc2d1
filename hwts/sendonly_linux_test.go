package hwts

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// sendOnlyPair is a SendOnly (or ordinary) kernel-stamping sender and a
// kernel-stamping receiver on loopback.
func sendOnlyPair(t testing.TB, sendOnly bool) (snd, rcv *Conn) {
	t.Helper()
	lo := netip.MustParseAddr("127.0.0.1")
	rcv, err := Listen(context.Background(), Config{Addr: netip.AddrPortFrom(lo, 0), Timestamping: ModeSoftware})
	if err != nil {
		t.Fatal(err)
	}
	snd, err = Listen(context.Background(), Config{Addr: netip.AddrPortFrom(lo, 0), Timestamping: ModeSoftware,
		TXOnDemand: true, SendOnly: sendOnly})
	if err != nil {
		rcv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close(); rcv.Close() })
	return snd, rcv
}

// oneWay sends one datagram with a TX stamp and returns receiver RX stamp
// minus sender TX stamp.
func oneWay(t testing.TB, snd, rcv *Conn, out, in []Message) time.Duration {
	t.Helper()
	out[0].N, out[0].Addr, out[0].WantTX = 8, rcv.LocalAddr(), true
	if n, err := snd.WriteBatch(out[:1]); n != 1 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	var t1 time.Time
	for i := 0; i < 1000 && t1.IsZero(); i++ {
		if _, err := snd.ReadTX(func(id uint32, ts Timestamp) {
			if id == out[0].TXID && ts.Kind == KindKernel {
				t1 = ts.Time
			}
		}); err != nil {
			t.Fatal(err)
		}
		if t1.IsZero() {
			time.Sleep(20 * time.Microsecond)
		}
	}
	rcv.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := rcv.ReadBatch(in[:1]); n != 1 || err != nil || t1.IsZero() {
		t.Fatalf("read: %d %v, TX stamp %v", n, err, t1)
	}
	return in[0].RX.Time.Sub(t1)
}

// A send-only socket sends with TX timestamps (IDs matched) and refuses
// reads and deadlines; Close works once.
func TestSendOnly(t *testing.T) {
	snd, rcv := sendOnlyPair(t, true)
	out, in := []Message{{Buf: make([]byte, 8)}}, []Message{{Buf: make([]byte, 64)}}
	for range 5 {
		if d := oneWay(t, snd, rcv, out, in); d < 0 || d > time.Second {
			t.Errorf("one-way %v", d)
		}
	}
	if !snd.LocalAddr().IsValid() || snd.LocalAddr().Port() == 0 {
		t.Errorf("local address %v", snd.LocalAddr())
	}
	if _, err := snd.ReadBatch(in); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ReadBatch on a send-only socket: %v", err)
	}
	if err := snd.SetReadDeadline(time.Now()); !errors.Is(err, ErrUnsupported) {
		t.Errorf("SetReadDeadline: %v", err)
	}
	if err := snd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := snd.WriteBatch(out); err == nil {
		t.Error("write after Close succeeded")
	}
}

// BenchmarkOneWayLowRate measures, side by side, the time from a sender's
// kernel TX stamp to the receiver's kernel RX stamp at 25 Hz (a PTP Sync
// rate) for an ordinary socket and a SendOnly one, 40 datagrams each,
// alternating; it reports p50 and p90 in ns.
func BenchmarkOneWayLowRate(b *testing.B) {
	for _, sendOnly := range []bool{false, true} {
		name := "netpoller"
		if sendOnly {
			name = "send-only"
		}
		b.Run(name, func(b *testing.B) {
			snd, rcv := sendOnlyPair(b, sendOnly)
			out, in := []Message{{Buf: make([]byte, 8)}}, []Message{{Buf: make([]byte, 64)}}
			var d []time.Duration
			for b.Loop() {
				d = d[:0]
				for range 40 {
					d = append(d, oneWay(b, snd, rcv, out, in))
					time.Sleep(40 * time.Millisecond)
				}
			}
			slices.Sort(d)
			b.ReportMetric(float64(d[len(d)/2]), "p50-ns")
			b.ReportMetric(float64(d[len(d)*9/10]), "p90-ns")
		})
	}
}
