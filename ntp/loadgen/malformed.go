package loadgen

import (
	"encoding/binary"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/ntp/symkey"
	"github.com/gnomon-time/gnomon/ntp/wire"
)

// badKind is one sort of request a KindMalformed socket sends. Each must
// get no reply under ntp.Server.RespondAuth's rules (ntp/server.go), except
// badUnknownKey, whose only allowed answer is a crypto-NAK.
type badKind uint8

const (
	badTruncated  badKind = iota // 20..47 bytes: VerdictMalformed
	badVersion                   // version 0, 5, 6 or 7: VerdictBadVersion
	badMode                      // mode 1, 2, 4, 5, 6 or 7 (never 0): VerdictBadMode
	badOversized                 // 1009 bytes, not a multiple of 4: VerdictMalformed
	badExtension                 // an extension field whose length runs past the packet: VerdictMalformed
	badUnknownKey                // a MAC with key ID UnknownKeyID: crypto-NAK (server has keys) or nothing (VerdictNoKey)
	badMACDigest                 // the run's MAC key with a flipped digest bit: VerdictAuthFailed (only with Config.MACKey)
	badNTSFields                 // NTS fields with a 16-byte Unique Identifier: nts.VerdictMalformed (only with NTS in the mix)
	numBadKinds
)

var badKindNames = [numBadKinds]string{"truncated", "bad_version", "bad_mode", "oversized", "bad_extension",
	"unknown_key", "bad_mac", "bad_nts_fields"}

func (k badKind) String() string {
	if k < numBadKinds {
		return badKindNames[k]
	}
	return "unknown"
}

// UnknownKeyID is the key ID of badUnknownKey requests; the server under
// test must not hold it.
const UnknownKeyID uint32 = 0xFFFF_FFFE

// malformedMaxReq is the longest malformed request (badOversized).
const malformedMaxReq = 1009

// badKinds lists the malformed sorts a run sends, in rotation by sequence
// number.
func (c *Config) badKinds() []badKind {
	ks := []badKind{badTruncated, badVersion, badMode, badOversized, badExtension, badUnknownKey}
	if c.MACKey != nil {
		ks = append(ks, badMACDigest)
	}
	if c.effectiveMix()[KindNTS] > 0 {
		ks = append(ks, badNTSFields)
	}
	return ks
}

// putMalformed writes malformed request seq of kind k into b (len ≥
// malformedMaxReq) and returns its length. Every one at least 48 bytes long
// carries txCookie in Transmit, so a reply to it is recognised.
func putMalformed(b []byte, k badKind, seq uint32, txCookie uint64, key *symkey.Key, s *symkey.Scratch) int {
	putRequest(b, 4, 0, 0, txCookie)
	switch k {
	case badTruncated:
		return 20 + int(seq%28)
	case badVersion:
		v := [4]uint8{0, 5, 6, 7}[seq%4]
		b[wire.OffLVM] = wire.LVM(clock.LeapNone, v, wire.ModeClient)
		return wire.HeaderLen
	case badMode:
		m := [6]wire.Mode{1, 2, 4, 5, 6, 7}[seq%6]
		b[wire.OffLVM] = wire.LVM(clock.LeapNone, 4, m)
		return wire.HeaderLen
	case badOversized:
		for i := wire.HeaderLen; i < malformedMaxReq; i++ {
			b[i] = byte(i*7 + int(seq))
		}
		return malformedMaxReq
	case badExtension:
		// 28 bytes after the header (not a 20–24-byte MAC): one field
		// claiming 0xFFF0 bytes.
		clear(b[wire.HeaderLen : wire.HeaderLen+28])
		putEF(b[wire.HeaderLen:], 0x2005, 0xFFF0)
		return wire.HeaderLen + 28
	case badUnknownKey:
		binary.BigEndian.PutUint32(b[wire.HeaderLen:], UnknownKeyID)
		for i := range 16 {
			b[wire.HeaderLen+4+i] = byte(seq) + byte(i)
		}
		return wire.HeaderLen + 4 + 16
	case badMACDigest:
		n := wire.HeaderLen + key.Put(s, 4, b[wire.HeaderLen:], b[:wire.HeaderLen])
		b[n-1-int(seq%8)] ^= 0x10
		return n
	case badNTSFields:
		off := wire.HeaderLen
		putEF(b[off:], nts.EFUniqueID, efHdr+16) // below RFC 8915's 32 bytes
		off += efHdr + 16
		putEF(b[off:], nts.EFCookie, efHdr+nts.CookieLen)
		off += efHdr + nts.CookieLen
		putEF(b[off:], nts.EFAuthenticator, efHdr+4+16+16)
		binary.BigEndian.PutUint16(b[off+4:], 16)
		binary.BigEndian.PutUint16(b[off+6:], 16)
		return off + efHdr + 4 + 16 + 16
	}
	return wire.HeaderLen
}

// checkMalformedReply classifies a reply on a KindMalformed socket whose
// header check gave reason and which matched request seq sent as kind k:
// the only acceptable one is a crypto-NAK (48-byte header, mode 4, then a
// zero key ID: RFC 5905 §7.3) to a badUnknownKey request.
func checkMalformedReply(b []byte, k badKind, reason Reason) Reason {
	if k != badUnknownKey || (reason != ReasonValid && reason != ReasonKoD) ||
		len(b) != wire.HeaderLen+4 || binary.BigEndian.Uint32(b[wire.HeaderLen:]) != 0 {
		return ReasonAnswered
	}
	return ReasonCryptoNAK
}
