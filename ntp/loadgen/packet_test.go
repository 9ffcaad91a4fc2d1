package loadgen

import (
	"encoding/binary"
	"testing"

	"github.com/gnomon-time/gnomon/ntp/wire"
)

func TestCookie(t *testing.T) {
	for _, key := range []uint32{0, 1, 0xFFFF_FFFF, 0x1234_5678} {
		for _, seq := range []uint32{0, 1, 0xFFFF_FFFF} {
			for _, rx := range []bool{false, true} {
				c := cookie(seq, key, rx)
				s, r, ok := splitCookie(c, key)
				if !ok || s != seq || r != rx {
					t.Errorf("cookie(%d, %#x, %v) = %#x -> %d %v %v", seq, key, rx, c, s, r, ok)
				}
				if _, _, ok := splitCookie(c, key^0x100); ok {
					t.Errorf("cookie %#x accepted with another key", c)
				}
			}
		}
	}
	if cookie(5, 9, false) == cookie(5, 9, true) {
		t.Error("receive and transmit cookies equal")
	}
}

func TestPutRequest(t *testing.T) {
	b := make([]byte, wire.HeaderLen)
	for i := range b {
		b[i] = 0xFF
	}
	putRequest(b, 4, 11, 22, 33)
	if b[0] != 0x23 || b[1] != 0 || b[3] != 0x20 {
		t.Errorf("header %x", b[:4])
	}
	if binary.BigEndian.Uint64(b[wire.OffOrigin:]) != 11 || binary.BigEndian.Uint64(b[wire.OffReceive:]) != 22 ||
		binary.BigEndian.Uint64(b[wire.OffTransmit:]) != 33 {
		t.Errorf("timestamps %x", b[24:])
	}
	for i := 4; i < 24; i++ {
		if b[i] != 0 {
			t.Fatalf("byte %d = %#x, want 0", i, b[i])
		}
	}
}

func TestCheckHeader(t *testing.T) {
	good := func() []byte {
		b := make([]byte, wire.HeaderLen)
		b[0], b[1] = 0x24, 2
		binary.BigEndian.PutUint64(b[wire.OffOrigin:], 7)
		binary.BigEndian.PutUint64(b[wire.OffReceive:], 8)
		binary.BigEndian.PutUint64(b[wire.OffTransmit:], 9)
		return b
	}
	tests := []struct {
		name        string
		mod         func([]byte) []byte
		allowUnsync bool
		want        Reason
	}{
		{"valid", func(b []byte) []byte { return b }, false, ReasonValid},
		{"short", func(b []byte) []byte { return b[:47] }, false, ReasonShort},
		{"long", func(b []byte) []byte { return append(b, make([]byte, 20)...) }, false, ReasonLong},
		{"mode3", func(b []byte) []byte { b[0] = 0x23; return b }, false, ReasonMode},
		{"v3", func(b []byte) []byte { b[0] = 0x1c; return b }, false, ReasonVersion},
		{"kod", func(b []byte) []byte { b[0], b[1] = 0xe4, 0; return b }, false, ReasonKoD},
		{"stratum16", func(b []byte) []byte { b[1] = 16; return b }, false, ReasonStratum},
		{"stratum15", func(b []byte) []byte { b[1] = 15; return b }, false, ReasonValid},
		{"alarm", func(b []byte) []byte { b[0] = 0xe4; return b }, false, ReasonLeap},
		{"alarm allowed", func(b []byte) []byte { b[0] = 0xe4; return b }, true, ReasonValid},
		{"leap+1", func(b []byte) []byte { b[0] = 0x64; return b }, false, ReasonValid},
		{"zero rx", func(b []byte) []byte { clear(b[wire.OffReceive : wire.OffReceive+8]); return b }, false, ReasonZeroTime},
		{"zero tx", func(b []byte) []byte { clear(b[wire.OffTransmit:]); return b }, false, ReasonZeroTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, got := checkHeader(tt.mod(good()), 4, tt.allowUnsync)
			if got != tt.want {
				t.Errorf("reason %v, want %v", got, tt.want)
			}
			if got != ReasonShort && r.origin != 7 {
				t.Errorf("origin %d, want 7", r.origin)
			}
		})
	}
	for r := range NumReasons + 1 {
		if r.String() == "" {
			t.Errorf("reason %d has no name", r)
		}
	}
}

func TestParseControl(t *testing.T) {
	// Two cmsgs as the kernel lays them out on 64-bit Linux.
	oob := make([]byte, oobLen)
	binary.NativeEndian.PutUint64(oob[0:], 32)  // cmsg_len = 16 + 16
	binary.NativeEndian.PutUint32(oob[8:], 1)   // SOL_SOCKET
	binary.NativeEndian.PutUint32(oob[12:], 35) // SCM_TIMESTAMPNS
	binary.NativeEndian.PutUint64(oob[16:], 1700000000)
	binary.NativeEndian.PutUint64(oob[24:], 123456789)
	binary.NativeEndian.PutUint64(oob[32:], 20) // 16 + 4
	binary.NativeEndian.PutUint32(oob[40:], 1)
	binary.NativeEndian.PutUint32(oob[44:], 40) // SO_RXQ_OVFL
	binary.NativeEndian.PutUint32(oob[48:], 17)
	ns, drops, ok := parseControl(oob[:56])
	if ns != 1700000000_123456789 || drops != 17 || !ok {
		t.Errorf("got %d %d %v", ns, drops, ok)
	}
	// Truncated and garbage control data yield nothing and do not panic.
	for _, b := range [][]byte{nil, oob[:10], oob[:20], {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if ns, _, _ := parseControl(b); ns != 0 {
			t.Errorf("parseControl(%x) = %d", b, ns)
		}
	}
}

func FuzzParseControl(f *testing.F) {
	f.Add(make([]byte, 56))
	f.Fuzz(func(t *testing.T, b []byte) { parseControl(b) })
}
