package probetest

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// Server describes one fake server.
type Server struct {
	// Shift is added to the host clock for the server's Receive and
	// Transmit stamps: a client on this host measures offset ≈ Shift.
	Shift time.Duration
	// State is what the server serves; nil serves unsynchronised (LI 3,
	// stratum 0). Good returns a synchronised stratum-1 state.
	State *clock.SyncState
	// Silent reads requests and never answers (a client times out).
	Silent bool
}

// Good returns a synchronised stratum-1 state (reference "GPS") whose
// reference time is now.
func Good() *clock.SyncState {
	return &clock.SyncState{Synchronized: true, Stratum: 1, RefID: 0x47505300,
		RefTime: time.Now(), Precision: -20, RootDelay: 0, RootDispersion: 10 * time.Microsecond}
}

// Start serves s on network ("udp4" on 127.0.0.1 or "udp6" on ::1, an
// ephemeral port) until the test ends, and returns the address as
// host:port ([::1]:port for IPv6). It skips the test if the loopback
// address of that family is unavailable.
func Start(tb testing.TB, network string, s Server) string {
	tb.Helper()
	ip := net.IPv4(127, 0, 0, 1)
	if network == "udp6" {
		ip = net.IPv6loopback
	}
	conn, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
	if err != nil {
		if network == "udp6" {
			tb.Skipf("no IPv6 loopback: %v", err)
		}
		tb.Fatal(err)
	}
	acl, err := ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := ntp.DefaultServerConfig()
	cfg.ACL = acl
	srv, err := ntp.NewServer(cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	tb.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		req := make([]byte, 1500)
		out := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(req)
			if err != nil {
				return // closed at cleanup
			}
			if s.Silent {
				continue
			}
			rx := wire.TimeFromTime(time.Now().Add(s.Shift))
			m, v := srv.Respond(out, req[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), rx, s.State)
			if !v.Replied() {
				continue
			}
			if v.NeedsTransmit() {
				wire.PutTransmit(out[:m], wire.TimeFromTime(time.Now().Add(s.Shift)))
			}
			_, _ = conn.WriteToUDPAddrPort(out[:m], from)
		}
	}()
	return conn.LocalAddr().String()
}
