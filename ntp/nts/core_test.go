package nts

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts/siv"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

func TestRoundTrip(t *testing.T) {
	ring := testRing(t)
	core := NewCore(ring, &countingReader{})
	w := core.NewWorker()
	keys := testSessionKeys()
	c2s, s2c := (*[siv.KeySize]byte)(keys[:32]), (*[siv.KeySize]byte)(keys[32:])
	for _, nonceLen := range []int{0, 16, 4} {
		for ph := 0; ph <= 9; ph++ {
			req := buildRequest(t, reqSpec{uidLen: 32, cookie: testCookie(t, ring, &keys), placeholders: ph, nonceLen: nonceLen}, c2s)
			var a ReplyAuth
			if v := w.Verify(req, &a); v != VerdictAuthentic {
				t.Fatalf("nonce %d, %d placeholders: verdict %v", nonceLen, ph, v)
			}
			out := make([]byte, 2048)
			n := w.Seal(out, replyHeader(out), &a)
			if n == 0 || n > len(req) {
				t.Fatalf("nonce %d, %d placeholders: reply %d bytes for a %d-byte request", nonceLen, ph, n, len(req))
			}
			cookies := openReply(t, out[:n], req, s2c)
			want := min(1+ph, MaxCookies)
			if nonceLen == 4 {
				// The reply's 16-byte nonce costs 12 more bytes than the
				// request's: one cookie fewer fits.
				want = min(ph, MaxCookies)
			}
			if len(cookies) != want {
				t.Fatalf("nonce %d, %d placeholders: %d cookies, want %d", nonceLen, ph, len(cookies), want)
			}
			if nonceLen == 0 && n != len(req) && ph < MaxCookies {
				t.Errorf("nonce 0, %d placeholders: reply %d bytes, request %d: want equal", ph, n, len(req))
			}
			for i, c := range cookies {
				var got [SessionKeysLen]byte
				if err := ring.OpenCookie(&got, c); err != nil || got != keys {
					t.Fatalf("fresh cookie %d: %v", i, err)
				}
				if i > 0 && bytes.Equal(c, cookies[i-1]) {
					t.Fatal("two identical fresh cookies")
				}
			}
			if !bytes.Equal(out[:wire.HeaderLen-8], func() []byte { o := make([]byte, 48); replyHeader(o); return o[:40] }()) {
				t.Fatal("Seal changed the header")
			}
		}
	}
}

func TestVerdicts(t *testing.T) {
	ring := testRing(t)
	keys := testSessionKeys()
	c2s := (*[siv.KeySize]byte)(keys[:32])
	good := testCookie(t, ring, &keys)
	other, _ := NewRing(NewKeySet(testEpoch, testKey(50), testKey(60)))
	foreign := testCookie(t, other, &keys) // same key IDs, other keys
	unknownID := bytes.Clone(good)
	binary.BigEndian.PutUint32(unknownID, 17) // slot 1, but key 1 is there
	tamperedCookie := bytes.Clone(good)
	tamperedCookie[50] ^= 1

	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	std := buildRequest(t, reqSpec{uidLen: 32, cookie: good, nonceLen: 16}, c2s)
	plain := make([]byte, 48)
	plain[0] = wire.LVM(0, 4, wire.ModeClient)
	v3 := bytes.Clone(std)
	v3[0] = wire.LVM(0, 3, wire.ModeClient)
	twoCookies := buildRequest(t, reqSpec{uidLen: 32, cookie: good, nonceLen: 16}, c2s)
	twoCookies = append(twoCookies[:48:48], putEF(putEF(putEF(nil, EFUniqueID, make([]byte, 32)), EFCookie, good), EFCookie, good)...)
	tests := []struct {
		name string
		req  []byte
		want Verdict
	}{
		{"good", std, VerdictAuthentic},
		{"plain NTP", plain, VerdictNone},
		{"NTPv3", v3, VerdictNone},
		{"non-NTS field", putEF(bytes.Clone(plain), 0x2005, make([]byte, 16)), VerdictNone},
		{"short uid", buildRequest(t, reqSpec{uidLen: 28, cookie: good, nonceLen: 16}, c2s), VerdictMalformed},
		{"long uid", buildRequest(t, reqSpec{uidLen: MaxUniqueIDLen + 4, cookie: good, nonceLen: 16}, c2s), VerdictMalformed},
		{"longest uid", buildRequest(t, reqSpec{uidLen: MaxUniqueIDLen, cookie: good, nonceLen: 16}, c2s), VerdictAuthentic},
		{"placeholder size", buildRequest(t, reqSpec{uidLen: 32, cookie: good, placeholders: 2, phLen: 96, nonceLen: 16}, c2s), VerdictMalformed},
		{"field after authenticator", buildRequest(t, reqSpec{uidLen: 32, cookie: good, nonceLen: 16, extraAfter: true}, c2s), VerdictMalformed},
		{"two cookies, no authenticator", twoCookies, VerdictMalformed},
		{"truncated", std[:len(std)-4], VerdictMalformed},
		{"zero-length cookie", buildRequest(t, reqSpec{uidLen: 32, cookie: nil, nonceLen: 16}, c2s), VerdictMalformed},
		{"oversized cookie", buildRequest(t, reqSpec{uidLen: 32, cookie: make([]byte, 1000), nonceLen: 16}, c2s), VerdictNAKBadCookie},
		{"short cookie", buildRequest(t, reqSpec{uidLen: 32, cookie: good[:96], nonceLen: 16}, c2s), VerdictNAKBadCookie},
		{"foreign cookie", buildRequest(t, reqSpec{uidLen: 32, cookie: foreign, nonceLen: 16}, c2s), VerdictNAKBadCookie},
		{"tampered cookie", buildRequest(t, reqSpec{uidLen: 32, cookie: tamperedCookie, nonceLen: 16}, c2s), VerdictNAKBadCookie},
		{"unknown key", buildRequest(t, reqSpec{uidLen: 32, cookie: unknownID, nonceLen: 16}, c2s), VerdictNAKUnknownKey},
		{"tampered header", flip(std, 40), VerdictBadAuthenticator},
		{"tampered uid", flip(std, 60), VerdictBadAuthenticator},
		{"tampered tag", flip(std, len(std)-1), VerdictBadAuthenticator},
		{"wrong C2S", buildRequest(t, reqSpec{uidLen: 32, cookie: good, nonceLen: 16}, &[32]byte{}), VerdictBadAuthenticator},
	}
	w := NewCore(ring, &countingReader{}).NewWorker()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a ReplyAuth
			if got := w.Verify(tc.req, &a); got != tc.want {
				t.Fatalf("Verify = %v, want %v", got, tc.want)
			}
			out := make([]byte, 4096)
			n := w.Seal(out, replyHeader(out), &a)
			switch {
			case tc.want == VerdictNone && n != wire.HeaderLen:
				t.Fatalf("Seal of a plain reply = %d, want 48", n)
			case tc.want.Drop() && n != 0:
				t.Fatalf("Seal of a dropped request = %d, want 0", n)
			case tc.want.NAK():
				if n != wire.HeaderLen+4+32 || n > len(tc.req) {
					t.Fatalf("NAK length %d", n)
				}
				if out[wire.OffStratum] != 0 || binary.BigEndian.Uint32(out[wire.OffRefID:]) != uint32(wire.KissNTSN) || out[0]>>6 != 3 {
					t.Fatalf("NAK header %x", out[:16])
				}
				if !bytes.Equal(out[52:n], tc.req[52:84]) {
					t.Fatal("NAK does not echo the unique identifier")
				}
			}
		})
	}
	counts, failed := w.Counts()
	if counts[VerdictAuthentic] != 2 || counts[VerdictBadAuthenticator] != 4 || failed != 0 {
		t.Fatalf("counts %v, failed %d", counts, failed)
	}
}

