package main

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// fault is how a fake upstream answers a request.
type fault int32

const (
	faultNone       fault = iota // a good stratum-1 reply
	faultSilent                  // no reply (the server vanished)
	faultShort                   // a 20-byte reply (malformed)
	faultRandom                  // 0…96 random bytes, fixed seed
	faultBadOrigin               // a good reply whose Origin is not the request's Transmit
	faultKoDRate                 // Kiss-o'-Death RATE
	faultKoDDeny                 // Kiss-o'-Death DENY
	faultUnsync                  // LI 3, stratum 16 (an unsynchronised server)
	faultBadVersion              // VN 7
)

// fakeUpstream is an upstream NTP server on 127.0.0.1 (an ephemeral port)
// for fault tests, built on ntp/wire: it answers each request with the
// host clock plus shift, as a stratum-1 "GPS" server, or with the fault
// set. A leap second can be scheduled: until leapAt (on its own,
// shifted, timescale) it announces LI 1, and from leapAt on its UTC is
// one second behind (23:59:59 repeated).
type fakeUpstream struct {
	addr  netip.AddrPort
	conn  *net.UDPConn
	fault atomic.Int32
	shift atomic.Int64 // ns added to the host clock

	mu     sync.Mutex
	leapAt time.Time // zero: no leap
	rng    *rand.Rand

	requests atomic.Uint64
}

// startFake serves until the test ends.
func startFake(t *testing.T, f fault, shift time.Duration) *fakeUpstream {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	u := &fakeUpstream{conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		rng: rand.New(rand.NewPCG(uint64(conn.LocalAddr().(*net.UDPAddr).Port), 1))}
	u.fault.Store(int32(f))
	u.shift.Store(int64(shift))
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		req := make([]byte, 1500)
		out := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(req)
			if err != nil {
				return // closed at cleanup
			}
			u.requests.Add(1)
			if m := u.answer(out, req[:n], time.Now()); m > 0 {
				conn.WriteToUDPAddrPort(out[:m], from)
			}
		}
	}()
	return u
}

// set changes the fault and the shift.
func (u *fakeUpstream) set(f fault, shift time.Duration) {
	u.shift.Store(int64(shift))
	u.fault.Store(int32(f))
}

// scheduleLeap makes the server insert a leap second at at (its own
// timescale, before the insertion), announcing it until then.
func (u *fakeUpstream) scheduleLeap(at time.Time) {
	u.mu.Lock()
	u.leapAt = at
	u.mu.Unlock()
}

// utc is the server's time for host time now and the leap indicator it
// announces.
func (u *fakeUpstream) utc(now time.Time) (time.Time, clock.Leap) {
	t := now.Add(time.Duration(u.shift.Load()))
	u.mu.Lock()
	at := u.leapAt
	u.mu.Unlock()
	switch {
	case at.IsZero():
		return t, clock.LeapNone
	case t.Before(at):
		return t, clock.LeapInsert
	}
	return t.Add(-time.Second), clock.LeapNone
}

// answer writes the reply to req into out and returns its length (0: no
// reply).
func (u *fakeUpstream) answer(out, req []byte, now time.Time) int {
	f := fault(u.fault.Load())
	if f == faultSilent {
		return 0
	}
	q, err := wire.ParseHeader(req)
	if err != nil {
		return 0
	}
	rx, leap := u.utc(now)
	h := wire.Header{Leap: leap, Version: q.Version, Mode: wire.ModeServer, Stratum: 1, Poll: q.Poll,
		Precision: -20, RootDispersion: wire.ShortFromDuration(100 * time.Microsecond), RefID: 0x47505300,
		Reference: wire.TimeFromTime(rx.Add(-time.Second)), Origin: q.Transmit, Receive: wire.TimeFromTime(rx)}
	switch f {
	case faultShort:
		u.mu.Lock()
		fill(u.rng, out[:20])
		u.mu.Unlock()
		return 20
	case faultRandom:
		u.mu.Lock()
		n := u.rng.IntN(97)
		fill(u.rng, out[:n])
		u.mu.Unlock()
		return n
	case faultBadOrigin:
		h.Origin ^= 0x5a5a5a5a
	case faultKoDRate, faultKoDDeny:
		h.Stratum, h.RefID, h.Reference, h.Receive = wire.StratumUnspecified, uint32(wire.KissRATE), 0, 0
		if f == faultKoDDeny {
			h.RefID = uint32(wire.KissDENY)
		}
		h.Leap = clock.LeapUnsync
	case faultUnsync:
		h.Leap, h.Stratum, h.Reference = clock.LeapUnsync, wire.StratumUnsync, 0
	case faultBadVersion:
		h.Version = 7
	}
	tx, _ := u.utc(time.Now())
	h.Transmit = wire.TimeFromTime(tx)
	if err := h.Put(out); err != nil {
		return 0
	}
	return wire.HeaderLen
}

// fill writes random bytes into b.
func fill(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}
