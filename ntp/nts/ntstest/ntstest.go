package ntstest

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/nts/siv"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// Session is what a client holds after NTS-KE: the two session keys and
// the cookies still unused.
type Session struct {
	Keys    [nts.SessionKeysLen]byte // C2S ‖ S2C
	Cookies [][]byte
}

// NewSession returns a session with keys whose n cookies are sealed with
// ring's current key (what the NTS-KE server hands out).
func NewSession(ring *nts.Ring, keys [nts.SessionKeysLen]byte, n int) (*Session, error) {
	s := &Session{Keys: keys}
	for i := range n {
		c := make([]byte, nts.CookieLen)
		var nonce [16]byte
		nonce[0], nonce[1] = byte(i), byte(i>>8)
		if err := ring.SealCookie(c, &s.Keys, &nonce); err != nil {
			return nil, fmt.Errorf("ntstest: seal cookie: %w", err)
		}
		s.Cookies = append(s.Cookies, c)
	}
	return s, nil
}

// Spec describes one request.
type Spec struct {
	// Header is the 48-byte NTP header (nil: a basic NTPv4 client request
	// with a fixed Transmit).
	Header []byte
	// UID is the Unique Identifier (nil: 32 bytes 0x40, 0x41, …).
	UID []byte
	// Placeholders is the number of Cookie Placeholders (cookie-sized).
	Placeholders int
	// NonceLen is the authenticator nonce length (chrony 16, facebook 0).
	NonceLen int
}

func pad4(n int) int { return (n + 3) &^ 3 }

func putEF(b []byte, typ uint16, body []byte) []byte {
	l := 4 + pad4(len(body))
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(l))
	b = append(b, body...)
	return append(b, make([]byte, l-4-len(body))...)
}

// Request builds a request spending the session's first cookie (it is
// removed); it returns nil when no cookie is left.
func (s *Session) Request(sp Spec) []byte {
	if len(s.Cookies) == 0 {
		return nil
	}
	cookie := s.Cookies[0]
	s.Cookies = s.Cookies[1:]
	return s.RequestWith(cookie, sp)
}

// RequestWith builds a request carrying cookie (any bytes: tests send
// stale or damaged ones), authenticated with the session's C2S key.
func (s *Session) RequestWith(cookie []byte, sp Spec) []byte {
	p := make([]byte, wire.HeaderLen)
	if sp.Header != nil {
		copy(p, sp.Header)
	} else {
		p[0] = wire.LVM(0, 4, wire.ModeClient)
		binary.BigEndian.PutUint64(p[wire.OffTransmit:], 0x0123456789abcdef)
	}
	uid := sp.UID
	if uid == nil {
		uid = make([]byte, 32)
		for i := range uid {
			uid[i] = byte(0x40 + i)
		}
	}
	p = putEF(p, nts.EFUniqueID, uid)
	p = putEF(p, nts.EFCookie, cookie)
	for range sp.Placeholders {
		p = putEF(p, nts.EFCookiePlaceholder, make([]byte, len(cookie)))
	}
	nonce := make([]byte, sp.NonceLen)
	for i := range nonce {
		nonce[i] = byte(0x77 + i)
	}
	var k siv.Key
	k.Init((*[siv.KeySize]byte)(s.Keys[:siv.KeySize]))
	ct := make([]byte, siv.TagSize)
	if _, err := k.Seal(ct, nil, p, nonce); err != nil {
		panic(err) // only on a short buffer: a bug here
	}
	body := make([]byte, 4+pad4(len(nonce))+len(ct))
	binary.BigEndian.PutUint16(body, uint16(len(nonce)))
	binary.BigEndian.PutUint16(body[2:], uint16(len(ct)))
	copy(body[4:], nonce)
	copy(body[4+pad4(len(nonce)):], ct)
	return putEF(p, nts.EFAuthenticator, body)
}

// Errors of OpenReply.
var (
	ErrNAK       = errors.New("ntstest: NTS NAK")
	ErrNoUID     = errors.New("ntstest: unique identifier not echoed")
	ErrNoAuth    = errors.New("ntstest: no authenticator")
	ErrBadAuth   = errors.New("ntstest: reply authenticator does not verify with S2C")
	ErrMalformed = errors.New("ntstest: malformed reply fields")
)

// OpenReply checks reply to req as a client does: the Unique Identifier is
// echoed, the authenticator is the last field and verifies with S2C. It
// returns the fresh cookies inside (and adds them to the session). A NAK
// (KoD NTSN with the echoed Unique Identifier) gives ErrNAK.
func (s *Session) OpenReply(reply, req []byte) ([][]byte, error) {
	if len(reply) < wire.HeaderLen {
		return nil, ErrMalformed
	}
	var reqUID []byte
	for off := wire.HeaderLen; off+4 <= len(req); {
		l := int(binary.BigEndian.Uint16(req[off+2:]))
		if l < 4 || off+l > len(req) {
			break
		}
		if binary.BigEndian.Uint16(req[off:]) == nts.EFUniqueID {
			reqUID = req[off+4 : off+l]
		}
		off += l
	}
	var uid, auth []byte
	authOff := -1
	for off := wire.HeaderLen; off < len(reply); {
		if off+4 > len(reply) {
			return nil, ErrMalformed
		}
		typ := binary.BigEndian.Uint16(reply[off:])
		l := int(binary.BigEndian.Uint16(reply[off+2:]))
		if l < 4 || off+l > len(reply) {
			return nil, ErrMalformed
		}
		switch typ {
		case nts.EFUniqueID:
			uid = reply[off+4 : off+l]
		case nts.EFAuthenticator:
			auth, authOff = reply[off+4:off+l], off
			if off+l != len(reply) {
				return nil, ErrMalformed
			}
		default:
			return nil, ErrMalformed
		}
		off += l
	}
	if string(uid) != string(reqUID) {
		return nil, ErrNoUID
	}
	if auth == nil {
		if reply[wire.OffStratum] == 0 && binary.BigEndian.Uint32(reply[wire.OffRefID:]) == uint32(wire.KissNTSN) {
			return nil, ErrNAK
		}
		return nil, ErrNoAuth
	}
	if len(auth) < 4 {
		return nil, ErrMalformed
	}
	nl := int(binary.BigEndian.Uint16(auth))
	cl := int(binary.BigEndian.Uint16(auth[2:]))
	if 4+pad4(nl)+cl > len(auth) || cl < siv.TagSize {
		return nil, ErrMalformed
	}
	nonce := auth[4 : 4+nl]
	ct := auth[4+pad4(nl) : 4+pad4(nl)+cl]
	var k siv.Key
	k.Init((*[siv.KeySize]byte)(s.Keys[siv.KeySize:]))
	pt := make([]byte, cl-siv.TagSize)
	if !k.Open(pt, ct, reply[:authOff], nonce) {
		return nil, ErrBadAuth
	}
	var cookies [][]byte
	for off := 0; off < len(pt); {
		if off+4 > len(pt) {
			return nil, ErrMalformed
		}
		typ := binary.BigEndian.Uint16(pt[off:])
		l := int(binary.BigEndian.Uint16(pt[off+2:]))
		if typ != nts.EFCookie || l < 4 || off+l > len(pt) {
			return nil, ErrMalformed
		}
		cookies = append(cookies, append([]byte(nil), pt[off+4:off+l]...))
		off += l
	}
	s.Cookies = append(s.Cookies, cookies...)
	return cookies, nil
}
