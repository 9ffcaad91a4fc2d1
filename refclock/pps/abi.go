package pps

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"time"
)

// This file holds the kernel ABI as pure values and functions, so numbers,
// layouts and decisions are table-tested without a device. The facts come
// from the Linux UAPI headers linux/pps.h (RFC 2783's kernel side) and
// linux/ptp_clock.h; see reference/ptp-gnss.md §9.3 and §9.4. x/sys/unix
// wraps the PTP ioctls (PTP_CLOCK_GETCAPS2, PTP_PIN_GETFUNC2/SETFUNC2,
// PTP_EXTTS_REQUEST2) and their structs, so only the PPS side is defined
// here.

// ioctl request encoding, asm-generic/ioctl.h (amd64, arm64, riscv64,
// loong64, s390x; not mips, powerpc, sparc or alpha): nr in bits 0–7, type
// in 8–15, size in 16–29, direction in 30–31.
const (
	iocNone  = 0
	iocWrite = 1
	iocRead  = 2

	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30
	iocSizeMask  = 1<<14 - 1
)

// ioc is the kernel's _IOC(dir, type, nr, size).
func ioc(dir, typ, nr, size uint32) uint32 {
	return dir<<iocDirShift | (size&iocSizeMask)<<iocSizeShift | typ<<iocTypeShift | nr<<iocNRShift
}

// linux/pps.h declares its ioctls with pointer types (_IOR('p', 0xa1,
// struct pps_kparams *)), so their size field is sizeof(void *), not the
// struct's size: 8 on 64-bit kernels (0x800870a1), 4 on 32-bit ones.
// The struct layouts below are those of 64-bit kernels only (on 386 an s64
// is 4-aligned and pps_kinfo is 44 bytes): kernel_linux.go's build tag
// keeps the real device to 64-bit architectures.
const ptrSize = bits.UintSize / 8

// PPS ioctl requests ('p' = 0x70): _IOC(dir, 'p', nr, ptrSize) spelled as
// constant expressions (TestPPSIoctlNumbers checks them against ioc and
// the header's values).
const (
	ppsIoc       = 'p'<<iocTypeShift | ptrSize<<iocSizeShift
	ppsGetParams = iocRead<<iocDirShift | ppsIoc | 0xa1
	ppsSetParams = iocWrite<<iocDirShift | ppsIoc | 0xa2
	ppsGetCap    = iocRead<<iocDirShift | ppsIoc | 0xa3
	ppsFetch     = (iocRead|iocWrite)<<iocDirShift | ppsIoc | 0xa4
)

// PPS mode bits (linux/pps.h, RFC 2783 §3.3).
const (
	ppsCaptureAssert = 0x01
	ppsCaptureClear  = 0x02
	ppsOffsetAssert  = 0x10
	ppsOffsetClear   = 0x20
	ppsEchoAssert    = 0x40
	ppsEchoClear     = 0x80
	ppsCanWait       = 0x100
	ppsCanPoll       = 0x200
	ppsTSFmtTspec    = 0x1000
	ppsTSFmtNTPFP    = 0x2000

	ppsAPIVers1    = 1
	ppsTimeInvalid = 1 // pps_ktime.flags: "no timeout, block"
)

// Sizes of the PPS structs on a 64-bit kernel:
//
//	pps_ktime   {sec s64; nsec s32; flags u32}                       16 B
//	pps_kparams {api_version int; mode int; assert_off_tu, clear_off_tu} 40 B
//	pps_kinfo   {assert_sequence u32; clear_sequence u32;
//	             assert_tu, clear_tu pps_ktime; current_mode int}   48 B (44 + padding to 8)
//	pps_fdata   {info pps_kinfo; timeout pps_ktime}                  64 B
const (
	ppsKtimeSize   = 16
	ppsKparamsSize = 40
	ppsKinfoSize   = 48
	ppsFdataSize   = 64
)

