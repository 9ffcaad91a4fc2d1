package clientlog

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

// TestConcurrent hammers Hit and RecordTX from several goroutines on
// overlapping addresses (run it with -race). Every rx encodes its goroutine,
// address and sequence number, and every tx is txOf(rx), so the invariants
// can be checked afterwards:
//   - a returned PrevTX is the TX recorded for exactly the Origin sent, by
//     the same association, and is handed out once; a foreign Origin gets none;
//   - counters add up; no address is held twice; held records are known addresses.
func TestConcurrent(t *testing.T) {
	const goroutines = 8
	iters := 20000
	if testing.Short() {
		iters = 2000
	}
	for _, tt := range []struct {
		name    string
		clients int
		addrs   int
		rate    RateLimit
	}{
		{"fits", 1024, 8, RateLimit{}},
		{"evicting", 16, 40, RateLimit{}},
		{"limited", 64, 12, RateLimit{Enabled: true, IntervalLog2: -12, Burst: 4, Leak: 1, KoD: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := mustNew(t, Config{Clients: tt.clients, Seed: 7, RateLimit: tt.rate})
			addrs := make([]netip.Addr, tt.addrs)
			for i := range addrs {
				if i%2 == 0 {
					addrs[i] = netip.AddrFrom4([4]byte{198, 18, 0, byte(i)})
				} else {
					addrs[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
				}
			}
			// An association is (goroutine, address): it echoes the Receive
			// field of its last reply, now and then replays an older one.
			txOf := func(rx uint64) uint64 { return rx + 1 + (rx>>1&0xfff)<<4 }
			type result struct {
				decisions [NumDecisions]uint64
				contended uint64
				xleave    uint64
				errs      []string
			}
			res := make([]result, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					r := &res[g]
					prev := make([]uint64, len(addrs))   // Origin of the next request
					recorded := make([]bool, len(addrs)) // its TX was recorded
					handed := map[uint64]bool{}          // Origins whose TX was handed out
					for i := range iters {
						ai := (g*7 + i*(g+1)) % len(addrs)
						if i%5 == 0 {
							ai = i % len(addrs) // all goroutines on the same address at times
						}
						a := addrs[ai]
						rx := (uint64(g+1)<<40|uint64(ai)<<32|uint64(i+1))<<1 | 1
						now := int64(1e18) + int64(i)*1000 + int64(g)
						origin := prev[ai]
						if i%7 == 0 && origin != 0 {
							origin ^= 1 << 62 // never one of ours: never answered
						}
						h := l.Hit(a, now, Exchange{Origin: origin, RX: rx})
						if h.Contended {
							r.contended++
							if h.Decision != Allow {
								r.errs = append(r.errs, fmt.Sprintf("contended hit %+v", h))
							}
						} else {
							r.decisions[h.Decision]++
						}
						if h.PrevTX != 0 {
							switch {
							case origin != prev[ai]:
								r.errs = append(r.errs, fmt.Sprintf("foreign Origin %#x got TX %#x", origin, h.PrevTX))
							case h.PrevTX != txOf(origin):
								r.errs = append(r.errs, fmt.Sprintf("Origin %#x got TX %#x, want %#x", origin, h.PrevTX, txOf(origin)))
							case !recorded[ai]:
								r.errs = append(r.errs, fmt.Sprintf("Origin %#x got TX %#x never recorded", origin, h.PrevTX))
							case handed[origin]:
								r.errs = append(r.errs, fmt.Sprintf("TX of Origin %#x handed out twice", origin))
							}
							handed[origin] = true
							r.xleave++
						}
						if h.Decision == Drop {
							continue // no reply: the association still echoes prev
						}
						prev[ai], recorded[ai] = rx, false
						if h.Decision == Allow && i%3 != 0 {
							recorded[ai] = l.RecordTX(a, rx, txOf(rx))
						}
						if i%1000 == 0 {
							l.At(i % l.Capacity()) // concurrent seqlock reader
						}
					}
				})
			}
			// A concurrent Range while the writers run.
			wg.Go(func() {
				for range 50 {
					l.Range(func(c Client) bool { return c.Addr.IsValid() })
				}
			})
			wg.Wait()

			var dec [NumDecisions]uint64
			var contended, xleave uint64
			for _, r := range res {
				for _, e := range r.errs[:min(len(r.errs), 5)] {
					t.Error(e)
				}
				for d := range dec {
					dec[d] += r.decisions[d]
				}
				contended += r.contended
				xleave += r.xleave
			}
			st := l.Stats()
			total := uint64(goroutines * iters)
			if st.Hits != total || dec[Allow]+dec[Drop]+dec[KoD]+contended != total {
				t.Errorf("Stats.Hits %d, decisions %v + contended %d; want %d", st.Hits, dec, contended, total)
			}
			if st.Drops != dec[Drop] || st.KoDs != dec[KoD] || st.Contended < contended {
				t.Errorf("Stats %+v disagree with observed decisions %v, contended %d", st, dec, contended)
			}
			known := map[netip.Addr]bool{}
			for _, a := range addrs {
				known[a] = true
			}
			held := map[netip.Addr]bool{}
			var clientHits uint64
			l.Range(func(c Client) bool {
				if held[c.Addr] {
					t.Errorf("%v held twice", c.Addr)
				}
				held[c.Addr] = true
				if !known[c.Addr] {
					t.Errorf("unknown address %v held", c.Addr)
				}
				clientHits += uint64(c.Hits)
				return true
			})
			if st.Clients != uint64(len(held)) || len(held) > l.Capacity() {
				t.Errorf("Stats.Clients %d, Range saw %d, capacity %d", st.Clients, len(held), l.Capacity())
			}
			if st.Evictions == 0 && clientHits != total-contended {
				t.Errorf("no evictions, but client hits sum to %d, want %d", clientHits, total-contended)
			}
			if tt.name == "evicting" && st.Evictions == 0 {
				t.Error("40 addresses in 16 slots caused no eviction")
			}
			if tt.name == "limited" && (dec[Drop] == 0 || dec[KoD] == 0) {
				t.Errorf("no drops or KoDs under limiting: %v", dec)
			}
			t.Logf("decisions %v, contended %d, evictions %d, held %d; interleaved %d, timestamps %+v",
				dec, contended, st.Evictions, len(held), xleave, st)
			if xleave == 0 {
				t.Error("no interleaved hand-outs")
			}
		})
	}
}

