package serve

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
)

// loopbackPair opens a Service with one worker that does not run (the
// caller drives worker.step) and a hwts client socket, both on 127.0.0.1.
func loopbackPair(t testing.TB, batch int, netpoller bool) (*worker, *hwts.Conn, netip.AddrPort) {
	t.Helper()
	return loopbackPairOpts(t, testOpts{workers: 1, batch: batch, netpoller: netpoller})
}

func loopbackPairOpts(t testing.TB, o testOpts) (*worker, *hwts.Conn, netip.AddrPort) {
	t.Helper()
	batch := o.batch
	svc, _ := buildService(t, o)
	cl, err := hwts.Listen(t.Context(), hwts.Config{
		Addr: netip.MustParseAddrPort("127.0.0.1:0"), Timestamping: hwts.ModeNone, BatchSize: batch,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	if err := cl.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	return svc.workers[0], cl, svc.Addrs()[0]
}

// clientBatch prepares n requests to server in msgs; with xleave every
// other request is in interleaved form (Origin with bit 0 set, Receive ≠
// Transmit), so its reply asks for a kernel TX timestamp.
func clientBatch(n int, server netip.AddrPort, xleave bool) []hwts.Message {
	msgs := make([]hwts.Message, n)
	for i := range msgs {
		msgs[i].Buf = request(4, 3, uint64(0x1000+i))
		if xleave && i%2 == 0 {
			binary.BigEndian.PutUint64(msgs[i].Buf[24:], uint64(0x5001+2*i))
			binary.BigEndian.PutUint64(msgs[i].Buf[32:], uint64(0x7000+i))
		}
		msgs[i].N = 48
		msgs[i].Addr = server
	}
	return msgs
}

// One worker iteration — recvmmsg, Respond, transmit stamp, sendmmsg,
// error-queue drain with RecordTX — allocates nothing. The client side
// (hwts WriteBatch/ReadBatch) is allocation-free too, so the whole round
// trip is measured.
func TestWorkerStepZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, np := range []bool{false, true} {
		for _, xleave := range []bool{false, true} {
			t.Run("netpoller="+strconv.FormatBool(np)+"/xleave_form="+strconv.FormatBool(xleave),
				func(t *testing.T) { testWorkerStepZeroAllocs(t, xleave, np) })
		}
	}
}

// requestsSeen is how many requests w has counted, by any verdict.
func requestsSeen(w *worker) uint64 {
	var n uint64
	for i := range w.ctr.requests {
		n += w.ctr.requests[i].Load()
	}
	return n
}

// stepAll steps w until it has handled n more requests. On a loaded
// machine loopback delivery can lag behind sendmmsg (softirq deferred to
// ksoftirqd), so one step may see part of a batch.
func stepAll(t testing.TB, w *worker, n int) {
	t.Helper()
	for before := requestsSeen(w); requestsSeen(w)-before < uint64(n); {
		if err := w.step(); err != nil {
			t.Fatal(err)
		}
	}
}

func testWorkerStepZeroAllocs(t *testing.T, xleave, netpoller bool) {
	const batch = 8
	w, cl, server := loopbackPair(t, batch, netpoller)
	req := clientBatch(batch, server, xleave)
	rep := make([]hwts.Message, batch)
	for i := range rep {
		rep[i].Buf = make([]byte, 512)
	}
	var replies int
	round := func() {
		if _, err := cl.WriteBatch(req); err != nil {
			t.Fatal(err)
		}
		stepAll(t, w, batch)
		for got := 0; got < batch; {
			n, err := cl.ReadBatch(rep)
			if err != nil {
				t.Fatal(err)
			}
			got += n
			replies += n
		}
	}
	round() // warm up (zone caches, first TX IDs); AllocsPerRun adds one more
	allocs := testing.AllocsPerRun(200, round)
	if allocs != 0 {
		t.Errorf("worker step: %v allocations per batch of %d, want 0", allocs, batch)
	}
	if want := 202 * batch; replies != want {
		t.Errorf("%d replies, want %d", replies, want)
	}
	st := w.ctr
	if got := st.requests[ntp.VerdictServed].Load(); got != uint64(202*batch) {
		t.Errorf("served %d, want %d", got, 202*batch)
	}
	// Kernel TX stamps exactly for the replies to interleaved-form
	// requests and the basic replies stamped for the transmit calibration
	// (when the socket has kernel TX stamps at all).
	want := uint64(0)
	if w.conn.(*hwts.Conn).Info().TX != hwts.KindNone {
		want = st.txCalibration.Load()
		if xleave {
			want += 202 * batch / 2
		}
		if st.txCalibration.Load() == 0 {
			t.Error("no basic reply was stamped for the transmit calibration")
		}
	}
	if got := st.tx[hwts.KindKernel].Load(); got != want {
		t.Errorf("kernel TX stamps %d, want %d", got, want)
	}
}

// BenchmarkWorkerStep measures one batch round trip on loopback: client
// sendmmsg of a batch, worker step (recvmmsg, Respond ×batch, sendmmsg,
// TX-timestamp drain), client recvmmsg. ns/op is per batch; ns/request is
// per request.
func BenchmarkWorkerStep(b *testing.B) {
	for _, bc := range []struct {
		batch  int
		xleave bool
	}{{1, false}, {32, false}, {1, true}, {32, true}} {
		batch := bc.batch
		b.Run("batch="+strconv.Itoa(batch)+"/xleave_form="+strconv.FormatBool(bc.xleave), func(b *testing.B) {
			w, cl, server := loopbackPair(b, batch, false)
			req := clientBatch(batch, server, bc.xleave)
			rep := make([]hwts.Message, batch)
			for i := range rep {
				rep[i].Buf = make([]byte, 512)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cl.WriteBatch(req); err != nil {
					b.Fatal(err)
				}
				if err := w.step(); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < batch; {
					n, err := cl.ReadBatch(rep)
					if err != nil {
						b.Fatal(err)
					}
					got += n
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/request")
		})
	}
}
