package clientlog

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"unsafe"
)

// assoc is one interleaved association (a chronyd xleave client) in a
// test: it echoes the Receive field of the last reply it got.
type assoc struct {
	addr     netip.Addr
	prevRX   uint64 // Receive field of the last reply (Origin of the next request)
	prevTX   uint64 // TX recorded for that reply
	basic    int    // replies without a held TX
	xleave   int    // replies with the right TX
	basicRun int    // current run of basic replies after the first
	maxRun   int
}

// exchange sends one interleaved-form request of a at nowNS with Receive
// field rx, checks the handed-out TX and records txOf(rx).
func (a *assoc) exchange(t *testing.T, l *Log, nowNS int64, rx uint64) Hit {
	t.Helper()
	h := l.Hit(a.addr, nowNS, Exchange{Origin: a.prevRX, RX: rx})
	switch {
	case h.PrevTX == 0:
		a.basic++
		if a.prevRX != 0 {
			a.basicRun++
			a.maxRun = max(a.maxRun, a.basicRun)
		}
	case h.PrevTX != a.prevTX:
		t.Fatalf("%v: Origin %#x got TX %#x, want %#x (its own reply's)", a.addr, a.prevRX, h.PrevTX, a.prevTX)
	default:
		a.xleave++
		a.basicRun = 0
	}
	tx := rx + 0x1000 + rx>>8&0xfff // ≈ 1 µs later, distinct per reply
	if !l.RecordTX(a.addr, rx, tx) {
		t.Fatalf("%v: RecordTX(%#x) not stored", a.addr, rx)
	}
	a.prevRX, a.prevTX = rx, tx
	return h
}

// TestInterleavedStamps walks one association through the timestamp
// protocol.
func TestInterleavedStamps(t *testing.T) {
	l := mustNew(t, Config{Clients: 16})
	a := netip.MustParseAddr("192.0.2.1")
	other := netip.MustParseAddr("192.0.2.2")
	type step struct {
		op     string // "hit" or "tx"
		addr   netip.Addr
		origin uint64
		rx, tx uint64
		want   any // Hit for "hit", bool for "tx"
	}
	steps := []step{
		{op: "tx", addr: a, rx: 101, tx: 102, want: false},                              // not held
		{op: "hit", addr: a, rx: 101, want: Hit{Decision: Allow}},                       // new, basic form: nothing held
		{op: "tx", addr: a, rx: 101, tx: 102, want: false},                              // still not held
		{op: "hit", addr: a, origin: 101, rx: 201, want: Hit{Found: true}},              // interleaved form: 201 held
		{op: "tx", addr: a, rx: 200, tx: 205, want: false},                              // even: never a Receive field of ours
		{op: "tx", addr: other, rx: 201, tx: 205, want: false},                          // another client's
		{op: "tx", addr: a, rx: 201, tx: 201, want: false},                              // TX not after RX
		{op: "tx", addr: a, rx: 201, tx: 201 + 1<<32, want: false},                      // more than 1 s after RX
		{op: "tx", addr: a, rx: 201, tx: 205, want: true},                               // TX of reply 201
		{op: "tx", addr: a, rx: 201, tx: 207, want: true},                               // a later stamp overwrites
		{op: "hit", addr: other, origin: 201, rx: 301, want: Hit{Decision: Allow}},      // foreign Origin: nothing
		{op: "hit", addr: a, origin: 201, rx: 401, want: Hit{Found: true, PrevTX: 207}}, // interleaved
		{op: "hit", addr: a, origin: 201, rx: 501, want: Hit{Found: true}},              // replay: handed out once
		{op: "tx", addr: a, rx: 401, tx: 403, want: true},                               // 401 is still held
		{op: "hit", addr: a, origin: 501, rx: 601, want: Hit{Found: true}},              // 501's TX never came
		{op: "hit", addr: a, origin: 401, rx: 701, want: Hit{Found: true, PrevTX: 403}}, // an older one still held
		{op: "hit", addr: a, origin: 0x1_0000_0001, rx: 801, want: Hit{Found: true}},    // unknown Origin
	}
	now := int64(1_700_000_000e9)
	for i, s := range steps {
		now += 1e9
		switch s.op {
		case "hit":
			x := Exchange{Origin: s.origin, RX: s.rx}
			if s.origin == 0 {
				x = Exchange{}
			}
			if got := l.Hit(s.addr, now, x); got != s.want.(Hit) {
				t.Fatalf("step %d: Hit(%v, %+v) = %+v, want %+v", i, s.addr, x, got, s.want)
			}
		case "tx":
			if got := l.RecordTX(s.addr, s.rx, s.tx); got != s.want.(bool) {
				t.Fatalf("step %d: RecordTX(%v, %d, %d) = %v, want %v", i, s.addr, s.rx, s.tx, got, s.want)
			}
		}
	}
	if c := clients(l)[a]; c.Hits != 7 || !c.Interleaved || c.LastNS != now {
		t.Errorf("client record = %+v, want 7 hits, interleaved, last %d", c, now)
	}
	st := l.Stats()
	// Held: 201 (taken), 401 (taken), 501 (taken), 601, 701, 801 of a and
	// 301 of other: 4 left.
	if st.TimestampsServed != 2 || st.TimestampsHeld != 4 || st.TimestampEvictions != 0 {
		t.Errorf("Stats = %+v, want 2 served, 4 held, no evictions", st)
	}
}

