package loadgen

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/nts/ntstest"
	"github.com/gnomon-time/gnomon/ntp/ntske"
	"github.com/gnomon-time/gnomon/ntp/symkey"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// testKeys: key 30 is the generator's MAC key; the server also holds 31.
const testKeys = `30 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1
31 SHA1 HEX:0102030405060708090A0B0C0D0E0F1011121314
`

// authServer is an in-process NTP server on loopback built from gnomon's
// own parts as gnomond combines them: ntp.Server.RespondAuth (ACL, reply
// rules, symmetric keys, crypto-NAK) and, for NTS, nts.Worker Verify/Seal
// with an ntske NTS-KE server. tamper, when set, may rewrite every reply
// (request and reply bytes; it returns the reply to send, nil for none).
type authServer struct {
	conn   *net.UDPConn
	addr   netip.AddrPort
	keAddr string
	tls    *tls.Config
	srv    *ntp.Server
	core   *nts.Core
	tamper func(req, rep []byte) []byte
	// answerDropped: also answer requests the rules drop, with a plain
	// 48-byte reply (a server that breaks the rules).
	answerDropped bool
	replies       atomic.Uint64
	wg            sync.WaitGroup
}

// startAuthServer starts the server; set, if not nil, sets tamper or
// answerDropped before it serves.
func startAuthServer(t *testing.T, withNTS bool, set func(a *authServer)) *authServer {
	t.Helper()
	keys, err := symkey.Parse("test", []byte(testKeys))
	if err != nil {
		t.Fatal(err)
	}
	acl, err := ntp.NewACL([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ntp.DefaultServerConfig()
	cfg.ACL, cfg.Keys = acl, keys
	srv, err := ntp.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &authServer{srv: srv}
	if set != nil {
		set(a)
	}
	if withNTS {
		a.startKE(t)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Skipf("no UDP socket: %v", err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	a.conn, a.addr = conn, conn.LocalAddr().(*net.UDPAddr).AddrPort()
	a.wg.Add(1)
	go a.serve()
	t.Cleanup(func() {
		conn.Close()
		a.wg.Wait()
	})
	return a
}

// startKE starts an NTS-KE server (ntske) on 127.0.0.1:0 with a fresh
// master key ring and a self-signed certificate.
func (a *authServer) startKE(t *testing.T) {
	t.Helper()
	var k1, k2 [nts.MasterKeyLen]byte
	_, _ = rand.Read(k1[:])
	_, _ = rand.Read(k2[:])
	ring, err := nts.NewRing(nts.NewKeySet(time.Now(), k1, k2))
	if err != nil {
		t.Fatal(err)
	}
	a.core = nts.NewCore(ring, rand.Reader)
	cert, clientTLS := testCert(t)
	ke, err := ntske.New(ntske.Config{Listen: []string{"127.0.0.1:0"}, Certificate: cert}, a.core)
	if err != nil {
		t.Fatal(err)
	}
	if err := ke.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ke.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("NTS-KE server: %v", err)
		}
	})
	a.keAddr, a.tls = ke.Addrs()[0].String(), clientTLS
}

func (a *authServer) serve() {
	defer a.wg.Done()
	var nw *nts.Worker
	if a.core != nil {
		nw = a.core.NewWorker()
	}
	buf := make([]byte, 2048)
	out := make([]byte, 2048)
	st := &clock.SyncState{Synchronized: true, Stratum: 1, RefID: 0x47505300, RefTime: time.Now(), Precision: -24}
	var auth ntp.ReplyAuth
	var na nts.ReplyAuth
	for {
		n, from, err := a.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		req := buf[:n]
		na = nts.ReplyAuth{}
		if nw != nil && nw.Verify(req, &na).Drop() {
			continue
		}
		m, v := a.srv.RespondAuth(out, req, from, wire.TimeFromTime(time.Now()), st, &auth)
		if !v.Replied() {
			if a.answerDropped && len(req) >= wire.HeaderLen {
				rep := out[:wire.HeaderLen]
				clear(rep)
				rep[0], rep[1] = wire.LVM(clock.LeapNone, 4, wire.ModeServer), 1
				copy(rep[wire.OffOrigin:], req[wire.OffTransmit:wire.OffTransmit+8])
				wire.PutTransmit(rep, wire.TimeFromTime(time.Now()))
				copy(rep[wire.OffReceive:], rep[wire.OffTransmit:wire.OffTransmit+8])
				_, _ = a.conn.WriteToUDPAddrPort(rep, from)
			}
			continue
		}
		if v.NeedsTransmit() {
			wire.PutTransmit(out[:m], wire.TimeFromTime(time.Now()))
		}
		if m = a.srv.Seal(out, m, &auth); m == 0 {
			continue
		}
		if nw != nil {
			if m = nw.Seal(out, m, &na); m == 0 {
				continue
			}
		}
		rep := out[:m]
		if a.tamper != nil {
			if rep = a.tamper(req, rep); rep == nil {
				continue
			}
		}
		a.replies.Add(1)
		if _, err := a.conn.WriteToUDPAddrPort(rep, from); err != nil {
			return
		}
	}
}

// testCert returns a self-signed certificate for 127.0.0.1 and a client
// TLS configuration trusting it.
func testCert(t *testing.T) (tls.Certificate, *tls.Config) {
	t.Helper()
	cert, pool, err := ntstest.Certificate([]net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return cert, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
}

// mixConfig is a rate-mode config of the given mix against a.
func (a *authServer) mixConfig(t *testing.T, mix string) Config {
	t.Helper()
	m, err := ParseMix(mix)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := symkey.Parse("test", []byte(testKeys))
	return Config{Server: a.addr, Rate: 2000, Mix: m, MACKey: keys.Lookup(30), Clients: 10,
		NTSServer: a.keAddr, NTSTLS: a.tls, NoGSO: false}
}
