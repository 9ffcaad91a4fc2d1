package scenario_test

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// ntpStamp converts t to the NTP 32.32 wire format (test-local helper).
func ntpStamp(t time.Time) uint64 {
	sec := uint32(t.Unix() + 2208988800)
	return uint64(sec)<<32 | (uint64(t.Nanosecond())<<32)/1e9
}

// TestClientsIntoSelection wires four NTP client cores into the selector the
// way the engine will: simulated servers (one 100 ms off) answer through a
// network with random, asymmetric delays; every round each source's Estimate
// becomes a Candidate. The falseticker must never be selected or combined,
// and the combined offset must stay near the truth (0: the local clock is
// right).
func TestClientsIntoSelection(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	addrs := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}
	serverErr := []time.Duration{0, 0, 100 * time.Millisecond, 0}
	var srcs []*client.Source
	for range addrs {
		s, err := client.New(client.Config{MinPoll: 0, MaxPoll: 0, IBurst: true})
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	sel, err := selection.New(selection.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var buf [client.RequestLen]byte
	selected := 0
	for step := range 300 {
		now := base.Add(time.Duration(step) * time.Second)
		cands := make([]selection.Candidate, len(srcs))
		for i, s := range srcs {
			if send, _ := s.Poll(now, &buf); send {
				out := time.Duration(100e3 + rng.ExpFloat64()*20e3) // ns
				back := time.Duration(100e3 + rng.ExpFloat64()*20e3)
				t2 := now.Add(out + serverErr[i])
				r := make([]byte, 48)
				r[0] = 4<<3 | 4
				r[1] = 1
				r[3] = 0xEC // precision −20
				binary.BigEndian.PutUint32(r[12:], 0x47505300)
				copy(r[24:32], buf[40:48])
				binary.BigEndian.PutUint64(r[32:], ntpStamp(t2))
				binary.BigEndian.PutUint64(r[40:], ntpStamp(t2.Add(10*time.Microsecond)))
				if _, v := s.HandleReply(r, now.Add(out+back+10*time.Microsecond), time.Time{}); v != client.Accepted {
					t.Fatalf("step %d source %d: %v", step, i, v)
				}
			}
			e := s.Estimate(now.Add(500 * time.Millisecond))
			cands[i] = selection.Candidate{
				ID: addrs[i], Addr: netip.MustParseAddr(addrs[i]),
				Offset: e.Offset, Delay: e.Delay, Dispersion: e.Dispersion, Jitter: e.Jitter,
				RootDelay: e.RootDelay, RootDispersion: e.RootDispersion,
				Stratum: e.Stratum, RefID: e.RefID, Leap: e.Leap, Reachable: e.Usable,
			}
		}
		r := sel.Select(cands)
		if st := r.Sources[2]; st.State == selection.Selected || st.State == selection.Combined {
			t.Fatalf("step %d: falseticker is %v", step, st.State)
		}
		if !r.Selected {
			continue
		}
		selected++
		if r.Sources[2].State != selection.Falseticker {
			t.Fatalf("step %d: falseticker state %v", step, r.Sources[2].State)
		}
		// Asymmetry of the exponential delays averages out; any single
		// sample errs by at most half the delay difference, < 100 µs here
		// with overwhelming probability.
		if r.Offset < -100*time.Microsecond || r.Offset > 100*time.Microsecond {
			t.Fatalf("step %d: combined offset %v", step, r.Offset)
		}
		if r.Stratum != 2 || r.Leap != 0 {
			t.Fatalf("step %d: stratum %d leap %v", step, r.Stratum, r.Leap)
		}
	}
	// The sources need a few samples before their filter dispersion drops
	// below maxdistance (3 s); after that every round selects.
	if selected < 290 {
		t.Errorf("selected in %d of 300 rounds", selected)
	}
}
