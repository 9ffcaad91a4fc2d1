package loadgen

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/wire"
)

// clockServer answers on loopback with real timestamps: Receive when the
// request was read, Transmit lead before the reply is written (a basic
// server's stamp taken too early), and for an interleaved request the
// time it wrote the reply whose Receive the request's Origin echoes (an
// exact transmit timestamp).
type clockServer struct {
	conn *net.UDPConn
	lead time.Duration
	mu   sync.Mutex
	sent map[uint64]time.Time // Receive field → when that reply was written
	wg   sync.WaitGroup
}

func startClockServer(t *testing.T, lead time.Duration) netip.AddrPort {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Skipf("no UDP socket: %v", err)
	}
	s := &clockServer{conn: conn, lead: lead, sent: map[uint64]time.Time{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		conn.Close()
		s.wg.Wait()
	})
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (s *clockServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 512)
	rep := make([]byte, wire.HeaderLen)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if n < wire.HeaderLen {
			continue
		}
		rx := wire.TimeFromTime(time.Now()) | 1
		clear(rep)
		rep[0] = buf[0]&0x38 | byte(wire.ModeServer)
		rep[1] = 1
		copy(rep[wire.OffOrigin:], buf[wire.OffTransmit:wire.OffTransmit+8])
		binary.BigEndian.PutUint64(rep[wire.OffReceive:], uint64(rx))
		prev, ok := s.sent[binary.BigEndian.Uint64(buf[wire.OffOrigin:])]
		if ok {
			copy(rep[wire.OffOrigin:], buf[wire.OffReceive:wire.OffReceive+8])
			binary.BigEndian.PutUint64(rep[wire.OffTransmit:], uint64(wire.TimeFromTime(prev)))
		}
		now := time.Now()
		if !ok {
			binary.BigEndian.PutUint64(rep[wire.OffTransmit:], uint64(wire.TimeFromTime(now.Add(-s.lead))))
		}
		if _, err := s.conn.WriteToUDPAddrPort(rep, from); err != nil {
			return
		}
		s.sent[uint64(rx)] = now
	}
}

// TestTXError: a server whose basic Transmit leads the reply's departure
// by 2 ms shows a basic error 2 ms above its interleaved one (whose
// Transmit is the departure itself), in mean and p99.
func TestTXError(t *testing.T) {
	const lead = 2 * time.Millisecond
	addr := startClockServer(t, lead)
	res := run(t, Config{Server: addr, Rate: 1000, Xleave: true, Count: 600})
	b, okb := res.TXError(false)
	x, okx := res.TXError(true)
	t.Logf("basic %+v, interleaved %+v, rtt min %v", b, x, res.RTT.Min())
	if !okb || !okx || b.Samples == 0 || x.Samples < 300 {
		t.Fatalf("samples: basic %v %d, interleaved %v %d (of %d valid)", okb, b.Samples, okx, x.Samples, res.Valid)
	}
	// Loopback one-way delays are tens of µs, and the interleaved error
	// is only that less half the minimum RTT: far from the 2 ms lead.
	if d := b.Mean - x.Mean; d < lead-500*time.Microsecond || d > lead+500*time.Microsecond {
		t.Errorf("basic − interleaved mean error %v, want ≈ %v", d, lead)
	}
	if x.Mean < -100*time.Microsecond || x.Mean > 500*time.Microsecond {
		t.Errorf("interleaved mean error %v, want about 0", x.Mean)
	}
	if b.P99 < lead-200*time.Microsecond {
		t.Errorf("basic p99 %v well below the lead %v", b.P99, lead)
	}
	if _, ok := (&Result{}).TXError(false); ok {
		t.Error("an empty result has a TX error")
	}
}
