package ntp

import (
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/wire"
	"github.com/gnomon-time/gnomon/ntp/wire/wiretest"
)

func TestWantsTX(t *testing.T) {
	odd := wire.Time(0x5d19767900001001)    // one of our Receive fields: bit 0 set
	cookie := wire.Time(0x5d19767900002000) // client cookies
	tests := []struct {
		name   string
		nilog  bool
		noIL   bool
		req    []byte
		v      Verdict
		wantTX bool
	}{
		{"basic", false, false, request(wiretest.V4Client, 6, 0, 0, clientTXTime), VerdictServed, false},
		{"xleave form", false, false, request(wiretest.V4Client, 6, odd, cookie, cookie+0x10), VerdictServed, true},
		{"interleaved reply", false, false, request(wiretest.V4Client, 6, odd, cookie, cookie+0x10), VerdictInterleaved, true},
		{"origin bit 0 clear", false, false, request(wiretest.V4Client, 6, odd&^1, cookie, cookie+0x10), VerdictServed, false},
		{"receive = transmit", false, false, request(wiretest.V4Client, 6, odd, cookie, cookie), VerdictServed, false},
		{"ntpv3", false, false, request(lvm(0, 3, 3), 6, odd, cookie, cookie+0x10), VerdictServed, false},
		{"kod", false, false, request(wiretest.V4Client, 6, odd, cookie, cookie+0x10), VerdictKoDRate, false},
		{"denied", false, false, request(wiretest.V4Client, 6, odd, cookie, cookie+0x10), VerdictDenied, false},
		{"short", false, false, request(wiretest.V4Client, 6, odd, cookie, cookie+0x10)[:40], VerdictServed, false},
		{"no client log", true, false, request(wiretest.V4Client, 6, odd, cookie, cookie+0x10), VerdictServed, false},
		{"interleave off", false, true, request(wiretest.V4Client, 6, odd, cookie, cookie+0x10), VerdictServed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log *clientlog.Log
			if !tt.nilog {
				log = newLog(t, clientlog.RateLimit{})
			}
			s := newServer(t, log, func(c *ServerConfig) { c.Interleave = !tt.noIL })
			if got := s.WantsTX(tt.req, tt.v); got != tt.wantTX {
				t.Errorf("WantsTX = %v, want %v", got, tt.wantTX)
			}
		})
	}
}

func TestWantsTXAllocs(t *testing.T) {
	s := newServer(t, newLog(t, clientlog.RateLimit{}), nil)
	req := request(wiretest.V4Client, 6, 0x1001, 0x2000, 0x3000)
	if n := testing.AllocsPerRun(200, func() {
		if !s.WantsTX(req, VerdictServed) {
			t.Fatal("WantsTX false")
		}
	}); n != 0 {
		t.Errorf("WantsTX allocates %v times per call", n)
	}
}

// A shell that records TX timestamps only for replies WantsTX selects
// (what ntp/serve does) serves a chronyd xleave client — a basic first
// request, then requests quoting the previous Receive — its first
// interleaved reply to the third request, and every one after that.
func TestWantsTXXleaveSequence(t *testing.T) {
	s := newServer(t, newLog(t, clientlog.RateLimit{}), nil)
	now := testNow()
	var prevRX wire.Time
	for i := range 10 {
		req := request(wiretest.V4Client, -4, 0, 0, wire.Time(0x5d1976790000000+uint64(i)*0x1000))
		if i > 0 {
			req = request(wiretest.V4Client, -4, prevRX, wire.Time(0x6d1976790000000+uint64(i)*0x1000), wire.Time(0x7d1976790000000+uint64(i)*0x1000))
		}
		out := make([]byte, wire.HeaderLen)
		n, v := s.Respond(out, req, client, wire.TimeFromTime(now), syncedState())
		if !v.Replied() {
			t.Fatalf("request %d: verdict %v", i+1, v)
		}
		want := VerdictServed
		if i >= 2 {
			want = VerdictInterleaved
		}
		wantEq(t, "verdict", v, want)
		if v.NeedsTransmit() {
			wire.PutTransmit(out[:n], wire.TimeFromTime(now.Add(20*time.Microsecond)))
		}
		if s.WantsTX(req, v) != (i > 0) {
			t.Errorf("request %d: WantsTX %v", i+1, !(i > 0))
		}
		if s.WantsTX(req, v) {
			s.RecordTX(client.Addr(), wire.ReceiveField(out[:n]), wire.TimeFromTime(now.Add(25*time.Microsecond)))
		}
		prevRX = wire.ReceiveField(out[:n])
		now = now.Add(time.Second)
	}
}
