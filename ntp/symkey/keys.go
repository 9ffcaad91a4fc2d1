package symkey

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// Type is a key's MAC algorithm. The zero value is no algorithm.
type Type uint8

// Key types, named as in chrony's keyfile.
const (
	MD5 Type = iota + 1
	SHA1
	SHA256
	SHA384
	SHA512
	SHA3_224
	SHA3_256
	SHA3_384
	SHA3_512
	AES128
	AES256
)

// typeNames are the keyfile spellings, indexed by Type.
var typeNames = [...]string{
	MD5: "MD5", SHA1: "SHA1", SHA256: "SHA256", SHA384: "SHA384", SHA512: "SHA512",
	SHA3_224: "SHA3-224", SHA3_256: "SHA3-256", SHA3_384: "SHA3-384", SHA3_512: "SHA3-512",
	AES128: "AES128", AES256: "AES256",
}

// String returns the keyfile name of t ("MD5", "AES128", ...).
func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "type_" + strconv.Itoa(int(t))
}

// IsCMAC reports whether t is an AES-CMAC type.
func (t Type) IsCMAC() bool { return t == AES128 || t == AES256 }

// fullLen is the untruncated digest length of t in bytes.
func (t Type) fullLen() int {
	switch t {
	case MD5, AES128, AES256:
		return 16
	case SHA1:
		return 20
	case SHA3_224:
		return 28
	case SHA256, SHA3_256:
		return 32
	case SHA384, SHA3_384:
		return 48
	case SHA512, SHA3_512:
		return 64
	}
	return 0
}

// Digest lengths in a packet (chrony ntp.h: NTP_MAX_V4_MAC_LENGTH − 4 and
// NTP_MAX_MAC_LENGTH − 4).
const (
	maxV4DigestLen = 20
	// MaxDigestLen is the longest digest any key produces (SHA-512, in an
	// NTPv1–3 packet).
	MaxDigestLen = 64
	// KeyIDLen is the length of the key ID in front of the digest.
	KeyIDLen = 4
)

// Key is one symmetric key. It is immutable and safe for concurrent use.
type Key struct {
	id     uint32
	typ    Type
	secret []byte // hash types: the key bytes
	cmac   *cmac  // AES types
}

// ID returns the key's ID.
func (k *Key) ID() uint32 { return k.id }

// Type returns the key's algorithm.
func (k *Key) Type() Type { return k.typ }

// DigestLen returns the length in bytes of k's digest in a packet of the
// given NTP version: the algorithm's output, truncated to 20 bytes in NTPv4
// (chrony's generate_symmetric_auth and check_symmetric_auth).
func (k *Key) DigestLen(version uint8) int {
	n := k.typ.fullLen()
	if version == 4 && n > maxV4DigestLen {
		n = maxV4DigestLen
	}
	return n
}

// Keys is a set of keys by ID, from one key file. It is immutable and safe
// for concurrent use. A nil *Keys holds no keys.
type Keys struct {
	byID map[uint32]*Key
}

// Lookup returns the key with the given ID, or nil. It never allocates.
func (ks *Keys) Lookup(id uint32) *Key {
	if ks == nil {
		return nil
	}
	return ks.byID[id]
}

// Len returns the number of keys.
func (ks *Keys) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.byID)
}

