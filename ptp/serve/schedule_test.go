package serve

import (
	"net/netip"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/ptp"
)

// The schedule sends each grant at its period from the pass that took it,
// only on its own socket, drops ended grants (cancelled, replaced), skips
// expired ones until Expire ends them, and keeps a renewed one.
func TestSchedule(t *testing.T) {
	g := ptp.NewGrants(ptp.DefaultLimits())
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cl := func(i int, via uint16) ptp.Client {
		return ptp.Client{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 320),
			Port: protocol.PortIdentity{ClockIdentity: protocol.ClockIdentity(i), PortNumber: 1}, Via: via}
	}
	for i := 1; i <= 3; i++ {
		g.Request(cl(i, 0), protocol.MessageSync, 0, 10, t0)      // 1 Hz for 10 s
		g.Request(cl(i, 0), protocol.MessageDelayResp, 0, 10, t0) // sends nothing
	}
	g.Request(cl(9, 1), protocol.MessageSync, -1, 60, t0) // another socket's
	var s schedule
	s.add(g, 0, t0)
	count := map[int]int{}
	var due []*ptp.Grant
	for ms := 0; ms <= 12000; ms += 10 {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		if ms == 2000 {
			g.Cancel(cl(2, 0), protocol.MessageSync)
		}
		if ms == 3000 {
			g.Request(cl(3, 0), protocol.MessageSync, -1, 10, now) // new period: replaces
			s.add(g, 0, now)
		}
		if ms == 5000 {
			g.Request(cl(1, 0), protocol.MessageSync, 0, 20, now) // renewal to t0+25 s
		}
		due, _ = s.due(now, due[:0])
		for _, x := range due {
			if x.Client.Via != 0 {
				t.Fatalf("socket 0's schedule sent a grant of socket %d", x.Client.Via)
			}
			count[int(x.Client.Port.ClockIdentity)*100+int(-x.LogInterval)]++
		}
	}
	// Over 0 … 12 s: client 1 at 1 Hz throughout (renewed past its first
	// expiry at 10 s): 13; client 2 twice (0, 1 s) before the cancel;
	// client 3 at 1 Hz (0, 1, 2 s), then at 2 Hz from 3.0 to 12.0 s: 19.
	want := map[int]int{100: 13, 200: 2, 300: 3, 301: 19}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("client %d (log interval -%d): %d sent, want %d (all: %v)", k/100, k%100, count[k], v, count)
		}
	}
	if len(count) != len(want) {
		t.Errorf("sent to %v, want only %v", count, want)
	}
}
