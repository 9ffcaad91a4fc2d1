package clientlog_test

import (
	"fmt"
	"net/netip"

	"github.com/gnomon-time/gnomon/ntp/clientlog"
)

// A worker's use of the log for one client: Hit while building each reply,
// RecordTX once the reply's transmit timestamp is known. The client is a
// chronyd xleave client: its first request is in basic form, the next ones
// echo our previous Receive field in their Origin.
func Example() {
	l, err := clientlog.New(clientlog.Config{Clients: 4096, RateLimit: clientlog.DefaultRateLimit(), Seed: 12345})
	if err != nil {
		panic(err)
	}
	client := netip.MustParseAddr("192.0.2.10")
	now := int64(1_767_225_600e9) // Unix ns
	// rx values are NTP 32.32 Receive fields with bit 0 set (the low-bit trick).
	var origin uint64
	for i, rx := range []uint64{0x1001, 0x2001, 0x3001} {
		x := clientlog.Exchange{Origin: origin, RX: rx}
		if origin == 0 {
			x = clientlog.Exchange{} // basic form: nothing held
		}
		h := l.Hit(client, now+int64(i)*16e9, x)
		fmt.Printf("%v found=%v prevTX=%#x\n", h.Decision, h.Found, h.PrevTX)
		l.RecordTX(client, rx, rx+0x10) // the kernel's TX timestamp of this reply
		origin = rx
	}
	st := l.Stats()
	fmt.Println("clients", st.Clients, "hits", st.Hits, "timestamps held", st.TimestampsHeld)
	// Output:
	// allow found=false prevTX=0x0
	// allow found=true prevTX=0x0
	// allow found=true prevTX=0x2011
	// clients 1 hits 3 timestamps held 1
}
