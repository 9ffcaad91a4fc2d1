package pps

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The PPS ioctl numbers from linux/pps.h (reference/ptp-gnss.md §9.4):
// their size field is sizeof(a pointer), not of the struct.
func TestPPSIoctlNumbers(t *testing.T) {
	if bits.UintSize != 64 {
		t.Skip("the reference values are those of 64-bit kernels")
	}
	for _, tc := range []struct {
		name string
		got  uint32
		want uint32
	}{
		{"PPS_GETPARAMS", ppsGetParams, 0x800870a1},
		{"PPS_SETPARAMS", ppsSetParams, 0x400870a2},
		{"PPS_GETCAP", ppsGetCap, 0x800870a3},
		{"PPS_FETCH", ppsFetch, 0xc00870a4},
		{"PPS_GETPARAMS by ioc", ioc(iocRead, 'p', 0xa1, ptrSize), 0x800870a1},
		{"PPS_SETPARAMS by ioc", ioc(iocWrite, 'p', 0xa2, ptrSize), 0x400870a2},
		{"PPS_GETCAP by ioc", ioc(iocRead, 'p', 0xa3, ptrSize), 0x800870a3},
		{"PPS_FETCH by ioc", ioc(iocRead|iocWrite, 'p', 0xa4, ptrSize), 0xc00870a4},
		{"PPS_KC_BIND", ioc(iocWrite, 'p', 0xa5, ptrSize), 0x400870a5},
		// The PTP ones from §9.3, to check ioc itself against a second
		// family (x/sys defines these; ptp_clock.h uses struct sizes).
		{"PTP_CLOCK_GETCAPS2", ioc(iocRead, '=', 10, 80), 0x80503d0a},
		{"PTP_EXTTS_REQUEST2", ioc(iocWrite, '=', 11, 16), 0x40103d0b},
		{"PTP_PIN_GETFUNC2", ioc(iocRead|iocWrite, '=', 15, 96), 0xc0603d0f},
		{"PTP_PIN_SETFUNC2", ioc(iocWrite, '=', 16, 96), 0x40603d10},
		{"PTP_SYS_OFFSET_EXTENDED2", ioc(iocRead|iocWrite, '=', 18, 1216), 0xc4c03d12},
		{"PTP_MASK_CLEAR_ALL", ioc(iocNone, '=', 19, 0), 0x3d13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("%#x, want %#x", tc.got, tc.want)
			}
			if size := tc.got >> iocSizeShift & iocSizeMask; tc.name[:3] == "PPS" && size != 8 {
				t.Errorf("size field %d, want 8 (sizeof a pointer)", size)
			}
		})
	}
}

func TestPPSStructSizes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"pps_ktime", binary.Size(ppsKtime{}), ppsKtimeSize},
		{"pps_kparams", binary.Size(ppsParams{}), ppsKparamsSize},
		{"pps_kinfo (+4 padding)", binary.Size(ppsInfo{}) + 4, ppsKinfoSize},
		{"pps_fdata", ppsKinfoSize + ppsKtimeSize, ppsFdataSize},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d bytes, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// le64/le32 lay out fields the way the kernel would on a little-endian
// machine; the tests skip on big-endian ones.
func littleEndian(t *testing.T) {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	if b[0] != 1 {
		t.Skip("golden bytes are little-endian")
	}
}

