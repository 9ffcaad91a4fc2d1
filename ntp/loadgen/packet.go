package loadgen

import (
	"encoding/binary"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// cookieRxFlag is bit 0 of a cookie: set in the Receive cookie, clear in
// the Transmit cookie.
const cookieRxFlag = 1

// Reason says why a reply was not counted as a valid answer. The values are
// stable: they are JSON keys and table labels.
type Reason uint8

// Reply classifications.
const (
	ReasonValid     Reason = iota // matched and passed every check
	ReasonKoD                     // matched Kiss-o'-Death (stratum 0)
	ReasonShort                   // shorter than 48 bytes
	ReasonLong                    // longer than the request
	ReasonMode                    // mode != 4
	ReasonVersion                 // version differs from the request's
	ReasonOrigin                  // Origin is not a cookie of ours
	ReasonLate                    // our cookie, but the request is no longer in flight (duplicate or too late)
	ReasonStratum                 // stratum 16..255
	ReasonLeap                    // LI = 3 (alarm) with a non-zero stratum
	ReasonZeroTime                // Receive or Transmit is zero
	ReasonBadMAC                  // MAC socket: no valid MAC with the request's key (also a crypto-NAK)
	ReasonBadNTS                  // NTS socket: Unique Identifier, authenticator or cookies wrong or missing
	ReasonNTSNAK                  // NTS socket: an NTS NAK (KoD NTSN) echoing the Unique Identifier
	ReasonAnswered                // malformed socket: a reply to a request that must get none
	ReasonCryptoNAK               // malformed socket: the crypto-NAK an unknown key ID may get
	NumReasons                    // number of reasons, for counter arrays
)

var reasonNames = [NumReasons]string{"valid", "kod", "short", "long", "bad_mode", "bad_version",
	"bad_origin", "late", "bad_stratum", "unsynchronized", "zero_timestamp",
	"bad_mac", "bad_nts", "nts_nak", "answered_malformed", "crypto_nak"}

// Wrong reports whether a reply of this classification breaks the rules
// (Result.Invalid): all but valid replies, KoDs, NTS NAKs, allowed
// crypto-NAKs and late (duplicate) replies.
func (r Reason) Wrong() bool {
	switch r {
	case ReasonValid, ReasonKoD, ReasonLate, ReasonNTSNAK, ReasonCryptoNAK:
		return false
	}
	return r < NumReasons
}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// cookie packs a per-socket sequence number and a per-socket random key into
// the 64 bits of a Transmit (or Receive) field: seq in the upper 32 bits,
// key in the lower 32 with bit 0 saying which field it went into.
func cookie(seq, key uint32, rx bool) uint64 {
	c := uint64(seq)<<32 | uint64(key&^cookieRxFlag)
	if rx {
		c |= cookieRxFlag
	}
	return c
}

// splitCookie is the inverse of cookie; ok is false when the key does not
// match.
func splitCookie(c uint64, key uint32) (seq uint32, rx bool, ok bool) {
	if uint32(c)&^cookieRxFlag != key&^cookieRxFlag {
		return 0, false, false
	}
	return uint32(c >> 32), c&cookieRxFlag != 0, true
}

// putRequest writes a 48-byte client request into b (len(b) >= 48). origin is
// zero in basic mode; in interleaved mode it is the server's last Receive
// timestamp and rxCookie is non-zero.
func putRequest(b []byte, version uint8, origin, rxCookie, txCookie uint64) {
	clear(b[:wire.HeaderLen])
	b[wire.OffLVM] = wire.LVM(clock.LeapNone, version, wire.ModeClient)
	b[wire.OffPoll] = 0 // unspecified
	b[wire.OffPrecision] = byte(wire.PrecisionNotGiven)
	binary.BigEndian.PutUint64(b[wire.OffOrigin:], origin)
	binary.BigEndian.PutUint64(b[wire.OffReceive:], rxCookie)
	binary.BigEndian.PutUint64(b[wire.OffTransmit:], txCookie)
}

// reply is what check extracts from a reply.
type reply struct {
	origin   uint64
	receive  uint64
	transmit uint64
}

// checkHeader validates the fields of a reply that do not depend on matching
// it to a request. It returns ReasonValid, ReasonKoD or a failure reason;
// origin and receive are filled whenever the packet is at least 48 bytes.
func checkHeader(b []byte, version uint8, allowUnsync bool) (reply, Reason) {
	if len(b) < wire.HeaderLen {
		return reply{}, ReasonShort
	}
	r := reply{
		origin:   binary.BigEndian.Uint64(b[wire.OffOrigin:]),
		receive:  binary.BigEndian.Uint64(b[wire.OffReceive:]),
		transmit: binary.BigEndian.Uint64(b[wire.OffTransmit:]),
	}
	if len(b) > wire.HeaderLen {
		return r, ReasonLong
	}
	li, vn, mode := wire.ParseLVM(b[wire.OffLVM])
	if mode != wire.ModeServer {
		return r, ReasonMode
	}
	if vn != version {
		return r, ReasonVersion
	}
	switch st := b[wire.OffStratum]; {
	case st == wire.StratumUnspecified:
		return r, ReasonKoD
	case st > wire.MaxStratum:
		return r, ReasonStratum
	}
	if li == clock.LeapUnsync && !allowUnsync {
		return r, ReasonLeap
	}
	if r.receive == 0 || r.transmit == 0 {
		return r, ReasonZeroTime
	}
	return r, ReasonValid
}
