package serve

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// fakeHW maps PHC phc's time to realtime by subtracting offset (a PHC on
// TAI: offset 37 s), or refuses when ok is false.
type fakeHW struct {
	phc    int
	offset time.Duration
	ok     bool
}

func (f *fakeHW) ToRealtime(phc int, t time.Time) (time.Time, bool) {
	if !f.ok || phc != f.phc {
		return time.Time{}, false
	}
	return t.Add(-f.offset), true
}

// A hardware RX stamp is mapped PHC → realtime → served clock; without a
// mapping the kernel stamp that came with it is used and counted.
func TestWorkerHardwareRX(t *testing.T) {
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clk := &stepClock{now: base.Add(time.Millisecond), offset: 250 * time.Millisecond}
	kernel := hwts.Timestamp{Time: base, Kind: hwts.KindKernel}
	// The NIC saw the packet 3 µs before the kernel did, on a TAI PHC.
	hw := hwts.Timestamp{Time: base.Add(37*time.Second - 3*time.Microsecond), Kind: hwts.KindHardware}
	for _, tc := range []struct {
		name   string
		hw     *fakeHW
		want   time.Time
		kind   hwts.Kind
		unused uint64
	}{
		{"mapped", &fakeHW{offset: 37 * time.Second, ok: true}, base.Add(-3*time.Microsecond + clk.offset), hwts.KindHardware, 0},
		{"no fresh mapping", &fakeHW{offset: 37 * time.Second}, base.Add(clk.offset), hwts.KindKernel, 1},
		{"other PHC", &fakeHW{phc: 3, offset: 37 * time.Second, ok: true}, base.Add(clk.offset), hwts.KindKernel, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := &fakeConn{in: [][]hwts.Message{{msg("127.0.0.4:40000", kernel, hw, request(4, 3, 3))}}}
			w, _, _ := fakeWorker(t, conn, clk)
			w.hw, w.phc = tc.hw, 0
			if err := w.step(); err != nil {
				t.Fatal(err)
			}
			got := wire.ReceiveField(conn.sent[0].Buf).Time(base)
			if d := got.Sub(tc.want); d < -time.Nanosecond || d > time.Nanosecond {
				t.Errorf("receive %v, want %v", got, tc.want)
			}
			var st Stats
			w.ctr.addTo(&st)
			if st.RXTimestamps[tc.kind] != 1 || st.RXHardwareUnused != tc.unused {
				t.Errorf("rx kinds %v unused %d, want one %v, unused %d", st.RXTimestamps, st.RXHardwareUnused, tc.kind, tc.unused)
			}
		})
	}
}

// On a hardware socket each reply has a software and a hardware TX stamp.
// With a mapping the hardware one is what the next interleaved reply
// carries, whichever arrives first; without one the software stamp is.
func TestWorkerHardwareTX(t *testing.T) {
	now := time.Now().Round(0)
	swTime := now.Add(3 * time.Microsecond)
	hwReal := now.Add(2 * time.Microsecond) // the NIC stamps a little earlier
	const tai = 37 * time.Second
	for _, tc := range []struct {
		name     string
		hw       *fakeHW
		hwFirst  bool
		want     time.Time
		hwUnused uint64
	}{
		{"software first", &fakeHW{offset: tai, ok: true}, false, hwReal, 0},
		{"hardware first", &fakeHW{offset: tai, ok: true}, true, hwReal, 0},
		{"no mapping", &fakeHW{offset: tai}, false, swTime, 1},
		{"no HWClock", nil, false, swTime, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &stepClock{now: now}
			k := hwts.Timestamp{Time: now, Kind: hwts.KindKernel}
			conn := &fakeConn{in: [][]hwts.Message{{msg("127.0.0.2:1", k, hwts.Timestamp{}, interleavedForm())}}}
			w, _, _ := fakeWorkerTX(t, conn, clk, hwts.KindHardware)
			if tc.hw != nil {
				w.hw, w.phc = tc.hw, 0
			}
			if err := w.step(); err != nil {
				t.Fatal(err)
			}
			id := conn.sent[0].TXID
			sw := txStamp{id, hwts.Timestamp{Time: swTime, Kind: hwts.KindKernel}}
			hw := txStamp{id, hwts.Timestamp{Time: hwReal.Add(tai), Kind: hwts.KindHardware}}
			conn.tx = []txStamp{sw, hw}
			if tc.hwFirst {
				conn.tx = []txStamp{hw, sw}
			}
			conn.in = [][]hwts.Message{{msg("127.0.0.2:1", hwts.Timestamp{Time: now.Add(time.Millisecond), Kind: hwts.KindKernel},
				hwts.Timestamp{}, followUp(conn.sent[0].Buf))}}
			if err := w.step(); err != nil {
				t.Fatal(err)
			}
			var st Stats
			w.ctr.addTo(&st)
			if st.Requests[ntp.VerdictInterleaved] != 1 {
				t.Fatalf("verdicts %v: the follow-up was not interleaved", st.Requests)
			}
			got := wire.Time(binary.BigEndian.Uint64(conn.sent[1].Buf[40:])).Time(now)
			if d := got.Sub(tc.want); d < -time.Nanosecond || d > time.Nanosecond {
				t.Errorf("interleaved transmit %v, want %v", got, tc.want)
			}
			if st.TXHardwareUnused != tc.hwUnused || st.TXUnmatched != 0 {
				t.Errorf("tx hardware unused %d unmatched %d, want %d and 0", st.TXHardwareUnused, st.TXUnmatched, tc.hwUnused)
			}
			if conn.sent[1].Addr != netip.MustParseAddrPort("127.0.0.2:1") {
				t.Errorf("reply to %v", conn.sent[1].Addr)
			}
		})
	}
}

// The hardware paths allocate nothing either (the rest of the step is
// covered by TestWorkerStepZeroAllocs on real sockets, which cannot carry
// NIC stamps here).
func TestHardwareStampsZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	now := time.Now().Round(0)
	w, _, _ := fakeWorkerTX(t, &fakeConn{}, &stepClock{now: now}, hwts.KindHardware)
	w.hw, w.phc = &fakeHW{offset: 37 * time.Second, ok: true}, 0
	m := msg("127.0.0.2:1", hwts.Timestamp{Time: now, Kind: hwts.KindKernel},
		hwts.Timestamp{Time: now.Add(37 * time.Second), Kind: hwts.KindHardware}, request(4, 3, 1))
	m.TXID = 5
	sw := hwts.Timestamp{Time: now, Kind: hwts.KindKernel}
	hw := hwts.Timestamp{Time: now.Add(37 * time.Second), Kind: hwts.KindHardware}
	allocs := testing.AllocsPerRun(200, func() {
		w.receiveTime(&m)
		w.remember(&m, 0, 0, sendMeta{})
		w.onTX(5, sw)
		w.onTX(5, hw)
	})
	if allocs != 0 {
		t.Errorf("hardware receive + TX stamps: %v allocations, want 0", allocs)
	}
}
