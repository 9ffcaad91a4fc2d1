package wire

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/facebook/time/ntp/protocol"
	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/wire/wiretest"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{
		Leap: clock.LeapDelete, Version: 4, Mode: ModeServer, Stratum: 2, Poll: -4, Precision: -24,
		RootDelay: 0x00010002, RootDispersion: 0x00000003, RefID: 0xC0000201,
		Reference: 1, Origin: 2, Receive: 3, Transmit: 0xFFFFFFFFFFFFFFFF,
	}
	b := make([]byte, HeaderLen)
	if err := h.Put(b); err != nil {
		t.Fatal(err)
	}
	got, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(h, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if b[0] != 0x80|4<<3|4 {
		t.Errorf("LVM byte = %#x, want 0xa4", b[0])
	}
	if err := h.Put(b[:47]); !errors.Is(err, ErrShort) {
		t.Errorf("Put into 47 bytes: %v, want ErrShort", err)
	}
	if _, err := ParseHeader(b[:47]); !errors.Is(err, ErrShort) {
		t.Errorf("ParseHeader of 47 bytes: %v, want ErrShort", err)
	}
}

// TestParseHeaderMatchesFacebook decodes every golden packet with both
// codecs and compares field by field.
func TestParseHeaderMatchesFacebook(t *testing.T) {
	for name, b := range wiretest.Golden(t, "../testdata") {
		t.Run(name, func(t *testing.T) {
			h, err := ParseHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			var p protocol.Packet
			// facebook/time rejects some valid trailers (and NTPv5
			// fields); the header is what we compare.
			_ = p.UnmarshalBinary(b[:HeaderLen])
			want := Header{
				Leap: clock.Leap(p.Settings >> 6), Version: (p.Settings >> 3) & 7, Mode: Mode(p.Settings & 7),
				Stratum: p.Stratum, Poll: p.Poll, Precision: p.Precision,
				RootDelay: p.RootDelay, RootDispersion: p.RootDispersion, RefID: p.ReferenceID,
				Reference: Time(uint64(p.RefTimeSec)<<32 | uint64(p.RefTimeFrac)),
				Origin:    Time(uint64(p.OrigTimeSec)<<32 | uint64(p.OrigTimeFrac)),
				Receive:   Time(uint64(p.RxTimeSec)<<32 | uint64(p.RxTimeFrac)),
				Transmit:  Time(uint64(p.TxTimeSec)<<32 | uint64(p.TxTimeFrac)),
			}
			if diff := cmp.Diff(want, h); diff != "" {
				t.Errorf("(-facebook +ours):\n%s", diff)
			}
			out := make([]byte, HeaderLen)
			if err := h.Put(out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, b[:HeaderLen]) {
				t.Errorf("re-encoded header differs:\n got %x\nwant %x", out, b[:HeaderLen])
			}
		})
	}
}

// pkt builds a packet with the given LVM byte and trailer.
func pkt(lvm byte, trailer ...[]byte) []byte {
	b := make([]byte, HeaderLen)
	b[0] = lvm
	for _, t := range trailer {
		b = append(b, t...)
	}
	return b
}

