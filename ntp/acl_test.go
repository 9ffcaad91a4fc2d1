package ntp

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

func TestACLAllowed(t *testing.T) {
	type check struct {
		addr string
		want bool
	}
	tests := []struct {
		name        string
		allow, deny []netip.Prefix
		checks      []check
	}{
		{"empty_denies_all", nil, nil, []check{{"127.0.0.1", false}, {"::1", false}}},
		{"allow_subnet_deny_more_specific", prefixes("192.0.2.0/24"), prefixes("192.0.2.128/25"), []check{
			{"192.0.2.1", true}, {"192.0.2.127", true}, {"192.0.2.128", false}, {"192.0.2.255", false}, {"192.0.3.1", false},
		}},
		{"deny_subnet_allow_host_inside", prefixes("10.1.2.3/32"), prefixes("10.0.0.0/8"), []check{
			{"10.1.2.3", true}, {"10.1.2.4", false}, {"11.0.0.1", false},
		}},
		{"three_levels", prefixes("0.0.0.0/0", "10.1.0.0/16"), prefixes("10.0.0.0/8"), []check{
			{"8.8.8.8", true}, {"10.2.0.1", false}, {"10.1.200.1", true},
		}},
		{"allow_all_v4_does_not_allow_v6", prefixes("0.0.0.0/0"), nil, []check{{"203.0.113.9", true}, {"2001:db8::1", false}}},
		{"allow_all_v6_does_not_allow_v4", prefixes("::/0"), nil, []check{{"2001:db8::1", true}, {"203.0.113.9", false}, {"::ffff:203.0.113.9", false}}},
		{"ipv4_mapped_client_matches_v4_prefix", prefixes("192.0.2.0/24"), nil, []check{{"::ffff:192.0.2.7", true}, {"::ffff:192.0.3.7", false}}},
		{"ipv4_mapped_prefix_is_v4", prefixes("::ffff:192.0.2.0/120"), nil, []check{{"192.0.2.7", true}, {"::ffff:192.0.2.8", true}, {"192.0.3.1", false}}},
		{"v6_allow_with_deny_inside", prefixes("2001:db8::/32"), prefixes("2001:db8:bad::/48"), []check{
			{"2001:db8:1::1", true}, {"2001:db8:bad::1", false}, {"2001:db9::1", false},
		}},
		{"zone_ignored", prefixes("fe80::/10"), nil, []check{{"fe80::1%eth0", true}}},
		{"host_bits_ignored", prefixes("192.0.2.77/24"), nil, []check{{"192.0.2.1", true}}},
		{"v6_host_128", prefixes("2001:db8::1/128"), nil, []check{{"2001:db8::1", true}, {"2001:db8::2", false}}},
		{"deny_all_explicit", nil, prefixes("0.0.0.0/0"), []check{{"127.0.0.1", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewACL(tt.allow, tt.deny)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.checks {
				if got := a.Allowed(netip.MustParseAddr(c.addr)); got != c.want {
					t.Errorf("Allowed(%s) = %v, want %v (%s)", c.addr, got, c.want, a)
				}
			}
		})
	}
}

func TestACLNilAndInvalid(t *testing.T) {
	var a *ACL
	if a.Allowed(netip.MustParseAddr("127.0.0.1")) {
		t.Error("nil ACL allowed a client")
	}
	if got := a.String(); got != "deny all" {
		t.Errorf("nil String = %q", got)
	}
	b, err := NewACL(prefixes("0.0.0.0/0", "::/0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Allowed(netip.Addr{}) {
		t.Error("invalid address allowed")
	}
}

func TestNewACLErrors(t *testing.T) {
	if _, err := NewACL(prefixes("10.0.0.0/8"), prefixes("10.0.0.0/8")); !errors.Is(err, ErrACLConflict) {
		t.Errorf("same prefix allowed and denied: %v, want ErrACLConflict", err)
	}
	// Conflict detection works on normalised prefixes.
	if _, err := NewACL(prefixes("10.9.9.9/8"), prefixes("::ffff:10.0.0.0/104")); !errors.Is(err, ErrACLConflict) {
		t.Errorf("normalised conflict: %v, want ErrACLConflict", err)
	}
	if _, err := NewACL([]netip.Prefix{{}}, nil); err == nil {
		t.Error("invalid prefix accepted")
	}
	a, err := NewACL(prefixes("10.0.0.0/8", "10.1.1.1/8"), nil)
	if err != nil {
		t.Fatalf("duplicate in one list: %v", err)
	}
	if diff := cmp.Diff([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, a.Allow(), cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
		t.Errorf("Allow (-want +got):\n%s", diff)
	}
}

func TestACLAllowedNoAlloc(t *testing.T) {
	a, err := NewACL(prefixes("10.0.0.0/8", "2001:db8::/32"), prefixes("10.1.0.0/16"))
	if err != nil {
		t.Fatal(err)
	}
	v4 := netip.MustParseAddr("::ffff:10.2.3.4")
	v6 := netip.MustParseAddr("2001:db8::1")
	if n := testing.AllocsPerRun(100, func() { _ = a.Allowed(v4) || a.Allowed(v6) }); n != 0 {
		t.Errorf("Allowed allocates %v times", n)
	}
}

func BenchmarkACLAllowed(b *testing.B) {
	a, err := NewACL(prefixes("10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"), prefixes("10.1.0.0/16", "2001:db8:bad::/48"))
	if err != nil {
		b.Fatal(err)
	}
	v4 := netip.MustParseAddr("10.2.3.4")
	v6 := netip.MustParseAddr("2001:db8:1:2::3")
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Allowed(v4)
		_ = a.Allowed(v6)
	}
}

// TestACLScanMatchesWalk checks the two lookups of a family's prefixes
// (comparison for short lists, the trie walk for long ones) against each
// other on random nested prefix sets of up to shortMax, for addresses in
// and around them, and that a longer set drops the list and walks.
func TestACLScanMatchesWalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randAddr := func(v4 bool) netip.Addr {
		if v4 {
			return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		}
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
		for i := 4; i < 16; i++ {
			b[i] = byte(rng.IntN(3)) // few distinct values: prefixes nest and collide
		}
		return netip.AddrFrom16(b)
	}
	for round := range 400 {
		v4 := round%2 == 0
		maxBits := 32
		if !v4 {
			maxBits = 128
		}
		var tr trie
		seen := map[netip.Prefix]bool{}
		n := 1 + rng.IntN(shortMax)
		for len(seen) < n {
			p := netip.PrefixFrom(randAddr(v4), rng.IntN(maxBits+1)).Masked()
			if seen[p] {
				continue
			}
			seen[p] = true
			tr.insert(p, rule(1+rng.IntN(2)))
		}
		if tr.long || len(tr.short) != n {
			t.Fatalf("round %d: %d prefixes kept a list of %d (long %v)", round, n, len(tr.short), tr.long)
		}
		for range 200 {
			a := randAddr(v4)
			hi, lo, bits := addrBits(a)
			if s, w := tr.scan(hi, lo), tr.walk(hi, lo, bits); s != w {
				t.Fatalf("round %d, %d prefixes %v: %v scans to %d, walks to %d", round, len(seen), seen, a, s, w)
			}
		}
	}
}

// A family with more than shortMax prefixes keeps no comparison list and
// still finds the longest match.
func TestACLLongList(t *testing.T) {
	var allow []netip.Prefix
	for i := range shortMax + 4 {
		allow = append(allow, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16))
	}
	a, err := NewACL(allow, prefixes("10.3.7.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	if !a.v4.long || a.v4.short != nil {
		t.Fatalf("%d prefixes: long %v, list of %d", len(allow)+1, a.v4.long, len(a.v4.short))
	}
	for _, c := range []struct {
		addr string
		want bool
	}{{"10.3.6.1", true}, {"10.3.7.1", false}, {"10.19.0.1", true}, {"10.20.0.1", false}} {
		if got := a.Allowed(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Allowed(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
}
