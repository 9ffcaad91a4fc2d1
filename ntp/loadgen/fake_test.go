package loadgen

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/wire"
)

// fakeServer is a tiny NTP responder on loopback for tests: it answers mode 3
// requests like a basic (or, when asked for, interleaved) server and can
// drop or mangle every Nth request.
type fakeServer struct {
	conn *net.UDPConn
	addr netip.AddrPort

	dropEvery   uint64         // drop request n when n % dropEvery == 0 (n from 1)
	mangleEvery uint64         // apply mangle to reply n when n % mangleEvery == 0
	mangle      func(b []byte) // mutates a reply
	delay       time.Duration  // sleep before each reply
	// xleave: answer a request in interleaved mode when its Origin is
	// the Receive field of an earlier reply to an interleaved-form request
	// (non-zero Origin), not echoed before (as chrony and gnomond do: a
	// pair is handed out once).
	xleave   bool
	dupFirst uint64                  // send the replies to requests 1..dupFirst twice, back to back
	reply    func(req []byte) []byte // optional: replace the reply entirely
	// thenValid: after each reply from the reply func, also send the valid
	// reply, so that the generator's drain ends once every request is
	// answered instead of running out its full time.
	thenValid bool

	requests, dropped, mangled, answered, interleaved atomic.Uint64
	custom, dups                                      atomic.Uint64 // datagrams sent from reply; duplicates sent
	wg                                                sync.WaitGroup
}

func startFake(t *testing.T, f *fakeServer) *fakeServer {
	t.Helper()
	return startFakeOn(t, f, net.IPv4(127, 0, 0, 1))
}

func startFakeOn(t *testing.T, f *fakeServer, ip net.IP) *fakeServer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Skipf("no UDP socket on %v: %v", ip, err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	f.conn = conn
	f.addr = conn.LocalAddr().(*net.UDPAddr).AddrPort()
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() {
		conn.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeServer) serve() {
	defer f.wg.Done()
	buf := make([]byte, 512)
	out := make([]byte, 512)
	var rxTS uint64 = 0xE000_0000_0000_0001 // fake server clock, strictly increasing
	unused := map[uint64]bool{}             // xleave: Receive fields not yet echoed
	for {
		n, from, err := f.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		k := f.requests.Add(1)
		if f.dropEvery > 0 && k%f.dropEvery == 0 {
			f.dropped.Add(1)
			continue
		}
		req := buf[:n]
		var rep []byte
		if f.reply != nil {
			rep = f.reply(req)
		}
		if f.reply != nil && f.thenValid {
			f.custom.Add(1)
			if _, err := f.conn.WriteToUDPAddrPort(rep, from); err != nil {
				return
			}
		}
		if f.reply == nil || f.thenValid {
			if n < wire.HeaderLen {
				continue
			}
			rxTS += 1 << 20 // ≈ 244 µs of fake time; keeps bit 0 set
			rep = out[:wire.HeaderLen]
			clear(rep)
			rep[0] = req[0]&0x38 | byte(wire.ModeServer) // LI 0, version echoed
			rep[1] = 1
			copy(rep[12:16], "TEST")
			origin := req[wire.OffTransmit : wire.OffTransmit+8]
			tx := rxTS + 1<<10
			reqOrigin := binary.BigEndian.Uint64(req[wire.OffOrigin:])
			if f.xleave && unused[reqOrigin] {
				delete(unused, reqOrigin)
				origin = req[wire.OffReceive : wire.OffReceive+8]
				tx = rxTS - 1<<19 // transmit < receive, as interleaved replies have
				f.interleaved.Add(1)
			}
			copy(rep[wire.OffOrigin:], origin)
			// Held only for a request in interleaved form, as chrony does.
			if f.xleave && reqOrigin != 0 && len(unused) < 1<<16 {
				unused[rxTS] = true
			}
			binary.BigEndian.PutUint64(rep[wire.OffReceive:], rxTS)
			binary.BigEndian.PutUint64(rep[wire.OffTransmit:], tx)
			if f.mangleEvery > 0 && k%f.mangleEvery == 0 {
				f.mangle(rep)
				f.mangled.Add(1)
			}
		}
		if f.delay > 0 {
			time.Sleep(f.delay)
		}
		// Count before sending: the generator may finish (and the test read
		// the counters) as soon as the reply is out.
		f.answered.Add(1)
		if f.reply != nil && !f.thenValid {
			f.custom.Add(1)
		}
		dup := k <= f.dupFirst
		if dup {
			f.dups.Add(1)
		}
		if _, err := f.conn.WriteToUDPAddrPort(rep, from); err != nil {
			return
		}
		if dup {
			if _, err := f.conn.WriteToUDPAddrPort(rep, from); err != nil {
				return
			}
		}
	}
}