func TestCheckTrailer(t *testing.T) {
	// macAt says where ScanTrailer must find the MAC: offset and length;
	// zero for no MAC.
	type macAt struct{ off, n int }
	tests := []struct {
		name string
		pkt  []byte
		want error
		kind TrailerKind
		mac  macAt
	}{
		{"plain_48", pkt(wiretest.V4Client), nil, TrailerOK, macAt{}},
		{"short_47", pkt(wiretest.V4Client)[:47], ErrShort, TrailerShort, macAt{}},
		{"empty", nil, ErrShort, TrailerShort, macAt{}},
		{"length_not_multiple_of_4", pkt(wiretest.V4Client, []byte{1, 2}), ErrBadLength, TrailerBadLength, macAt{}},
		{"v4_unknown_ef_28", pkt(wiretest.V4Client, wiretest.EF(0xF0F0, 28, 28)), nil, TrailerOK, macAt{}},
		// RFC 7822 §7.5: without a MAC the last field must be ≥ 28 bytes,
		// because ≤ 24 remaining bytes are a MAC (chrony NEF_ParseField).
		{"v4_lone_16_byte_ef_is_not_a_mac", pkt(wiretest.V4Client, wiretest.EF(0xF0F0, 16, 16)), ErrBadExtension, TrailerStray, macAt{}},
		{"v4_ef_16_plus_8_reads_as_24_byte_mac", pkt(wiretest.V4Client, wiretest.EF(1, 16, 16), make([]byte, 8)), nil, TrailerMAC, macAt{48, 24}},
		{"v4_two_efs", pkt(wiretest.V4Client, wiretest.EF(0x0104, 36, 36), wiretest.EF(0x0204, 100, 100)), nil, TrailerOK, macAt{}},
		{"v4_ef_then_md5_mac", pkt(wiretest.V4Client, wiretest.EF(0x0104, 32, 32), wiretest.MAC(20)), nil, TrailerMAC, macAt{80, 20}},
		{"v4_ef_then_sha1_mac", pkt(wiretest.V4Client, wiretest.EF(0x0104, 32, 32), wiretest.MAC(24)), nil, TrailerMAC, macAt{80, 24}},
		{"v4_md5_mac", pkt(wiretest.V4Client, wiretest.MAC(20)), nil, TrailerMAC, macAt{48, 20}},
		{"v4_sha1_mac", pkt(wiretest.V4Client, wiretest.MAC(24)), nil, TrailerMAC, macAt{48, 24}},
		{"v4_crypto_nak_is_not_a_mac", pkt(wiretest.V4Client, make([]byte, 4)), nil, TrailerOK, macAt{}},
		{"v4_nonzero_4_bytes", pkt(wiretest.V4Client, []byte{0, 0, 0, 1}), ErrBadExtension, TrailerStray, macAt{}},
		{"v4_8_stray_bytes", pkt(wiretest.V4Client, make([]byte, 8)), ErrBadExtension, TrailerStray, macAt{}},
		{"v4_ef_then_4_zero_bytes_is_not_a_crypto_nak", pkt(wiretest.V4Client, wiretest.EF(1, 28, 28), make([]byte, 4)), ErrBadExtension, TrailerStray, macAt{}},
		{"v4_16_byte_ef_declared_12", pkt(wiretest.V4Client, wiretest.EF(1, 28, 12)), ErrBadExtension, TrailerBadField, macAt{}},
		{"v4_ef_length_not_multiple_of_4", pkt(wiretest.V4Client, wiretest.EF(1, 28, 26)), ErrBadExtension, TrailerBadField, macAt{}},
		{"v4_ef_longer_than_packet", pkt(wiretest.V4Client, wiretest.EF(1, 28, 32)), ErrBadExtension, TrailerBadField, macAt{}},
		{"v4_ef_length_zero", pkt(wiretest.V4Client, wiretest.EF(1, 28, 0)), ErrBadExtension, TrailerBadField, macAt{}},
		{"v4_ef_then_stray_8", pkt(wiretest.V4Client, wiretest.EF(1, 28, 28), make([]byte, 8)), ErrBadExtension, TrailerStray, macAt{}},
		{"v4_28_byte_mac_is_not_allowed", pkt(wiretest.V4Client, wiretest.EF(1, 28, 0x5a5a)), ErrBadExtension, TrailerBadField, macAt{}},
		{"v3_any_trailer_is_mac", pkt(wiretest.V3Client, make([]byte, 68)), nil, TrailerMAC, macAt{48, 68}},
		{"v3_4_nonzero_bytes", pkt(wiretest.V3Client, []byte{1, 2, 3, 4}), nil, TrailerMAC, macAt{48, 4}},
		{"v3_4_zero_bytes_is_a_mac", pkt(wiretest.V3Client, make([]byte, 4)), nil, TrailerMAC, macAt{48, 4}},
		{"v3_extension_field_shape_is_a_mac", pkt(wiretest.V3Client, wiretest.EF(1, 28, 28)), nil, TrailerMAC, macAt{48, 28}},
		{"v3_bad_length_still_bad", pkt(wiretest.V3Client, []byte{1}), ErrBadLength, TrailerBadLength, macAt{}},
		{"v1_plain", pkt(0x0b), nil, TrailerOK, macAt{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTrailer(tt.pkt)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("CheckTrailer = %v, want %v", err, tt.want)
			}
			kind, off, n := ScanTrailer(tt.pkt, Version(tt.pkt))
			if kind != tt.kind {
				t.Errorf("ScanTrailer kind = %d, want %d", kind, tt.kind)
			}
			if kind == TrailerMAC {
				if (macAt{off, n}) != tt.mac {
					t.Errorf("MAC at %d, %d bytes; want %d, %d bytes", off, n, tt.mac.off, tt.mac.n)
				}
			}
			if kind == TrailerOK && (off != 0 || n != 0) {
				t.Errorf("TrailerOK with off %d, length %d", off, n)
			}
		})
	}
}

