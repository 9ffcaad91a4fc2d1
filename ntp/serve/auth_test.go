package serve

import (
	"testing"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/symkey"
)

const testKeyFile = `1 MD5 md5-secret-key
2 SHA1 HEX:0102030405060708090A0B0C0D0E0F1011121314
3 SHA256 sha256-secret
30 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1
31 AES256 HEX:603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4
`

// One worker iteration over a batch of authenticated requests (half of
// them in interleaved form) — RespondAuth, transmit stamp, Seal, sendmmsg,
// TX-stamp drain — allocates nothing, for every algorithm and for
// crypto-NAKs; every reply carries a MAC that verifies with the request's
// key (over the final header) and is no longer than its request.
func TestWorkerStepAuthZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	keys, err := symkey.Parse("test-keys", []byte(testKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   uint32
	}{{"md5", 1}, {"sha1", 2}, {"sha256", 3}, {"aes128", 30}, {"aes256", 31}, {"unknown_key_crypto_nak", 99}} {
		t.Run(tc.name, func(t *testing.T) {
			const batch = 8
			w, cl, server := loopbackPair(t, batch, false)
			w.srv.SetKeys(keys)
			req := clientBatch(batch, server, true)
			k := keys.Lookup(tc.id)
			var s symkey.Scratch
			for i := range req {
				m := &req[i]
				m.Buf = append(m.Buf[:48], make([]byte, 64)...)
				if k != nil {
					m.N += k.Put(&s, 4, m.Buf[48:], m.Buf[:48])
				} else {
					copy(m.Buf[48:], []byte{0, 0, 0, 99})
					m.N += 20
				}
			}
			rep := make([]hwts.Message, batch)
			for i := range rep {
				rep[i].Buf = make([]byte, 512)
			}
			round := func() {
				if _, err := cl.WriteBatch(req); err != nil {
					t.Fatal(err)
				}
				stepAll(t, w, batch)
				for got := 0; got < batch; {
					n, err := cl.ReadBatch(rep[got:])
					if err != nil {
						t.Fatal(err)
					}
					got += n
				}
			}
			round()
			for i := range rep {
				r := rep[i].Buf[:rep[i].N]
				if len(r) > req[i].N {
					t.Fatalf("reply of %d bytes to a %d-byte request", len(r), req[i].N)
				}
				if k == nil {
					if len(r) != 52 || r[48]|r[49]|r[50]|r[51] != 0 {
						t.Fatalf("crypto-NAK reply %x", r[48:])
					}
					continue
				}
				if len(r) != 48+k.MACLen(4) || !k.Verify(&s, 4, r[:48], r[48:]) {
					t.Fatalf("reply %d (%d bytes): MAC does not verify", i, len(r))
				}
			}
			if allocs := testing.AllocsPerRun(100, round); allocs != 0 {
				t.Errorf("%v allocations per batch of %d", allocs, batch)
			}
			wantAuth := uint64(0)
			if k != nil {
				wantAuth = 102 * batch
			}
			if got := w.ctr.authenticated.Load(); got != wantAuth {
				t.Errorf("authenticated %d, want %d", got, wantAuth)
			}
			if k == nil {
				if got := w.ctr.requests[ntp.VerdictCryptoNAK].Load(); got != 102*batch {
					t.Errorf("crypto_nak %d, want %d", got, 102*batch)
				}
			}
		})
	}
}

// A batch mixing forged, unauthenticated and authenticated requests: the
// forgeries get nothing (auth_failed) and the others their replies, each
// sealed as its own request asked.
func TestWorkerStepAuthMixed(t *testing.T) {
	keys, err := symkey.Parse("test-keys", []byte(testKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	const batch = 6
	w, cl, server := loopbackPair(t, batch, false)
	w.srv.SetKeys(keys)
	req := clientBatch(batch, server, false)
	k := keys.Lookup(30)
	var s symkey.Scratch
	for i := range req {
		m := &req[i]
		m.Buf = append(m.Buf[:48], make([]byte, 64)...)
		switch i % 3 {
		case 0: // authenticated
			m.N += k.Put(&s, 4, m.Buf[48:], m.Buf[:48])
		case 1: // forged
			m.N += k.Put(&s, 4, m.Buf[48:], m.Buf[:48])
			m.Buf[m.N-1] ^= 1
		}
	}
	if _, err := cl.WriteBatch(req); err != nil {
		t.Fatal(err)
	}
	stepAll(t, w, batch)
	rep := make([]hwts.Message, batch)
	for i := range rep {
		rep[i].Buf = make([]byte, 512)
	}
	got := 0
	for got < 4 {
		n, err := cl.ReadBatch(rep[got:])
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	var macd, plain int
	for _, m := range rep[:got] {
		switch m.N {
		case 48:
			plain++
		case 68:
			if !k.Verify(&s, 4, m.Buf[:48], m.Buf[48:68]) {
				t.Error("reply MAC does not verify")
			}
			macd++
		default:
			t.Errorf("reply of %d bytes", m.N)
		}
	}
	if macd != 2 || plain != 2 {
		t.Errorf("%d authenticated and %d plain replies, want 2 and 2", macd, plain)
	}
	if n := w.ctr.requests[ntp.VerdictAuthFailed].Load(); n != 2 {
		t.Errorf("auth_failed %d, want 2", n)
	}
}
