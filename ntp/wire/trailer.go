package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Lengths in the trailer after the header (RFC 7822).
const (
	minEFLen      = 16 // RFC 7822 §7.5: an extension field is at least 16 bytes
	minMACLen     = 4 + 16
	maxV4MACLen   = 4 + 20 // RFC 7822 §7.5: key ID + at most a SHA-1 digest
	cryptoNAKLen  = 4      // a MAC consisting of key ID 0 only
	lenMultipleOf = 4
)

// Trailer errors (see CheckTrailer).
var (
	ErrBadLength    = errors.New("ntp: packet length not a multiple of 4")
	ErrBadExtension = errors.New("ntp: invalid extension field or MAC")
)

// TrailerKind is what ScanTrailer found after the header. The wire format
// says what the bytes are; what to do with a MAC or a broken trailer is the
// caller's policy.
type TrailerKind uint8

const (
	// TrailerOK: nothing, RFC 7822 extension fields only, or an NTPv4
	// crypto-NAK (a lone zero key ID, which carries no digest and is not
	// an authenticated request).
	TrailerOK TrailerKind = iota
	// TrailerMAC: a legacy symmetric-key MAC (key ID + digest), after any
	// extension fields; off and length locate it.
	TrailerMAC
	// TrailerShort: fewer than HeaderLen bytes; length is the packet
	// length.
	TrailerShort
	// TrailerBadLength: length not a multiple of 4; length is the packet
	// length.
	TrailerBadLength
	// TrailerStray: NTPv4 bytes at off too few for an extension field and
	// not a MAC length; length is their count.
	TrailerStray
	// TrailerBadField: the extension field at off declares length, which
	// is under 16, not a multiple of 4 or past the end of the packet.
	TrailerBadField
)

// ScanTrailer classifies what follows the header of pkt, whose version
// (from the LVM byte) the caller has already extracted, by the rules of
// CheckTrailer. It is the single parser behind CheckTrailer and the server
// core's ntp.Server.Respond, which decides what each kind means for a request:
// it builds no error values and never allocates. off and length describe
// the MAC or the fault (see TrailerKind); both are 0 for TrailerOK. The loop
// is bounded by the packet length: each step consumes at least 16 bytes.
func ScanTrailer(pkt []byte, version uint8) (kind TrailerKind, off, length int) {
	n := len(pkt)
	if n < HeaderLen {
		return TrailerShort, 0, n
	}
	if n%lenMultipleOf != 0 {
		return TrailerBadLength, 0, n
	}
	rest := n - HeaderLen
	if rest == 0 {
		return TrailerOK, 0, 0
	}
	if version != 4 {
		// NTPv1–3 have no extension fields: any trailer is a MAC.
		return TrailerMAC, HeaderLen, rest
	}
	if rest == cryptoNAKLen && binary.BigEndian.Uint32(pkt[HeaderLen:]) == 0 {
		return TrailerOK, 0, 0
	}
	for off = HeaderLen; off < n; {
		rem := n - off
		if rem >= minMACLen && rem <= maxV4MACLen {
			return TrailerMAC, off, rem
		}
		if rem <= maxV4MACLen {
			return TrailerStray, off, rem
		}
		l := int(binary.BigEndian.Uint16(pkt[off+2:]))
		if l < minEFLen || l%lenMultipleOf != 0 || l > rem {
			return TrailerBadField, off, l
		}
		off += l
	}
	return TrailerOK, 0, 0
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
// here (the packet parses), although ntp.Server.Respond drops such requests
// as ntp.VerdictNoKey because it has no keys to check or sign with.
func CheckTrailer(pkt []byte) error {
	kind, off, length := ScanTrailer(pkt, Version(pkt))
	switch kind {
	case TrailerShort:
		return fmt.Errorf("%w: %d bytes", ErrShort, length)
	case TrailerBadLength:
		return fmt.Errorf("%w: %d bytes", ErrBadLength, length)
	case TrailerStray:
		return fmt.Errorf("%w: %d stray bytes at offset %d", ErrBadExtension, length, off)
	case TrailerBadField:
		return fmt.Errorf("%w: field length %d at offset %d (%d bytes left)", ErrBadExtension, length, off, len(pkt)-off)
	}
	return nil
}