// TestCheckTrailerMessages pins the details CheckTrailer puts in its errors,
// which ScanTrailer reports through off and length.
func TestCheckTrailerMessages(t *testing.T) {
	tests := []struct {
		name string
		pkt  []byte
		want string
	}{
		{"short", pkt(wiretest.V4Client)[:40], "ntp: packet shorter than 48 bytes: 40 bytes"},
		{"bad_length", pkt(wiretest.V4Client, []byte{1, 2}), "ntp: packet length not a multiple of 4: 50 bytes"},
		{"stray", pkt(wiretest.V4Client, wiretest.EF(1, 28, 28), make([]byte, 8)), "ntp: invalid extension field or MAC: 8 stray bytes at offset 76"},
		{"bad_field", pkt(wiretest.V4Client, wiretest.EF(1, 28, 28), wiretest.EF(2, 32, 36)), "ntp: invalid extension field or MAC: field length 36 at offset 76 (32 bytes left)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTrailer(tt.pkt)
			if err == nil || err.Error() != tt.want {
				t.Errorf("CheckTrailer = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestScanTrailerAllocs(t *testing.T) {
	p := pkt(wiretest.V4Client, wiretest.EF(0x0104, 36, 36), wiretest.EF(0x0204, 100, 100), wiretest.MAC(24))
	if n := testing.AllocsPerRun(200, func() {
		if kind, _, _ := ScanTrailer(p, 4); kind != TrailerMAC {
			t.Fatalf("kind %d", kind)
		}
	}); n != 0 {
		t.Errorf("ScanTrailer allocates %v times", n)
	}
}

func TestShortFromDuration(t *testing.T) {
	const unit = time.Second / 65536 // 15258.789 ns, truncated to 15258
	tests := []struct {
		name string
		in   time.Duration
		want uint32
	}{
		{"negative", -time.Second, 0},
		{"zero", 0, 0},
		{"one_ns_rounds_up", 1, 1},
		{"just_below_one_unit", unit, 1},
		{"just_above_one_unit", unit + 1, 2},
		{"one_second", time.Second, 0x00010000},
		{"one_second_plus_1ns", time.Second + 1, 0x00010001},
		{"1.5_s", 1500 * time.Millisecond, 0x00018000},
		{"max_representable", 65535*time.Second + 999_984_741, 0xFFFFFFFF},
		{"rounds_up_into_saturation", 65535*time.Second + 999_999_999, 0xFFFFFFFF},
		{"below_max", 65535*time.Second + 999_933_030, 0xFFFFFFFC},
		{"saturates", 65536 * time.Second, 0xFFFFFFFF},
		{"saturates_huge", 1 << 62, 0xFFFFFFFF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShortFromDuration(tt.in); got != tt.want {
				t.Errorf("ShortFromDuration(%v) = %#x, want %#x", tt.in, got, tt.want)
			}
		})
	}
	// Never understates: converting back is ≥ the input and less than one
	// unit above it.
	for d := time.Duration(0); d < 3*time.Second; d += 7777777 {
		back := ShortDuration(ShortFromDuration(d))
		if back < d-1 || back-d > unit+1 {
			t.Fatalf("%v → %v", d, back)
		}
	}
}

func TestRefIDString(t *testing.T) {
	tests := map[uint32]string{0x47505300: "GPS", uint32(KissRATE): "RATE", 0x50484330: "PHC0", 0x7F7F0101: "????", 0: ""}
	for id, want := range tests {
		if got := RefIDString(id); got != want {
			t.Errorf("RefIDString(%#x) = %q, want %q", id, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range wiretest.Golden(f, "../testdata") {
		f.Add(b)
	}
	f.Add(pkt(wiretest.V4Client, wiretest.EF(0x0104, 36, 36), wiretest.MAC(20)))
	f.Add(pkt(wiretest.V4Client, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckTrailer(b)
		kind, off, n := ScanTrailer(b, Version(b))
		if ok := kind == TrailerOK || kind == TrailerMAC; ok != (err == nil) {
			t.Fatalf("ScanTrailer kind %d, CheckTrailer = %v", kind, err)
		}
		if kind == TrailerMAC {
			// The MAC is the end of the packet: key ID + digest, inside
			// the trailer; NTPv4 MACs are 20–24 bytes.
			if off < HeaderLen || n <= 0 || off+n != len(b) {
				t.Fatalf("MAC at %d, %d bytes in a %d-byte packet", off, n, len(b))
			}
			if Version(b) == 4 && (n < minMACLen || n > maxV4MACLen) {
				t.Fatalf("NTPv4 MAC of %d bytes", n)
			}
		}
		h, err := ParseHeader(b)
		if len(b) < HeaderLen {
			if err == nil {
				t.Fatal("short packet parsed")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, HeaderLen)
		if err := h.Put(out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, b[:HeaderLen]) {
			t.Fatalf("header round trip:\n got %x\nwant %x", out, b[:HeaderLen])
		}
	})
}

func TestLVM(t *testing.T) {
	for _, b := range []byte{0, wiretest.V4Client, wiretest.V3Client, 0xa4, 0xe3, 0xff} {
		leap, version, mode := ParseLVM(b)
		if got := LVM(leap, version, mode); got != b {
			t.Errorf("LVM(ParseLVM(%#x)) = %#x", b, got)
		}
	}
	if l, v, m := ParseLVM(0xdc); l != clock.LeapUnsync || v != 3 || m != ModeServer {
		t.Errorf("ParseLVM(0xdc) = %v %d %d", l, v, m)
	}
	if got := Version(nil); got != 0 {
		t.Errorf("Version(nil) = %d", got)
	}
}

func TestKissCodeString(t *testing.T) {
	tests := map[KissCode]string{KissRATE: "RATE", KissDENY: "DENY", KissRSTR: "RSTR", KissNKEY: "NKEY",
		0x52415400: "RAT?", 0x7F000141: "???A"}
	for k, want := range tests {
		if got := k.String(); got != want {
			t.Errorf("KissCode(%#x).String() = %q, want %q", uint32(k), got, want)
		}
	}
}
