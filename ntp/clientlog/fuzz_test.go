package clientlog

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
)

// fuzzAddrs are the addresses a fuzzed op sequence picks from; index 1 is
// index 0 IPv4-mapped and index 5 is index 4 with a zone, so they share
// records.
var fuzzAddrs = [...]string{
	"192.0.2.1", "::ffff:192.0.2.1", "192.0.2.2", "::192.0.2.1",
	"2001:db8::1", "2001:db8::1%eth0", "fe80::2", "0.0.0.0",
}

// FuzzOps runs a random sequence of Hit and RecordTX against a model of the
// per-address counters and the held interleaved timestamps. Ops are 11
// bytes: opcode, address index, time step (int32 ms, may be negative) or
// with opcode bit 0x40 an absolute int64 ns time over the same 8 bytes,
// rx/tx/origin selector, spare.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0})
	f.Add([]byte("hit some addresses with a rather long sequence of nonsense ops to start"))
	f.Add(make([]byte, 110))
	f.Fuzz(func(t *testing.T, ops []byte) {
		var addrs [len(fuzzAddrs)]netip.Addr
		for i, s := range fuzzAddrs {
			addrs[i] = netip.MustParseAddr(s)
		}
		rl := RateLimit{Enabled: true, IntervalLog2: -3, Burst: 3, Leak: 1, KoD: 1}
		if len(ops) > 0 && ops[0]&0x80 != 0 {
			rl = RateLimit{}
		}
		l, err := New(Config{Clients: 1024, RateLimit: rl, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		type rec struct {
			hits, drops uint32
			xleave      bool
			rxs         []uint64 // Receive fields held for this address, oldest first
		}
		type held struct {
			addr netip.Addr
			tx   uint64
		}
		model := map[netip.Addr]*rec{}
		stamps := map[uint64]held{} // by Receive field
		now := int64(1_700_000_000e9)
		rxSeq := uint64(1)
		for len(ops) >= 11 {
			op, ai := ops[0], int(ops[1])%len(addrs)
			step := int64(int32(binary.BigEndian.Uint32(ops[2:6]))) * 1e6
			sel := binary.BigEndian.Uint32(ops[6:10])
			abs := int64(binary.BigEndian.Uint64(ops[2:10])) // absolute time for op&0x40
			ops = ops[11:]
			a := addrs[ai]
			na := a.Unmap().WithZone("")
			m := model[na]
			// origin: 0 (basic form), one of the address's held Receive
			// fields, or another value (another address's, or never ours).
			var origin uint64
			switch {
			case sel%4 == 0:
			case m != nil && len(m.rxs) > 0 && sel%4 != 3:
				origin = m.rxs[int(sel>>2)%len(m.rxs)]
			default:
				origin = uint64(sel)<<1 | 1
			}
			switch op % 3 {
			case 0, 1: // Hit
				if op&0x40 != 0 {
					now = abs
				} else {
					now += step
				}
				rxSeq += 2
				x := Exchange{}
				if origin != 0 {
					x = Exchange{Origin: origin, RX: rxSeq}
				}
				evBefore := l.Stats().TimestampEvictions
				h := l.Hit(a, now, x)
				if h.Contended {
					t.Fatalf("contention in a single goroutine: %+v", h)
				}
				if h.Found != (m != nil) {
					t.Fatalf("Hit(%v).Found = %v, model has record: %v", a, h.Found, m != nil)
				}
				if m == nil {
					m = &rec{}
					model[na] = m
					if h.Decision != Allow {
						t.Fatalf("first Hit(%v) = %+v", a, h)
					}
				}
				m.hits++
				m.xleave = origin != 0
				if !rl.Enabled && h.Decision != Allow {
					t.Fatalf("%v with limiting disabled", h.Decision)
				}
				if h.Decision == Drop {
					m.drops++
				}
				if h.Decision != Allow || origin == 0 {
					if h.PrevTX != 0 {
						t.Fatalf("%v, origin %#x: PrevTX %#x", h.Decision, origin, h.PrevTX)
					}
					continue
				}
				// The model: the held TX of origin if it is this
				// address's; taken either way. An eviction (never with
				// these few addresses, checked below) may lose it.
				want := uint64(0)
				if s, ok := stamps[origin]; ok && s.addr == na {
					want = s.tx
					delete(stamps, origin)
					m.rxs = slices.DeleteFunc(m.rxs, func(v uint64) bool { return v == origin })
				}
				if h.PrevTX != want {
					t.Fatalf("Hit(%v, origin %#x).PrevTX = %#x, model %#x", a, origin, h.PrevTX, want)
				}
				if l.Stats().TimestampEvictions != evBefore {
					t.Skip("a timestamp eviction: the model does not follow evictions")
				}
				stamps[rxSeq] = held{addr: na}
				m.rxs = append(m.rxs, rxSeq)
			case 2: // RecordTX for the latest rx or an older one
				rx := rxSeq - 2*uint64(sel%3)
				tx := rx + uint64(sel>>2) + 1
				s, ok := stamps[rx]
				want := ok && s.addr == na && tx-rx <= 0xffff_ffff
				if got := l.RecordTX(a, rx, tx); got != want {
					t.Fatalf("RecordTX(%v, %d) = %v, model says %v", a, rx, got, want)
				}
				if want {
					stamps[rx] = held{addr: na, tx: tx}
				}
			}
		}
		st := l.Stats()
		if st.Evictions != 0 || st.Contended != 0 || st.Clients != uint64(len(model)) || st.TimestampsHeld != uint64(len(stamps)) {
			t.Fatalf("Stats %+v, model has %d clients, %d timestamps", st, len(model), len(stamps))
		}
		l.Range(func(c Client) bool {
			m := model[c.Addr]
			if m == nil {
				t.Fatalf("log holds %v, model does not", c.Addr)
			}
			if c.Hits != m.hits || c.Drops != m.drops || c.Interleaved != m.xleave {
				t.Fatalf("%v: log %+v, model %+v", c.Addr, c, *m)
			}
			return true
		})
	})
}
