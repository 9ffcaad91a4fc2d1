package symkey

import (
	"strings"
	"testing"
)

// FuzzParse: any bytes either parse or give an error naming the file; a
// parsed key has a valid type and, for AES, the right key length, and can
// compute and verify a MAC.
func FuzzParse(f *testing.F) {
	f.Add([]byte(goodFile))
	f.Add([]byte("1 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1\n"))
	f.Add([]byte("1 SHA1 HEX:zz\n2\n3 FOO x\n"))
	f.Add([]byte("\x00\xff\n#\n 7 ASCII:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := Parse("fz", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fz:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		pkt := make([]byte, 48)
		mac := make([]byte, 4+MaxDigestLen)
		var s Scratch
		for _, id := range ks.IDs() {
			k := ks.Lookup(id)
			if k.Type().fullLen() == 0 {
				t.Fatalf("key %d: invalid type %v", id, k.Type())
			}
			if k.Type().IsCMAC() != (k.cmac != nil) || !k.Type().IsCMAC() && len(k.secret) == 0 {
				t.Fatalf("key %d: inconsistent key", id)
			}
			for _, v := range []uint8{3, 4} {
				n := k.Put(&s, v, mac, pkt)
				if !k.Verify(&s, v, pkt, mac[:n]) {
					t.Fatalf("key %d: own MAC does not verify", id)
				}
			}
		}
	})
}
