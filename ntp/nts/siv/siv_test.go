package siv

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	fbsiv "github.com/facebook/time/ntp/protocol/nts/aessiv"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// paths runs f on the AES-NI path (when the CPU has it) and on crypto/aes.
func paths(t *testing.T, f func(t *testing.T, asm bool)) {
	if hasAESNI {
		t.Run("aesni", func(t *testing.T) { f(t, true) })
	} else {
		t.Log("no AES-NI: only the crypto/aes fallback is tested")
	}
	t.Run("generic", func(t *testing.T) { f(t, false) })
}

// RFC 5297 Appendix A.1 (deterministic AES-SIV-CMAC-256).
func TestRFC5297A1(t *testing.T) {
	paths(t, func(t *testing.T, asm bool) {
		var key [KeySize]byte
		copy(key[:], unhex(t, "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"))
		ad := unhex(t, "101112131415161718191a1b1c1d1e1f2021222324252627")
		pt := unhex(t, "112233445566778899aabbccddee")
		want := unhex(t, "85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c")
		var k Key
		k.init(&key, asm)
		out := make([]byte, TagSize+len(pt))
		n, err := k.Seal(out, pt, ad, nil)
		if err != nil || n != len(want) || !bytes.Equal(out, want) {
			t.Fatalf("Seal = %x, %v; want %x", out[:n], err, want)
		}
		got := make([]byte, len(pt))
		if !k.Open(got, out, ad, nil) || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %x; want %x", got, pt)
		}
	})
}

func TestBlockMatchesCryptoAES(t *testing.T) {
	if !hasAESNI {
		t.Skip("no AES-NI")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var key [16]byte
		var in, got, want [BlockSize]byte
		for i := range key {
			key[i] = byte(r.Uint32())
			in[i] = byte(r.Uint32())
		}
		var k aesKey
		k.init(&key, true)
		k.encrypt(&got, &in)
		c, _ := aes.NewCipher(key[:])
		c.Encrypt(want[:], in[:])
		if got != want {
			t.Fatalf("key %x block %x: AES-NI %x, crypto/aes %x", key, in, got, want)
		}
	}
}

// TestAgainstFacebook compares Seal with facebook/time's aessiv (a port of
// tink) over random keys, components and lengths, and checks Open.
func TestAgainstFacebook(t *testing.T) {
	paths(t, func(t *testing.T, asm bool) {
		r := rand.New(rand.NewPCG(3, 4))
		buf := func(n int) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			return b
		}
		for i := range 500 {
			var key [KeySize]byte
			copy(key[:], buf(KeySize))
			ad := buf(1 + r.IntN(100))
			var nonce []byte
			if i%2 == 1 {
				nonce = buf(1 + r.IntN(32))
			}
			pt := buf(r.IntN(300))
			fb, err := fbsiv.NewAESSIV(key[:])
			if err != nil {
				t.Fatal(err)
			}
			comps := [][]byte{ad}
			if len(nonce) > 0 {
				comps = append(comps, nonce)
			}
			want, err := fb.Seal(nil, pt, comps...)
			if err != nil {
				t.Fatal(err)
			}
			var k Key
			k.init(&key, asm)
			got := make([]byte, TagSize+len(pt))
			if _, err := k.Seal(got, pt, ad, nonce); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("case %d (ad %d, nonce %d, pt %d): got %x want %x (%v)", i, len(ad), len(nonce), len(pt), got, want, err)
			}
			dec := make([]byte, len(pt))
			if !k.Open(dec, got, ad, nonce) || !bytes.Equal(dec, pt) {
				t.Fatalf("case %d: Open failed", i)
			}
			// In place, as the NTS core does it.
			inplace := append(make([]byte, TagSize), pt...)
			if _, err := k.Seal(inplace, inplace[TagSize:], ad, nonce); err != nil || !bytes.Equal(inplace, want) {
				t.Fatalf("case %d: in-place Seal %x want %x", i, inplace, want)
			}
			if !k.Open(inplace[TagSize:], inplace, ad, nonce) || !bytes.Equal(inplace[TagSize:], pt) {
				t.Fatalf("case %d: in-place Open failed", i)
			}
			// Any flipped bit, in the ciphertext, ad or nonce, must fail.
			bad := bytes.Clone(got)
			bad[r.IntN(len(bad))] ^= 1 << r.IntN(8)
			if k.Open(dec, bad, ad, nonce) {
				t.Fatalf("case %d: tampered ciphertext accepted", i)
			}
			if len(pt) > 0 && !bytes.Equal(dec, make([]byte, len(pt))) {
				t.Fatalf("case %d: failed Open left plaintext behind", i)
			}
			badAD := bytes.Clone(ad)
			badAD[0] ^= 0x80
			if k.Open(dec, got, badAD, nonce) {
				t.Fatalf("case %d: wrong ad accepted", i)
			}
		}
	})
}

func TestShortBuffers(t *testing.T) {
	var k Key
	k.Init(&[KeySize]byte{1})
	if _, err := k.Seal(make([]byte, TagSize+2), make([]byte, 3), []byte("ad"), nil); err != ErrShortBuffer {
		t.Fatalf("Seal into short dst: err %v", err)
	}
	if k.Open(nil, make([]byte, TagSize-1), []byte("ad"), nil) {
		t.Fatal("Open of a too short ciphertext succeeded")
	}
	if k.Open(make([]byte, 1), make([]byte, TagSize+2), []byte("ad"), nil) {
		t.Fatal("Open into a too short dst succeeded")
	}
}

func TestZeroAllocs(t *testing.T) {
	if !hasAESNI {
		t.Skip("no AES-NI: the crypto/aes fallback allocates")
	}
	var key [KeySize]byte
	ad := make([]byte, 100)
	nonce := make([]byte, 16)
	pt := make([]byte, 832)
	out := make([]byte, TagSize+len(pt))
	var k Key
	allocs := testing.AllocsPerRun(100, func() {
		k.Init(&key)
		_, _ = k.Seal(out, pt, ad, nonce)
		_ = k.Open(pt, out, ad, nonce)
	})
	if allocs != 0 {
		t.Fatalf("Init+Seal+Open: %v allocations, want 0", allocs)
	}
}

// BenchmarkSealCookies is one NTS reply's encryption: 8 cookies (832 bytes).
func BenchmarkSealReply8Cookies(b *testing.B) {
	var key [KeySize]byte
	ad := make([]byte, 84)
	nonce := make([]byte, 16)
	pt := make([]byte, 832)
	out := make([]byte, TagSize+len(pt))
	var k Key
	b.ReportAllocs()
	for b.Loop() {
		k.Init(&key)
		_, _ = k.Seal(out, pt, ad, nonce)
	}
}

func BenchmarkInitOpen100(b *testing.B) {
	var key [KeySize]byte
	ad := make([]byte, 20)
	pt := make([]byte, 64)
	var k Key
	k.Init(&key)
	ct := make([]byte, TagSize+len(pt))
	_, _ = k.Seal(ct, pt, ad, nil)
	b.ReportAllocs()
	for b.Loop() {
		_ = k.Open(pt, ct, ad, nil)
	}
}
