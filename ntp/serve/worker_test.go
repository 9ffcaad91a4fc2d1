package serve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/wire"
	"github.com/gnomon-time/gnomon/report"
)

// fakeConn scripts a worker's socket.
type fakeConn struct {
	in      [][]hwts.Message // batches ReadBatch returns, in order
	readErr error            // returned once in is empty
	// failAt: WriteBatch fails on the message to this address.
	failAt netip.AddrPort
	sent   []hwts.Message // copies of sent messages
	nextID uint32
	tx     []txStamp // stamps ReadTX reports on its next call
	txRead int       // ReadTX calls
	writes []int     // messages per WriteBatch call
}

type txStamp struct {
	id uint32
	ts hwts.Timestamp
}

func (f *fakeConn) ReadBatch(msgs []hwts.Message) (int, error) {
	if len(f.in) == 0 {
		if f.readErr != nil {
			return 0, f.readErr
		}
		return 0, net.ErrClosed
	}
	b := f.in[0]
	f.in = f.in[1:]
	for i := range b {
		buf := msgs[i].Buf
		n := copy(buf, b[i].Buf[:b[i].N])
		msgs[i] = b[i]
		msgs[i].Buf = buf
		msgs[i].N = n
	}
	return len(b), nil
}

func (f *fakeConn) WriteBatch(msgs []hwts.Message) (int, error) {
	f.writes = append(f.writes, len(msgs))
	for i := range msgs {
		if msgs[i].Addr == f.failAt {
			return i, syscall.ENETUNREACH
		}
		msgs[i].TXID = f.nextID
		f.nextID++
		c := msgs[i]
		c.Buf = append([]byte(nil), msgs[i].Buf[:msgs[i].N]...)
		f.sent = append(f.sent, c)
	}
	return len(msgs), nil
}

func (f *fakeConn) ReadTX(fn func(id uint32, ts hwts.Timestamp)) (int, error) {
	f.txRead++
	for _, s := range f.tx {
		fn(s.id, s.ts)
	}
	n := len(f.tx)
	f.tx = nil
	return n, nil
}

func (f *fakeConn) Drops() uint32 { return 7 }
func (f *fakeConn) Close() error  { return nil }

func fakeWorker(t *testing.T, conn *fakeConn, clk clock.Served) (*worker, *ntp.Server, *clientlog.Log) {
	t.Helper()
	return fakeWorkerTX(t, conn, clk, hwts.KindKernel)
}

// fakeWorkerTX is fakeWorker on a socket whose best TX stamp is txKind.
func fakeWorkerTX(t *testing.T, conn *fakeConn, clk clock.Served, txKind hwts.Kind) (*worker, *ntp.Server, *clientlog.Log) {
	t.Helper()
	cl, err := clientlog.New(clientlog.Config{Clients: 64})
	if err != nil {
		t.Fatal(err)
	}
	scfg := ntp.DefaultServerConfig()
	scfg.ACL = loopbackACL(t)
	srv, err := ntp.NewServer(scfg, cl)
	if err != nil {
		t.Fatal(err)
	}
	cell := new(clock.StateCell)
	cell.Store((&clock.Local{Stratum: 2, Precision: -20}).State(clk.Now().Add(-time.Second)))
	return newWorker(conn, srv, clk, cell, 8, txKind), srv, cl
}

// stepClock is a served clock at a fixed base time: realtime r maps to
// r + offset; Now returns now.
type stepClock struct {
	now    time.Time
	offset time.Duration
}

func (c *stepClock) Now() time.Time                     { return c.now }
func (c *stepClock) FromRealtime(t time.Time) time.Time { return t.Add(c.offset) }

func msg(from string, rx hwts.Timestamp, hw hwts.Timestamp, pkt []byte) hwts.Message {
	return hwts.Message{Buf: pkt, N: len(pkt), Addr: netip.MustParseAddrPort(from),
		Local: netip.MustParseAddr("127.0.0.1"), IfIndex: 1, RX: rx, RXHW: hw}
}

