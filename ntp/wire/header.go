package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gnomon-time/gnomon/clock"
)

// Wire layout of the NTP header (RFC 5905 §7.3). All fields are big-endian.
// The offsets are for code that reads or patches single fields of a packet
// in place (the packet paths); ParseHeader and Header.Put do whole headers.
const (
	// HeaderLen is the length of the fixed NTP header: every request and
	// reply gnomon builds is exactly this long.
	HeaderLen = 48

	OffLVM       = 0  // LI(2) VN(3) Mode(3); see LVM and ParseLVM
	OffStratum   = 1  //
	OffPoll      = 2  // int8, log2 s
	OffPrecision = 3  // int8, log2 s
	OffRootDelay = 4  // 16.16 s (ShortDuration)
	OffRootDisp  = 8  // 16.16 s (ShortDuration)
	OffRefID     = 12 // RefIDString; a KissCode when stratum is 0
	OffReference = 16 // Time
	OffOrigin    = 24 // Time
	OffReceive   = 32 // Time
	OffTransmit  = 40 // Time
)

// Mode is the association mode of an NTP packet (RFC 5905 §7.3).
type Mode uint8

const (
	ModeReserved         Mode = 0 // NTPv1 requests, where the mode field was reserved
	ModeSymmetricActive  Mode = 1
	ModeSymmetricPassive Mode = 2
	ModeClient           Mode = 3
	ModeServer           Mode = 4
	ModeBroadcast        Mode = 5
	ModeControl          Mode = 6 // ntpq (RFC 9327)
	ModePrivate          Mode = 7 // ntpdc; monlist amplification (CVE-2013-5211)
)

// Stratum values with a meaning of their own (RFC 5905 §7.3, Figure 11).
const (
	// StratumUnspecified (0) is "unspecified or invalid"; a reply with
	// stratum 0 is a Kiss-o'-Death whose Reference ID is a KissCode.
	// chrony (and gnomon's server) also sends 0 when unsynchronised.
	StratumUnspecified = 0
	// MaxStratum (15) is the highest stratum of a synchronised server.
	MaxStratum = 15
	// StratumUnsync (16) is "unsynchronized"; anything above MaxStratum
	// is treated the same.
	StratumUnsync = 16
)

// PrecisionNotGiven is the Precision (log2 s) that a client request sends
// to say nothing about its clock: 32, i.e. 2^32 s, as chronyd does. Servers
// do not read a request's precision.
const PrecisionNotGiven int8 = 32

// LVM packs the first header byte: LI (the leap indicator, whose values
// are those of clock.Leap, LeapUnsync being the alarm condition 3), version
// and mode, each masked to its field width.
func LVM(leap clock.Leap, version uint8, mode Mode) byte {
	return byte(leap&3)<<6 | (version&7)<<3 | byte(mode&7)
}

// ParseLVM splits the first header byte into LI, version and mode.
func ParseLVM(b byte) (leap clock.Leap, version uint8, mode Mode) {
	return clock.Leap(b >> 6), (b >> 3) & 7, Mode(b & 7)
}

// Version returns the version field of pkt, 0 when pkt is empty.
func Version(pkt []byte) uint8 {
	if len(pkt) <= OffLVM {
		return 0
	}
	_, v, _ := ParseLVM(pkt[OffLVM])
	return v
}

// Header is the decoded fixed part of an NTP packet. The codec works on fixed
// offsets and never allocates.
type Header struct {
	Leap      clock.Leap // LI; clock.Leap's values are the wire's
	Version   uint8      // 0..7 as on the wire
	Mode      Mode
	Stratum   uint8
	Poll      int8 // log2 s
	Precision int8 // log2 s
	// RootDelay and RootDispersion in 16.16 fixed-point seconds as on the
	// wire; see ShortDuration and ShortFromDuration.
	RootDelay      uint32
	RootDispersion uint32
	RefID          uint32
	Reference      Time
	Origin         Time
	Receive        Time
	Transmit       Time
}

// ErrShort is returned for packets shorter than HeaderLen.
var ErrShort = errors.New("ntp: packet shorter than 48 bytes")

// ParseHeader decodes the first HeaderLen bytes of b. It checks only the
// length; the fields may hold any value.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	leap, version, mode := ParseLVM(b[OffLVM])
	return Header{
		Leap:           leap,
		Version:        version,
		Mode:           mode,
		Stratum:        b[OffStratum],
		Poll:           int8(b[OffPoll]),
		Precision:      int8(b[OffPrecision]),
		RootDelay:      binary.BigEndian.Uint32(b[OffRootDelay:]),
		RootDispersion: binary.BigEndian.Uint32(b[OffRootDisp:]),
		RefID:          binary.BigEndian.Uint32(b[OffRefID:]),
		Reference:      Time(binary.BigEndian.Uint64(b[OffReference:])),
		Origin:         Time(binary.BigEndian.Uint64(b[OffOrigin:])),
		Receive:        Time(binary.BigEndian.Uint64(b[OffReceive:])),
		Transmit:       Time(binary.BigEndian.Uint64(b[OffTransmit:])),
	}, nil
}

// Put encodes h into the first HeaderLen bytes of b. Leap, Version and Mode
// are masked to their field widths. It returns ErrShort if b is too short.
func (h *Header) Put(b []byte) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("%w: buffer of %d bytes", ErrShort, len(b))
	}
	b[OffLVM] = LVM(h.Leap, h.Version, h.Mode)
	b[OffStratum] = h.Stratum
	b[OffPoll] = byte(h.Poll)
	b[OffPrecision] = byte(h.Precision)
	binary.BigEndian.PutUint32(b[OffRootDelay:], h.RootDelay)
	binary.BigEndian.PutUint32(b[OffRootDisp:], h.RootDispersion)
	binary.BigEndian.PutUint32(b[OffRefID:], h.RefID)
	binary.BigEndian.PutUint64(b[OffReference:], uint64(h.Reference))
	binary.BigEndian.PutUint64(b[OffOrigin:], uint64(h.Origin))
	binary.BigEndian.PutUint64(b[OffReceive:], uint64(h.Receive))
	binary.BigEndian.PutUint64(b[OffTransmit:], uint64(h.Transmit))
	return nil
}
