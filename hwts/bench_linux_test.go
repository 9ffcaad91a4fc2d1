//go:build linux

package hwts

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

var benchBatches = []int{1, 32}

// BenchmarkEcho: client WriteBatch → server ReadBatch → server WriteBatch
// (from the pktinfo address) → both ReadTX → client ReadBatch, on
// loopback with kernel timestamps. One op is one batch round trip.
func BenchmarkEcho(b *testing.B) {
	for _, batch := range benchBatches {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			lo := netip.MustParseAddr("127.0.0.1")
			srv := listen(b, Config{Addr: netip.AddrPortFrom(lo, 0), RecvBuffer: 4 << 20})
			cli := listen(b, Config{Addr: netip.AddrPortFrom(lo, 0), RecvBuffer: 4 << 20})
			e := newEcho(b, srv, cli, batch)
			e.round(b)
			b.ReportAllocs()
			for b.Loop() {
				e.round(b)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
		})
	}
}

// BenchmarkEchoXNet is BenchmarkEcho with the server side on
// golang.org/x/net/ipv4 PacketConn.ReadBatch/WriteBatch (the API issue 2
// names), reading the same control messages, to show why hwts does not use
// it: it allocates a *net.UDPAddr per received datagram.
func BenchmarkEchoXNet(b *testing.B) {
	for _, batch := range benchBatches {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			lo := netip.MustParseAddr("127.0.0.1")
			uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer uc.Close()
			rc, _ := uc.SyscallConn()
			rc.Control(func(fd uintptr) {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING_NEW, swFlags)
				unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
			})
			pc := ipv4.NewPacketConn(uc)
			cli := listen(b, Config{Addr: netip.AddrPortFrom(lo, 0), RecvBuffer: 4 << 20})
			dst := uc.LocalAddr().(*net.UDPAddr).AddrPort()
			out := newMsgs(batch, 48)
			for i := range out {
				out[i].N, out[i].Addr = 48, dst
			}
			in := newMsgs(batch, 128)
			xm := make([]ipv4.Message, batch)
			for i := range xm {
				xm[i].Buffers = [][]byte{make([]byte, 128)}
				xm[i].OOB = make([]byte, rxOOBLen)
			}
			wm := make([]ipv4.Message, batch)
			for i := range wm {
				wm[i].Buffers = [][]byte{nil}
			}
			round := func() {
				if k, err := cli.WriteBatch(out); k != batch || err != nil {
					b.Fatalf("client WriteBatch = %d, %v", k, err)
				}
				for got := 0; got < batch; {
					k, err := pc.ReadBatch(xm[got:], 0)
					if err != nil {
						b.Fatal(err)
					}
					got += k
				}
				for i := range wm {
					wm[i].Buffers[0] = xm[i].Buffers[0][:xm[i].N]
					wm[i].Addr = xm[i].Addr
				}
				for sent := 0; sent < batch; {
					k, err := pc.WriteBatch(wm[sent:], 0)
					if err != nil {
						b.Fatal(err)
					}
					sent += k
				}
				drainErrqueue(uc)
				cli.ReadTX(func(uint32, Timestamp) {})
				for got := 0; got < batch; {
					k, err := cli.ReadBatch(in[got:])
					if err != nil {
						b.Fatal(err)
					}
					got += k
				}
			}
			round()
			b.ReportAllocs()
			for b.Loop() {
				round()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
		})
	}
}

func drainErrqueue(uc *net.UDPConn) {
	rc, _ := uc.SyscallConn()
	var buf [64]byte
	var oob [256]byte
	rc.Control(func(fd uintptr) {
		for {
			if _, _, _, _, err := unix.Recvmsg(int(fd), buf[:], oob[:], unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT); err != nil {
				return
			}
		}
	})
}

// BenchmarkWriteReadTX: WriteBatch of 32 datagrams to a sink followed by
// ReadTX collecting their 32 kernel TX stamps. Compare with
// BenchmarkWriteBatch (no timestamps) for the cost of TX stamping.
func BenchmarkWriteReadTX(b *testing.B) {
	benchWrite(b, ModeSoftware, true)
}

