package upstream

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
)

// FuzzHandleBatch feeds arbitrary datagrams, from the source's address or
// another one, with any receive-stamp kind, to the owner's reply path
// between real polls: it must never panic, and a datagram from a stranger
// never reaches the core.
func FuzzHandleBatch(f *testing.F) {
	good := make([]byte, 48)
	good[0], good[1] = 0x24, 1
	f.Add(good, true, uint8(hwts.KindKernel), int64(0))
	f.Add([]byte{}, true, uint8(hwts.KindDaemon), int64(-1))
	f.Add(make([]byte, 1024), false, uint8(hwts.KindNone), int64(1<<40))
	f.Fuzz(func(t *testing.T, pkt []byte, fromSource bool, kind uint8, rxNs int64) {
		u, k, s := newBareUpstream(t, "127.0.0.1:9", &countSink{})
		u.pollDue() // one request outstanding (to the discard port)
		m := &k.rx[0]
		m.N = copy(m.Buf, pkt)
		m.Addr = s.addr
		if !fromSource {
			m.Addr = netip.MustParseAddrPort("127.0.0.2:123")
		}
		m.RX = hwts.Timestamp{Time: time.Unix(0, rxNs), Kind: hwts.Kind(kind % uint8(hwts.NumKinds))}
		before := s.core.Stats()
		u.handleBatch(k, 1)
		after := s.core.Stats()
		if !fromSource && after != before {
			t.Fatalf("a stranger's datagram reached the core: %+v → %+v", before, after)
		}
	})
}

// FuzzSplitAddress: any configured address string yields an error or a
// host and a non-zero port, never a panic.
func FuzzSplitAddress(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "[::1]:123", "host:1", "a..b", "[", ":", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		h, p, err := splitAddress(a)
		if err == nil && (h == "" || p == 0) {
			t.Fatalf("splitAddress(%q) = %q, %d without error", a, h, p)
		}
	})
}