func TestWorkerTimestampKinds(t *testing.T) {
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clk := &stepClock{now: base.Add(time.Millisecond), offset: 250 * time.Millisecond}
	kernel := hwts.Timestamp{Time: base, Kind: hwts.KindKernel}
	daemon := hwts.Timestamp{Time: base.Add(5 * time.Microsecond), Kind: hwts.KindDaemon}
	hw := hwts.Timestamp{Time: base.Add(-37 * time.Second), Kind: hwts.KindHardware} // PHC on TAI, say
	conn := &fakeConn{in: [][]hwts.Message{{
		msg("127.0.0.2:40000", kernel, hwts.Timestamp{}, request(4, 3, 1)),
		msg("127.0.0.3:40000", daemon, hwts.Timestamp{}, request(4, 3, 2)),
		msg("127.0.0.4:40000", kernel, hw, request(4, 3, 3)),
	}}}
	w, _, _ := fakeWorker(t, conn, clk)
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	if len(conn.sent) != 3 {
		t.Fatalf("%d replies, want 3", len(conn.sent))
	}
	// Kernel stamps are converted with FromRealtime; daemon stamps are
	// already served time; the hardware stamp is ignored in favour of the
	// kernel one.
	wantRX := []time.Time{base.Add(clk.offset), daemon.Time, base.Add(clk.offset)}
	for i, m := range conn.sent {
		got := wire.ReceiveField(m.Buf).Time(base)
		if d := got.Sub(wantRX[i]); d < -time.Nanosecond || d > time.Nanosecond {
			t.Errorf("reply %d: receive %v, want %v", i, got, wantRX[i])
		}
		if m.Local != netip.MustParseAddr("127.0.0.1") || m.IfIndex != 1 {
			t.Errorf("reply %d from %v if %d, want the request's local address and interface", i, m.Local, m.IfIndex)
		}
		xmt := wire.Time(binary.BigEndian.Uint64(m.Buf[40:])).Time(base)
		if d := xmt.Sub(clk.now); d < -time.Nanosecond || d > time.Nanosecond {
			t.Errorf("reply %d: transmit %v, want the served clock's Now %v", i, xmt, clk.now)
		}
	}
	var st Stats
	w.ctr.addTo(&st)
	if st.RXTimestamps[hwts.KindKernel] != 2 || st.RXTimestamps[hwts.KindDaemon] != 1 || st.RXTimestamps[hwts.KindHardware] != 0 {
		t.Errorf("rx kinds %v, want kernel 2, daemon 1, hardware 0", st.RXTimestamps)
	}
	if st.RXHardwareUnused != 1 {
		t.Errorf("hardware unused %d, want 1", st.RXHardwareUnused)
	}
}

// A reply the kernel refuses is counted and skipped; the others still go.
func TestWorkerSendErrorSkipsOne(t *testing.T) {
	now := time.Now().Round(0)
	k := hwts.Timestamp{Time: now, Kind: hwts.KindKernel}
	conn := &fakeConn{
		failAt: netip.MustParseAddrPort("127.0.0.3:1"),
		in: [][]hwts.Message{{
			msg("127.0.0.2:1", k, hwts.Timestamp{}, request(4, 3, 1)),
			msg("127.0.0.3:1", k, hwts.Timestamp{}, request(4, 3, 2)),
			msg("127.0.0.4:1", k, hwts.Timestamp{}, request(4, 3, 3)),
		}},
	}
	w, _, _ := fakeWorker(t, conn, &stepClock{now: now})
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	var st Stats
	w.ctr.addTo(&st)
	if len(conn.sent) != 2 || st.Replies != 2 || st.SendErrors != 1 {
		t.Errorf("sent %d, replies %d, send errors %d; want 2, 2, 1", len(conn.sent), st.Replies, st.SendErrors)
	}
	if conn.sent[1].Addr.Addr() != netip.MustParseAddr("127.0.0.4") {
		t.Errorf("second reply went to %v, want the message after the failed one", conn.sent[1].Addr)
	}
}

