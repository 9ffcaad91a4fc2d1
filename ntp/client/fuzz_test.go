package client

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/wire"
)

// FuzzHandleReply feeds arbitrary bytes to a source with a request
// outstanding. If patch is set the fuzzer's packet gets our cookie as Origin
// so that the checks behind the origin test are reached too. Invariants: no
// panic; an accepted sample has delay ≥ precision and is in the estimate;
// only a cookie-matching DENY/RSTR demobilises; the source keeps working.
func FuzzHandleReply(f *testing.F) {
	t2 := base.Add(ms)
	f.Add(good(1, t2, t2).bytes(), true, int64(2*ms))
	f.Add(reply{leap: 3, stratum: 0, refID: uint32(wire.KissRATE), org: 1, rcv: 1, xmt: 1}.bytes(), true, int64(ms))
	f.Add(reply{leap: 3, stratum: 0, refID: uint32(wire.KissDENY), org: 1}.bytes(), false, int64(ms))
	f.Add(append(good(1, t2, t2).bytes(), make([]byte, 68)...), true, int64(-ms))
	f.Add([]byte{0x24}, true, int64(0))
	f.Fuzz(func(t *testing.T, pkt []byte, patch bool, rxOff int64) {
		s := newSource(t, Config{MinPoll: 4, MaxPoll: 8, IBurst: true})
		c, _ := poll(s, base)
		if patch && len(pkt) >= RequestLen {
			binary.BigEndian.PutUint64(pkt[wire.OffOrigin:], uint64(c))
		}
		rx := base.Add(time.Duration(rxOff))
		smp, v := s.HandleReply(pkt, rx, time.Time{})
		if v >= NumVerdicts {
			t.Fatalf("verdict %d", v)
		}
		if v == Accepted {
			if smp.Delay < s.precision || smp.Dispersion < 0 {
				t.Fatalf("sample %+v", smp)
			}
			if e := s.Estimate(rx); !e.Usable || e.Offset != smp.Offset {
				t.Fatalf("estimate %+v after sample %+v", e, smp)
			}
		}
		if (s.State() == StateDemobilised) != (v == KoDDeny) {
			t.Fatalf("state %v after %v", s.State(), v)
		}
		// Replaying the same bytes is never accepted twice.
		if _, v2 := s.HandleReply(pkt, rx, time.Time{}); v == Accepted && v2 == Accepted {
			t.Fatal("same reply accepted twice")
		}
		// The schedule still works.
		var buf [RequestLen]byte
		send, next := s.Poll(base.Add(time.Hour), &buf)
		if s.State() == StateActive && (!send || !next.After(base.Add(time.Hour))) {
			t.Fatalf("poll after fuzz: %v %v", send, next)
		}
	})
}