// ppsKtime is struct pps_ktime.
type ppsKtime struct {
	Sec   int64
	Nsec  int32
	Flags uint32
}

func (k ppsKtime) time() time.Time { return time.Unix(k.Sec, int64(k.Nsec)) }

func putKtime(b []byte, k ppsKtime) {
	binary.NativeEndian.PutUint64(b[0:], uint64(k.Sec))
	binary.NativeEndian.PutUint32(b[8:], uint32(k.Nsec))
	binary.NativeEndian.PutUint32(b[12:], k.Flags)
}

func ktime(b []byte) ppsKtime {
	return ppsKtime{
		Sec:   int64(binary.NativeEndian.Uint64(b[0:])),
		Nsec:  int32(binary.NativeEndian.Uint32(b[8:])),
		Flags: binary.NativeEndian.Uint32(b[12:]),
	}
}

// ppsParams is struct pps_kparams.
type ppsParams struct {
	APIVersion int32
	Mode       int32
	AssertOff  ppsKtime
	ClearOff   ppsKtime
}

func (p ppsParams) encode(b *[ppsKparamsSize]byte) {
	binary.NativeEndian.PutUint32(b[0:], uint32(p.APIVersion))
	binary.NativeEndian.PutUint32(b[4:], uint32(p.Mode))
	putKtime(b[8:], p.AssertOff)
	putKtime(b[24:], p.ClearOff)
}

func decodeParams(b *[ppsKparamsSize]byte) ppsParams {
	return ppsParams{
		APIVersion: int32(binary.NativeEndian.Uint32(b[0:])),
		Mode:       int32(binary.NativeEndian.Uint32(b[4:])),
		AssertOff:  ktime(b[8:]),
		ClearOff:   ktime(b[24:]),
	}
}

// ppsInfo is struct pps_kinfo: the latest assert and clear events.
type ppsInfo struct {
	AssertSeq, ClearSeq uint32
	Assert, Clear       ppsKtime
	Mode                int32
}

// encodeFetch fills a pps_fdata request: the info part zero, the timeout
// set. timeout < 0 blocks without limit (PPS_TIME_INVALID); 0 returns the
// latest events at once.
func encodeFetch(b *[ppsFdataSize]byte, timeout time.Duration) {
	*b = [ppsFdataSize]byte{}
	var t ppsKtime
	if timeout < 0 {
		t.Flags = ppsTimeInvalid
	} else {
		t.Sec = int64(timeout / time.Second)
		t.Nsec = int32(timeout % time.Second)
	}
	putKtime(b[ppsKinfoSize:], t)
}

// decodeFetch reads the pps_kinfo part of a pps_fdata answer.
func decodeFetch(b *[ppsFdataSize]byte) ppsInfo {
	return ppsInfo{
		AssertSeq: binary.NativeEndian.Uint32(b[0:]),
		ClearSeq:  binary.NativeEndian.Uint32(b[4:]),
		Assert:    ktime(b[8:]),
		Clear:     ktime(b[24:]),
		Mode:      int32(binary.NativeEndian.Uint32(b[40:])),
	}
}

// captureBit returns the PPS mode bit that captures the wanted edge: the
// assert event is the rising edge unless the device maps it to the falling
// one (pps-gpio's assert-falling-edge, an inverting level shifter).
func captureBit(p Polarity, assertFalling bool) (int32, error) {
	switch {
	case p == Rising && !assertFalling, p == Falling && assertFalling:
		return ppsCaptureAssert, nil
	case p == Falling && !assertFalling, p == Rising && assertFalling:
		return ppsCaptureClear, nil
	}
	return 0, fmt.Errorf("polarity %v: a kernel PPS device reports one edge (rising or falling): %w", p, ErrInvalid)
}

