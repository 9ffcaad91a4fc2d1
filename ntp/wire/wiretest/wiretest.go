// Package wiretest helps tests build and load NTP packets: the golden
// request packets captured from real clients (ntp/testdata, see its README),
// RFC 7822 extension fields and legacy MACs. It is for test code only; the
// packages it serves (ntp, ntp/wire) do not import it outside their tests.
package wiretest

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// First header bytes of client requests (LI 0, mode 3).
const (
	V4Client = 0x23 // version 4
	V3Client = 0x1b // version 3
)

// Golden returns the captured request packets in dir (the path of
// ntp/testdata relative to the test's package), keyed by file name.
func Golden(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.bin"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(names) == 0 {
		tb.Fatal("no golden packets in testdata")
	}
	m := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		m[filepath.Base(n)] = b
	}
	return m
}

// EF builds an extension field of total length n (header included) with
// type typ; the length field says declared.
func EF(typ uint16, n, declared int) []byte {
	b := make([]byte, n)
	binary.BigEndian.PutUint16(b, typ)
	binary.BigEndian.PutUint16(b[2:], uint16(declared))
	return b
}

// MAC builds a legacy MAC of n bytes: key ID 7 and a digest of 0x5a bytes.
func MAC(n int) []byte {
	b := bytes.Repeat([]byte{0x5a}, n)
	binary.BigEndian.PutUint32(b, 7)
	return b
}
