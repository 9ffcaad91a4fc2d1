package wire

import (
	"encoding/hex"
	"net"
	"net/netip"

	"testing"

	"github.com/google/go-cmp/cmp"
)

func hexs(b []byte) string { return hex.EncodeToString(b) }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ipEq compares IPAddrs with ==, which go-cmp cannot do by itself
// (netip.Addr has unexported fields).
var ipEq = cmp.Comparer(func(a, b IPAddr) bool { return a == b })

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func mustAddrFromIP(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		panic("bad IP")
	}
	return a.Unmap()
}
