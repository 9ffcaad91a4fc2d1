package ntp_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// The shell's part of one exchange: Respond, stamp the transmit time as late
// as possible, send, then report the accurate TX timestamp.
func ExampleServer_Respond() {
	log, _ := clientlog.New(clientlog.Config{})
	acl, _ := ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, nil)
	cfg := ntp.DefaultServerConfig()
	cfg.ACL = acl
	srv, _ := ntp.NewServer(cfg, log)

	now := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
	st := &clock.SyncState{Synchronized: true, Stratum: 1, RefID: 0x47505300, RefTime: now.Add(-time.Second), Precision: -24}
	from := netip.MustParseAddrPort("192.0.2.7:40123")
	req := make([]byte, wire.HeaderLen)
	req[0] = 0x23 // LI 0, VN 4, mode 3

	out := make([]byte, 1500)
	n, v := srv.Respond(out, req, from, wire.TimeFromTime(now), st)
	if v.NeedsTransmit() {
		wire.PutTransmit(out[:n], wire.TimeFromTime(now.Add(15*time.Microsecond)))
	}
	// ... send out[:n] to from, learn its kernel TX timestamp ...
	tx := wire.TimeFromTime(now.Add(17 * time.Microsecond))
	srv.RecordTX(from.Addr(), wire.ReceiveField(out[:n]), tx)

	h, _ := wire.ParseHeader(out[:n])
	fmt.Println(v, n, h.Mode, h.Stratum, wire.RefIDString(h.RefID), h.Transmit.Sub(h.Receive))
	// Output: served 48 4 1 GPS 15µs
}
