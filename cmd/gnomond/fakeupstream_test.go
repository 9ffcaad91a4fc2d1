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
	"github.com/gnomon-time/gnomon/hwts"
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
//
// Like a real server it stamps Receive with the kernel's receive
// timestamp (hwts, software stamps), not with the time its goroutine got
// to the request: on a loaded machine that wake-up took milliseconds, and
// a Receive late by d makes gnomond measure the server ahead by d/2 (its
// own T1 and T4 are kernel stamps), beyond the makestep threshold of
// 1 ms in the first updates (TestFakeUpstreamStamps). Transmit is read
// just before the send, as servers do in basic mode.
type fakeUpstream struct {
	addr  netip.AddrPort
	conn  *hwts.Conn
	fault atomic.Int32
	shift atomic.Int64 // ns added to the host clock
	lag   atomic.Int64 // ns to wait after reading a request before answering it (a loaded machine's wake-up)

	mu     sync.Mutex
	leapAt time.Time // zero: no leap
	rng    *rand.Rand

	requests atomic.Uint64
}

// startFake serves until the test ends.
func startFake(t *testing.T, f fault, shift time.Duration) *fakeUpstream {
	t.Helper()
	conn, err := hwts.Listen(t.Context(), hwts.Config{Addr: netip.MustParseAddrPort("127.0.0.1:0"),
		Timestamping: hwts.ModeSoftware, TXOnDemand: true, BatchSize: 1})
	if err != nil {
		t.Fatalf("fake upstream: %v", err)
	}
	addr := conn.LocalAddr()
	u := &fakeUpstream{conn: conn, addr: addr, rng: rand.New(rand.NewPCG(uint64(addr.Port()), 1))}
	u.fault.Store(int32(f))
	u.shift.Store(int64(shift))
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		req := []hwts.Message{{Buf: make([]byte, 1500)}}
		out := []hwts.Message{{Buf: make([]byte, 1500)}}
		for {
			if _, err := conn.ReadBatch(req); err != nil {
				return // closed at cleanup
			}
			u.requests.Add(1)
			if d := u.lag.Load(); d > 0 {
				time.Sleep(time.Duration(d))
			}
			// The kernel's software stamp (ModeSoftware, loopback).
			if m := u.answer(out[0].Buf, req[0].Buf[:req[0].N], req[0].RX.Time); m > 0 {
				out[0].N, out[0].Addr = m, req[0].Addr
				conn.WriteBatch(out)
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

// answer writes the reply to req, received at host time rx, into out and
// returns its length (0: no reply).
func (u *fakeUpstream) answer(out, req []byte, rx time.Time) int {
	f := fault(u.fault.Load())
	if f == faultSilent {
		return 0
	}
	q, err := wire.ParseHeader(req)
	if err != nil {
		return 0
	}
	recv, leap := u.utc(rx)
	h := wire.Header{Leap: leap, Version: q.Version, Mode: wire.ModeServer, Stratum: 1, Poll: q.Poll,
		Precision: -20, RootDispersion: wire.ShortFromDuration(100 * time.Microsecond), RefID: 0x47505300,
		Reference: wire.TimeFromTime(recv.Add(-time.Second)), Origin: q.Transmit, Receive: wire.TimeFromTime(recv)}
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

// TestFakeUpstreamStamps checks the fake's timestamps against a wake-up
// 50 ms late (a loaded machine, exaggerated): Receive is when the request
// arrived, Transmit when the reply left, so that the offset gnomond
// measures is the shift, however late the fake's goroutine runs. With
// Receive read after the wake-up, the leap-second-day subtest failed
// under load with two makesteps of ±2 ms at start (one late Receive,
// +d/2, then the step back; reproduced with a 4 ms wake-up).
func TestFakeUpstreamStamps(t *testing.T) {
	const lag = 50 * time.Millisecond
	f := startFake(t, faultNone, 0)
	f.lag.Store(int64(lag))
	if k := f.conn.Info().RX; k != hwts.KindKernel {
		t.Fatalf("fake upstream RX stamps %v, want kernel", k)
	}
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(f.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := make([]byte, wire.HeaderLen)
	if err := (&wire.Header{Version: 4, Mode: wire.ModeClient, Transmit: 0x0123456789abcdef}).Put(req); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	got := time.Now()
	h, err := wire.ParseHeader(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	rx, tx := h.Receive.Time(sent), h.Transmit.Time(sent)
	// Loopback delivers within the send call: 25 ms is a margin for a
	// preemption between reading sent and the send, not for the lag.
	if d := rx.Sub(sent); d < -time.Millisecond || d > lag/2 {
		t.Errorf("Receive %v after the request was sent, want 0 … %v (the arrival, not the fake's wake-up)", d, lag/2)
	}
	if d := tx.Sub(rx); d < lag {
		t.Errorf("Transmit %v after Receive, want ≥ %v (the reply waited out the lag)", d, lag)
	}
	if tx.After(got) {
		t.Errorf("Transmit %v after the reply arrived", tx.Sub(got))
	}
}
