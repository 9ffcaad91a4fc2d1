package ntp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Wire layout of the NTP header (RFC 5905 §7.3). All fields are big-endian.
const (
	// HeaderLen is the length of the fixed NTP header and of every reply.
	HeaderLen = 48

	offLVM        = 0  // LI(2) VN(3) Mode(3)
	offStratum    = 1  //
	offPoll       = 2  // int8, log2 s
	offPrecision  = 3  // int8, log2 s
	offRootDelay  = 4  // 16.16 s
	offRootDisp   = 8  // 16.16 s
	offRefID      = 12 //
	offReference  = 16 // Time
	offOrigin     = 24 // Time
	offReceive    = 32 // Time
	offTransmit   = 40 // Time
	minEFLen      = 16 // RFC 7822 §7.5: an extension field is at least 16 bytes
	minMACLen     = 4 + 16
	maxV4MACLen   = 4 + 20 // RFC 7822 §7.5: key ID + at most a SHA-1 digest
	cryptoNAKLen  = 4      // a MAC consisting of key ID 0 only
	lenMultipleOf = 4
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

// Header is the decoded fixed part of an NTP packet. The codec works on fixed
// offsets and never allocates.
type Header struct {
	Leap      clock.Leap
	Version   uint8 // 0..7 as on the wire
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
	return Header{
		Leap:           clock.Leap(b[offLVM] >> 6),
		Version:        (b[offLVM] >> 3) & 7,
		Mode:           Mode(b[offLVM] & 7),
		Stratum:        b[offStratum],
		Poll:           int8(b[offPoll]),
		Precision:      int8(b[offPrecision]),
		RootDelay:      binary.BigEndian.Uint32(b[offRootDelay:]),
		RootDispersion: binary.BigEndian.Uint32(b[offRootDisp:]),
		RefID:          binary.BigEndian.Uint32(b[offRefID:]),
		Reference:      Time(binary.BigEndian.Uint64(b[offReference:])),
		Origin:         Time(binary.BigEndian.Uint64(b[offOrigin:])),
		Receive:        Time(binary.BigEndian.Uint64(b[offReceive:])),
		Transmit:       Time(binary.BigEndian.Uint64(b[offTransmit:])),
	}, nil
}

// Put encodes h into the first HeaderLen bytes of b. Leap, Version and Mode
// are masked to their field widths. It returns ErrShort if b is too short.
func (h *Header) Put(b []byte) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("%w: buffer of %d bytes", ErrShort, len(b))
	}
	b[offLVM] = byte(h.Leap&3)<<6 | (h.Version&7)<<3 | byte(h.Mode&7)
	b[offStratum] = h.Stratum
	b[offPoll] = byte(h.Poll)
	b[offPrecision] = byte(h.Precision)
	binary.BigEndian.PutUint32(b[offRootDelay:], h.RootDelay)
	binary.BigEndian.PutUint32(b[offRootDisp:], h.RootDispersion)
	binary.BigEndian.PutUint32(b[offRefID:], h.RefID)
	binary.BigEndian.PutUint64(b[offReference:], uint64(h.Reference))
	binary.BigEndian.PutUint64(b[offOrigin:], uint64(h.Origin))
	binary.BigEndian.PutUint64(b[offReceive:], uint64(h.Receive))
	binary.BigEndian.PutUint64(b[offTransmit:], uint64(h.Transmit))
	return nil
}

// Trailer errors (see CheckTrailer).
var (
	ErrBadLength    = errors.New("ntp: packet length not a multiple of 4")
	ErrBadExtension = errors.New("ntp: invalid extension field or MAC")
)

// trailerKind is what scanTrailer found after the header.
type trailerKind uint8

const (
	// trailerOK: nothing, RFC 7822 extension fields only, or an NTPv4
	// crypto-NAK (a lone zero key ID, which carries no digest and is not
	// an authenticated request).
	trailerOK trailerKind = iota
	// trailerMAC: a legacy symmetric-key MAC (key ID + digest), after any
	// extension fields; off and length locate it.
	trailerMAC
	// trailerShort: fewer than HeaderLen bytes; length is the packet
	// length.
	trailerShort
	// trailerBadLength: length not a multiple of 4; length is the packet
	// length.
	trailerBadLength
	// trailerStray: NTPv4 bytes at off too few for an extension field and
	// not a MAC length; length is their count.
	trailerStray
	// trailerBadField: the extension field at off declares length, which
	// is under 16, not a multiple of 4 or past the end of the packet.
	trailerBadField
)

