package ntske

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/facebook/time/ntp/ntske"
	"github.com/facebook/time/ntp/protocol"
	fbnts "github.com/facebook/time/ntp/protocol/nts"

	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// handshake runs facebook/time's NTS-KE client against addr.
func handshake(t *testing.T, addr string, tc *tls.Config) *ntske.HandshakeResult {
	t.Helper()
	c := &ntske.Client{Timeout: 5 * time.Second}
	res, err := c.Handshake(t.Context(), addr, tc)
	if err != nil {
		t.Fatalf("facebook/time NTS-KE client: %v", err)
	}
	return res
}

// ntpExchange builds a request with facebook/time's NTS client, runs it
// through a worker of core as the NTP server would (header, Transmit, Seal)
// and returns the request, the verdict and the reply.
func ntpExchange(t *testing.T, core *nts.Core, res *ntske.HandshakeResult, cookie []byte, placeholders int) ([]byte, []byte, nts.Verdict, []byte) {
	t.Helper()
	uid := make([]byte, 32)
	_, _ = rand.Read(uid)
	req, err := fbnts.BuildNTSRequest(protocol.Packet{Settings: 0x23, TxTimeSec: 1, TxTimeFrac: 2}, fbnts.RequestParams{
		AEAD: protocol.AEADAlgorithm(res.AEAD), C2S: res.C2S, Cookie: cookie, UniqueID: uid, Placeholders: placeholders,
	})
	if err != nil {
		t.Fatal(err)
	}
	w := core.NewWorker()
	var a nts.ReplyAuth
	v := w.Verify(req, &a)
	out := make([]byte, 2048)
	out[0] = wire.LVM(0, 4, wire.ModeServer)
	out[wire.OffStratum] = 1
	copy(out[wire.OffOrigin:], req[wire.OffTransmit:wire.OffTransmit+8])
	binary.BigEndian.PutUint64(out[wire.OffTransmit:], 0xeeee0000)
	n := w.Seal(out, wire.HeaderLen, &a)
	return req, uid, v, out[:n]
}

