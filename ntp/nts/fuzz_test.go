package nts

import (
	"testing"

	"github.com/gnomon-time/gnomon/ntp/nts/siv"
)

// FuzzVerifySeal: whatever a request holds, Verify and Seal do not panic,
// Seal writes only inside out, and no reply is longer than its request.
// Seeds: good requests (0, 1, 7, 20 placeholders; nonce 0 and 16), zero-length
// and oversized cookies, many cookies.
func FuzzVerifySeal(f *testing.F) {
	ring := testRing(f)
	keys := testSessionKeys()
	c2s := (*[siv.KeySize]byte)(keys[:32])
	cookie := testCookie(f, ring, &keys)
	for _, s := range []reqSpec{
		{uidLen: 32, cookie: cookie, nonceLen: 16},
		{uidLen: 32, cookie: cookie, nonceLen: 0, placeholders: 1},
		{uidLen: 64, cookie: cookie, nonceLen: 16, placeholders: 7},
		{uidLen: 32, cookie: cookie, nonceLen: 16, placeholders: 20},
		{uidLen: 32, cookie: nil, nonceLen: 16},
		{uidLen: 32, cookie: make([]byte, 4000), nonceLen: 16},
	} {
		f.Add(buildRequest(f, s, c2s))
	}
	many := buildRequest(f, reqSpec{uidLen: 32, cookie: cookie, nonceLen: 16}, c2s)
	for range 10 {
		many = putEF(many, EFCookie, cookie)
	}
	f.Add(many)
	w := NewCore(ring, &countingReader{}).NewWorker()
	f.Fuzz(func(t *testing.T, req []byte) {
		var a ReplyAuth
		v := w.Verify(req, &a)
		const slack = 64
		out := make([]byte, len(req)+wireHeader+slack)
		n := w.Seal(out[:len(req)+wireHeader], replyHeader(out), &a)
		if n > len(req) && v != VerdictNone {
			t.Fatalf("verdict %v: reply %d bytes > request %d", v, n, len(req))
		}
		for _, b := range out[len(req)+wireHeader:] {
			if b != 0 {
				t.Fatal("Seal wrote past the end of out")
			}
		}
	})
}

const wireHeader = 48
