package siv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// Sizes in bytes.
const (
	// BlockSize is the AES block size, and the length of the synthetic IV
	// (the tag) that Seal puts before the ciphertext.
	BlockSize = 16
	// KeySize is the AES-SIV-CMAC-256 key length: two AES-128 keys.
	KeySize = 32
	// TagSize is the synthetic IV's length: ciphertext = tag ‖ encrypted text.
	TagSize = BlockSize

	roundKeysLen = 11 * BlockSize // AES-128: 10 rounds + the initial key
)

// ErrShortBuffer is returned by Seal when dst cannot hold tag and ciphertext.
var ErrShortBuffer = errors.New("siv: output buffer too short")

// aesKey is one expanded AES-128 encryption key: the round keys for the
// AES-NI path, or a crypto/aes block on the fallback path.
type aesKey struct {
	rk      [roundKeysLen]byte
	generic cipher.Block // nil on the AES-NI path
}

func (k *aesKey) init(key *[16]byte, asm bool) {
	if asm {
		k.generic = nil
		expandKey(key, &k.rk)
		return
	}
	b, err := aes.NewCipher(key[:])
	if err != nil { // impossible: the length is 16
		panic("siv: " + err.Error())
	}
	k.generic = b
}

func (k *aesKey) encrypt(dst, src *[BlockSize]byte) {
	if k.generic != nil {
		genericEncrypt(k.generic, dst, src)
		return
	}
	encryptBlock(&k.rk, dst, src)
}

// genericEncrypt copies through a heap buffer so that dst and src, which
// live on callers' stacks, do not escape through the interface call: the
// fallback allocates, the AES-NI path does not.
func genericEncrypt(b cipher.Block, dst, src *[BlockSize]byte) {
	buf := make([]byte, BlockSize)
	copy(buf, src[:])
	b.Encrypt(buf, buf)
	copy(dst[:], buf)
}

// Key is an expanded AES-SIV-CMAC-256 key. The zero value is not usable:
// call Init. It is a plain value (on the AES-NI path without pointers), so a
// worker can keep its per-request keys in its own scratch space.
type Key struct {
	mac    aesKey // K1 of RFC 5297 §2.2: S2V's CMAC
	ctr    aesKey // K2: CTR
	k1, k2 [BlockSize]byte
	d0     [BlockSize]byte // CMAC(zero block), S2V's start, fixed per key
}

// Init expands key (RFC 5297 §2.2: first half S2V, second half CTR). It
// allocates nothing on the AES-NI path.
func (k *Key) Init(key *[KeySize]byte) { k.init(key, hasAESNI) }

func (k *Key) init(key *[KeySize]byte, asm bool) {
	k.mac.init((*[16]byte)(key[:16]), asm)
	k.ctr.init((*[16]byte)(key[16:]), asm)
	var zero, l [BlockSize]byte
	k.mac.encrypt(&l, &zero)
	k.k1 = l
	dbl(&k.k1)
	k.k2 = k.k1
	dbl(&k.k2)
	k.cmac(&k.d0, zero[:], nil)
}

// dbl multiplies b by x in GF(2^128) (RFC 5297 §2.3), in constant time.
func dbl(b *[BlockSize]byte) {
	carry := b[0] >> 7
	for i := range BlockSize - 1 {
		b[i] = b[i]<<1 | b[i+1]>>7
	}
	b[BlockSize-1] = b[BlockSize-1]<<1 ^ byte(subtle.ConstantTimeSelect(int(carry), 0x87, 0))
}

// cmac writes AES-CMAC (RFC 4493) of data into out. If xorEnd is not nil it
// is XORed into the last 16 bytes of data first (RFC 5297's "xorend"), without
// modifying data; then len(data) ≥ 16.
func (k *Key) cmac(out *[BlockSize]byte, data []byte, xorEnd *[BlockSize]byte) {
	n := len(data)
	full := n / BlockSize // blocks before the last
	if n > 0 && n%BlockSize == 0 {
		full--
	}
	xorFrom := n - BlockSize // first byte position xorEnd applies to
	var x, blk [BlockSize]byte
	for i := range full {
		off := i * BlockSize
		copy(blk[:], data[off:off+BlockSize])
		if xorEnd != nil && off+BlockSize > xorFrom {
			for j := range BlockSize {
				if p := off + j; p >= xorFrom {
					blk[j] ^= xorEnd[p-xorFrom]
				}
			}
		}
		subtle.XORBytes(x[:], x[:], blk[:])
		k.mac.encrypt(&x, &x)
	}
	off := full * BlockSize
	rest := n - off
	clear(blk[:])
	copy(blk[:], data[off:])
	if xorEnd != nil {
		for j := range rest {
			if p := off + j; p >= xorFrom {
				blk[j] ^= xorEnd[p-xorFrom]
			}
		}
	}
	if rest == BlockSize {
		subtle.XORBytes(blk[:], blk[:], k.k1[:])
	} else {
		blk[rest] = 0x80
		subtle.XORBytes(blk[:], blk[:], k.k2[:])
	}
	subtle.XORBytes(x[:], x[:], blk[:])
	k.mac.encrypt(out, &x)
}

