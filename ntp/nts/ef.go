package nts

import (
	"encoding/binary"

	"github.com/gnomon-time/gnomon/ntp/nts/siv"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// NTS extension field types (RFC 8915 §5.3–5.6, IANA NTP Extension Field
// Types).
const (
	EFUniqueID          uint16 = 0x0104
	EFCookie            uint16 = 0x0204
	EFCookiePlaceholder uint16 = 0x0304
	EFAuthenticator     uint16 = 0x0404
)

// AEADAESSIVCMAC256 is the IANA AEAD ID 15, the only AEAD this server
// negotiates (RFC 8915 §5.1 makes it mandatory to implement).
const AEADAESSIVCMAC256 uint16 = 15

// Limits on what a request may carry.
const (
	// MinUniqueIDLen is RFC 8915 §5.3's minimum Unique Identifier length.
	MinUniqueIDLen = 32
	// MaxUniqueIDLen bounds the Unique Identifier this server echoes (the
	// RFC sets no maximum; clients send 32 bytes). Longer ones are malformed.
	MaxUniqueIDLen = 128
	// MaxCookies is the most fresh cookies one reply carries (one for the
	// cookie spent, one per placeholder), as chrony's NTS_MAX_COOKIES:
	// more placeholders are honoured only up to it, so a request cannot
	// make the server seal an unbounded number of cookies.
	MaxCookies = 8
	// ReplyNonceLen is the authenticator nonce of a reply to a request
	// that carried a nonce (chrony sends 16 bytes). A reply to a request
	// with an empty nonce (facebook/time's client; SIV is deterministic
	// and the Unique Identifier in the associated data already makes the
	// input unique) gets an empty one: that client rejects anything else.
	ReplyNonceLen = 16
	// MaxRequestPlaintext bounds the encrypted extension fields of a
	// request, which are decrypted (to authenticate them) and ignored.
	MaxRequestPlaintext = 2048

	efHeaderLen   = 4
	minEFLen      = 16 // RFC 7822 §7.5
	cookieEFLen   = efHeaderLen + CookieLen
	authHeaderLen = efHeaderLen + 4 // type, length, nonce length, ciphertext length
)

// request is where a request's NTS fields are, as offsets into it.
type request struct {
	uidOff, uidLen       int // body
	cookieOff, cookieLen int // body
	placeholders         int
	authOff              int // start of the authenticator EF = end of the associated data
	nonceOff, nonceLen   int
	ctOff, ctLen         int
}

func pad4(n int) int { return (n + 3) &^ 3 }

// parseRequest finds the NTS extension fields of an NTPv4 request (RFC
// 8915 §5.7). It returns VerdictNone when the request carries no NTS
// field (or is not an NTPv4 packet with well-formed extension fields and no
// NTS field among them), VerdictMalformed when NTS fields are present but
// break a rule, and VerdictAuthentic (meaning: parsed, not yet checked)
// otherwise. Rules: extension fields are RFC 7822 fields (length ≥ 16, a
// multiple of 4, inside the packet); exactly one Unique Identifier of
// MinUniqueIDLen…MaxUniqueIDLen bytes; exactly one Cookie; every Cookie
// Placeholder the cookie's size; an Authenticator that is the last field,
// with a nonce and a ciphertext (≥ 16 bytes: the tag) that fit in it.
// Other extension fields are allowed (they are authenticated when they
// come before the authenticator). It never allocates and reads only req.
func parseRequest(req []byte, r *request) Verdict {
	*r = request{authOff: -1}
	if len(req) <= wire.HeaderLen || wire.Version(req) != 4 {
		return VerdictNone
	}
	nts, uids, cookies := false, 0, 0
	bad, phLen := false, -1
	off := wire.HeaderLen
	for off < len(req) {
		if len(req)-off < efHeaderLen {
			bad = true
			break
		}
		typ := binary.BigEndian.Uint16(req[off:])
		l := int(binary.BigEndian.Uint16(req[off+2:]))
		if l < minEFLen || l%4 != 0 || l > len(req)-off {
			bad = true
			break
		}
		body, bodyLen := off+efHeaderLen, l-efHeaderLen
		if r.authOff >= 0 {
			// Something after the authenticator: not authenticated.
			bad = true
		}
		switch typ {
		case EFUniqueID:
			nts = true
			uids++
			r.uidOff, r.uidLen = body, bodyLen
		case EFCookie:
			nts = true
			cookies++
			r.cookieOff, r.cookieLen = body, bodyLen
		case EFCookiePlaceholder:
			nts = true
			r.placeholders++
			if phLen >= 0 && bodyLen != phLen {
				bad = true
			}
			phLen = bodyLen
		case EFAuthenticator:
			nts = true
			if r.authOff >= 0 {
				bad = true
				break
			}
			r.authOff = off
			nl := int(binary.BigEndian.Uint16(req[body:]))
			cl := int(binary.BigEndian.Uint16(req[body+2:]))
			if 4+pad4(nl)+pad4(cl) > bodyLen || cl < siv.TagSize {
				bad = true
				break
			}
			r.nonceOff, r.nonceLen = body+4, nl
			r.ctOff, r.ctLen = body+4+pad4(nl), cl
		}
		off += l
	}
	switch {
	case !nts:
		return VerdictNone
	case bad, uids != 1, cookies != 1, r.authOff < 0,
		r.uidLen < MinUniqueIDLen, r.uidLen > MaxUniqueIDLen,
		r.placeholders > 0 && phLen != r.cookieLen,
		r.ctLen-siv.TagSize > MaxRequestPlaintext:
		return VerdictMalformed
	}
	return VerdictAuthentic
}

// putEFHeader writes an extension field's type and length at b.
func putEFHeader(b []byte, typ uint16, length int) {
	binary.BigEndian.PutUint16(b, typ)
	binary.BigEndian.PutUint16(b[2:], uint16(length))
}