// TestStaleKeyAfterRotation: a cookie stays good while its key is kept and
// is NAKed (unknown key) once rotated out.
func TestStaleKeyAfterRotation(t *testing.T) {
	keys := testSessionKeys()
	c2s := (*[siv.KeySize]byte)(keys[:32])
	set := NewKeySet(testEpoch, testKey(1), testKey(2))
	r0, _ := NewRing(set)
	core := NewCore(r0, &countingReader{})
	w := core.NewWorker()
	req := buildRequest(t, reqSpec{uidLen: 32, cookie: testCookie(t, r0, &keys), nonceLen: 16}, c2s)
	const keep = 2
	// Key 1 is current; after 1 rotation it is previous #1, after 2
	// previous #2 (kept), after 3 it is gone.
	for i := 1; i <= 4; i++ {
		set = set.Rotated(testEpoch.Add(time.Duration(i)*7*24*time.Hour), testKey(byte(10*i)), keep)
		r, err := NewRing(set)
		if err != nil {
			t.Fatal(err)
		}
		core.SetRing(r)
		var a ReplyAuth
		want := VerdictAuthentic
		if i > keep {
			want = VerdictNAKUnknownKey
		}
		if v := w.Verify(req, &a); v != want {
			t.Fatalf("after %d rotations: %v, want %v", i, v, want)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	if !siv.HasAESNI() {
		t.Skip("no AES-NI: the crypto/aes fallback allocates")
	}
	ring := testRing(t)
	keys := testSessionKeys()
	w := NewCore(ring, &countingReader{}).NewWorker()
	for _, ph := range []int{0, 7} {
		req := buildRequest(t, reqSpec{uidLen: 32, cookie: testCookie(t, ring, &keys), placeholders: ph, nonceLen: 16}, (*[32]byte)(keys[:32]))
		out := make([]byte, 2048)
		var a ReplyAuth
		allocs := testing.AllocsPerRun(200, func() {
			if w.Verify(req, &a) != VerdictAuthentic || w.Seal(out, replyHeader(out), &a) == 0 {
				t.Fatal("not served")
			}
		})
		if allocs != 0 {
			t.Fatalf("%d placeholders: %v allocations per request, want 0", ph, allocs)
		}
	}
}

func benchmarkRequest(b *testing.B, ph, nonceLen int) {
	ring := testRing(b)
	keys := testSessionKeys()
	w := NewCore(ring, &countingReader{}).NewWorker()
	req := buildRequest(b, reqSpec{uidLen: 32, cookie: testCookie(b, ring, &keys), placeholders: ph, nonceLen: nonceLen}, (*[32]byte)(keys[:32]))
	out := make([]byte, 2048)
	var a ReplyAuth
	b.ReportAllocs()
	for b.Loop() {
		w.Verify(req, &a)
		if w.Seal(out, replyHeader(out), &a) == 0 {
			b.Fatal("not served")
		}
	}
}

// One request: parse, open the cookie, verify, seal 1 or 8 fresh cookies
// and the reply.
func BenchmarkVerifySeal1Cookie(b *testing.B)  { benchmarkRequest(b, 0, 16) }
func BenchmarkVerifySeal8Cookies(b *testing.B) { benchmarkRequest(b, 7, 16) }
