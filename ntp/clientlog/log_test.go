package clientlog

import (
	"net/netip"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

func mustNew(t testing.TB, cfg Config) *Log {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// sameBucket returns n distinct IPv4 addresses that hash to one bucket.
func sameBucket(l *Log, n int) []netip.Addr {
	var out []netip.Addr
	want := -1
	for i := uint32(1); len(out) < n; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		k, _ := keyOf(a)
		b := int(l.hash(k) >> l.bucketShift)
		if want < 0 {
			want = b
		}
		if b == want {
			out = append(out, a)
		}
	}
	return out
}

func clients(l *Log) map[netip.Addr]Client {
	m := map[netip.Addr]Client{}
	l.Range(func(c Client) bool {
		m[c.Addr] = c
		return true
	})
	return m
}

func TestSlotLayout(t *testing.T) {
	if got := unsafe.Sizeof(slot{}); got != SlotBytes {
		t.Errorf("slot is %d bytes, want %d (one cache line; memory = Clients × %d B)", got, SlotBytes, SlotBytes)
	}
	if got := unsafe.Sizeof(shard{}); got != 64 {
		t.Errorf("shard is %d bytes, want 64", got)
	}
	// Power-of-two allocations of ≥ 1 KiB come from size classes or pages
	// aligned to their size, so slots do not straddle cache lines.
	for _, n := range []int{16, 64, 4096, 1 << 16} {
		l := mustNew(t, Config{Clients: n})
		if p := uintptr(unsafe.Pointer(&l.slots[0])); p%64 != 0 {
			t.Errorf("Clients %d: slots start at %#x, not 64-byte aligned", n, p)
		}
	}
}

func TestDecisionString(t *testing.T) {
	for d, want := range map[Decision]string{Allow: "allow", Drop: "drop", KoD: "kod", 7: "decision(7)"} {
		if got := d.String(); got != want {
			t.Errorf("Decision(%d).String() = %q, want %q", uint8(d), got, want)
		}
	}
}

// TestInterleavedPair walks one client through the pair protocol.
func TestInterleavedPair(t *testing.T) {
	l := mustNew(t, Config{Clients: 16})
	a := netip.MustParseAddr("192.0.2.1")
	other := netip.MustParseAddr("192.0.2.2")
	type step struct {
		op     string // "hit" or "tx"
		addr   netip.Addr
		rx, tx uint64
		want   any // Hit for "hit", bool for "tx"
	}
	steps := []step{
		{op: "tx", addr: a, rx: 100, tx: 1, want: false},          // unknown client
		{op: "hit", addr: a, rx: 100, want: Hit{Decision: Allow}}, // new: no pair
		{op: "tx", addr: a, rx: 0, tx: 5, want: false},            // rx 0 is "none"
		{op: "tx", addr: a, rx: 99, tx: 5, want: false},           // not the latest rx
		{op: "tx", addr: other, rx: 100, tx: 5, want: false},      // other client
		{op: "tx", addr: a, rx: 100, tx: 101, want: true},         // TX of reply 1
		{op: "hit", addr: a, rx: 200, want: Hit{Found: true, PrevRX: 100, PrevTX: 101}},
		{op: "hit", addr: a, rx: 300, want: Hit{Found: true, PrevRX: 200}}, // TX of 200 never came; 100/101 not replayed
		{op: "tx", addr: a, rx: 200, tx: 201, want: false},                 // too late: 300 is latest
		{op: "tx", addr: a, rx: 300, tx: 301, want: true},
		{op: "tx", addr: a, rx: 300, tx: 302, want: true},             // a later TX stamp overwrites
		{op: "hit", addr: other, rx: 400, want: Hit{Decision: Allow}}, // independent record
		{op: "hit", addr: a, rx: 500, want: Hit{Found: true, PrevRX: 300, PrevTX: 302}},
		{op: "hit", addr: a, rx: 600, want: Hit{Found: true, PrevRX: 500}},
	}
	now := int64(1_700_000_000e9)
	for i, s := range steps {
		now += 1e9
		switch s.op {
		case "hit":
			if got := l.Hit(s.addr, now, s.rx); got != s.want.(Hit) {
				t.Fatalf("step %d: Hit(%v, rx %d) = %+v, want %+v", i, s.addr, s.rx, got, s.want)
			}
		case "tx":
			if got := l.RecordTX(s.addr, s.rx, s.tx); got != s.want.(bool) {
				t.Fatalf("step %d: RecordTX(%v, %d, %d) = %v, want %v", i, s.addr, s.rx, s.tx, got, s.want)
			}
		}
	}
	c := clients(l)[a]
	if c.Hits != 5 || c.RX != 600 || c.TX != 0 || c.LastNS != now {
		t.Errorf("client record = %+v, want 5 hits, RX 600, TX 0, last %d", c, now)
	}
}

// TestDropKeepsPair: over the limit, drops leave the pair alone; leaked
// Allows and KoDs hand it out and store the new rx. The expected pair is
// tracked by a model.
func TestDropKeepsPair(t *testing.T) {
	l := mustNew(t, Config{Clients: 16, RateLimit: RateLimit{Enabled: true, IntervalLog2: 12, Burst: 1, Leak: 2, KoD: 1}})
	a := netip.MustParseAddr("2001:db8::7")
	now := int64(5e18)
	if h := l.Hit(a, now, 1); h.Decision != Allow || h.Found {
		t.Fatalf("first hit = %+v", h)
	}
	if !l.RecordTX(a, 1, 2) {
		t.Fatal("RecordTX of first reply failed")
	}
	pair := [2]uint64{1, 2}
	var seen [NumDecisions]int
	for i := uint64(10); i < 400; i += 2 {
		now += 1e6 // far over one reply per 4096 s
		h := l.Hit(a, now, i)
		seen[h.Decision]++
		if h.Decision == Drop {
			if h.PrevRX != 0 || h.PrevTX != 0 || !h.Found {
				t.Fatalf("Drop returned %+v, want Found and no pair", h)
			}
			if l.RecordTX(a, i, i+1) {
				t.Fatalf("RecordTX for a dropped request's rx %d succeeded", i)
			}
			continue
		}
		if got := [2]uint64{h.PrevRX, h.PrevTX}; got != pair {
			t.Fatalf("%v returned pair %v, want %v", h.Decision, got, pair)
		}
		pair = [2]uint64{i, 0}
		if i%4 == 0 {
			if !l.RecordTX(a, i, i+1) {
				t.Fatalf("RecordTX(%d) after %v failed", i, h.Decision)
			}
			pair[1] = i + 1
		}
	}
	for d, n := range seen {
		if n == 0 {
			t.Errorf("no %v decisions in 195 over-limit requests: %v", Decision(d), seen)
		}
	}
	st := l.Stats()
	if st.Drops != uint64(seen[Drop]) || st.KoDs != uint64(seen[KoD]) || st.Leaks != uint64(seen[Allow]) {
		t.Errorf("Stats %+v disagree with decisions seen %v", st, seen)
	}
	if c := clients(l)[a]; c.Drops != uint32(seen[Drop]) {
		t.Errorf("client Drops = %d, want %d", c.Drops, seen[Drop])
	}
}

func TestAddressNormalisation(t *testing.T) {
	l := mustNew(t, Config{Clients: 64})
	now := int64(1e18)
	hit := func(s string) Hit {
		now += 1e9
		return l.Hit(netip.MustParseAddr(s), now, uint64(now))
	}
	hit("192.0.2.9")
	if h := hit("::ffff:192.0.2.9"); !h.Found {
		t.Error("IPv4-mapped address did not find the IPv4 record")
	}
	if !l.RecordTX(netip.MustParseAddr("::ffff:192.0.2.9"), uint64(now), 1) {
		t.Error("RecordTX with the IPv4-mapped form failed")
	}
	if h := hit("::192.0.2.9"); h.Found {
		t.Error("IPv4-compatible ::192.0.2.9 found the IPv4 record")
	}
	hit("fe80::1%eth0")
	if h := hit("fe80::1"); !h.Found {
		t.Error("zone was not ignored")
	}
	if h := hit("2001:db8::1"); h.Found {
		t.Error("fresh IPv6 address found a record")
	}
	if h := l.Hit(netip.Addr{}, now, 1); h != (Hit{Decision: Allow}) {
		t.Errorf("invalid address: %+v, want plain Allow", h)
	}
	if l.RecordTX(netip.Addr{}, 1, 1) {
		t.Error("RecordTX for the invalid address succeeded")
	}
	got := map[netip.Addr]uint32{}
	for a, c := range clients(l) {
		got[a] = c.Hits
	}
	want := map[netip.Addr]uint32{
		netip.MustParseAddr("192.0.2.9"):   2,
		netip.MustParseAddr("::192.0.2.9"): 1,
		netip.MustParseAddr("fe80::1"):     2,
		netip.MustParseAddr("2001:db8::1"): 1,
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	if st := l.Stats(); st.Hits != 6 || st.Clients != 4 {
		t.Errorf("Stats = %+v, want 6 hits, 4 clients", st)
	}
}

func TestEvictionLRU(t *testing.T) {
	l := mustNew(t, Config{Clients: 16, Seed: 42})
	a := sameBucket(l, 6)
	now := int64(0)
	hit := func(i int) Hit {
		now += 1e9
		return l.Hit(a[i], now, uint64(now))
	}
	for i := range 4 {
		if h := hit(i); h.Found {
			t.Fatalf("a%d found before insertion", i)
		}
	}
	hit(0) // a0 is now the most recent; a1 the least
	if h := hit(4); h.Found {
		t.Fatal("a4 found before insertion")
	}
	set := func() []netip.Addr {
		var s []netip.Addr
		for _, x := range a {
			if _, ok := clients(l)[x]; ok {
				s = append(s, x)
			}
		}
		return s
	}
	cmpAddr := cmp.Comparer(func(x, y netip.Addr) bool { return x == y })
	if d := cmp.Diff([]netip.Addr{a[0], a[2], a[3], a[4]}, set(), cmpAddr); d != "" {
		t.Errorf("after inserting a4, held (-want +got):\n%s", d)
	}
	if h := hit(1); h.Found { // evicts a2
		t.Error("evicted a1 still found")
	}
	if h := hit(0); !h.Found || h.PrevRX == 0 {
		t.Errorf("a0 lost: %+v", h)
	}
	if d := cmp.Diff([]netip.Addr{a[0], a[1], a[3], a[4]}, set(), cmpAddr); d != "" {
		t.Errorf("after re-inserting a1, held (-want +got):\n%s", d)
	}
	if st := l.Stats(); st.Evictions != 2 || st.Clients != 4 || st.Contended != 0 {
		t.Errorf("Stats = %+v, want 2 evictions, 4 clients", st)
	}
	// A different bucket is unaffected: all 12 other slots are free.
	n := 0
	for i := range l.Capacity() {
		if _, ok := l.At(i); ok {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d slots in use, want 4", n)
	}
	if _, ok := l.At(-1); ok {
		t.Error("At(-1) ok")
	}
	if _, ok := l.At(l.Capacity()); ok {
		t.Error("At(Capacity) ok")
	}
}

func TestRangeStops(t *testing.T) {
	l := mustNew(t, Config{Clients: 64})
	for i := range 10 {
		l.Hit(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 1, 1)
	}
	n := 0
	l.Range(func(Client) bool { n++; return n < 3 })
	if n != 3 {
		t.Errorf("Range called fn %d times after it returned false at 3", n)
	}
}

func TestIntervalEstimate(t *testing.T) {
	tests := []struct {
		name     string
		periodNS int64
		want     int8
	}{
		{"8 s", 8e9, 3},
		{"1 s", 1e9, 0},
		{"1/16 s", 1e9 / 16, -4},
		{"1024 s", 1024e9, 10},
		{"1 ms", 1e6, -10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := mustNew(t, Config{Clients: 16})
			a := netip.MustParseAddr("198.51.100.1")
			l.Hit(a, 0, 1)
			if c := clients(l)[a]; c.Interval != 0 {
				t.Fatalf("after one request: Interval %v, want 0", c.Interval)
			}
			if _, ok := clients(l)[a].IntervalLog2(); ok {
				t.Fatal("IntervalLog2 ok after one request")
			}
			for i := int64(1); i <= 40; i++ {
				l.Hit(a, i*tt.periodNS, 1)
			}
			c := clients(l)[a]
			if got, ok := c.IntervalLog2(); !ok || got != tt.want {
				t.Errorf("IntervalLog2 = %d, %v; want %d", got, ok, tt.want)
			}
			if r := float64(c.Interval) / float64(tt.periodNS); r < 0.9 || r > 1.1 {
				t.Errorf("Interval = %v, want %v ± 10%%", c.Interval, tt.periodNS)
			}
		})
	}
}

func TestZeroAllocs(t *testing.T) {
	l := mustNew(t, Config{Clients: 1024, RateLimit: RateLimit{Enabled: true, IntervalLog2: -2, Burst: 4, KoD: 1}})
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:10.1.2.3")}
	now, rx := int64(1e18), uint64(1)
	hits := testing.AllocsPerRun(1000, func() {
		now += 1e6
		rx++
		for _, a := range addrs {
			l.Hit(a, now, rx)
		}
	})
	txs := testing.AllocsPerRun(1000, func() {
		for _, a := range addrs {
			l.RecordTX(a, rx, rx+1)
		}
	})
	if hits != 0 || txs != 0 {
		t.Errorf("allocations per run: Hit %v, RecordTX %v; want 0", hits, txs)
	}
}

func TestNilLog(t *testing.T) {
	var l *Log
	a := netip.MustParseAddr("192.0.2.1")
	if h := l.Hit(a, 1, 1); h != (Hit{Decision: Allow}) {
		t.Errorf("nil log Hit = %+v", h)
	}
	if l.RecordTX(a, 1, 2) {
		t.Error("nil log RecordTX succeeded")
	}
	if st := l.Stats(); st != (Stats{}) || l.Capacity() != 0 {
		t.Errorf("nil log Stats = %+v, Capacity %d", st, l.Capacity())
	}
	if _, ok := l.At(0); ok {
		t.Error("nil log At ok")
	}
	l.Range(func(Client) bool { t.Error("nil log Range called fn"); return false })
}