// IDs returns the key IDs in ascending order (for logs and tests).
func (ks *Keys) IDs() []uint32 {
	if ks == nil {
		return nil
	}
	ids := make([]uint32, 0, len(ks.byID))
	for id := range ks.byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// maxLineLen is chrony's keyfile line buffer (2048 bytes, NUL included).
const maxLineLen = 2047

// Parse reads a key file in chrony's format (see the package doc). name is
// the file's name for error messages. Every problem is reported (joined),
// each as "NAME:LINE: ..." naming the field; key material never appears in
// an error. An empty file (or one of comments only) gives an empty set.
func Parse(name string, data []byte) (*Keys, error) {
	ks := &Keys{byID: map[uint32]*Key{}}
	firstLine := map[uint32]int{}
	var errs []error
	for i, raw := range bytes.Split(data, []byte("\n")) {
		lineNo := i + 1
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s:%d: %s", name, lineNo, fmt.Sprintf(format, args...)))
		}
		line := strings.TrimSuffix(string(raw), "\r")
		if len(line) > maxLineLen {
			bad("line longer than %d bytes", maxLineLen)
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.ContainsAny(fields[0][:1], "#!;%") {
			continue
		}
		if len(fields) < 2 || len(fields) > 3 {
			bad("want `ID [TYPE] KEY` (2 or 3 fields), got %d fields", len(fields))
			continue
		}
		id64, err := strconv.ParseUint(fields[0], 10, 32)
		if err != nil {
			bad("key ID %q: not a decimal number in [0, 4294967295]", fields[0])
			continue
		}
		id := uint32(id64)
		typ, value := MD5, fields[len(fields)-1]
		if len(fields) == 3 {
			typ = parseType(fields[1])
			if typ == 0 {
				bad("key %d: type %q: want MD5, SHA1, SHA256, SHA384, SHA512, SHA3-224, SHA3-256, SHA3-384, SHA3-512, AES128 or AES256", id, fields[1])
				continue
			}
		}
		secret, err := decodeKey(value)
		if err != nil {
			bad("key %d: %v", id, err)
			continue
		}
		k := &Key{id: id, typ: typ}
		if typ.IsCMAC() {
			if len(secret) != keyLen(typ) {
				bad("key %d: %s needs a %d-byte (%d-bit) key, got %d bytes", id, typ, keyLen(typ), 8*keyLen(typ), len(secret))
				continue
			}
			if k.cmac, err = newCMAC(secret); err != nil {
				bad("key %d: %v", id, err)
				continue
			}
		} else {
			k.secret = secret
		}
		if prev, dup := firstLine[id]; dup {
			bad("key %d: duplicate ID (first on line %d)", id, prev)
			continue
		}
		firstLine[id] = lineNo
		ks.byID[id] = k
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ks, nil
}

// keyLen is the AES key length of a CMAC type in bytes.
func keyLen(t Type) int {
	if t == AES256 {
		return 32
	}
	return 16
}

// parseType maps a keyfile type name to its Type (0 if unknown).
func parseType(s string) Type {
	for t, n := range typeNames {
		if n != "" && n == s {
			return Type(t)
		}
	}
	return 0
}

// decodeKey decodes KEY: HEX:digits, ASCII:text or bare text (chrony's
// decode_key). The error never includes the key.
func decodeKey(s string) ([]byte, error) {
	switch {
	case strings.HasPrefix(s, "HEX:"):
		h := s[len("HEX:"):]
		if len(h)%2 != 0 {
			return nil, fmt.Errorf("HEX key has an odd number of digits (%d)", len(h))
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			var ie hex.InvalidByteError
			if errors.As(err, &ie) {
				return nil, errors.New("HEX key has a character that is not a hex digit")
			}
			return nil, errors.New("HEX key is not valid hex")
		}
		if len(b) == 0 {
			return nil, errors.New("empty key")
		}
		return b, nil
	case strings.HasPrefix(s, "ASCII:"):
		s = s[len("ASCII:"):]
	}
	if s == "" {
		return nil, errors.New("empty key")
	}
	return []byte(s), nil
}

// CheckMode refuses a key file whose permissions let others read it or
// anyone but the owner change it (world-readable, group- or
// world-writable). name is for the message. Only the permission bits are
// looked at: the shell stats the file it then reads.
func CheckMode(name string, mode fs.FileMode) error {
	if p := mode.Perm(); p&0o026 != 0 {
		return fmt.Errorf("%s: permissions %04o: a key file must not be world-readable nor group- or world-writable (chmod 0640 or 0600)", name, p)
	}
	return nil
}
