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
//   - a returned PrevRX belongs to the same address and was never returned before;
//   - a returned PrevTX is the TX recorded for that PrevRX;
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
			txOf := func(rx uint64) uint64 { return rx ^ 0x5555_0000_0000_0000 }
			type result struct {
				prev      []uint64
				decisions [NumDecisions]uint64
				contended uint64
				errs      []string
			}
			res := make([]result, goroutines)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					r := &res[g]
					for i := range iters {
						ai := (g*7 + i*(g+1)) % len(addrs)
						if i%5 == 0 {
							ai = i % len(addrs) // all goroutines on the same address at times
						}
						a := addrs[ai]
						rx := uint64(g+1)<<48 | uint64(ai)<<32 | uint64(i+1)
						now := int64(1e18) + int64(i)*1000 + int64(g)
						h := l.Hit(a, now, rx)
						if h.Contended {
							r.contended++
							if h.Decision != Allow || h.PrevRX != 0 || h.PrevTX != 0 {
								r.errs = append(r.errs, fmt.Sprintf("contended hit %+v", h))
							}
							continue
						}
						r.decisions[h.Decision]++
						if h.PrevRX != 0 {
							if int(h.PrevRX>>32&0xffff) != ai {
								r.errs = append(r.errs, fmt.Sprintf("address %d got PrevRX %#x of address %d", ai, h.PrevRX, h.PrevRX>>32&0xffff))
							}
							if h.PrevTX != 0 && h.PrevTX != txOf(h.PrevRX) {
								r.errs = append(r.errs, fmt.Sprintf("PrevTX %#x is not the TX of PrevRX %#x", h.PrevTX, h.PrevRX))
							}
							r.prev = append(r.prev, h.PrevRX)
						} else if h.PrevTX != 0 {
							r.errs = append(r.errs, fmt.Sprintf("PrevTX %#x without PrevRX", h.PrevTX))
						}
						if h.Decision != Drop && i%3 != 0 {
							l.RecordTX(a, rx, txOf(rx))
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

			seen := map[uint64]bool{}
			var dec [NumDecisions]uint64
			var contended uint64
			for _, r := range res {
				for _, e := range r.errs[:min(len(r.errs), 5)] {
					t.Error(e)
				}
				for _, rx := range r.prev {
					if seen[rx] {
						t.Errorf("PrevRX %#x handed out twice", rx)
					}
					seen[rx] = true
				}
				for d := range dec {
					dec[d] += r.decisions[d]
				}
				contended += r.contended
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
			t.Logf("decisions %v, contended %d, evictions %d, held %d", dec, contended, st.Evictions, len(held))
		})
	}
}