// TestNAT: several interleaved associations behind one address (NAT, or
// several chronyd instances on one host), polling alternately or in random
// order, each get interleaved replies with their own reply's TX from their
// second exchange on.
func TestNAT(t *testing.T) {
	for _, n := range []int{2, 4, 16} {
		for _, order := range []string{"alternate", "random"} {
			t.Run(fmt.Sprintf("%d/%s", n, order), func(t *testing.T) {
				l := mustNew(t, Config{Clients: 64, Seed: uint64(n)})
				as := make([]assoc, n)
				for i := range as {
					as[i].addr = netip.MustParseAddr("203.0.113.7")
				}
				rng := rand.New(rand.NewPCG(1, uint64(n)))
				now := int64(1_800_000_000e9)
				rx := uint64(0xe9a1_0000_0000_0001)
				for i := range 200 * n {
					k := i % n
					if order == "random" {
						k = rng.IntN(n)
					}
					now += 1e9 / 16
					rx += 0x1000_0000 // 1/16 s
					as[k].exchange(t, l, now, rx)
				}
				for i, a := range as {
					if a.basic != 1 {
						t.Errorf("association %d: %d basic replies, want 1 (the first); %d interleaved", i, a.basic, a.xleave)
					}
				}
				if c := clients(l)[as[0].addr]; c.Hits != uint32(200*n) {
					t.Errorf("one address record: %d hits, want %d", c.Hits, 200*n)
				}
			})
		}
	}
}

// TestNATRateLimitPerAddress: the associations behind one address share
// its rate limit; a dropped request leaves every held timestamp alone.
func TestNATRateLimitPerAddress(t *testing.T) {
	l := mustNew(t, Config{Clients: 64, RateLimit: RateLimit{Enabled: true, IntervalLog2: 0, Burst: 4, Leak: 4}})
	a := netip.MustParseAddr("198.51.100.9")
	b := netip.MustParseAddr("198.51.100.10")
	now := int64(1_800_000_000e9)
	// Four associations, one request each at the same instant: the burst.
	for i := range 4 {
		if h := l.Hit(a, now, Exchange{Origin: 1, RX: uint64(101 + 2*i)}); h.Decision != Allow {
			t.Fatalf("request %d of the burst: %+v", i, h)
		}
		if !l.RecordTX(a, uint64(101+2*i), uint64(151+2*i)) {
			t.Fatal("RecordTX")
		}
	}
	// A fifth association from the same address is over the limit; one
	// from another address is not.
	drops := 0
	for range 16 {
		if h := l.Hit(a, now, Exchange{Origin: 101, RX: 999}); h.Decision == Drop {
			drops++
		} else if h.PrevTX != 0 {
			// A leak (1/16) hands 101's TX out: stop here.
			t.Skip("leaked on the first over-limit request; the seed makes this deterministic")
		}
	}
	if drops != 16-int(l.Stats().Leaks) || drops == 0 {
		t.Fatalf("%d of 16 over-limit requests dropped, %d leaks", drops, l.Stats().Leaks)
	}
	if h := l.Hit(b, now, Exchange{}); h.Decision != Allow {
		t.Fatalf("other address limited: %+v", h)
	}
	// One interval later each association gets its own TX: the drops took
	// nothing.
	for i := range 4 {
		now += 1e9
		h := l.Hit(a, now, Exchange{Origin: uint64(101 + 2*i), RX: uint64(1001 + 2*i)})
		if h.Decision != Allow || h.PrevTX != uint64(151+2*i) {
			t.Fatalf("association %d after the drops: %+v, want TX %d", i, h, 151+2*i)
		}
	}
}

