package ntp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// ACL decides which clients are served, with the semantics of chrony's
// allow/deny directives: the most specific (longest) matching prefix wins, so
// "allow 192.0.2.0/24" plus "deny 192.0.2.128/25" serves the lower half of the
// subnet only, and an address no prefix matches is denied. An ACL is
// immutable; swap it with Server.SetACL. A nil *ACL denies everyone.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, seen on dual-stack sockets) and
// IPv4-mapped prefixes (::ffff:0:0/96 and longer) are treated as IPv4. IPv6
// prefixes never match IPv4 clients, not even ::/0: to serve everyone list
// both 0.0.0.0/0 and ::/0. Zones are ignored.
//
// Lookups never allocate. A family with at most shortMax prefixes (the usual
// ACL: a few subnets) is searched by masked comparisons, longest prefix
// first (≈ 10 ns); a longer list walks a binary trie (one dependent load per
// prefix bit: ≈ 100 ns for a /24 on the machine in docs/benchmarks.md, where
// the walk was ≈ 1.5 % of the NTP server's CPU at full load).
type ACL struct {
	v4, v6      trie
	allow, deny []netip.Prefix // normalised, for String and inspection
}

// ErrACLConflict is returned by NewACL when one prefix is both allowed and
// denied; "most specific wins" cannot decide between them.
var ErrACLConflict = errors.New("ntp: prefix both allowed and denied")

// NewACL builds an ACL from allow and deny prefixes. Host bits are ignored
// (192.0.2.1/24 means 192.0.2.0/24). It returns an error naming the first
// invalid prefix, or a prefix that appears in both lists. Duplicates within
// one list are fine.
func NewACL(allow, deny []netip.Prefix) (*ACL, error) {
	a := &ACL{}
	decided := make(map[netip.Prefix]rule, len(allow)+len(deny))
	add := func(list []netip.Prefix, r rule, name string) error {
		for i, p := range list {
			if !p.IsValid() {
				return fmt.Errorf("ntp acl %s[%d] %q: invalid prefix", name, i, p.String())
			}
			q := normalisePrefix(p)
			if prev, ok := decided[q]; ok && prev != r {
				return fmt.Errorf("ntp acl %s[%d] %s: %w", name, i, q, ErrACLConflict)
			}
			if _, ok := decided[q]; ok {
				continue
			}
			decided[q] = r
			if q.Addr().Is4() {
				a.v4.insert(q, r)
			} else {
				a.v6.insert(q, r)
			}
			if r == ruleAllow {
				a.allow = append(a.allow, q)
			} else {
				a.deny = append(a.deny, q)
			}
		}
		return nil
	}
	if err := add(allow, ruleAllow, "allow"); err != nil {
		return nil, err
	}
	if err := add(deny, ruleDeny, "deny"); err != nil {
		return nil, err
	}
	return a, nil
}

// normalisePrefix masks host bits and turns IPv4-mapped IPv6 prefixes of
// length ≥ 96 into the IPv4 prefix they cover.
func normalisePrefix(p netip.Prefix) netip.Prefix {
	addr := p.Addr().WithZone("")
	bits := p.Bits()
	if addr.Is4In6() && bits >= 96 {
		addr = addr.Unmap()
		bits -= 96
	}
	return netip.PrefixFrom(addr, bits).Masked()
}

// Allowed reports whether addr may be served. It never allocates.
func (a *ACL) Allowed(addr netip.Addr) bool {
	if a == nil || !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return a.v4.lookup(addr) == ruleAllow
	}
	return a.v6.lookup(addr) == ruleAllow
}

// Allow returns a copy of the normalised allow prefixes, in input order.
func (a *ACL) Allow() []netip.Prefix {
	if a == nil {
		return nil
	}
	return slices.Clone(a.allow)
}

// Deny returns a copy of the normalised deny prefixes, in input order.
func (a *ACL) Deny() []netip.Prefix {
	if a == nil {
		return nil
	}
	return slices.Clone(a.deny)
}