// s2v is RFC 5297 §2.4 over the components ad and (if not empty) nonce,
// then msg.
func (k *Key) s2v(out *[BlockSize]byte, ad, nonce, msg []byte) {
	d := k.d0
	var t [BlockSize]byte
	dbl(&d)
	k.cmac(&t, ad, nil)
	subtle.XORBytes(d[:], d[:], t[:])
	if len(nonce) > 0 {
		dbl(&d)
		k.cmac(&t, nonce, nil)
		subtle.XORBytes(d[:], d[:], t[:])
	}
	if len(msg) >= BlockSize {
		k.cmac(out, msg, &d)
		return
	}
	dbl(&d)
	var p [BlockSize]byte
	copy(p[:], msg)
	p[len(msg)] = 0x80
	subtle.XORBytes(d[:], d[:], p[:])
	k.cmac(out, d[:], nil)
}

// ctrXOR XORs src with the CTR keystream started at iv (RFC 5297 §2.5: bits 63
// and 31 of the counter cleared) into dst; dst and src may be the same slice.
func (k *Key) ctrXOR(dst, src []byte, iv *[BlockSize]byte) {
	q := *iv
	q[8] &= 0x7f
	q[12] &= 0x7f
	var ks [BlockSize]byte
	for len(src) > 0 {
		k.ctr.encrypt(&ks, &q)
		n := subtle.XORBytes(dst, src, ks[:])
		dst, src = dst[n:], src[n:]
		lo := binary.BigEndian.Uint64(q[8:]) + 1
		binary.BigEndian.PutUint64(q[8:], lo)
		if lo == 0 {
			binary.BigEndian.PutUint64(q[:8], binary.BigEndian.Uint64(q[:8])+1)
		}
	}
}

// Seal encrypts plaintext bound to ad and nonce (an empty nonce is left out
// of S2V) and writes tag ‖ ciphertext into dst[:TagSize+len(plaintext)],
// returning that length. dst[TagSize:] may be plaintext itself (in-place);
// any other overlap is not allowed. It allocates nothing on the AES-NI path.
func (k *Key) Seal(dst, plaintext, ad, nonce []byte) (int, error) {
	n := TagSize + len(plaintext)
	if len(dst) < n {
		return 0, ErrShortBuffer
	}
	var v [BlockSize]byte
	k.s2v(&v, ad, nonce, plaintext)
	k.ctrXOR(dst[TagSize:n], plaintext, &v)
	copy(dst[:TagSize], v[:])
	return n, nil
}

// Open checks and decrypts ciphertext (tag ‖ encrypted text) bound to ad and
// nonce into dst[:len(ciphertext)-TagSize] and reports whether it was
// authentic. On failure dst is cleared. dst may be ciphertext[TagSize:]
// (in-place). It allocates nothing on the AES-NI path.
func (k *Key) Open(dst, ciphertext, ad, nonce []byte) bool {
	if len(ciphertext) < TagSize || len(dst) < len(ciphertext)-TagSize {
		return false
	}
	var v, t [BlockSize]byte
	copy(v[:], ciphertext[:TagSize])
	pt := dst[:len(ciphertext)-TagSize]
	k.ctrXOR(pt, ciphertext[TagSize:], &v)
	k.s2v(&t, ad, nonce, pt)
	if subtle.ConstantTimeCompare(v[:], t[:]) != 1 {
		clear(pt)
		return false
	}
	return true
}

// HasAESNI reports whether the zero-allocation AES-NI path is in use.
func HasAESNI() bool { return hasAESNI }
