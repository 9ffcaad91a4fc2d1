//go:build !race

package ptp

import (
	"net/netip"
	"testing"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/clock"
)

// The send path allocates nothing per message: Sync, Follow_Up, Announce
// and the Delay_Req → Delay_Resp answer (the race detector allocates, hence
// the build tag).
func TestSendPathAllocs(t *testing.T) {
	s := testServer(t, nil)
	out := make([]byte, MaxMessageLen)
	st := &clock.SyncState{Synchronized: true, ClockClass: clock.ClockClassLocked, UTCOffset: 37}
	req := delayReq(protocol.FlagUnicast, 3, 0)
	from := netip.MustParseAddrPort("10.0.0.2:319")
	for name, f := range map[string]func(){
		"sync":      func() { s.AppendSync(out, 1, t0, 37) },
		"follow_up": func() { s.AppendFollowUp(out, 1, t0, 37) },
		"announce":  func() { s.AppendAnnounce(out, QualityOf(st), protocol.FlagUnicast, 1, 0, t0, 0) },
		"delay_req": func() { s.HandleEvent(req, from, t0, 37, out) },
		"snapshot":  func() { _ = s.Grants().Snapshot() },
	} {
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per message", name, n)
		}
	}
}