func TestPPSFetchEncoding(t *testing.T) {
	littleEndian(t)
	var b [ppsFdataSize]byte
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		want    [16]byte // the timeout pps_ktime at offset 48
	}{
		{"now", 0, [16]byte{}},
		{"250ms", 250 * time.Millisecond, [16]byte{8: 0x80, 9: 0xb2, 10: 0xe6, 11: 0x0e}},
		{"1.5s", 1500 * time.Millisecond, [16]byte{0: 1, 8: 0x00, 9: 0x65, 10: 0xcd, 11: 0x1d}},
		{"block", -1, [16]byte{12: 1}}, // PPS_TIME_INVALID
	} {
		t.Run(tc.name, func(t *testing.T) {
			b[3] = 0xff // stale content is cleared
			encodeFetch(&b, tc.timeout)
			if diff := cmp.Diff(tc.want[:], b[48:]); diff != "" || b[3] != 0 {
				t.Errorf("timeout bytes (-want +got):\n%s", diff)
			}
		})
	}

	// A reply: assert #7 at 1700000000.000000123, clear #6 at
	// 1699999999.100000000, mode 0x1133.
	var r [ppsFdataSize]byte
	r[0] = 7
	r[4] = 6
	binary.LittleEndian.PutUint64(r[8:], 1700000000)
	binary.LittleEndian.PutUint32(r[16:], 123)
	binary.LittleEndian.PutUint64(r[24:], 1699999999)
	binary.LittleEndian.PutUint32(r[32:], 100000000)
	binary.LittleEndian.PutUint32(r[40:], 0x1133)
	got := decodeFetch(&r)
	want := ppsInfo{
		AssertSeq: 7, ClearSeq: 6,
		Assert: ppsKtime{Sec: 1700000000, Nsec: 123},
		Clear:  ppsKtime{Sec: 1699999999, Nsec: 100000000},
		Mode:   0x1133,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decodeFetch (-want +got):\n%s", diff)
	}
	if !got.Assert.time().Equal(time.Unix(1700000000, 123)) {
		t.Errorf("assert time %v", got.Assert.time())
	}
}

func TestPPSParamsEncoding(t *testing.T) {
	littleEndian(t)
	p := ppsParams{APIVersion: 1, Mode: 0x1101, AssertOff: ppsKtime{Sec: -1, Nsec: 999_999_000}, ClearOff: ppsKtime{Nsec: 5, Flags: 1}}
	var b [ppsKparamsSize]byte
	p.encode(&b)
	want := [ppsKparamsSize]byte{
		0: 1, 4: 0x01, 5: 0x11,
		8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff, 16: 0x18, 17: 0xc6, 18: 0x9a, 19: 0x3b,
		32: 5, 36: 1,
	}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("encode (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(p, decodeParams(&b)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestExttsDecode(t *testing.T) {
	littleEndian(t)
	// Two records: channel 1 at 1700000037.000000250 (a TAI PHC), and
	// channel 0 with flags 0x3.
	b := make([]byte, 2*exttsEventSize)
	binary.LittleEndian.PutUint64(b[0:], 1700000037)
	binary.LittleEndian.PutUint32(b[8:], 250)
	binary.LittleEndian.PutUint32(b[16:], 1)
	binary.LittleEndian.PutUint64(b[32:], 1700000038)
	binary.LittleEndian.PutUint32(b[40:], 999_999_999)
	binary.LittleEndian.PutUint32(b[52:], 3)
	var got []exttsEvent
	if err := decodeExtts(b, func(e exttsEvent) { got = append(got, e) }); err != nil {
		t.Fatal(err)
	}
	want := []exttsEvent{
		{T: time.Unix(1700000037, 250), Channel: 1},
		{T: time.Unix(1700000038, 999_999_999), Channel: 0, Flags: 3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var round [exttsEventSize]byte
	encodeExtts(round[:], want[0])
	if diff := cmp.Diff(b[:exttsEventSize], round[:]); diff != "" {
		t.Errorf("encode (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short", b[:31], "not a whole number"},
		{"nsec", func() []byte { c := make([]byte, 32); binary.LittleEndian.PutUint32(c[8:], 1e9); return c }(), "nsec 1000000000 out of range"},
	} {
		if err := decodeExtts(tc.b, func(exttsEvent) {}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCaptureBit(t *testing.T) {
	for _, tc := range []struct {
		p             Polarity
		assertFalling bool
		want          int32
		err           bool
	}{
		{Rising, false, ppsCaptureAssert, false},
		{Falling, false, ppsCaptureClear, false},
		{Rising, true, ppsCaptureClear, false},
		{Falling, true, ppsCaptureAssert, false},
		{Both, false, 0, true},
		{Polarity(9), false, 0, true},
	} {
		got, err := captureBit(tc.p, tc.assertFalling)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("captureBit(%v, assertFalling %v) = %#x, %v; want %#x, err %v", tc.p, tc.assertFalling, got, err, tc.want, tc.err)
		}
	}
}

func TestCheckPPSCaps(t *testing.T) {
	full := int32(ppsCaptureAssert | ppsCaptureClear | ppsOffsetAssert | ppsOffsetClear | ppsCanWait | ppsTSFmtTspec) // 0x1133, pps-gpio
	for _, tc := range []struct {
		name    string
		caps    int32
		capture int32
		want    string // "" = ok
	}{
		{"gpio assert", full, ppsCaptureAssert, ""},
		{"gpio clear", full, ppsCaptureClear, ""},
		{"assert only", ppsCaptureAssert | ppsCanWait | ppsTSFmtTspec, ppsCaptureClear, "[PPS_CAPTURECLEAR]"},
		{"no wait", full &^ ppsCanWait, ppsCaptureAssert, "[PPS_CANWAIT]"},
		{"nothing", 0, ppsCaptureAssert, "[PPS_CAPTUREASSERT PPS_CANWAIT PPS_TSFMT_TSPEC]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPPSCaps(tc.caps, tc.capture)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrCapability) {
				t.Errorf("error %v, want %q and ErrCapability", err, tc.want)
			}
		})
	}
}

func TestPlanParams(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cur     ppsParams
		bit     int32
		wantSet bool
		want    int32
	}{
		{"already", ppsParams{APIVersion: 1, Mode: 0x1001}, ppsCaptureAssert, false, 0x1001},
		{"add clear, keep assert", ppsParams{APIVersion: 1, Mode: 0x1001}, ppsCaptureClear, true, 0x1003},
		{"no format", ppsParams{Mode: 0x1}, ppsCaptureAssert, true, 0x1001},
		{"ntp format", ppsParams{Mode: 0x2002}, ppsCaptureAssert, true, 0x1003},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cur.AssertOff = ppsKtime{Nsec: 42}
			got, set := planParams(tc.cur, tc.bit)
			if set != tc.wantSet || got.Mode != tc.want || got.APIVersion != ppsAPIVers1 || got.AssertOff.Nsec != 42 {
				t.Errorf("planParams = %+v, %v; want mode %#x, set %v, offsets kept", got, set, tc.want, tc.wantSet)
			}
		})
	}
}

