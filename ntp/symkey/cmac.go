package symkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
)

// cmacLen is the AES-CMAC tag length (RFC 4493: the AES block size).
const cmacLen = aes.BlockSize

// cmac is AES-CMAC (RFC 4493) with its subkeys derived once.
type cmac struct {
	block  cipher.Block
	k1, k2 [aes.BlockSize]byte // RFC 4493 §2.3 subkeys
}

// newCMAC derives the subkeys for a 16-, 24- or 32-byte AES key.
func newCMAC(key []byte) (*cmac, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("AES key: %w", err)
	}
	c := &cmac{block: b}
	// L = AES-K(0^128); K1 = L·x, K2 = K1·x in GF(2^128).
	b.Encrypt(c.k1[:], c.k1[:])
	double(&c.k1)
	c.k2 = c.k1
	double(&c.k2)
	return c, nil
}

// double multiplies v by x in GF(2^128) with the RFC 4493 polynomial
// (x^128 + x^7 + x^2 + x + 1, constant Rb = 0x87), in constant time.
func double(v *[aes.BlockSize]byte) {
	msb := v[0] >> 7
	for i := range len(v) - 1 {
		v[i] = v[i]<<1 | v[i+1]>>7
	}
	v[len(v)-1] = v[len(v)-1]<<1 ^ (0x87 & -msb) // -msb is 0xFF when the top bit was set
}

// sum writes AES-CMAC(msg) into s.b[:16] (RFC 4493 §2.4), using s.b[16:32]
// for the last block. Working memory is the caller's, so it allocates
// nothing; its timing depends on len(msg) only.
func (c *cmac) sum(s *Scratch, msg []byte) []byte {
	x := s.b[:aes.BlockSize]
	last := s.b[aes.BlockSize : 2*aes.BlockSize]
	clear(x)
	// All blocks but the last: X = AES-K(X ⊕ M_i). The last block is
	// complete when len(msg) is a positive multiple of 16.
	n := len(msg) / aes.BlockSize
	complete := len(msg) > 0 && len(msg)%aes.BlockSize == 0
	if complete {
		n--
	}
	for range n {
		subtle.XORBytes(x, x, msg[:aes.BlockSize])
		c.block.Encrypt(x, x)
		msg = msg[aes.BlockSize:]
	}
	// M_last = M_n ⊕ K1 when complete, else (M_n ‖ 10…0) ⊕ K2.
	if complete {
		subtle.XORBytes(last, msg, c.k1[:])
	} else {
		clear(last)
		copy(last, msg)
		last[len(msg)] = 0x80
		subtle.XORBytes(last, last, c.k2[:])
	}
	subtle.XORBytes(x, x, last)
	c.block.Encrypt(x, x)
	return x
}
