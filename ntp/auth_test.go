package ntp

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/symkey"
	"github.com/gnomon-time/gnomon/ntp/wire"
	"github.com/gnomon-time/gnomon/ntp/wire/wiretest"
)

// testKeyFile holds one key of each family the server is tested with.
const testKeyFile = `1 MD5 md5-secret-key
2 SHA1 HEX:0102030405060708090A0B0C0D0E0F1011121314
3 SHA256 sha256-secret
30 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1
31 AES256 HEX:603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4
`

func testKeys(tb testing.TB) *symkey.Keys {
	tb.Helper()
	ks, err := symkey.Parse("test-keys", []byte(testKeyFile))
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}

func keyedServer(tb testing.TB, log *clientlog.Log) *Server {
	tb.Helper()
	return newServer(tb, log, func(c *ServerConfig) { c.Keys = testKeys(tb) })
}

// signed appends key id's MAC to req (a client's authenticated request).
func signed(tb testing.TB, req []byte, id uint32) []byte {
	tb.Helper()
	k := testKeys(tb).Lookup(id)
	v := wire.Version(req)
	mac := make([]byte, k.MACLen(v))
	k.Put(new(symkey.Scratch), v, mac, req)
	return append(req, mac...)
}

// respondSealed runs a request through RespondAuth, stamps the transmit
// timestamp like the shell and seals; it checks the length invariants and
// returns the reply (nil if none) and the verdict.
func respondSealed(t *testing.T, s *Server, req []byte, rx wire.Time, a *ReplyAuth) ([]byte, Verdict) {
	t.Helper()
	out := bytes.Repeat([]byte{0xA5}, 1500)
	n, v := s.RespondAuth(out, req, client, rx, syncedState(), a)
	checkInvariants(t, req, out, n, v)
	if !v.Replied() {
		return nil, v
	}
	if v.NeedsTransmit() {
		wire.PutTransmit(out[:n], rx.Add(20*time.Microsecond))
	}
	m := s.Seal(out, n, a)
	if m < n || m > len(req) {
		t.Fatalf("sealed reply of %d bytes (header %d) to a %d-byte request", m, n, len(req))
	}
	for i, b := range out[m : m+64] {
		if b != 0xA5 {
			t.Fatalf("Seal wrote byte %d past the reply", m+i)
		}
	}
	return out[:m], v
}

func TestRespondAuthMAC(t *testing.T) {
	ks := testKeys(t)
	rx := wire.TimeFromTime(testNow())
	for _, tc := range []struct {
		name    string
		id      uint32
		version byte
		ef      bool
	}{
		{"md5_v4", 1, 4, false},
		{"sha1_v4", 2, 4, false},
		{"sha256_v4_truncated_to_20", 3, 4, false},
		{"sha256_v3_full_32", 3, 3, false},
		{"aes128_cmac_v4", 30, 4, false},
		{"aes256_cmac_v4", 31, 4, false},
		{"aes128_cmac_v4_after_extension_field", 30, 4, true},
		{"aes128_cmac_v3", 30, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := keyedServer(t, newLog(t, clientlog.RateLimit{}))
			req := request(lvm(0, tc.version, 3), 6, 0, 0, clientTXTime)
			if tc.ef {
				req = append(req, wiretest.EF(0x0104, 36, 36)...)
			}
			req = signed(t, req, tc.id)
			var a ReplyAuth
			rep, v := respondSealed(t, s, req, rx, &a)
			wantEq(t, "verdict", v, VerdictServed)
			wantEq(t, "auth kind", a.Kind(), AuthMAC)
			wantEq(t, "key ID", a.KeyID(), tc.id)
			k := ks.Lookup(tc.id)
			wantEq(t, "reply length", len(rep), wire.HeaderLen+k.MACLen(tc.version))
			if !k.Verify(new(symkey.Scratch), tc.version, rep[:wire.HeaderLen], rep[wire.HeaderLen:]) {
				t.Fatal("reply MAC does not verify with the request's key")
			}
			h, err := wire.ParseHeader(rep)
			if err != nil || h.Origin != clientTXTime || h.Transmit == 0 {
				t.Fatalf("reply header %+v, %v", h, err)
			}
			if tc.ef && len(rep) >= len(req) {
				t.Errorf("reply %d bytes not shorter than the request with an extension field (%d)", len(rep), len(req))
			}
		})
	}
	// MD5 against an independent computation: digest = MD5(key ‖ header).
	s := keyedServer(t, nil)
	var a ReplyAuth
	rep, _ := respondSealed(t, s, signed(t, basicReq(), 1), rx, &a)
	want := md5.Sum(append([]byte("md5-secret-key"), rep[:wire.HeaderLen]...))
	if binary.BigEndian.Uint32(rep[48:]) != 1 || !bytes.Equal(rep[52:], want[:]) {
		t.Errorf("MD5 MAC %x, want key 1 + %x", rep[48:], want)
	}
}

