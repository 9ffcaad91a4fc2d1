package clientlog

import (
	"encoding/binary"
	"net/netip"
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
// interleaved pairs and per-client counters. Ops are 11 bytes: opcode, address
// index, time step (int32 ms, may be negative) or with opcode bit 0x40 an
// absolute int64 ns time over the same 8 bytes, rx/tx selector, spare.
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
			rx, tx      uint64
			hits, drops uint32
		}
		model := map[netip.Addr]*rec{}
		now := int64(1_700_000_000e9)
		var rxSeq uint64
		for len(ops) >= 11 {
			op, ai := ops[0], int(ops[1])%len(addrs)
			step := int64(int32(binary.BigEndian.Uint32(ops[2:6]))) * 1e6
			sel := binary.BigEndian.Uint32(ops[6:10])
			abs := int64(binary.BigEndian.Uint64(ops[2:10])) // absolute time for op&0x40
			ops = ops[11:]
			a := addrs[ai]
			m := model[a.Unmap().WithZone("")]
			switch op % 3 {
			case 0, 1: // Hit
				if op&0x40 != 0 {
					now = abs
				} else {
					now += step
				}
				rxSeq++
				h := l.Hit(a, now, rxSeq)
				if h.Contended {
					t.Fatalf("contention in a single goroutine: %+v", h)
				}
				if h.Found != (m != nil) {
					t.Fatalf("Hit(%v).Found = %v, model has record: %v", a, h.Found, m != nil)
				}
				if m == nil {
					if h.Decision != Allow || h.PrevRX != 0 || h.PrevTX != 0 {
						t.Fatalf("first Hit(%v) = %+v", a, h)
					}
					model[a.Unmap().WithZone("")] = &rec{rx: rxSeq, hits: 1}
					continue
				}
				m.hits++
				if !rl.Enabled && h.Decision != Allow {
					t.Fatalf("%v with limiting disabled", h.Decision)
				}
				if h.Decision == Drop {
					m.drops++
					if h.PrevRX != 0 || h.PrevTX != 0 {
						t.Fatalf("Drop returned a pair: %+v", h)
					}
					continue
				}
				if h.PrevRX != m.rx || h.PrevTX != m.tx {
					t.Fatalf("Hit(%v) pair (%d, %d), model (%d, %d)", a, h.PrevRX, h.PrevTX, m.rx, m.tx)
				}
				m.rx, m.tx = rxSeq, 0
			case 2: // RecordTX for the latest rx or an older one
				rx := rxSeq - uint64(sel%3)
				tx := uint64(sel) | 1<<63
				want := m != nil && rx != 0 && m.rx == rx
				if got := l.RecordTX(a, rx, tx); got != want {
					t.Fatalf("RecordTX(%v, %d) = %v, model says %v", a, rx, got, want)
				}
				if want {
					m.tx = tx
				}
			}
		}
		st := l.Stats()
		if st.Evictions != 0 || st.Contended != 0 || st.Clients != uint64(len(model)) {
			t.Fatalf("Stats %+v, model has %d clients", st, len(model))
		}
		l.Range(func(c Client) bool {
			m := model[c.Addr]
			if m == nil {
				t.Fatalf("log holds %v, model does not", c.Addr)
			}
			if c.Hits != m.hits || c.Drops != m.drops || c.RX != m.rx || c.TX != m.tx {
				t.Fatalf("%v: log %+v, model %+v", c.Addr, c, *m)
			}
			return true
		})
	})
}