// scanTrailer classifies what follows the header of pkt, whose version
// (from the LVM byte) the caller has already extracted, by the rules of
// CheckTrailer. It is the single parser behind CheckTrailer and Respond:
// it builds no error values and never allocates. off and length describe
// the MAC or the fault (see trailerKind); both are 0 for trailerOK. The loop
// is bounded by the packet length: each step consumes at least 16 bytes.
func scanTrailer(pkt []byte, version uint8) (kind trailerKind, off, length int) {
	n := len(pkt)
	if n < HeaderLen {
		return trailerShort, 0, n
	}
	if n%lenMultipleOf != 0 {
		return trailerBadLength, 0, n
	}
	rest := n - HeaderLen
	if rest == 0 {
		return trailerOK, 0, 0
	}
	if version != 4 {
		// NTPv1–3 have no extension fields: any trailer is a MAC.
		return trailerMAC, HeaderLen, rest
	}
	if rest == cryptoNAKLen && binary.BigEndian.Uint32(pkt[HeaderLen:]) == 0 {
		return trailerOK, 0, 0
	}
	for off = HeaderLen; off < n; {
		rem := n - off
		if rem >= minMACLen && rem <= maxV4MACLen {
			return trailerMAC, off, rem
		}
		if rem <= maxV4MACLen {
			return trailerStray, off, rem
		}
		l := int(binary.BigEndian.Uint16(pkt[off+2:]))
		if l < minEFLen || l%lenMultipleOf != 0 || l > rem {
			return trailerBadField, off, l
		}
		off += l
	}
	return trailerOK, 0, 0
}

// CheckTrailer validates what follows the header of pkt (whose version is
// taken from pkt[0]) the way chrony's parse_packet does, without keeping
// anything:
//
//   - the length must be a multiple of 4;
//   - NTPv1–3: everything after the header is a legacy MAC, any length;
//   - NTPv4: a lone 4-byte zero key ID is a crypto-NAK; otherwise RFC 7822
//     extension fields (type u16, length u16 including the 4-byte header,
//     length ≥ 16 and a multiple of 4, inside the packet) follow one another
//     until the end, or until 20–24 bytes remain, which are a legacy MAC
//     (RFC 7822 §7.5 caps NTPv4 MACs at 24 bytes so that parsing is
//     deterministic).
//
// Unknown extension field types are fine. A well-formed MAC is not an error
// here (the packet parses), although Server.Respond drops such requests as
// VerdictNoKey because it has no keys to check or sign with.
func CheckTrailer(pkt []byte) error {
	var version uint8
	if len(pkt) > offLVM {
		version = (pkt[offLVM] >> 3) & 7
	}
	kind, off, length := scanTrailer(pkt, version)
	switch kind {
	case trailerShort:
		return fmt.Errorf("%w: %d bytes", ErrShort, length)
	case trailerBadLength:
		return fmt.Errorf("%w: %d bytes", ErrBadLength, length)
	case trailerStray:
		return fmt.Errorf("%w: %d stray bytes at offset %d", ErrBadExtension, length, off)
	case trailerBadField:
		return fmt.Errorf("%w: field length %d at offset %d (%d bytes left)", ErrBadExtension, length, off, len(pkt)-off)
	}
	return nil
}

// maxShort is the largest 16.16 value, 65535.99998 s.
const maxShort = 1<<32 - 1

// ShortFromDuration converts d to 16.16 fixed-point seconds as chrony does
// for Root delay and Root dispersion: rounded up to the next 2^-16 s
// (15.2588 µs), so the value never understates an error, 0 for d ≤ 0 and
// saturated at 0xFFFFFFFF.
func ShortFromDuration(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	sec := int64(d / time.Second)
	if sec >= 1<<16 {
		return maxShort
	}
	rem := int64(d % time.Second)
	// rem < 1e9, so rem<<16 < 6.6e13: no overflow. Ceiling division.
	frac := (rem<<16 + nsPerSec - 1) / nsPerSec
	v := sec<<16 + frac
	if v > maxShort {
		return maxShort
	}
	return uint32(v)
}

// ShortDuration converts a 16.16 fixed-point seconds value to a Duration,
// rounded to the nearest nanosecond.
func ShortDuration(v uint32) time.Duration {
	sec := time.Duration(v>>16) * time.Second
	frac := (int64(v&0xffff)*nsPerSec + 1<<15) >> 16
	return sec + time.Duration(frac)
}

// RefIDString renders a reference ID the way chronyc does for stratum 0/1 and
// KoD codes: up to 4 printable ASCII characters, NULs dropped.
func RefIDString(id uint32) string {
	var b [4]byte
	n := 0
	for i := 3; i >= 0; i-- {
		c := byte(id >> (8 * i))
		if c == 0 {
			continue
		}
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b[n] = c
		n++
	}
	return string(b[:n])
}

// Kiss-o'-Death codes (RFC 5905 §7.4) carried in the Reference ID of a reply
// with LI 3 and stratum 0.
const (
	KoDRate uint32 = 0x52415445 // "RATE": reduce your polling rate
	KoDDeny uint32 = 0x44454e59 // "DENY": access denied, stop
	KoDRstr uint32 = 0x52535452 // "RSTR": access restricted, stop
)