func TestRespondAuthRefusals(t *testing.T) {
	rx := wire.TimeFromTime(testNow())
	good := signed(t, basicReq(), 30)
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1
	tampered := bytes.Clone(good)
	tampered[wire.OffTransmit] ^= 1
	unknown := bytes.Clone(good)
	binary.BigEndian.PutUint32(unknown[wire.HeaderLen:], 99)
	sha1AsMD5Length := append(basicReq(), signed(t, basicReq(), 2)[48:68]...) // key 2's ID, 16-byte digest
	for _, tc := range []struct {
		name     string
		keys     bool
		noAuth   bool // Respond instead of RespondAuth
		req      []byte
		want     Verdict
		wantKind AuthKind
	}{
		{"respond_without_reply_auth", true, true, good, VerdictNoKey, AuthNone},
		{"server_without_keys", false, false, good, VerdictNoKey, AuthNone},
		{"flipped_digest", true, false, flipped, VerdictAuthFailed, AuthNone},
		{"tampered_header", true, false, tampered, VerdictAuthFailed, AuthNone},
		{"digest_length_wrong_for_key_type", true, false, sha1AsMD5Length, VerdictAuthFailed, AuthNone},
		{"unknown_key_crypto_nak", true, false, unknown, VerdictCryptoNAK, AuthCryptoNAK},
		{"v4_crypto_nak_request_is_not_a_mac", true, false, append(basicReq(), 0, 0, 0, 0), VerdictServed, AuthNone},
		{"unauthenticated", true, false, basicReq(), VerdictServed, AuthNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, newLog(t, clientlog.RateLimit{}), nil)
			if tc.keys {
				s.SetKeys(testKeys(t))
			}
			a := ReplyAuth{kind: AuthMAC, keyID: 5} // stale: RespondAuth must overwrite
			var rep []byte
			var v Verdict
			if tc.noAuth {
				out := make([]byte, 1500)
				var n int
				n, v = s.Respond(out, tc.req, client, rx, syncedState())
				rep = out[:n]
				a = ReplyAuth{}
			} else {
				rep, v = respondSealed(t, s, tc.req, rx, &a)
			}
			wantEq(t, "verdict", v, tc.want)
			if v.Replied() {
				wantEq(t, "auth kind", a.Kind(), tc.wantKind)
			}
			switch {
			case !v.Replied():
				if len(rep) != 0 {
					t.Errorf("reply of %d bytes for %v", len(rep), v)
				}
			case tc.wantKind == AuthCryptoNAK:
				wantEq(t, "crypto-NAK reply length", len(rep), wire.HeaderLen+4)
				wantEq(t, "crypto-NAK key ID", binary.BigEndian.Uint32(rep[48:]), 0)
				wantEq(t, "crypto-NAK remembers the key ID", a.KeyID(), 99)
				if h, _ := wire.ParseHeader(rep); h.Transmit == 0 || h.Origin != clientTXTime {
					t.Errorf("crypto-NAK header %+v", h)
				}
			default:
				wantEq(t, "unauthenticated reply length", len(rep), wire.HeaderLen)
			}
		})
	}
}

// The authentication verdicts that drop never reach the client log, so a
// forger cannot spend a client's rate with them.
func TestAuthFailureNeverReachesClientLog(t *testing.T) {
	log := newLog(t, clientlog.RateLimit{Enabled: true, IntervalLog2: 3, Burst: 1, Leak: 4, KoD: 0})
	s := keyedServer(t, log)
	bad := signed(t, basicReq(), 30)
	bad[len(bad)-1] ^= 1
	rx := wire.TimeFromTime(testNow())
	var a ReplyAuth
	for range 20 {
		if _, v := respondSealed(t, s, bad, rx, &a); v != VerdictAuthFailed {
			t.Fatalf("verdict %v", v)
		}
	}
	if _, v := respondSealed(t, s, signed(t, basicReq(), 30), rx, &a); v != VerdictServed {
		t.Errorf("authenticated request after 20 forgeries: %v, want served", v)
	}
}

// Rate limiting applies to authenticated clients, and their KoD RATE is
// authenticated too (chrony MACs its KoDs).
func TestAuthKoD(t *testing.T) {
	s := keyedServer(t, newLog(t, clientlog.RateLimit{Enabled: true, IntervalLog2: 4, Burst: 1, Leak: 4, KoD: 1}))
	rx := wire.TimeFromTime(testNow())
	req := signed(t, basicReq(), 30)
	k := testKeys(t).Lookup(30)
	kods := 0
	for i := range 40 {
		var a ReplyAuth
		rep, v := respondSealed(t, s, req, rx.Add(time.Duration(i)*time.Millisecond), &a)
		if v == VerdictKoDRate {
			kods++
			if len(rep) != 48+20 || !k.Verify(new(symkey.Scratch), 4, rep[:48], rep[48:]) {
				t.Fatalf("KoD reply %x not authenticated", rep)
			}
		}
	}
	if kods == 0 {
		t.Error("no KoD in 40 requests within 40 ms")
	}
}

