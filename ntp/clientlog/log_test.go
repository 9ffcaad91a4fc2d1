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

// TestSlotLayout pins the memory per client: one address record and one
// timestamp entry, BytesPerClient = 64 B (issue 13 §5: ≤ 64 B per client).
func TestSlotLayout(t *testing.T) {
	slotSize, stampSize := unsafe.Sizeof(slot{}), unsafe.Sizeof(stamp{})
	if slotSize != SlotBytes {
		t.Errorf("slot is %d bytes, want %d", slotSize, SlotBytes)
	}
	if stampSize != StampBytes {
		t.Errorf("stamp is %d bytes, want %d", stampSize, StampBytes)
	}
	if per := slotSize + stampSize; per != BytesPerClient || per > 64 {
		t.Errorf("state per client %d B (record %d + timestamp entry %d), want %d ≤ 64", per, slotSize, stampSize, BytesPerClient)
	}
	t.Logf("state per client: %d B (address record %d B + timestamp entry %d B)", slotSize+stampSize, slotSize, stampSize)
	if got := unsafe.Sizeof(shard{}); got != 64 {
		t.Errorf("shard is %d bytes, want 64", got)
	}
	if got := unsafe.Sizeof(stampShard{}); got != 64 {
		t.Errorf("stampShard is %d bytes, want 64", got)
	}
	// Both tables come from size classes or pages aligned to 64 B or more,
	// so a 4-way address bucket is exactly three cache lines and a
	// timestamp bucket exactly one.
	for _, n := range []int{16, 64, 4096, 1 << 16} {
		l := mustNew(t, Config{Clients: n})
		if p := uintptr(unsafe.Pointer(&l.slots[0])); p%64 != 0 {
			t.Errorf("Clients %d: slots start at %#x, not 64-byte aligned", n, p)
		}
		if p := uintptr(unsafe.Pointer(&l.stamps[0])); p%64 != 0 {
			t.Errorf("Clients %d: stamps start at %#x, not 64-byte aligned", n, p)
		}
		if len(l.stamps) != n {
			t.Errorf("Clients %d: %d timestamp entries", n, len(l.stamps))
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

func TestAddressNormalisation(t *testing.T) {
	l := mustNew(t, Config{Clients: 64})
	now := int64(1e18)
	hit := func(s string) Hit {
		now += 1e9
		return l.Hit(netip.MustParseAddr(s), now, Exchange{})
	}
	hit("192.0.2.9")
	if h := hit("::ffff:192.0.2.9"); !h.Found {
		t.Error("IPv4-mapped address did not find the IPv4 record")
	}
	l.Hit(netip.MustParseAddr("192.0.2.9"), now, Exchange{Origin: 1, RX: 1001})
	if !l.RecordTX(netip.MustParseAddr("::ffff:192.0.2.9"), 1001, 1002) {
		t.Error("RecordTX with the IPv4-mapped form failed")
	}
	if h := l.Hit(netip.MustParseAddr("::ffff:192.0.2.9"), now, Exchange{Origin: 1001, RX: 1003}); h.PrevTX != 1002 {
		t.Errorf("IPv4-mapped form did not find the IPv4 timestamp: %+v", h)
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
	if h := l.Hit(netip.Addr{}, now, Exchange{Origin: 1, RX: 3}); h != (Hit{Decision: Allow}) {
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
		netip.MustParseAddr("192.0.2.9"):   4,
		netip.MustParseAddr("::192.0.2.9"): 1,
		netip.MustParseAddr("fe80::1"):     2,
		netip.MustParseAddr("2001:db8::1"): 1,
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	if st := l.Stats(); st.Hits != 8 || st.Clients != 4 {
		t.Errorf("Stats = %+v, want 8 hits, 4 clients", st)
	}
}

func TestEvictionLRU(t *testing.T) {
	l := mustNew(t, Config{Clients: 16, Seed: 42})
	a := sameBucket(l, 6)
	now := int64(0)
	hit := func(i int) Hit {
		now += 1e9
		return l.Hit(a[i], now, Exchange{})
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
	if h := hit(0); !h.Found {
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
		l.Hit(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 1, Exchange{})
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
			l.Hit(a, 0, Exchange{})
			if c := clients(l)[a]; c.Interval != 0 {
				t.Fatalf("after one request: Interval %v, want 0", c.Interval)
			}
			if _, ok := clients(l)[a].IntervalLog2(); ok {
				t.Fatal("IntervalLog2 ok after one request")
			}
			for i := int64(1); i <= 40; i++ {
				l.Hit(a, i*tt.periodNS, Exchange{})
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
		rx += 2
		for _, a := range addrs {
			l.Hit(a, now, Exchange{Origin: rx - 2, RX: rx})
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
	if h := l.Hit(a, 1, Exchange{Origin: 1, RX: 3}); h != (Hit{Decision: Allow}) {
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