// stampsInBucket returns n Receive fields of the client with address addr
// that share both timestamp buckets, in increasing order.
func stampsInBucket(l *Log, addr netip.Addr, n int) []uint64 {
	k, _ := keyOf(addr)
	h := l.hash(k)
	var out []uint64
	want := -1
	for rx := uint64(0xe9a1_0000_0000_0001); len(out) < n; rx += 0x100_0000 {
		b0, b1, _ := l.stampBuckets(rx, h)
		b := int(uintptr(unsafe.Pointer(&b0[0]))-uintptr(unsafe.Pointer(&l.stamps[0])))<<32 |
			int(uintptr(unsafe.Pointer(&b1[0]))-uintptr(unsafe.Pointer(&l.stamps[0])))
		if want < 0 {
			want = b
		}
		if b == want {
			out = append(out, rx)
		}
	}
	return out
}

// TestStampCollisions: nine associations behind one address whose
// Receive fields land in the same two 4-way buckets. The ninth save evicts the oldest
// held entry; that association gets one basic reply and is interleaved again
// from its next request on; the others are not disturbed.
func TestStampCollisions(t *testing.T) {
	l := mustNew(t, Config{Clients: 64, Seed: 9})
	addr := netip.MustParseAddr("192.0.2.77")
	rxs := stampsInBucket(l, addr, 9)
	as := make([]assoc, 9)
	for i := range as {
		as[i].addr = addr
	}
	now := int64(1_800_000_000e9)
	for i := range 8 { // fill both buckets: the first reply of associations 0–7
		now += 1e6
		as[i].exchange(t, l, now, rxs[i])
	}
	now += 1e6
	as[8].exchange(t, l, now, rxs[8]) // evicts association 0's entry (the oldest)
	if st := l.Stats(); st.TimestampEvictions != 1 || st.TimestampsHeld != 8 {
		t.Fatalf("after the ninth save: %+v, want 1 eviction, 8 held", st)
	}
	// From here on Receive fields spread over the table as usual.
	rx := rxs[8]
	for round := range 10 {
		for i := range as {
			now += 1e6
			rx += 0x40_0000
			h := as[i].exchange(t, l, now, rx)
			switch {
			case round == 0 && i == 0 && h.PrevTX != 0:
				t.Fatalf("evicted association 0 got TX %#x", h.PrevTX)
			case (round > 0 || i > 0) && h.PrevTX == 0:
				t.Errorf("round %d: association %d basic", round, i)
			}
		}
	}
	if as[0].basic != 2 || as[0].maxRun != 1 {
		t.Errorf("association 0: %d basic replies (longest run %d), want 2 (its first and one after the eviction)", as[0].basic, as[0].maxRun)
	}
	if st := l.Stats(); st.TimestampEvictions != 1 {
		t.Errorf("stats %+v, want 1 eviction", st)
	}
}

// TestStampsFull measures how the table behaves as interleaved
// associations approach its size (Clients entries): the share of
// interleaved replies after each association's first exchange, and the
// longest run of basic replies. Documented in doc.go.
func TestStampsFull(t *testing.T) {
	const clients = 1024
	for _, tt := range []struct {
		assocs   int
		minShare float64
	}{
		{256, 0.999},
		{512, 0.99},
		{768, 0.90},
		{1024, 0.50},
		{2048, 0.10},
	} {
		t.Run(fmt.Sprint(tt.assocs), func(t *testing.T) {
			l := mustNew(t, Config{Clients: clients, Seed: 5})
			as := make([]assoc, tt.assocs)
			for i := range as {
				as[i].addr = netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}) // spread over addresses (hash)
			}
			rng := rand.New(rand.NewPCG(2, 3))
			now := int64(1_800_000_000e9)
			rx := uint64(0xe9a1_0000_0000_0001)
			const rounds = 20
			for range rounds {
				for _, k := range rng.Perm(len(as)) { // every association once per round, random order
					now += 1e6
					rx += 0x40_0000 // ≈ 1 ms
					as[k].exchange(t, l, now, rx)
				}
			}
			var xl, total, maxRun int
			for _, a := range as {
				xl += a.xleave
				total += a.xleave + a.basic - 1
				maxRun = max(maxRun, a.maxRun)
			}
			share := float64(xl) / float64(total)
			st := l.Stats()
			t.Logf("%d associations in %d entries: %.2f %% interleaved, longest basic run %d, %d evictions, %d held",
				tt.assocs, clients, 100*share, maxRun, st.TimestampEvictions, st.TimestampsHeld)
			if share < tt.minShare {
				t.Errorf("interleaved share %.3f, want ≥ %.3f", share, tt.minShare)
			}
			if st.TimestampsHeld > clients {
				t.Errorf("%d held in %d entries", st.TimestampsHeld, clients)
			}
		})
	}
}