func TestExttsFlags(t *testing.T) {
	for _, tc := range []struct {
		p    Polarity
		want []uint32
	}{
		{Rising, []uint32{0xb, 0x3}},
		{Falling, []uint32{0xd, 0x5}},
		{Both, []uint32{0xf, 0x7}},
		{Polarity(3), nil},
	} {
		got, err := exttsFlags(tc.p)
		if diff := cmp.Diff(tc.want, got); diff != "" || (err != nil) != (tc.want == nil) {
			t.Errorf("%v: %v (-want +got):\n%s", tc.p, err, diff)
		}
	}
}

func TestParsePin(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want pinSpec
	}{
		{"", pinSpec{}},
		{"0", pinSpec{set: true, index: 0}},
		{"12", pinSpec{set: true, index: 12}},
		{"SMA1", pinSpec{set: true, index: -1, name: "SMA1"}},
		{"1a", pinSpec{set: true, index: -1, name: "1a"}},
		{"99999999999999999999", pinSpec{set: true, index: -1, name: "99999999999999999999"}},
	} {
		if got := parsePin(tc.in); got != tc.want {
			t.Errorf("parsePin(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestCheckEXTTS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		caps    phcCaps
		channel int
		pin     string
		want    string
	}{
		{"fixed input", phcCaps{NExtTS: 2}, 1, "", ""},
		{"pin by index", phcCaps{NExtTS: 2, NPins: 4}, 0, "3", ""},
		{"pin by name", phcCaps{NExtTS: 2, NPins: 4}, 0, "SMA1", ""},
		{"no channels", phcCaps{}, 0, "", "no external-timestamp channels (n_ext_ts 0), channel 0 requested"},
		{"channel beyond", phcCaps{NExtTS: 2}, 2, "", "channel 2 requested, the device has channels 0…1 (n_ext_ts 2)"},
		{"no pins", phcCaps{NExtTS: 1}, 0, "SMA1", `pin "SMA1" requested, the device has no programmable pins (n_pins 0`},
		{"pin beyond", phcCaps{NExtTS: 1, NPins: 4}, 0, "4", "pin 4 requested, the device has pins 0…3 (n_pins 4)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkEXTTS(tc.caps, tc.channel, parsePin(tc.pin))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrCapability) {
				t.Errorf("error %v, want %q and ErrCapability", err, tc.want)
			}
		})
	}
}

