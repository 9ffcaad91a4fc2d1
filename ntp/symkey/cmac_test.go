package symkey

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 4493 §4 test vectors (AES-128) and the AES-256 vectors of NIST SP
// 800-38B Appendix D.3 (same messages).
func TestCMACVectors(t *testing.T) {
	const (
		k128 = "2b7e151628aed2a6abf7158809cf4f3c"
		k256 = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
		m    = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
	)
	for _, tc := range []struct {
		name, key string
		msgLen    int
		want      string
	}{
		{"aes128_len0", k128, 0, "bb1d6929e95937287fa37d129b756746"},
		{"aes128_len16", k128, 16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{"aes128_len40", k128, 40, "dfa66747de9ae63030ca32611497c827"},
		{"aes128_len64", k128, 64, "51f0bebf7e3b9d92fc49741779363cfe"},
		{"aes256_len0", k256, 0, "028962f61b7bf89efc6b551f4667d983"},
		{"aes256_len16", k256, 16, "28a7023f452e8f82bd4bf28d8c37c35c"},
		{"aes256_len40", k256, 40, "aaf3d8f1de5640c232f5b169b9c911e6"},
		{"aes256_len64", k256, 64, "e1992190549f6ed5696a2c056c315410"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newCMAC(unhex(t, tc.key))
			if err != nil {
				t.Fatal(err)
			}
			var s Scratch
			got := c.sum(&s, unhex(t, m)[:tc.msgLen])
			if want := unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Errorf("CMAC = %x, want %x", got, want)
			}
		})
	}
}

// RFC 4493 §4 subkey generation: K1 and K2 of the example key.
func TestCMACSubkeys(t *testing.T) {
	c, err := newCMAC(unhex(t, "2b7e151628aed2a6abf7158809cf4f3c"))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "fbeed618357133667c85e08f7236a8de"); !bytes.Equal(c.k1[:], want) {
		t.Errorf("K1 = %x, want %x", c.k1, want)
	}
	if want := unhex(t, "f7ddac306ae266ccf90bc11ee46d513b"); !bytes.Equal(c.k2[:], want) {
		t.Errorf("K2 = %x, want %x", c.k2, want)
	}
}