// checkPPSCaps checks PPS_GETCAP's mode bits for what Kernel needs: the
// capture bit, waiting in PPS_FETCH (so a fetch can time out and Run can
// stop), and timespec timestamps.
func checkPPSCaps(caps, capture int32) error {
	var missing []string
	if caps&capture == 0 {
		missing = append(missing, captureName(capture))
	}
	if caps&ppsCanWait == 0 {
		missing = append(missing, "PPS_CANWAIT")
	}
	if caps&ppsTSFmtTspec == 0 {
		missing = append(missing, "PPS_TSFMT_TSPEC")
	}
	if len(missing) > 0 {
		return fmt.Errorf("capabilities %#x lack %v: %w", caps, missing, ErrCapability)
	}
	return nil
}

func captureName(bit int32) string {
	if bit == ppsCaptureAssert {
		return "PPS_CAPTUREASSERT"
	}
	return "PPS_CAPTURECLEAR"
}

// planParams returns the parameters to set so that the device captures
// bit with timespec stamps, and whether a PPS_SETPARAMS is needed at all.
// It only adds bits: another reader of the device (gpsd, chrony) may rely
// on the other edge, and the kernel offsets are kept (gnomon compensates
// delays itself).
func planParams(cur ppsParams, bit int32) (ppsParams, bool) {
	want := cur
	want.APIVersion = ppsAPIVers1
	want.Mode |= bit
	want.Mode = want.Mode&^ppsTSFmtNTPFP | ppsTSFmtTspec // Linux stamps in timespec only
	return want, want.Mode != cur.Mode
}

// ptp_extts_event, linux/ptp_clock.h: {t {sec s64; nsec u32; reserved u32};
// index u32; flags u32; rsv [2]u32}, 32 bytes on every architecture.
const exttsEventSize = 32

// exttsEvent is one decoded ptp_extts_event.
type exttsEvent struct {
	T       time.Time // PHC time of the edge
	Channel uint32    // EXTTS channel index
	Flags   uint32    // edge/valid bits on kernels and drivers that set them
}

// decodeExtts decodes the events in b (a read() of whole records).
// A record with nsec ≥ 1e9 is malformed and returned as an error naming it.
func decodeExtts(b []byte, fn func(exttsEvent)) error {
	if len(b)%exttsEventSize != 0 {
		return fmt.Errorf("read %d bytes, not a whole number of %d-byte ptp_extts_event records", len(b), exttsEventSize)
	}
	for off := 0; off < len(b); off += exttsEventSize {
		r := b[off : off+exttsEventSize]
		sec := int64(binary.NativeEndian.Uint64(r[0:]))
		nsec := binary.NativeEndian.Uint32(r[8:])
		if nsec >= 1e9 {
			return fmt.Errorf("ptp_extts_event %d: nsec %d out of range", off/exttsEventSize, nsec)
		}
		fn(exttsEvent{
			T:       time.Unix(sec, int64(nsec)),
			Channel: binary.NativeEndian.Uint32(r[16:]),
			Flags:   binary.NativeEndian.Uint32(r[20:]),
		})
	}
	return nil
}

// encodeExtts is the inverse of decodeExtts for one record (tests and the
// pipe-backed fake device).
func encodeExtts(b []byte, e exttsEvent) {
	clear(b[:exttsEventSize])
	binary.NativeEndian.PutUint64(b[0:], uint64(e.T.Unix()))
	binary.NativeEndian.PutUint32(b[8:], uint32(e.T.Nanosecond()))
	binary.NativeEndian.PutUint32(b[16:], e.Channel)
	binary.NativeEndian.PutUint32(b[20:], e.Flags)
}

// EXTTS request flags, linux/ptp_clock.h (x/sys/unix has them as
// PTP_ENABLE_FEATURE, PTP_RISING_EDGE, …; the values are repeated here so
// the decision is testable on any OS and checked against x/sys on Linux).
const (
	ptpEnable      = 0x1
	ptpRisingEdge  = 0x2
	ptpFallingEdge = 0x4
	ptpStrictFlags = 0x8
	ptpPFExtts     = 1 // PTP_PF_EXTTS, ptp_pin_desc.func
	ptpPFNone      = 0
)

