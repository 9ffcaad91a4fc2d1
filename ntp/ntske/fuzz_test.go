package ntske

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/nts"
)

// FuzzRespond: any request message gets a well-formed response (records
// that end with End of Message), never a panic; ReadMessage on the same
// bytes stays within its bound.
func FuzzRespond(f *testing.F) {
	rec := func(typ uint16, crit bool, body ...byte) []byte { return appendRecord(nil, typ, crit, body...) }
	eom := rec(RecEndOfMessage, true)
	f.Add(bytes.Join([][]byte{rec(RecNextProtocol, true, 0, 0), rec(RecAEAD, false, 0, 30, 0, 15), eom}, nil))
	f.Add(bytes.Join([][]byte{rec(RecNextProtocol, true, 0, 0), rec(0x4321, true), eom}, nil))
	f.Add(bytes.Join([][]byte{rec(RecNextProtocol, true, 0, 0, 0), eom}, nil))
	f.Add([]byte{0, 1, 0xff, 0xff})
	ring, err := nts.NewRing(nts.NewKeySet(time.Unix(0, 0), [32]byte{1}, [32]byte{2}))
	if err != nil {
		f.Fatal(err)
	}
	export := func(string, []byte, int) ([]byte, error) { return make([]byte, 32), nil }
	f.Fuzz(func(t *testing.T, msg []byte) {
		resp, n, _ := respond(msg, export, respondParams{ring: ring, cookies: 8, server: "x", port: 1, rand: rand.Reader})
		got, err := ReadMessage(bytes.NewReader(resp), 1<<16)
		if err != nil || !bytes.Equal(got, resp) {
			t.Fatalf("response %x does not end with End of Message: %v", resp, err)
		}
		if c, _ := parseResponse(resp); c != n {
			t.Fatalf("%d cookies, reported %d", c, n)
		}
		if m, err := ReadMessage(bytes.NewReader(msg), 64); err == nil && len(m) > 64 {
			t.Fatalf("ReadMessage returned %d bytes over a limit of 64", len(m))
		} else if err != nil && !errors.Is(err, ErrTooLong) && !errors.Is(err, ErrTruncated) && err.Error() != "EOF" {
			t.Fatalf("ReadMessage: unexpected error %v", err)
		}
	})
}