func TestResolvePin(t *testing.T) {
	pins := []pinInfo{{Name: "SMA1", Index: 0}, {Name: "SMA2", Index: 1, Func: ptpPFExtts, Channel: 1}}
	for _, tc := range []struct {
		spec string
		want pinInfo
		err  string
	}{
		{"SMA2", pins[1], ""},
		{"0", pins[0], ""},
		{"GNSS", pinInfo{}, `pin "GNSS" not found; the device's pins are ["SMA1" "SMA2"]`},
		{"5", pinInfo{}, `pin 5 not found`},
	} {
		got, err := resolvePin(pins, parsePin(tc.spec))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
	var name [64]byte
	copy(name[:], "SMA1")
	if got := pinName(name[:]); got != "SMA1" {
		t.Errorf("pinName = %q", got)
	}
	full := []byte(strings.Repeat("x", 64))
	if got := pinName(full); got != string(full) {
		t.Errorf("pinName unterminated = %q", got)
	}
}

func TestSeqTracker(t *testing.T) {
	type step struct {
		seq    uint32
		full   uint64
		isNew  bool
		missed uint64
	}
	for _, tc := range []struct {
		name     string
		baseline *uint32
		steps    []step
	}{
		{"from scratch", nil, []step{{5, 5, true, 0}, {5, 5, false, 0}, {6, 6, true, 0}, {9, 9, true, 2}}},
		{"baseline not new", ptr(uint32(41)), []step{{41, 41, false, 0}, {42, 42, true, 0}}},
		{"wrap", ptr(uint32(0xffff_fffe)), []step{{0xffff_ffff, 0xffff_ffff, true, 0}, {1, 0x1_0000_0001, true, 1}}},
		{"backwards is not new", ptr(uint32(100)), []step{{99, 100, false, 0}, {101, 101, true, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s seqTracker
			if tc.baseline != nil {
				s.baseline(*tc.baseline)
			}
			for i, st := range tc.steps {
				full, isNew, missed := s.next(st.seq)
				if full != st.full || isNew != st.isNew || missed != st.missed {
					t.Errorf("step %d next(%d) = %d, %v, %d; want %d, %v, %d", i, st.seq, full, isNew, missed, st.full, st.isNew, st.missed)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCompensate(t *testing.T) {
	stamp := time.Unix(1700000000, 150)
	for _, tc := range []struct {
		delay time.Duration
		want  time.Time
	}{
		{0, stamp},
		{150 * time.Nanosecond, time.Unix(1700000000, 0)},         // 30 m of coax ≈ 150 ns: the edge was earlier
		{-50 * time.Nanosecond, time.Unix(1700000000, 200)},       // a receiver set to fire early
		{200 * time.Nanosecond, time.Unix(1699999999, 999999950)}, // crosses the second
	} {
		if got := compensate(stamp, tc.delay); !got.Equal(tc.want) {
			t.Errorf("compensate(%v) = %v, want %v", tc.delay, got, tc.want)
		}
	}
	for _, d := range []time.Duration{MaxDelay + 1, -MaxDelay - 1} {
		if err := checkDelay("Delay", d); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "Delay "+d.String()) {
			t.Errorf("checkDelay(%v) = %v", d, err)
		}
	}
}

func TestParsePolarity(t *testing.T) {
	for _, p := range []Polarity{Rising, Falling, Both} {
		got, err := ParsePolarity(strings.ToUpper(p.String()))
		if err != nil || got != p {
			t.Errorf("ParsePolarity(%q) = %v, %v", p, got, err)
		}
	}
	if _, err := ParsePolarity("up"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParsePolarity(up) = %v", err)
	}
	if s := Polarity(7).String(); s != "Polarity(7)" {
		t.Errorf("String = %q", s)
	}
}
