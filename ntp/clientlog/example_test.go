package clientlog_test

import (
	"fmt"
	"net/netip"

	"github.com/gnomon-time/gnomon/ntp/clientlog"
)

// A worker's use of the log for one client: Hit while building each reply,
// RecordTX once the reply's transmit timestamp is known.
func Example() {
	l, err := clientlog.New(clientlog.Config{Clients: 4096, RateLimit: clientlog.DefaultRateLimit(), Seed: 12345})
	if err != nil {
		panic(err)
	}
	client := netip.MustParseAddr("192.0.2.10")
	now := int64(1_767_225_600e9) // Unix ns
	// rx values are NTP 32.32 Receive fields with bit 0 set (the low-bit trick).
	for i, rx := range []uint64{0x1001, 0x2001, 0x3001} {
		h := l.Hit(client, now+int64(i)*16e9, rx)
		fmt.Printf("%v found=%v prev=(%#x, %#x)\n", h.Decision, h.Found, h.PrevRX, h.PrevTX)
		l.RecordTX(client, rx, rx+0x10) // the kernel's TX timestamp of this reply
	}
	st := l.Stats()
	fmt.Println("clients", st.Clients, "hits", st.Hits)
	// Output:
	// allow found=false prev=(0x0, 0x0)
	// allow found=true prev=(0x1001, 0x1011)
	// allow found=true prev=(0x2001, 0x2011)
	// clients 1 hits 3
}
