package symkey

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

const goodFile = `# chrony-style key file
1 abcdefghijklmnop
  2 MD5 ASCII:secret-two
3 SHA1 HEX:0102030405060708090A0B0C0D0E0F1011121314
! another comment style
; and another
% and another
30 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1
31 AES256 HEX:603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4
40 SHA256 sha256-key
41 SHA512 sha512-key
42 SHA3-256 sha3-key
4294967295	SHA384	tab-separated	
`

func TestParseGood(t *testing.T) {
	ks, err := Parse("keys", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]Type{1: MD5, 2: MD5, 3: SHA1, 30: AES128, 31: AES256, 40: SHA256, 41: SHA512, 42: SHA3_256, 4294967295: SHA384}
	if got := ks.IDs(); !slices.Equal(got, []uint32{1, 2, 3, 30, 31, 40, 41, 42, 4294967295}) {
		t.Errorf("IDs = %v", got)
	}
	for id, typ := range want {
		k := ks.Lookup(id)
		if k == nil || k.Type() != typ || k.ID() != id {
			t.Errorf("key %d = %+v, want type %v", id, k, typ)
		}
	}
	if got := string(ks.Lookup(2).secret); got != "secret-two" {
		t.Errorf("ASCII: prefix not stripped: %q", got)
	}
	if got := ks.Lookup(3).secret; len(got) != 20 || got[0] != 1 || got[19] != 0x14 {
		t.Errorf("HEX key decoded to %x", got)
	}
	if ks.Lookup(5) != nil || (*Keys)(nil).Lookup(1) != nil || (*Keys)(nil).Len() != 0 {
		t.Error("lookup of an absent key found one")
	}
	empty, err := Parse("empty", []byte("# nothing\n\n"))
	if err != nil || empty.Len() != 0 {
		t.Errorf("comments only: %v, %d keys", err, empty.Len())
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string // substrings of the error
	}{
		{"one_field", "1\n", []string{"f:1:", "(2 or 3 fields), got 1"}},
		{"four_fields", "\n1 MD5 a b\n", []string{"f:2:", "got 4 fields"}},
		{"bad_id", "x MD5 abc\n", []string{"f:1:", `key ID "x"`}},
		{"negative_id", "-1 abc\n", []string{`key ID "-1"`}},
		{"id_too_big", "4294967296 abc\n", []string{`key ID "4294967296"`}},
		{"unknown_type", "1 TIGER abc\n", []string{"key 1:", `type "TIGER"`}},
		{"lower_case_type", "1 md5 abc\n", []string{`type "md5"`}},
		{"odd_hex", "1 SHA1 HEX:abc\n", []string{"key 1:", "odd number of digits (3)"}},
		{"bad_hex", "1 SHA1 HEX:zz\n", []string{"not a hex digit"}},
		{"empty_hex", "1 SHA1 HEX:\n", []string{"empty key"}},
		{"empty_ascii", "1 ASCII:\n", []string{"empty key"}},
		{"aes128_short", "7 AES128 HEX:00112233\n", []string{"key 7:", "AES128 needs a 16-byte (128-bit) key, got 4 bytes"}},
		{"aes256_with_128_bit_key", "7 AES256 HEX:7EA62AE64D190114D46D5A082F948EC1\n", []string{"AES256 needs a 32-byte (256-bit) key, got 16 bytes"}},
		{"duplicate", "5 a\n#\n5 SHA1 b\n", []string{"f:3:", "key 5: duplicate ID (first on line 1)"}},
		{"long_line", "1 " + strings.Repeat("k", 3000) + "\n", []string{"f:1:", "longer than 2047"}},
		{"every_problem", "x a\n2 FOO b\n", []string{"f:1:", "f:2:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := Parse("f", []byte(tc.file))
			if err == nil {
				t.Fatalf("Parse(%q) = %d keys, want an error", tc.file, ks.Len())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// Key material never appears in an error.
	_, err := Parse("f", []byte("9 AES128 HEX:00112233445566\n9 SHA1 topsecretvalue extra\n"))
	if err == nil || strings.Contains(err.Error(), "00112233") || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("error leaks key material or is missing: %v", err)
	}
}

func TestCheckMode(t *testing.T) {
	for _, tc := range []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true}, {0o640, true}, {0o400, true}, {0o700, true}, {0o650, true}, {0o641, true},
		{0o644, false}, {0o604, false}, {0o660, false}, {0o620, false}, {0o602, false}, {0o666, false},
	} {
		err := CheckMode("/etc/k", tc.mode)
		if (err == nil) != tc.ok {
			t.Errorf("CheckMode(%04o) = %v, want ok=%v", tc.mode, err, tc.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "/etc/k") || !strings.Contains(err.Error(), "world-readable")) {
			t.Errorf("CheckMode(%04o) error does not name file and problem: %v", tc.mode, err)
		}
	}
}

// digests of key ‖ data computed independently with one-shot functions.
func refDigest(typ Type, key, data []byte) []byte {
	m := append(append([]byte(nil), key...), data...)
	switch typ {
	case MD5:
		s := md5.Sum(m)
		return s[:]
	case SHA1:
		s := sha1.Sum(m)
		return s[:]
	case SHA256:
		s := sha256.Sum256(m)
		return s[:]
	case SHA384:
		s := sha512.Sum384(m)
		return s[:]
	case SHA512:
		s := sha512.Sum512(m)
		return s[:]
	case SHA3_256:
		s := sha3.Sum256(m)
		return s[:]
	}
	return nil
}

func TestHashMACs(t *testing.T) {
	ks, err := Parse("keys", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 48)
	for i := range pkt {
		pkt[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		id      uint32
		version uint8
		wantLen int
	}{
		{1, 4, 16}, {2, 3, 16}, {3, 4, 20}, {40, 4, 20}, {40, 3, 32}, {41, 4, 20}, {41, 2, 64}, {4294967295, 4, 20}, {42, 4, 20},
	} {
		k := ks.Lookup(tc.id)
		if got := k.DigestLen(tc.version); got != tc.wantLen {
			t.Errorf("key %d v%d: DigestLen = %d, want %d", tc.id, tc.version, got, tc.wantLen)
		}
		var s Scratch
		mac := make([]byte, k.MACLen(tc.version))
		if n := k.Put(&s, tc.version, mac, pkt); n != 4+tc.wantLen {
			t.Errorf("key %d: Put wrote %d bytes", tc.id, n)
		}
		if binary.BigEndian.Uint32(mac) != tc.id {
			t.Errorf("key %d: key ID %x", tc.id, mac[:4])
		}
		if want := refDigest(k.Type(), k.secret, pkt)[:tc.wantLen]; string(mac[4:]) != string(want) {
			t.Errorf("key %d v%d: digest %x, want %x", tc.id, tc.version, mac[4:], want)
		}
		if !k.Verify(&s, tc.version, pkt, mac) {
			t.Errorf("key %d: own MAC does not verify", tc.id)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	ks, err := Parse("keys", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 48)
	for _, id := range []uint32{1, 3, 30, 31, 40} {
		k := ks.Lookup(id)
		var s Scratch
		mac := make([]byte, k.MACLen(4))
		k.Put(&s, 4, mac, pkt)
		for name, mut := range map[string]func(m, p []byte) ([]byte, []byte){
			"flipped_digest_bit": func(m, p []byte) ([]byte, []byte) { m[len(m)-1] ^= 1; return m, p },
			"flipped_packet_bit": func(m, p []byte) ([]byte, []byte) { p[40] ^= 0x80; return m, p },
			"other_key_id":       func(m, p []byte) ([]byte, []byte) { m[3] ^= 1; return m, p },
			"truncated":          func(m, p []byte) ([]byte, []byte) { return m[:len(m)-4], p },
			"extended":           func(m, p []byte) ([]byte, []byte) { return append(m, 0, 0, 0, 0), p },
		} {
			m := append([]byte(nil), mac...)
			p := append([]byte(nil), pkt...)
			m, p = mut(m, p)
			if k.Verify(&s, 4, p, m) {
				t.Errorf("key %d %s: verifies", id, name)
			}
		}
	}
}

// Computing and verifying a MAC allocates nothing, for every type.
func TestZeroAllocs(t *testing.T) {
	ks, err := Parse("keys", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 48)
	mac := make([]byte, 4+MaxDigestLen)
	s := new(Scratch)
	for _, id := range ks.IDs() {
		k := ks.Lookup(id)
		if a := testing.AllocsPerRun(50, func() {
			n := k.Put(s, 4, mac, pkt)
			if !k.Verify(s, 4, pkt, mac[:n]) {
				t.Fatal("no verify")
			}
		}); a != 0 {
			t.Errorf("key %d (%v): %v allocations per MAC", id, k.Type(), a)
		}
	}
}

func BenchmarkMAC(b *testing.B) {
	ks, err := Parse("keys", []byte(goodFile))
	if err != nil {
		b.Fatal(err)
	}
	pkt := make([]byte, 48)
	mac := make([]byte, 4+MaxDigestLen)
	s := new(Scratch)
	for _, id := range []uint32{1, 3, 40, 30, 31} {
		k := ks.Lookup(id)
		b.Run(k.Type().String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				k.Put(s, 4, mac, pkt)
			}
		})
	}
}