// Interleaved mode keeps working for an authenticated chronyd-like xleave
// client: the third reply is interleaved and its MAC covers the final
// header, whose Transmit is the previous reply's TX timestamp.
func TestAuthInterleaved(t *testing.T) {
	s := keyedServer(t, newLog(t, clientlog.RateLimit{}))
	k := testKeys(t).Lookup(30)
	now := wire.TimeFromTime(testNow())
	var prevRX, prevTX wire.Time
	for i := range 4 {
		req := request(wiretest.V4Client, -4, prevRX, wire.Time(0x5d19767900000000+uint64(i)*0x1000), wire.Time(0x6d19767900000000+uint64(i)*0x1000))
		if i == 0 {
			req = request(wiretest.V4Client, -4, 0, 0, 0x6d19767900000000)
		}
		req = signed(t, req, 30)
		var a ReplyAuth
		rep, v := respondSealed(t, s, req, now, &a)
		if i >= 2 {
			wantEq(t, "verdict", v, VerdictInterleaved)
			h, _ := wire.ParseHeader(rep)
			wantEq(t, "interleaved transmit", h.Transmit, prevTX&^1)
		}
		if !k.Verify(new(symkey.Scratch), 4, rep[:48], rep[48:]) {
			t.Fatalf("reply %d: MAC does not verify over the final header", i)
		}
		if s.WantsTX(req, v) {
			prevTX = now.Add(25 * time.Microsecond)
			s.RecordTX(client.Addr(), wire.ReceiveField(rep), prevTX)
		}
		prevRX = wire.ReceiveField(rep)
		now = now.Add(time.Second)
	}
}

// A crypto-NAK reply is never interleaved and never asks for a TX stamp.
func TestCryptoNAKNotInterleaved(t *testing.T) {
	s := keyedServer(t, newLog(t, clientlog.RateLimit{}))
	now := wire.TimeFromTime(testNow())
	req := append(request(wiretest.V4Client, -4, 0, 0, 1), wiretest.MAC(20)...) // key 7: unknown
	var a ReplyAuth
	rep, v := respondSealed(t, s, req, now, &a)
	wantEq(t, "verdict", v, VerdictCryptoNAK)
	wantEq(t, "WantsTX", s.WantsTX(req, v), false)
	s.RecordTX(client.Addr(), wire.ReceiveField(rep), now.Add(time.Microsecond))
	req2 := append(request(wiretest.V4Client, -4, wire.ReceiveField(rep), 5, 6), wiretest.MAC(20)...)
	_, v = respondSealed(t, s, req2, now.Add(time.Second), &a)
	wantEq(t, "second verdict", v, VerdictCryptoNAK)
}