// String describes a for logs, e.g. "allow [10.0.0.0/8] deny [10.1.0.0/16]".
func (a *ACL) String() string {
	if a == nil {
		return "deny all"
	}
	return fmt.Sprintf("allow %v deny %v", a.allow, a.deny)
}

type rule uint8

const (
	ruleNone rule = iota
	ruleAllow
	ruleDeny
)

// trie is a binary trie over address bits, stored in a slice so lookups
// follow int32 indices instead of pointers. Node 0 is the root (the /0
// prefix). The zero trie is empty and matches nothing. short holds the
// same prefixes, longest first, for lookups in small tries; once there are
// more than shortMax (long), it is dropped and lookups walk the trie.
type trie struct {
	nodes []trieNode
	short []shortPrefix
	long  bool
}

// shortMax is the most prefixes per family searched by comparison rather
// than by walking the trie.
const shortMax = 16

// shortPrefix is a prefix as a 128-bit left-aligned value and mask.
type shortPrefix struct {
	hi, lo, mhi, mlo uint64
	bits             int
	rule             rule
}

type trieNode struct {
	child [2]int32 // 0 = none (the root is never a child)
	rule  rule     // decision of the prefix that ends here, if any
}

// addrBits returns the address bits of a left-aligned in a 128-bit number
// (hi, lo) and how many there are: 32 for IPv4, 128 for IPv6.
func addrBits(a netip.Addr) (hi, lo uint64, n int) {
	if a.Is4() {
		b := a.As4()
		return uint64(binary.BigEndian.Uint32(b[:])) << 32, 0, 32
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), 128
}

func (t *trie) insert(p netip.Prefix, r rule) {
	if len(t.nodes) == 0 {
		t.nodes = append(t.nodes, trieNode{})
	}
	phi, plo, _ := addrBits(p.Addr())
	hi, lo := phi, plo
	n := int32(0)
	for range p.Bits() {
		bit := hi >> 63
		hi, lo = hi<<1|lo>>63, lo<<1
		next := t.nodes[n].child[bit]
		if next == 0 {
			t.nodes = append(t.nodes, trieNode{})
			next = int32(len(t.nodes) - 1)
			t.nodes[n].child[bit] = next
		}
		n = next
	}
	t.nodes[n].rule = r
	if t.long {
		return
	}
	if len(t.short) == shortMax {
		t.short, t.long = nil, true
		return
	}
	b := p.Bits()
	sp := shortPrefix{
		mhi:  ^uint64(0) << (64 - min(b, 64)),
		mlo:  ^uint64(0) << (128 - max(b, 64)),
		bits: b, rule: r,
	}
	sp.hi, sp.lo = phi&sp.mhi, plo&sp.mlo
	i, _ := slices.BinarySearchFunc(t.short, b, func(e shortPrefix, b int) int { return b - e.bits })
	for i < len(t.short) && t.short[i].bits == b {
		i++ // after the prefixes of the same length (NewACL removed duplicates)
	}
	t.short = slices.Insert(t.short, i, sp)
}

// lookup returns the rule of the longest prefix containing addr, ruleNone if
// none does.
func (t *trie) lookup(addr netip.Addr) rule {
	hi, lo, bits := addrBits(addr)
	if !t.long {
		return t.scan(hi, lo)
	}
	return t.walk(hi, lo, bits)
}

// scan compares the address bits (hi, lo) with every prefix, longest first.
func (t *trie) scan(hi, lo uint64) rule {
	for i := range t.short {
		p := &t.short[i]
		if hi&p.mhi == p.hi && lo&p.mlo == p.lo {
			return p.rule
		}
	}
	return ruleNone
}

// walk follows the address's bits (hi, lo; bits of them) down the trie.
func (t *trie) walk(hi, lo uint64, bits int) rule {
	nodes := t.nodes
	if len(nodes) == 0 {
		return ruleNone
	}
	best := nodes[0].rule
	n := int32(0)
	for range bits {
		bit := hi >> 63
		hi, lo = hi<<1|lo>>63, lo<<1
		n = nodes[n].child[bit]
		if n == 0 {
			break
		}
		if r := nodes[n].rule; r != ruleNone {
			best = r
		}
	}
	return best
}
