package nts

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts/siv"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// countingReader is a deterministic random source: 0, 1, 2, …
type countingReader struct{ n byte }

func (r *countingReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = r.n
		r.n++
	}
	return len(b), nil
}

var testEpoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func testKey(b byte) (k [MasterKeyLen]byte) {
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func testRing(t testing.TB) *Ring {
	t.Helper()
	r, err := NewRing(NewKeySet(testEpoch, testKey(1), testKey(2)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testSessionKeys() (k [SessionKeysLen]byte) {
	for i := range k {
		k[i] = 0xa0 ^ byte(i)
	}
	return k
}

func testCookie(t testing.TB, r *Ring, keys *[SessionKeysLen]byte) []byte {
	t.Helper()
	c := make([]byte, CookieLen)
	if err := r.SealCookie(c, keys, &[cookieNonce]byte{9}); err != nil {
		t.Fatal(err)
	}
	return c
}

// reqSpec describes a request built by buildRequest, this package's own
// minimal NTS client (the facebook/time client is tested separately).
type reqSpec struct {
	uidLen       int
	cookie       []byte
	placeholders int
	phLen        int // 0: the cookie's length
	nonceLen     int
	extraAfter   bool // an extension field after the authenticator
}

func putEF(b []byte, typ uint16, body []byte) []byte {
	l := efHeaderLen + pad4(len(body))
	ef := make([]byte, l)
	putEFHeader(ef, typ, l)
	copy(ef[efHeaderLen:], body)
	return append(b, ef...)
}

func buildRequest(t testing.TB, s reqSpec, c2s *[siv.KeySize]byte) []byte {
	t.Helper()
	p := make([]byte, wire.HeaderLen)
	p[0] = wire.LVM(0, 4, wire.ModeClient)
	binary.BigEndian.PutUint64(p[wire.OffTransmit:], 0x0123456789abcdef)
	uid := make([]byte, s.uidLen)
	for i := range uid {
		uid[i] = byte(0x40 + i)
	}
	p = putEF(p, EFUniqueID, uid)
	p = putEF(p, EFCookie, s.cookie)
	phLen := s.phLen
	if phLen == 0 {
		phLen = len(s.cookie)
	}
	for range s.placeholders {
		p = putEF(p, EFCookiePlaceholder, make([]byte, phLen))
	}
	nonce := make([]byte, s.nonceLen)
	for i := range nonce {
		nonce[i] = byte(0x77 + i)
	}
	var k siv.Key
	k.Init(c2s)
	ct := make([]byte, siv.TagSize)
	if _, err := k.Seal(ct, nil, p, nonce); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 4+pad4(len(nonce))+len(ct))
	binary.BigEndian.PutUint16(body, uint16(len(nonce)))
	binary.BigEndian.PutUint16(body[2:], uint16(len(ct)))
	copy(body[4:], nonce)
	copy(body[4+pad4(len(nonce)):], ct)
	p = putEF(p, EFAuthenticator, body)
	if s.extraAfter {
		p = putEF(p, 0x1234, make([]byte, 12))
	}
	return p
}

// replyHeader writes a plausible 48-byte reply header into out, as the NTP
// server core and the shell would (Transmit included).
func replyHeader(out []byte) int {
	out[0] = wire.LVM(0, 4, wire.ModeServer)
	out[wire.OffStratum] = 2
	binary.BigEndian.PutUint32(out[wire.OffRefID:], 0x7f000001)
	binary.BigEndian.PutUint64(out[wire.OffTransmit:], 0x1122334455667788)
	return wire.HeaderLen
}

// openReply checks an authenticated reply the way a client does: the
// Unique Identifier is echoed, the authenticator is last and verifies with
// S2C; it returns the cookies inside.
func openReply(t testing.TB, reply, req []byte, s2c *[siv.KeySize]byte) [][]byte {
	t.Helper()
	var uid, auth []byte
	authOff := -1
	for off := wire.HeaderLen; off < len(reply); {
		typ := binary.BigEndian.Uint16(reply[off:])
		l := int(binary.BigEndian.Uint16(reply[off+2:]))
		if l < 4 || off+l > len(reply) {
			t.Fatalf("reply field at %d: length %d", off, l)
		}
		switch typ {
		case EFUniqueID:
			uid = reply[off+4 : off+l]
		case EFAuthenticator:
			auth, authOff = reply[off+4:off+l], off
			if off+l != len(reply) {
				t.Fatal("authenticator is not the last field")
			}
		default:
			t.Fatalf("unexpected field %#04x in reply", typ)
		}
		off += l
	}
	var r request
	parseRequest(req, &r)
	if string(uid) != string(req[r.uidOff:r.uidOff+r.uidLen]) {
		t.Fatal("unique identifier not echoed")
	}
	if auth == nil {
		t.Fatal("no authenticator")
	}
	nl := int(binary.BigEndian.Uint16(auth))
	cl := int(binary.BigEndian.Uint16(auth[2:]))
	nonce := auth[4 : 4+nl]
	ct := auth[4+pad4(nl) : 4+pad4(nl)+cl]
	var k siv.Key
	k.Init(s2c)
	pt := make([]byte, cl-siv.TagSize)
	if !k.Open(pt, ct, reply[:authOff], nonce) {
		t.Fatal("reply authenticator does not verify with S2C")
	}
	var cookies [][]byte
	for off := 0; off < len(pt); {
		typ := binary.BigEndian.Uint16(pt[off:])
		l := int(binary.BigEndian.Uint16(pt[off+2:]))
		if typ != EFCookie || off+l > len(pt) {
			t.Fatalf("encrypted field %#04x length %d", typ, l)
		}
		cookies = append(cookies, pt[off+4:off+l])
		off += l
	}
	return cookies
}