// TX stamps: a kernel stamp with a known TXID is recorded; an unknown ID is
// counted as unmatched; a hardware stamp is counted and not used; a stamp
// that arrives late is recorded before the next batch is answered.
func TestWorkerTXStamps(t *testing.T) {
	now := time.Now().Round(0)
	clk := &stepClock{now: now}
	k := hwts.Timestamp{Time: now, Kind: hwts.KindKernel}
	conn := &fakeConn{in: [][]hwts.Message{{msg("127.0.0.2:1", k, hwts.Timestamp{}, interleavedForm())}}}
	w, _, cl := fakeWorker(t, conn, clk)
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	if !conn.sent[0].WantTX || conn.txRead != 1 || w.pending != 1 {
		t.Fatalf("interleaved-form request: WantTX %v, ReadTX calls %d, pending %d; want true, 1 (after send), 1",
			conn.sent[0].WantTX, conn.txRead, w.pending)
	}
	first := conn.sent[0].Buf
	txTime := now.Add(3 * time.Microsecond)
	// The stamps arrive "late": ReadTX reports them during the next step,
	// before its requests are answered.
	conn.tx = []txStamp{
		{conn.sent[0].TXID, hwts.Timestamp{Time: txTime.Add(-time.Hour), Kind: hwts.KindHardware}},
		{conn.sent[0].TXID, hwts.Timestamp{Time: txTime, Kind: hwts.KindKernel}},
		{conn.sent[0].TXID + 100, hwts.Timestamp{Time: txTime, Kind: hwts.KindKernel}},
	}
	k2 := hwts.Timestamp{Time: now.Add(time.Millisecond), Kind: hwts.KindKernel}
	conn.in = [][]hwts.Message{{msg("127.0.0.2:1", k2, hwts.Timestamp{}, followUp(first))}}
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	var st Stats
	w.ctr.addTo(&st)
	if st.TXRecorded != 1 || st.TXUnmatched != 1 {
		t.Errorf("tx recorded %d unmatched %d, want 1 and 1", st.TXRecorded, st.TXUnmatched)
	}
	if st.TXTimestamps[hwts.KindHardware] != 1 || st.TXTimestamps[hwts.KindKernel] != 2 {
		t.Errorf("tx kinds %v, want hardware 1, kernel 2", st.TXTimestamps)
	}
	if st.Requests[ntp.VerdictInterleaved] != 1 {
		t.Fatalf("verdicts %v: the follow-up was not interleaved", st.Requests)
	}
	got := wire.Time(binary.BigEndian.Uint64(conn.sent[1].Buf[40:])).Time(now)
	if d := got.Sub(txTime); d < -time.Nanosecond || d > time.Nanosecond {
		t.Errorf("interleaved transmit %v, want the kernel TX stamp %v", got, txTime)
	}
	if c := cl.Stats(); c.Clients != 1 {
		t.Errorf("client log holds %d clients, want 1", c.Clients)
	}
	// The first reply was basic: its kernel stamp, 3 µs after the
	// Transmit written, is its transmit error.
	if b := report.TXErrorBucket(3 * time.Microsecond); st.BasicTXError.Counts[b] != 1 || st.BasicTXError.Sum != 3*time.Microsecond {
		t.Errorf("basic transmit error: buckets %v (want 1 in %d), sum %v (want 3µs)", st.BasicTXError.Counts, b, st.BasicTXError.Sum)
	}
	// The interleaved reply's stamp is recorded for its client but is no
	// transmit error (its Transmit was an earlier stamp).
	conn.tx = []txStamp{{conn.sent[1].TXID, hwts.Timestamp{Time: txTime.Add(time.Millisecond), Kind: hwts.KindKernel}}}
	conn.in = [][]hwts.Message{{msg("127.0.0.3:1", k2, hwts.Timestamp{}, request(4, 3, 0x6660))}}
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	st = Stats{}
	w.ctr.addTo(&st)
	if r := st.Report(); st.TXRecorded != 2 || r.BasicTXError.Count() != 1 {
		t.Errorf("after the interleaved reply's stamp: recorded %d, basic transmit errors %d; want 2 and 1", st.TXRecorded, r.BasicTXError.Count())
	}
}

// interleavedForm is a request in interleaved form (Origin with bit 0 set,
// Receive ≠ Transmit) whose Origin matches nothing: it gets a basic reply
// that asks for a TX stamp, because the client's next request can use it.
func interleavedForm() []byte {
	req := request(4, 3, 0x4440)
	binary.BigEndian.PutUint64(req[24:], 0x9991)
	binary.BigEndian.PutUint64(req[32:], 0x4441)
	return req
}

// followUp is the client's interleaved follow-up to reply: Origin = the
// reply's Receive.
func followUp(reply []byte) []byte {
	req := request(4, 3, 0x5550)
	binary.BigEndian.PutUint64(req[24:], uint64(wire.ReceiveField(reply)))
	binary.BigEndian.PutUint64(req[32:], 0x7770)
	return req
}