// TestFacebookClient: facebook/time's NTS-KE client and NTS request
// builder/verifier against this server: KE, then NTP requests with 0–7
// placeholders through the core; each reply verifies with S2C, carries
// 1 + placeholders cookies and is no longer than its request; the fresh
// cookies work in turn.
func TestFacebookClient(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	cert, clientTLS := testCert(t)
	core, _, srv, addr := startServer(t, keyPath(t), clk, Config{Certificate: cert, NTPServer: "ntp.example", NTPPort: 1123})
	res := handshake(t, addr, clientTLS)
	if res.AEAD != nts.AEADAESSIVCMAC256 || len(res.Cookies) != 8 || res.NTPServer != "ntp.example" || res.NTPPort != 1123 {
		t.Fatalf("KE result: AEAD %d, %d cookies, server %q port %d", res.AEAD, len(res.Cookies), res.NTPServer, res.NTPPort)
	}
	for _, c := range res.Cookies {
		if len(c) != nts.CookieLen {
			t.Fatalf("cookie of %d bytes", len(c))
		}
	}
	cookie := res.Cookies[0]
	for ph := 0; ph <= 7; ph++ {
		req, uid, v, reply := ntpExchange(t, core, res, cookie, ph)
		if v != nts.VerdictAuthentic {
			t.Fatalf("%d placeholders: verdict %v", ph, v)
		}
		if len(reply) == 0 || len(reply) > len(req) {
			t.Fatalf("%d placeholders: reply %d bytes, request %d", ph, len(reply), len(req))
		}
		pkt, cookies, err := fbnts.VerifyNTSResponse(reply, protocol.AEADAlgorithm(res.AEAD), res.S2C, uid)
		if err != nil {
			t.Fatalf("%d placeholders: facebook/time rejects the reply: %v", ph, err)
		}
		if len(cookies) != 1+ph || pkt.TxTimeSec != 0 || pkt.TxTimeFrac != 0xeeee0000 {
			t.Fatalf("%d placeholders: %d cookies, transmit %d.%d", ph, len(cookies), pkt.TxTimeSec, pkt.TxTimeFrac)
		}
		cookie = cookies[0] // the next request spends a fresh cookie
	}
	deadline := time.Now().Add(5 * time.Second)
	for (srv.Stats().Served == 0 || srv.Stats().Cookies < 8) && time.Now().Before(deadline) { // cookies are counted after served
		time.Sleep(10 * time.Millisecond)
	}
	if st := srv.Stats(); st.Served != 1 || st.Cookies != 8 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRestartKeepsCookies: a cookie from before a restart (a new key store
// and core loaded from the same file) is still accepted; a rotation keeps it
// for Keep periods; a cookie with an unknown key gets an NTS NAK.
func TestRestartKeepsCookies(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	path := keyPath(t)
	cert, clientTLS := testCert(t)
	_, _, _, addr := startServer(t, path, clk, Config{Certificate: cert})
	res := handshake(t, addr, clientTLS)

	core2 := nts.NewCore(nil, rand.Reader)
	ks2, err := OpenKeyStore(KeysConfig{Path: path, Rotate: week, Keep: 2, Now: clk.Now}, core2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, v, _ := ntpExchange(t, core2, res, res.Cookies[0], 0); v != nts.VerdictAuthentic {
		t.Fatalf("old cookie after restart: %v", v)
	}
	// Rotations: the cookie's key (current at issue) survives Keep = 2.
	for i := 1; i <= 3; i++ {
		clk.Add(week)
		ks2.Tick()
		_, _, v, reply := ntpExchange(t, core2, res, res.Cookies[i], 0)
		want := nts.VerdictAuthentic
		if i == 3 {
			want = nts.VerdictNAKUnknownKey
		}
		if v != want {
			t.Fatalf("after %d rotations: %v, want %v", i, v, want)
		}
		if v.NAK() && (binary.BigEndian.Uint32(reply[wire.OffRefID:]) != uint32(wire.KissNTSN) || len(reply) != wire.HeaderLen+36) {
			t.Fatalf("NAK reply %x", reply)
		}
	}
	// The rotations were saved: a third instance loads the rotated keys.
	if s, err := LoadKeyFile(path); err != nil || len(s.Keys) != 4 || s.Current().ID != ks2.KeySet().Current().ID {
		t.Fatalf("file after rotations: %v, %+v", err, s)
	}
	// A cookie that is not ours at all.
	var keys [nts.SessionKeysLen]byte
	copy(keys[:], res.C2S)
	copy(keys[32:], res.S2C)
	bad := make([]byte, nts.CookieLen)
	if err := core2.Ring().SealCookie(bad, &keys, &[16]byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, _, v, _ := ntpExchange(t, core2, res, bad, 0); v != nts.VerdictAuthentic {
		t.Fatalf("cookie sealed with the current key: %v", v)
	}
	bad[60] ^= 1
	if _, _, v, _ := ntpExchange(t, core2, res, bad, 0); v != nts.VerdictNAKBadCookie {
		t.Fatalf("tampered cookie: %v", v)
	}
}

// TestKERefusals drives the server with raw requests.
func TestKERefusals(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	cert, clientTLS := testCert(t)
	_, _, srv, addr := startServer(t, keyPath(t), clk, Config{Certificate: cert, MaxRequest: 64})
	rec := func(typ uint16, crit bool, body ...byte) []byte { return appendRecord(nil, typ, crit, body...) }
	join := func(rs ...[]byte) []byte { return bytes.Join(rs, nil) }
	eom := rec(RecEndOfMessage, true)
	tests := []struct {
		name string
		req  []byte
		want []byte
	}{
		{"no AEAD in common", join(rec(RecNextProtocol, true, 0, 0), rec(RecAEAD, false, 0, 30), eom),
			join(rec(RecNextProtocol, true, 0, 0), rec(RecAEAD, false), eom)},
		{"no NTPv4", join(rec(RecNextProtocol, true, 0, 9), rec(RecAEAD, false, 0, 15), eom),
			join(rec(RecNextProtocol, true), eom)},
		{"unknown critical", join(rec(RecNextProtocol, true, 0, 0), rec(0x4444, true), rec(RecAEAD, false, 0, 15), eom),
			errorResponse(ErrCodeUnrecognizedCritical)},
		{"unknown non-critical", join(rec(RecNextProtocol, true, 0, 0), rec(0x4444, false, 1, 2, 3), rec(RecAEAD, false, 0, 15), eom), nil},
		{"two next protocol records", join(rec(RecNextProtocol, true, 0, 0), rec(RecNextProtocol, true, 0, 0), rec(RecAEAD, false, 0, 15), eom),
			errorResponse(ErrCodeBadRequest)},
		{"too long", join(rec(RecNextProtocol, true, 0, 0), rec(RecWarning, true, make([]byte, 80)...), eom),
			errorResponse(ErrCodeBadRequest)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", addr, clientTLS)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(tc.req); err != nil {
				t.Fatal(err)
			}
			got, err := ReadMessage(c, 4096)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if _, perr := parseResponse(got); perr != nil {
					t.Fatalf("response %x: %v", got, perr)
				}
				return
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("response %x, want %x", got, tc.want)
			}
		})
	}
	// No ALPN: the handshake is refused by crypto/tls or the server.
	noALPN := clientTLS.Clone()
	noALPN.NextProtos = nil
	if c, err := tls.Dial("tcp", addr, noALPN); err == nil {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := ReadMessage(c, 4096); err == nil {
			t.Fatal("served a client without ALPN")
		}
		c.Close()
	}
	// The server counts a connection after its last write, so the client
	// can have read a response before it is counted: wait for every count.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st := srv.Stats(); st.HandshakeFailed >= 1 && st.Refusals >= 4 && st.Failed >= 1 && st.Served >= 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := srv.Stats(); st.HandshakeFailed != 1 || st.Refusals != 4 || st.Failed != 1 || st.Served != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// parseResponse counts the cookies of a successful response.
func parseResponse(msg []byte) (int, error) {
	n := 0
	for off := 0; off+4 <= len(msg); {
		typ := binary.BigEndian.Uint16(msg[off:]) &^ criticalBit
		l := int(binary.BigEndian.Uint16(msg[off+2:]))
		if typ == RecError {
			return 0, &protoError{code: binary.BigEndian.Uint16(msg[off+4:])}
		}
		if typ == RecNewCookie {
			n++
		}
		off += 4 + l
	}
	return n, nil
}

// TestConnectionLimit: with MaxConnections busy, more are refused and
// counted; a handshake that never starts times out.
func TestConnectionLimit(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	cert, clientTLS := testCert(t)
	_, _, srv, addr := startServer(t, keyPath(t), clk, Config{Certificate: cert, MaxConnections: 2, Timeout: 500 * time.Millisecond})
	var d net.Dialer
	var idle []net.Conn
	for range 3 {
		c, err := d.DialContext(t.Context(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Refused == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := srv.Stats(); st.Refused != 1 {
		t.Fatalf("stats %+v: want 1 refused", st)
	}
	// After the timeout the idle ones are closed and a client is served.
	for srv.Stats().HandshakeFailed < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("stats before the handshake: %+v", srv.Stats())
	handshake(t, addr, clientTLS)
	for srv.Stats().Served == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := srv.Stats(); st.HandshakeFailed != 2 || st.Served != 1 {
		t.Fatalf("stats %+v", st)
	}
}
