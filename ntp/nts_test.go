package ntp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/nts/ntstest"
	"github.com/gnomon-time/gnomon/ntp/wire"
	"github.com/gnomon-time/gnomon/ntp/wire/wiretest"
)

func ntsKey(b byte) (k [nts.MasterKeyLen]byte) {
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func ntsRing(tb testing.TB, a, b byte) *nts.Ring {
	tb.Helper()
	r, err := nts.NewRing(nts.NewKeySet(testNow().Add(-time.Hour), ntsKey(a), ntsKey(b)))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// staleRing is a ring whose current key (ID 5) the test server's ring
// (IDs 1 and 2) never held: its cookies are stale or foreign ones.
func staleRing(tb testing.TB) *nts.Ring {
	tb.Helper()
	set := nts.NewKeySet(testNow().Add(-10*time.Hour), ntsKey(50), ntsKey(60))
	for i := range 4 {
		set = set.Rotated(testNow().Add(time.Duration(i-9)*time.Hour), ntsKey(byte(70+i)), 0)
	}
	r, err := nts.NewRing(set)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// ntsServer returns a server with an NTS core (and a client log when log is
// set), a reply slot with its worker, and a client session of 8 cookies.
func ntsServer(tb testing.TB, log *clientlog.Log) (*Server, *ReplyAuth, *ntstest.Session) {
	tb.Helper()
	ring := ntsRing(tb, 1, 2)
	core := nts.NewCore(ring, rand.Reader)
	s := newServer(tb, log, func(c *ServerConfig) { c.NTS = core; c.Keys = testKeys(tb) })
	a := new(ReplyAuth)
	a.SetNTSWorker(s.NTS().NewWorker())
	var keys [nts.SessionKeysLen]byte
	for i := range keys {
		keys[i] = byte(0x90 + i)
	}
	sess, err := ntstest.NewSession(ring, keys, 8)
	if err != nil {
		tb.Fatal(err)
	}
	return s, a, sess
}

// RespondAuth + Seal on NTS requests: authentic requests get the header
// rules' reply plus the Unique Identifier echo and an S2C authenticator
// with 1 + placeholders fresh cookies, never longer than the request (also
// facebook/time's 24-byte authenticator, which wire.ScanTrailer would take
// for a MAC); a stale cookie gets an NTS NAK; a forged authenticator and
// broken fields get nothing.
func TestRespondAuthNTS(t *testing.T) {
	s, a, sess := ntsServer(t, nil)
	rx := wire.TimeFromTime(testNow())
	for _, tc := range []struct {
		name  string
		spec  ntstest.Spec
		wantN int // cookies
	}{
		{"chrony_nonce16_no_placeholder", ntstest.Spec{NonceLen: 16}, 1},
		{"chrony_nonce16_7_placeholders", ntstest.Spec{NonceLen: 16, Placeholders: 7}, 8},
		{"facebook_nonce0", ntstest.Spec{}, 1},
		{"placeholders_beyond_max", ntstest.Spec{NonceLen: 16, Placeholders: 12}, nts.MaxCookies},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sess.Request(tc.spec)
			rep, v := respondSealed(t, s, req, rx, a)
			wantEq(t, "verdict", v, VerdictServed)
			wantEq(t, "kind", a.Kind(), AuthNTS)
			wantEq(t, "nts verdict", a.NTSVerdict(), nts.VerdictAuthentic)
			h, err := wire.ParseHeader(rep)
			if err != nil {
				t.Fatal(err)
			}
			wantEq(t, "origin", h.Origin, clientTXTime0x())
			wantEq(t, "stratum", h.Stratum, uint8(1))
			cookies, err := sess.OpenReply(rep, req)
			if err != nil {
				t.Fatal(err)
			}
			wantEq(t, "cookies", len(cookies), tc.wantN)
			if len(rep) > len(req) {
				t.Fatalf("reply %d bytes > request %d", len(rep), len(req))
			}
		})
	}

	t.Run("stale_cookie_nak", func(t *testing.T) {
		old, err := ntstest.NewSession(staleRing(t), sess.Keys, 1)
		if err != nil {
			t.Fatal(err)
		}
		req := old.Request(ntstest.Spec{NonceLen: 16})
		rep, v := respondSealed(t, s, req, rx, a)
		wantEq(t, "verdict", v, VerdictNTSNAK)
		wantEq(t, "nts verdict", a.NTSVerdict(), nts.VerdictNAKUnknownKey)
		if _, err := old.OpenReply(rep, req); !errors.Is(err, ntstest.ErrNAK) {
			t.Fatalf("OpenReply: %v, want NAK", err)
		}
		wantEq(t, "leap", rep[0]>>6, byte(3))
	})
	t.Run("damaged_cookie_nak", func(t *testing.T) {
		c := bytes.Clone(sess.Cookies[0])
		c[40] ^= 1
		req := sess.RequestWith(c, ntstest.Spec{NonceLen: 16})
		_, v := respondSealed(t, s, req, rx, a)
		wantEq(t, "verdict", v, VerdictNTSNAK)
	})
	t.Run("forged_authenticator_dropped", func(t *testing.T) {
		req := sess.Request(ntstest.Spec{NonceLen: 16})
		req[len(req)-1] ^= 1
		rep, v := respondSealed(t, s, req, rx, a)
		wantEq(t, "verdict", v, VerdictAuthFailed)
		if rep != nil {
			t.Fatal("reply to a forgery")
		}
	})
	t.Run("two_cookies_malformed", func(t *testing.T) {
		req := sess.Request(ntstest.Spec{NonceLen: 16})
		// Turn the cookie's field into a second Unique Identifier.
		req[48+4+32] = 0x01
		_, v := respondSealed(t, s, req, rx, a)
		wantEq(t, "verdict", v, VerdictMalformed)
	})
	t.Run("slot_without_worker", func(t *testing.T) {
		// A slot without an nts.Worker does not verify NTS: chrony's
		// request (16-byte nonce, 40-byte authenticator) is plain NTP
		// with extension fields, answered unauthenticated (the client
		// rejects it); never a panic.
		req := sess.Request(ntstest.Spec{NonceLen: 16})
		var plain ReplyAuth
		_, v := respondSealed(t, s, req, rx, &plain)
		wantEq(t, "verdict", v, VerdictServed)
		wantEq(t, "kind", plain.Kind(), AuthNone)
	})
	t.Run("symmetric_key_still_works", func(t *testing.T) {
		req := signed(t, basicReq(), 30)
		_, v := respondSealed(t, s, req, rx, a)
		wantEq(t, "verdict", v, VerdictServed)
		wantEq(t, "kind", a.Kind(), AuthMAC)
	})
}

func clientTXTime0x() wire.Time { return 0x0123456789abcdef }

// NTS requests are served interleaved like plain ones (chronyd's
// `server … nts xleave`): the third request of the sequence gets the
// previous reply's TX stamp, sealed; a NAK is never interleaved.
func TestNTSInterleaved(t *testing.T) {
	s, a, sess := ntsServer(t, newLog(t, clientlog.RateLimit{}))
	now := wire.TimeFromTime(testNow())
	var prevRX, prevTX wire.Time
	for i := range 4 {
		hdr := request(wiretest.V4Client, -4, prevRX, wire.Time(0x5d19767900000000+uint64(i)*0x1000), wire.Time(0x6d19767900000000+uint64(i)*0x1000))
		if i == 0 {
			hdr = request(wiretest.V4Client, -4, 0, 0, 0x6d19767900000000)
		}
		req := sess.Request(ntstest.Spec{Header: hdr, NonceLen: 16})
		rep, v := respondSealed(t, s, req, now, a)
		if i >= 2 {
			wantEq(t, "verdict", v, VerdictInterleaved)
			h, _ := wire.ParseHeader(rep)
			wantEq(t, "interleaved transmit", h.Transmit, prevTX&^1)
		}
		if _, err := sess.OpenReply(rep, req); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if s.WantsTX(req, v) {
			prevTX = now.Add(25 * time.Microsecond)
			s.RecordTX(client.Addr(), wire.ReceiveField(rep), prevTX)
		}
		prevRX = wire.ReceiveField(rep)
		now = now.Add(time.Second)
	}
	stale, err := ntstest.NewSession(staleRing(t), sess.Keys, 1)
	if err != nil {
		t.Fatal(err)
	}
	req := stale.Request(ntstest.Spec{Header: request(wiretest.V4Client, -4, prevRX, 5, 6), NonceLen: 16})
	_, v := respondSealed(t, s, req, now, a)
	wantEq(t, "stale cookie verdict", v, VerdictNTSNAK)
	wantEq(t, "WantsTX", s.WantsTX(req, v), false)
}

// An NTS request over the rate gets a KoD RATE that is still authenticated
// (chronyd accepts only authenticated KoDs from an NTS server).
func TestNTSKoD(t *testing.T) {
	s, a, sess := ntsServer(t, newLog(t, clientlog.RateLimit{Enabled: true, IntervalLog2: 4, Burst: 1, Leak: 4, KoD: 1}))
	now := wire.TimeFromTime(testNow())
	kods := 0
	req := sess.Request(ntstest.Spec{NonceLen: 16}) // the server keeps no record of spent cookies
	for range 40 {
		rep, v := respondSealed(t, s, req, now, a)
		if v == VerdictKoDRate {
			kods++
			if _, err := sess.OpenReply(rep, req); err != nil {
				t.Fatalf("KoD: %v", err)
			}
		}
		now = now.Add(time.Millisecond)
	}
	if kods == 0 {
		t.Fatal("no KoD")
	}
}

// RespondAuth + Seal of an NTS request allocate nothing (AES-NI path).
func TestRespondAuthNTSAllocs(t *testing.T) {
	s, a, sess := ntsServer(t, newLog(t, clientlog.RateLimit{}))
	st := syncedState()
	rx := wire.TimeFromTime(testNow())
	out := make([]byte, 1500)
	for _, ph := range []int{0, 7} {
		req := sess.Request(ntstest.Spec{NonceLen: 16, Placeholders: ph})
		if n := testing.AllocsPerRun(200, func() {
			n, v := s.RespondAuth(out, req, client, rx, st, a)
			if v != VerdictServed {
				t.Fatalf("verdict %v", v)
			}
			wire.PutTransmit(out[:n], rx)
			if m := s.Seal(out, n, a); m <= n || m > len(req) {
				t.Fatalf("sealed %d bytes", m)
			}
		}); n != 0 {
			t.Errorf("%d placeholders: RespondAuth+Seal allocates %v times", ph, n)
		}
	}
}

// BenchmarkRespondAuthNTS measures one NTS request (chronyd's form: 16-byte
// nonce; 0 or 7 placeholders) through RespondAuth and Seal: cookie open,
// authenticator check, reply header, Unique Identifier echo, 1 or 8 fresh
// cookies sealed, reply authenticator.
func BenchmarkRespondAuthNTS(b *testing.B) {
	for _, ph := range []int{0, 7} {
		b.Run(map[int]string{0: "1_cookie", 7: "8_cookies"}[ph], func(b *testing.B) {
			s, a, sess := ntsServer(b, nil)
			st := syncedState()
			rx := wire.TimeFromTime(testNow())
			out := make([]byte, 1500)
			req := sess.Request(ntstest.Spec{NonceLen: 16, Placeholders: ph})
			b.ReportAllocs()
			for b.Loop() {
				n, _ := s.RespondAuth(out, req, client, rx, st, a)
				wire.PutTransmit(out[:n], rx)
				if s.Seal(out, n, a) == 0 {
					b.Fatal("not sealed")
				}
			}
		})
	}
}

// FuzzRespondAuthNTS: with NTS on, any request gets no reply or one that
// Seal makes no longer than the request; a reply sealed for an authentic
// NTS request opens with the session's S2C key.
func FuzzRespondAuthNTS(f *testing.F) {
	_, _, sess := ntsServer(f, nil)
	f.Add(sess.Request(ntstest.Spec{NonceLen: 16}))
	f.Add(sess.Request(ntstest.Spec{Placeholders: 3}))
	f.Add(sess.Request(ntstest.Spec{NonceLen: 16, Placeholders: 7}))
	f.Add(basicReq())
	f.Add(signed(f, basicReq(), 30))
	f.Fuzz(func(t *testing.T, req []byte) {
		s, a, sess := ntsServer(t, newLog(t, clientlog.RateLimit{}))
		rx := wire.TimeFromTime(testNow())
		out := make([]byte, 2048)
		n, v := s.RespondAuth(out, req, client, rx, syncedState(), a)
		if !v.Replied() {
			return
		}
		wire.PutTransmit(out[:n], rx)
		m := s.Seal(out, n, a)
		if m > len(req) {
			t.Fatalf("reply of %d bytes to a %d-byte request", m, len(req))
		}
		if m > 0 && a.NTSVerdict() == nts.VerdictAuthentic {
			if _, err := sess.OpenReply(out[:m], req); err != nil {
				t.Fatalf("authentic request, reply does not open: %v", err)
			}
		}
	})
}
