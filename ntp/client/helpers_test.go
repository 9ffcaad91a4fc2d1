package client

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock/filter"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// base is an arbitrary local time for scripted exchanges.
var base = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// counterRand is a deterministic Rand: successive 8-byte reads give 1, 2, 3…
// (big-endian), so cookies are predictable in tests.
type counterRand struct{ n uint64 }

func (r *counterRand) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		r.n++
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], r.n)
		copy(p[i:], b[:])
	}
	return len(p), nil
}

// reply describes a server reply for tests; zero fields get sane values.
type reply struct {
	leap, version, mode, stratum byte
	poll, precision              int8
	rootDelay, rootDisp, refID   uint32
	ref, org, rcv, xmt           wire.Time
}

func (r reply) bytes() []byte {
	if r.version == 0 {
		r.version = 4
	}
	if r.mode == 0 {
		r.mode = byte(wire.ModeServer)
	}
	b := make([]byte, 48)
	b[0] = r.leap<<6 | r.version<<3 | r.mode
	b[1] = r.stratum
	b[2] = byte(r.poll)
	b[3] = byte(r.precision)
	binary.BigEndian.PutUint32(b[4:], r.rootDelay)
	binary.BigEndian.PutUint32(b[8:], r.rootDisp)
	binary.BigEndian.PutUint32(b[12:], r.refID)
	binary.BigEndian.PutUint64(b[16:], uint64(r.ref))
	binary.BigEndian.PutUint64(b[24:], uint64(r.org))
	binary.BigEndian.PutUint64(b[32:], uint64(r.rcv))
	binary.BigEndian.PutUint64(b[40:], uint64(r.xmt))
	return b
}

// good returns a valid stratum-2 reply to cookie with server times t2, t3.
func good(cookie wire.Time, t2, t3 time.Time) reply {
	return reply{stratum: 2, precision: -20, rootDelay: 0x0000_0100, rootDisp: 0x0000_0080,
		refID: 0xC0000201, ref: wire.TimeFromTime(t2.Add(-time.Minute)), org: cookie, rcv: wire.TimeFromTime(t2), xmt: wire.TimeFromTime(t3)}
}

func newSource(t testing.TB, cfg Config) *Source {
	t.Helper()
	if cfg.Rand == nil {
		cfg.Rand = &counterRand{}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// poll calls Poll and returns the cookie of the request it built (0 if none).
func poll(s *Source, now time.Time) (cookie wire.Time, next time.Time) {
	var buf [RequestLen]byte
	send, next := s.Poll(now, &buf)
	if !send {
		return 0, next
	}
	return wire.Time(binary.BigEndian.Uint64(buf[wire.OffTransmit:])), next
}

// exchange runs one poll at t1 and answers it with the server offset off
// (reference − local), symmetric one-way delay owd and 0 processing time.
func exchange(t testing.TB, s *Source, t1 time.Time, off, owd time.Duration) (filter.Sample, Verdict) {
	t.Helper()
	c, _ := poll(s, t1)
	if c == 0 {
		t.Fatalf("no request at %v", t1)
	}
	t2 := t1.Add(owd + off)
	return s.HandleReply(good(c, t2, t2).bytes(), t1.Add(2*owd), t1)
}
