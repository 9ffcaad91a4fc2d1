package symkey

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
)

// Scratch is the working memory of one MAC computation: the digest before
// truncation and CMAC's last block. A worker owns one per reply slot (it
// lives in ntp.ReplyAuth); the zero value is ready.
type Scratch struct {
	b [MaxDigestLen]byte
}

// digest computes k's full digest of data into s and returns it (a slice of
// s, valid until the next use of s). Hash types hash key ‖ data. It never
// allocates: the hash states are local values the compiler keeps on the
// stack (checked by TestZeroAllocs).
func (k *Key) digest(s *Scratch, data []byte) []byte {
	if k.cmac != nil {
		return k.cmac.sum(s, data)
	}
	out := s.b[:0]
	switch k.typ {
	case MD5:
		h := md5.New()
		h.Write(k.secret)
		h.Write(data)
		return h.Sum(out)
	case SHA1:
		h := sha1.New()
		h.Write(k.secret)
		h.Write(data)
		return h.Sum(out)
	case SHA256:
		h := sha256.New()
		h.Write(k.secret)
		h.Write(data)
		return h.Sum(out)
	case SHA384:
		h := sha512.New384()
		h.Write(k.secret)
		h.Write(data)
		return h.Sum(out)
	case SHA512:
		h := sha512.New()
		h.Write(k.secret)
		h.Write(data)
		return h.Sum(out)
	case SHA3_224:
		h := sha3.New224()
		h.Write(k.secret)
		h.Write(data)
		return h.Sum(out)
	case SHA3_256:
		h := sha3.New256()
		h.Write(k.secret)
		h.Write(data)
		return h.Sum(out)
	case SHA3_384:
		h := sha3.New384()
		h.Write(k.secret)
		h.Write(data)
		return h.Sum(out)
	case SHA3_512:
		h := sha3.New512()
		h.Write(k.secret)
		h.Write(data)
		return h.Sum(out)
	}
	return out
}

// Verify reports whether mac (key ID + digest, as found after the header
// and extension fields) is k's MAC of data in a packet of the given NTP
// version: the key ID is k's, the digest has exactly k.DigestLen(version)
// bytes and equals the (truncated) digest. The comparison is constant-time.
// It never allocates.
func (k *Key) Verify(s *Scratch, version uint8, data, mac []byte) bool {
	n := k.DigestLen(version)
	if len(mac) != KeyIDLen+n || binary.BigEndian.Uint32(mac) != k.id {
		return false
	}
	d := k.digest(s, data)
	return subtle.ConstantTimeCompare(d[:n], mac[KeyIDLen:]) == 1
}

// Put writes k's MAC of data (key ID + digest truncated for the version)
// into dst, which must hold MACLen(version) bytes and must not overlap data,
// and returns the number of bytes written. It never allocates.
func (k *Key) Put(s *Scratch, version uint8, dst, data []byte) int {
	n := k.DigestLen(version)
	binary.BigEndian.PutUint32(dst, k.id)
	copy(dst[KeyIDLen:KeyIDLen+n], k.digest(s, data))
	return KeyIDLen + n
}

// MACLen returns the length of k's MAC (key ID + digest) in a packet of the
// given version.
func (k *Key) MACLen(version uint8) int { return KeyIDLen + k.DigestLen(version) }