// TestConcurrentNAT: 8 workers serve 64 interleaved associations behind one
// address at once (NAT; the address record is contended, the timestamps
// are not shared). Every TX handed out must be its own association's, and
// nearly every request after an association's first is interleaved.
func TestConcurrentNAT(t *testing.T) {
	const goroutines, perG = 8, 8
	iters := 5000
	if testing.Short() {
		iters = 500
	}
	l := mustNew(t, Config{Clients: 4096, Seed: 11})
	a := netip.MustParseAddr("203.0.113.200")
	txOf := func(rx uint64) uint64 { return rx + 1 + (rx>>1&0xfff)<<4 }
	type result struct {
		xleave, basic uint64
		errs          []string
	}
	res := make([]result, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			r := &res[g]
			var prev [perG]uint64
			for i := range iters {
				k := i % perG
				rx := (uint64(g+1)<<40|uint64(k)<<32|uint64(i+1))<<1 | 1
				h := l.Hit(a, int64(1e18)+int64(i)*1000, Exchange{Origin: prev[k], RX: rx})
				switch {
				case prev[k] == 0:
				case h.PrevTX == 0:
					r.basic++
				case h.PrevTX != txOf(prev[k]):
					r.errs = append(r.errs, fmt.Sprintf("Origin %#x got TX %#x, want %#x", prev[k], h.PrevTX, txOf(prev[k])))
				default:
					r.xleave++
				}
				if !l.RecordTX(a, rx, txOf(rx)) {
					r.basic++ // the next one will be basic
				}
				prev[k] = rx
			}
		})
	}
	wg.Wait()
	var xl, basic uint64
	for _, r := range res {
		for _, e := range r.errs[:min(len(r.errs), 5)] {
			t.Error(e)
		}
		xl += r.xleave
		basic += r.basic
	}
	st := l.Stats()
	share := float64(xl) / float64(xl+basic)
	t.Logf("%d interleaved, %d basic (%.3f %%); address record contended %d, timestamps contended %d",
		xl, basic, 100*share, st.Contended, st.TimestampsContended)
	if share < 0.99 {
		t.Errorf("interleaved share %.4f, want ≥ 0.99", share)
	}
	if c := clients(l)[a]; uint64(c.Hits)+st.Contended != uint64(goroutines*iters) {
		t.Errorf("address record: %d hits + %d contended, want %d", c.Hits, st.Contended, goroutines*iters)
	}
}