// The key that verified a request seals its reply even if the key set is
// replaced in between (a SIGHUP reload); the next request uses the new set.
func TestSealKeepsKeyAcrossReload(t *testing.T) {
	s := keyedServer(t, nil)
	old := testKeys(t).Lookup(30)
	req := signed(t, basicReq(), 30)
	out := make([]byte, 512)
	var a ReplyAuth
	n, v := s.RespondAuth(out, req, client, wire.TimeFromTime(testNow()), syncedState(), &a)
	wantEq(t, "verdict", v, VerdictServed)
	next, err := symkey.Parse("new", []byte("30 AES128 HEX:00112233445566778899AABBCCDDEEFF\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.SetKeys(next)
	wire.PutTransmit(out[:n], 12345)
	m := s.Seal(out, n, &a)
	if !old.Verify(new(symkey.Scratch), 4, out[:48], out[48:m]) {
		t.Error("reply not sealed with the key that verified its request")
	}
	if _, v := s.RespondAuth(out, req, client, wire.TimeFromTime(testNow()), syncedState(), &a); v != VerdictAuthFailed {
		t.Errorf("old key after reload: %v, want auth_failed", v)
	}
}

func TestSealRefuses(t *testing.T) {
	s := keyedServer(t, nil)
	req := signed(t, basicReq(), 2) // SHA1: 24-byte MAC
	out := make([]byte, 512)
	var a ReplyAuth
	n, _ := s.RespondAuth(out, req, client, wire.TimeFromTime(testNow()), syncedState(), &a)
	if got := s.Seal(out[:n+10], n, &a); got != 0 {
		t.Errorf("Seal into a buffer too short for the MAC = %d, want 0", got)
	}
	if got := s.Seal(out, n, &ReplyAuth{kind: AuthNTS, reqLen: 1000}); got != 0 {
		t.Errorf("Seal of an NTS reply without NTS = %d, want 0", got)
	}
	if got := s.Seal(out, n, nil); got != n {
		t.Errorf("Seal(nil) = %d, want %d", got, n)
	}
	if got := s.Seal(out, n, &ReplyAuth{}); got != n {
		t.Errorf("Seal(zero ReplyAuth) = %d, want %d", got, n)
	}
	// RespondAuth refuses an output buffer that cannot hold the MAC.
	if _, v := s.RespondAuth(out[:50], req, client, wire.TimeFromTime(testNow()), syncedState(), &a); v != VerdictShortBuffer {
		t.Errorf("short buffer for a MAC: %v", v)
	}
}

func TestRespondAuthAllocs(t *testing.T) {
	s := keyedServer(t, newLog(t, clientlog.RateLimit{}))
	st := syncedState()
	rx := wire.TimeFromTime(testNow())
	out := make([]byte, 1500)
	a := new(ReplyAuth)
	for _, id := range []uint32{1, 2, 3, 30, 31, 99} {
		req := signed(t, basicReq(), 30)
		if id != 99 {
			req = signed(t, basicReq(), id)
		} else {
			binary.BigEndian.PutUint32(req[48:], 99)
		}
		if n := testing.AllocsPerRun(200, func() {
			n, v := s.RespondAuth(out, req, client, rx, st, a)
			if !v.Replied() {
				t.Fatalf("key %d: verdict %v", id, v)
			}
			wire.PutTransmit(out[:n], rx)
			if s.Seal(out, n, a) <= n {
				t.Fatal("not sealed")
			}
		}); n != 0 {
			t.Errorf("key %d: RespondAuth+Seal allocates %v times", id, n)
		}
	}
}

// FuzzRespondAuth: with keys, any request either gets no reply or a reply
// that Seal makes no longer than the request, authenticated exactly when the
// request's MAC verified, with a crypto-NAK exactly for an unknown key.
func FuzzRespondAuth(f *testing.F) {
	for _, b := range wiretest.Golden(f, "testdata") {
		f.Add(b, uint16(1500))
	}
	f.Add(signed(f, basicReq(), 30), uint16(1500))
	f.Add(signed(f, request(wiretest.V3Client, 0, 0, 0, 1), 3), uint16(80))
	f.Add(append(append(basicReq(), wiretest.EF(1, 28, 28)...), wiretest.MAC(20)...), uint16(60))
	ks := testKeys(f)
	f.Fuzz(func(t *testing.T, req []byte, outLen uint16) {
		s := newServer(t, newLog(t, clientlog.RateLimit{}), func(c *ServerConfig) { c.Keys = ks })
		reqCopy := bytes.Clone(req)
		out := bytes.Repeat([]byte{0xA5}, int(outLen))
		var a ReplyAuth
		from := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.7"), 40000)
		n, v := s.RespondAuth(out, req, from, wire.TimeFromTime(testNow()), syncedState(), &a)
		if !bytes.Equal(req, reqCopy) {
			t.Fatal("RespondAuth modified the request")
		}
		if v.Replied() != (n == wire.HeaderLen) || n > len(out) {
			t.Fatalf("verdict %v, n %d, out %d", v, n, len(out))
		}
		if !v.Replied() {
			return
		}
		wire.PutTransmit(out[:n], 1<<40)
		m := s.Seal(out, n, &a)
		if m == 0 || m > len(req) || m > len(out) {
			t.Fatalf("sealed length %d for a %d-byte request, %d-byte buffer (%v)", m, len(req), len(out), a.Kind())
		}
		kind, off, _ := wire.ScanTrailer(req, wire.Version(req))
		switch a.Kind() {
		case AuthNone:
			if kind == wire.TrailerMAC || m != n {
				t.Fatalf("unauthenticated reply (%d bytes) to a request with trailer %d", m, kind)
			}
		case AuthMAC:
			k := ks.Lookup(binary.BigEndian.Uint32(req[off:]))
			if k == nil || !k.Verify(new(symkey.Scratch), wire.Version(req), req[:off], req[off:]) ||
				!k.Verify(new(symkey.Scratch), wire.Version(req), out[:n], out[n:m]) {
				t.Fatal("MAC'd reply without a verified request, or its MAC does not verify")
			}
		case AuthCryptoNAK:
			if kind != wire.TrailerMAC || ks.Lookup(binary.BigEndian.Uint32(req[off:])) != nil || m != n+4 {
				t.Fatalf("crypto-NAK for a known key or of length %d", m)
			}
		default:
			t.Fatalf("auth kind %v", a.Kind())
		}
	})
}