// BenchmarkReadTX times only ReadTX draining the 32 kernel TX stamps of
// one WriteBatch (the send runs with the timer stopped).
func BenchmarkReadTX(b *testing.B) {
	const batch = 32
	lo := netip.MustParseAddr("127.0.0.1")
	snd := listen(b, Config{Addr: netip.AddrPortFrom(lo, 0)})
	sink := listen(b, Config{Addr: netip.AddrPortFrom(lo, 0), Timestamping: ModeNone})
	out := newMsgs(batch, 48)
	for i := range out {
		out[i].N, out[i].Addr = 48, addrPort(b, sink)
	}
	stamps := 0
	onTX := func(uint32, Timestamp) { stamps++ }
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if k, err := snd.WriteBatch(out); k != batch || err != nil {
			b.Fatalf("WriteBatch = %d, %v", k, err)
		}
		b.StartTimer()
		if _, err := snd.ReadTX(onTX); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(stamps)/float64(b.N*batch), "stamps/packet")
}

func BenchmarkWriteBatch(b *testing.B) {
	benchWrite(b, ModeNone, false)
}

func benchWrite(b *testing.B, mode Mode, readTX bool) {
	const batch = 32
	lo := netip.MustParseAddr("127.0.0.1")
	snd := listen(b, Config{Addr: netip.AddrPortFrom(lo, 0), Timestamping: mode})
	// The sink never reads: loopback drops what overflows its buffer,
	// which costs the sender nothing extra.
	sink := listen(b, Config{Addr: netip.AddrPortFrom(lo, 0), Timestamping: ModeNone})
	out := newMsgs(batch, 48)
	for i := range out {
		out[i].N, out[i].Addr = 48, addrPort(b, sink)
	}
	stamps := 0
	onTX := func(uint32, Timestamp) { stamps++ }
	b.ReportAllocs()
	for b.Loop() {
		if k, err := snd.WriteBatch(out); k != batch || err != nil {
			b.Fatalf("WriteBatch = %d, %v", k, err)
		}
		if readTX {
			if _, err := snd.ReadTX(onTX); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
	if readTX {
		b.ReportMetric(float64(stamps)/float64(b.N*batch), "stamps/packet")
	}
}

// TestEchoLatency logs the one-way kernel TX → kernel RX latency and the
// RX-stamp → user wake-up latency over loopback. It asserts only that the
// timestamps are ordered (the numbers belong in a benchmark report).
func TestEchoLatency(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	srv := listen(t, Config{Addr: netip.AddrPortFrom(lo, 0)})
	cli := listen(t, Config{Addr: netip.AddrPortFrom(lo, 0)})
	waitStampsLive(t, cli, srv)
	const n = 500
	oneWay := make([]time.Duration, 0, n)
	out := newMsgs(1, 48)
	out[0].N, out[0].Addr = 48, addrPort(t, srv)
	in := newMsgs(1, 128)
	for range n {
		if _, err := cli.WriteBatch(out); err != nil {
			t.Fatal(err)
		}
		var tx time.Time
		var txID uint32
		cli.ReadTX(func(id uint32, ts Timestamp) { tx, txID = ts.Time, id })
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := srv.ReadBatch(in); err != nil {
			t.Fatal(err)
		}
		if tx.IsZero() || txID != out[0].TXID {
			t.Fatalf("TX stamp not queued when sendmmsg returned (id %d, want %d)", txID, out[0].TXID)
		}
		d := in[0].RX.Time.Sub(tx)
		if d < 0 {
			t.Fatalf("RX stamp %v before TX stamp %v", in[0].RX.Time, tx)
		}
		oneWay = append(oneWay, d)
	}
	p := percentiles(oneWay)
	t.Logf("kernel TX → kernel RX (loopback, one datagram at a time): p50 %v p90 %v p99 %v max %v", p[0], p[1], p[2], p[3])
}

func percentiles(d []time.Duration) [4]time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	return [4]time.Duration{s[n/2], s[n*9/10], s[n*99/100], s[n-1]}
}

// BenchmarkWritePlain is the stdlib baseline for BenchmarkWriteBatch: 32
// WriteToUDPAddrPort calls per op to the same kind of sink.
func BenchmarkWritePlain(b *testing.B) {
	const batch = 32
	lo := netip.MustParseAddr("127.0.0.1")
	sink := listen(b, Config{Addr: netip.AddrPortFrom(lo, 0), Timestamping: ModeNone})
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer uc.Close()
	buf := make([]byte, 48)
	dst := addrPort(b, sink)
	b.ReportAllocs()
	for b.Loop() {
		for range batch {
			if _, err := uc.WriteToUDPAddrPort(buf, dst); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
}