// Receive errors other than a closed socket are counted and do not end the
// worker loop; a closed socket does.
func TestLoopSurvivesReceiveErrors(t *testing.T) {
	conn := &fakeConn{readErr: syscall.ECONNREFUSED}
	w, srv, _ := fakeWorker(t, conn, &stepClock{now: time.Now()})
	svc, err := New(Config{Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}, Workers: 1,
		Server: srv, Clock: &stepClock{}, State: w.state})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ctx, cancel := contextWithCancel(t)
	go func() { done <- svc.loop(ctx, 0, w) }()
	deadline := time.Now().Add(5 * time.Second)
	for w.ctr.receiveErrors.Load() < 3*maxErrorBurst {
		if time.Now().After(deadline) {
			t.Fatalf("only %d receive errors within 5 s", w.ctr.receiveErrors.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("loop after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("loop did not end after cancel")
	}
	// A closed socket without cancel ends the loop with an error.
	conn2 := &fakeConn{readErr: errors.Join(net.ErrClosed)}
	w2, _, _ := fakeWorker(t, conn2, &stepClock{now: time.Now()})
	if err := svc.loop(t.Context(), 1, w2); err == nil {
		t.Error("loop on a closed socket returned nil without cancel")
	}
}

// Replies to basic requests ask for no TX timestamp, and a worker that has
// none pending never reads the error queue; a drain that finds nothing
// clears pending, so a stamp that never comes does not cost every later
// batch a system call.
func TestWorkerTXOnDemand(t *testing.T) {
	now := time.Now().Round(0)
	clk := &stepClock{now: now}
	k := hwts.Timestamp{Time: now, Kind: hwts.KindKernel}
	basic := request(4, 3, 0x1230) // Origin 0: basic
	odd := request(4, 3, 0x1230)   // Origin bit 0 set but Receive = Transmit: not interleaved form
	binary.BigEndian.PutUint64(odd[24:], 0x5551)
	binary.BigEndian.PutUint64(odd[32:], 0x1230)
	v3 := request(3, 3, 0x1230) // NTPv3: no interleaved mode
	binary.BigEndian.PutUint64(v3[24:], 0x5551)
	xl := request(4, 3, 0x1230)
	binary.BigEndian.PutUint64(xl[24:], 0x5551)
	binary.BigEndian.PutUint64(xl[32:], 0x7771)
	conn := &fakeConn{in: [][]hwts.Message{
		{msg("127.0.0.2:1", k, hwts.Timestamp{}, basic), msg("127.0.0.3:1", k, hwts.Timestamp{}, odd),
			msg("127.0.0.4:1", k, hwts.Timestamp{}, v3)},
		{msg("127.0.0.5:1", k, hwts.Timestamp{}, xl)},
		{msg("127.0.0.2:1", k, hwts.Timestamp{}, basic)},
		{msg("127.0.0.2:1", k, hwts.Timestamp{}, basic)},
	}}
	w, _, _ := fakeWorker(t, conn, clk)
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	for i, m := range conn.sent {
		if m.WantTX {
			t.Errorf("reply %d to %s asks for a TX stamp", i, m.Addr)
		}
	}
	if conn.txRead != 0 || w.pending != 0 {
		t.Errorf("basic batch: ReadTX calls %d pending %d, want 0 and 0", conn.txRead, w.pending)
	}
	// The stamp of the interleaved-form reply never arrives.
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	if !conn.sent[3].WantTX || conn.txRead != 1 || w.pending != 1 {
		t.Errorf("xleave batch: WantTX %v, ReadTX calls %d, pending %d; want true, 1, 1",
			conn.sent[3].WantTX, conn.txRead, w.pending)
	}
	// One more chance before the next batch; that drain finds nothing and
	// clears pending.
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	if conn.txRead != 2 || w.pending != 0 {
		t.Errorf("next batch: ReadTX calls %d pending %d, want 2 and 0", conn.txRead, w.pending)
	}
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	if conn.txRead != 2 {
		t.Errorf("ReadTX calls %d after a basic batch with nothing pending, want still 2", conn.txRead)
	}
}

// Basic replies are sent each on its own, stamped from its own clock
// reading, also in a large batch, in a first full one and in a second
// whose requests are fresh; only a full batch after a full batch whose
// first request waited more than behindAge (requests queueing) with more
// than soloMax of them goes in sendmmsg chunks of chunkMax, each reply
// stamped from its chunk's reading plus the calibrated delay of its
// position; such a batch with soloMax basic replies still sends them
// alone.
func TestWorkerSoloAndCalibratedSends(t *testing.T) {
	now := time.Now().Round(0)
	clk := &stepClock{now: now}
	k := hwts.Timestamp{Time: now, Kind: hwts.KindKernel}
	batchAt := func(n int, rx time.Time) []hwts.Message {
		var b []hwts.Message
		for i := range n {
			ts := hwts.Timestamp{Time: rx, Kind: hwts.KindKernel}
			b = append(b, msg(fmt.Sprintf("127.0.0.2:%d", 1000+i), ts, hwts.Timestamp{}, request(4, 3, uint64(0x100+i))))
		}
		return b
	}
	fresh := now.Add(-behindAge)   // waited behindAge: not behind
	old := now.Add(-behindAge - 1) // waited longer
	batch := func(n int) []hwts.Message { return batchAt(n, old) }
	const size = 16 // the worker's batch
	conn := &fakeConn{in: [][]hwts.Message{batch(size - 1), batchAt(size, fresh), batchAt(size, fresh), batch(size), batch(size)}}
	w, _, _ := fakeWorker(t, conn, clk)
	w = newWorker(conn, w.srv, clk, w.state, size, hwts.KindKernel)
	transmit := func(m hwts.Message) time.Duration {
		return wire.Time(binary.BigEndian.Uint64(m.Buf[40:])).Time(now).Sub(now)
	}
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	if len(conn.writes) != size-1 || slices.Max(conn.writes) != 1 {
		t.Fatalf("%d basic replies in a batch that is not full: sends %v, want %d of one each", size-1, conn.writes, size-1)
	}
	conn.writes, conn.sent = nil, nil
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	if len(conn.writes) != size || slices.Max(conn.writes) != 1 {
		t.Fatalf("a first full batch of %d basic replies: sends %v, want %d of one each", size, conn.writes, size)
	}
	conn.writes, conn.sent = nil, nil
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	if len(conn.writes) != size || slices.Max(conn.writes) != 1 {
		t.Fatalf("a second full batch of %d fresh basic replies: sends %v, want %d of one each", size, conn.writes, size)
	}
	if n := w.ctr.basicBatched.Load(); n != 0 {
		t.Fatalf("basic replies batched %d after solo sends only, want 0", n)
	}
	conn.writes, conn.sent = nil, nil
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	chunks := slices.Repeat([]int{chunkMax}, size/chunkMax)
	if !slices.Equal(conn.writes, chunks) {
		t.Fatalf("a full batch of %d basic replies queued after a full batch: sends %v, want %v", size, conn.writes, chunks)
	}
	if n := w.ctr.basicBatched.Load(); n != size {
		t.Fatalf("basic replies batched %d, want %d", n, size)
	}
	for _, m := range conn.sent {
		if d := transmit(m); d != 0 {
			t.Fatalf("cold calibration: transmit %v after the clock reading, want 0", d)
		}
	}
	// Replies leave 3 µs + 1 µs per position after the reading.
	for i := range 200 {
		w.cal.add(i%16, int64(3000+1000*(i%16)))
	}
	conn.writes, conn.sent = nil, nil
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	for i, m := range conn.sent {
		want := time.Duration(3000+1000*(i%chunkMax)) * time.Nanosecond
		if d := transmit(m) - want; d < -2 || d > 2 {
			t.Errorf("reply %d: transmit %v after the reading, want %v", i, transmit(m), want)
		}
	}
	// A third full batch with only soloMax replies to send (the rest
	// malformed).
	mixed := batch(soloMax)
	for i := soloMax; i < size; i++ {
		mixed = append(mixed, msg(fmt.Sprintf("127.0.0.3:%d", 1000+i), k, hwts.Timestamp{}, []byte("short")))
	}
	conn.in = [][]hwts.Message{mixed}
	conn.writes, conn.sent = nil, nil
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	if len(conn.writes) != soloMax || slices.Max(conn.writes) != 1 {
		t.Fatalf("a full batch with %d basic replies: sends %v, want %d of one each", soloMax, conn.writes, soloMax)
	}
	// Requests with daemon receive stamps have no age: a full batch after
	// a full one is enough.
	daemon := batch(size)
	for i := range daemon {
		daemon[i].RX.Kind = hwts.KindDaemon
	}
	conn.in = [][]hwts.Message{daemon}
	conn.writes, conn.sent = nil, nil
	if err := w.step(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(conn.writes, chunks) {
		t.Fatalf("a full batch of %d daemon-stamped basic replies after a full batch: sends %v, want %v", size, conn.writes, chunks)
	}
}
