package serve

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/ptp"
)

// TestSPTPAnsweredPromptly: the event reader wakes the sleeping sender for
// an SPTP Delay_Req (waker.notify), so the Sync answers it at once rather
// than at the sender's next pass (up to maxSleep, 50 ms, when no grant is
// due: a median of 25 ms). Ten exchanges, spaced so that each finds the
// sender asleep; their median must be under maxSleep/5: a sender that
// missed the notification passes that with probability < 1 %.
func TestSPTPAnsweredPromptly(t *testing.T) {
	addr := netip.MustParseAddr("127.0.0.1")
	_, evAddr, _ := startService(t, addr)
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 1500)
	var lat []time.Duration
	for seq := uint16(1); seq <= 10; seq++ {
		time.Sleep(13 * time.Millisecond) // a different phase of the sender's sleep each time
		drb := delayReq(t, seq, protocol.FlagUnicast|protocol.FlagProfileSpecific1)
		sent := time.Now()
		if _, err := c.WriteToUDPAddrPort(drb, evAddr); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			n, _, err := c.ReadFromUDPAddrPort(b)
			if err != nil {
				t.Fatalf("exchange %d: no SPTP Sync: %v", seq, err)
			}
			h, v := ptp.ParseHeader(b[:n], 0)
			if v == ptp.VerdictAnswered && h.Type == protocol.MessageSync && h.Sequence == seq {
				lat = append(lat, time.Since(sent))
				break
			}
		}
	}
	slices.Sort(lat)
	if med := lat[len(lat)/2]; med >= maxSleep/5 {
		t.Errorf("SPTP Sync latency median %v over %d exchanges (want < %v): the sender was not woken %v", med, len(lat), maxSleep/5, lat)
	}
}