// exttsFlags returns the PTP_EXTTS_REQUEST2 flag sets to try in order:
// first with PTP_STRICT_FLAGS (the driver must stamp exactly the edges
// asked for, or refuse), then without (older drivers refuse strict flags
// with EOPNOTSUPP or EINVAL; they may then stamp both edges whatever is
// asked, which the caller must log).
func exttsFlags(p Polarity) ([]uint32, error) {
	var edges uint32
	switch p {
	case Rising:
		edges = ptpRisingEdge
	case Falling:
		edges = ptpFallingEdge
	case Both:
		edges = ptpRisingEdge | ptpFallingEdge
	default:
		return nil, fmt.Errorf("polarity %v: %w", p, ErrInvalid)
	}
	return []uint32{ptpEnable | edges | ptpStrictFlags, ptpEnable | edges}, nil
}

// phcCaps is what Kernel EXTTS needs of PTP_CLOCK_GETCAPS.
type phcCaps struct {
	NExtTS int // n_ext_ts: external-timestamp channels
	NPins  int // n_pins: programmable pins
}

// pinInfo is one ptp_pin_desc from PTP_PIN_GETFUNC.
type pinInfo struct {
	Name    string
	Index   int
	Func    uint32
	Channel uint32
}

// pinSpec is how the configuration names a pin: by index, by name, or not
// at all (the channel has a fixed input).
type pinSpec struct {
	set   bool
	index int
	name  string
}

// parsePin reads the configuration's pin: "" = none, decimal digits = an
// index, anything else = a name as PTP_PIN_GETFUNC reports it ("SMA1").
func parsePin(s string) pinSpec {
	if s == "" {
		return pinSpec{}
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' || n > 1<<20 {
			return pinSpec{set: true, index: -1, name: s}
		}
		n = n*10 + int(c-'0')
	}
	return pinSpec{set: true, index: n}
}

func (p pinSpec) String() string {
	if p.name != "" {
		return fmt.Sprintf("pin %q", p.name)
	}
	return fmt.Sprintf("pin %d", p.index)
}

// checkEXTTS checks the device's capabilities for the channel and, when
// one is to be routed, the pin index (names are resolved later against
// the pins' descriptions).
func checkEXTTS(caps phcCaps, channel int, pin pinSpec) error {
	if caps.NExtTS == 0 {
		return fmt.Errorf("no external-timestamp channels (n_ext_ts 0), channel %d requested: %w", channel, ErrCapability)
	}
	if channel < 0 || channel >= caps.NExtTS {
		return fmt.Errorf("channel %d requested, the device has channels 0…%d (n_ext_ts %d): %w", channel, caps.NExtTS-1, caps.NExtTS, ErrCapability)
	}
	if !pin.set {
		return nil
	}
	if caps.NPins == 0 {
		return fmt.Errorf("%v requested, the device has no programmable pins (n_pins 0; its channels have fixed inputs, leave pin unset): %w", pin, ErrCapability)
	}
	if pin.name == "" && pin.index >= caps.NPins {
		return fmt.Errorf("%v requested, the device has pins 0…%d (n_pins %d): %w", pin, caps.NPins-1, caps.NPins, ErrCapability)
	}
	return nil
}

// resolvePin finds the pin the configuration names among the device's
// pins.
func resolvePin(pins []pinInfo, pin pinSpec) (pinInfo, error) {
	for _, p := range pins {
		if (pin.name != "" && p.Name == pin.name) || (pin.name == "" && p.Index == pin.index) {
			return p, nil
		}
	}
	names := make([]string, len(pins))
	for i, p := range pins {
		names[i] = p.Name
	}
	return pinInfo{}, fmt.Errorf("%v not found; the device's pins are %q: %w", pin, names, ErrCapability)
}

// pinName decodes ptp_pin_desc.name (NUL-terminated, 64 bytes).
func pinName(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
