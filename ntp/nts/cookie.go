package nts

import (
	"encoding/binary"
	"errors"

	"github.com/gnomon-time/gnomon/ntp/nts/siv"
)

// Cookie layout (server-opaque, RFC 8915 §6; the same envelope as chrony's and
// facebook/time's, sealed with this server's own keys):
//
//	offset  size  field
//	     0     4  master key ID, big-endian (selects the ring slot)
//	     4    16  nonce (random)
//	    20    16  AES-SIV tag
//	    36    64  C2S key ‖ S2C key, encrypted
//
// The associated data is bytes 0–19 (key ID and nonce), so the key ID is
// authenticated too. Only AEAD 15 (AES-SIV-CMAC-256, 32-byte keys) is
// negotiated, so the AEAD ID is implied by the length, as chrony does.
const (
	// CookieLen is the length of every cookie this server issues.
	CookieLen     = cookieADLen + siv.TagSize + SessionKeysLen
	cookieNonce   = 16
	cookieADLen   = 4 + cookieNonce
	sessionKeyLen = siv.KeySize
	// SessionKeysLen is C2S ‖ S2C.
	SessionKeysLen = 2 * sessionKeyLen
)

// Cookie errors.
var (
	ErrCookieLength = errors.New("nts: cookie of the wrong length")
	ErrUnknownKey   = errors.New("nts: cookie sealed with a key the ring does not hold")
	ErrCookieAuth   = errors.New("nts: cookie does not authenticate")
)

// SealCookie writes a cookie holding keys (C2S ‖ S2C) sealed with the
// ring's current key into dst[:CookieLen]; nonce is 16 fresh random bytes.
// dst and keys must not overlap. It allocates nothing on the AES-NI path.
func (r *Ring) SealCookie(dst []byte, keys *[SessionKeysLen]byte, nonce *[cookieNonce]byte) error {
	if len(dst) < CookieLen {
		return siv.ErrShortBuffer
	}
	k := r.lookup(r.current)
	if k == nil {
		return ErrUnknownKey
	}
	binary.BigEndian.PutUint32(dst, r.current)
	copy(dst[4:cookieADLen], nonce[:])
	_, err := k.Seal(dst[cookieADLen:CookieLen], keys[:], dst[:cookieADLen], nil)
	return err
}

// OpenCookie decrypts cookie into keys (C2S ‖ S2C). It allocates nothing on
// the AES-NI path.
func (r *Ring) OpenCookie(keys *[SessionKeysLen]byte, cookie []byte) error {
	if len(cookie) != CookieLen {
		return ErrCookieLength
	}
	k := r.lookup(binary.BigEndian.Uint32(cookie))
	if k == nil {
		return ErrUnknownKey
	}
	if !k.Open(keys[:], cookie[cookieADLen:], cookie[:cookieADLen], nil) {
		return ErrCookieAuth
	}
	return nil
}
