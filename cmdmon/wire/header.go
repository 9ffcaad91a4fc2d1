package wire

import (
	"encoding/binary"
	"fmt"
)

// VersionCompatServer is PROTO_VERSION_MISMATCH_COMPAT_SERVER: chronyd
// answers a request of another version with BADPKTVERSION when its version
// is at least this, and drops it silently otherwise.
const VersionCompatServer = 5

// VersionCompatClient is PROTO_VERSION_MISMATCH_COMPAT_CLIENT: chronyc
// accepts a BADPKTVERSION reply of another version when its version is at
// least this.
const VersionCompatClient = 4

var be = binary.BigEndian

// ParseRequestHeader checks a received request in chronyd's order
// (read_from_cmd_socket) and returns its header:
//
//   - ErrShort: shorter than MinRequestLen (28: an error reply would not fit);
//   - ErrLong: longer than MaxRequestLen (860);
//   - ErrHeader: pkt_type is not PktRequest or res1/res2 are not zero;
//   - ErrVersion: version is not 6. The header is returned filled in: the
//     server answers BADPKTVERSION (ErrorReply) when Version ≥
//     VersionCompatServer and stays silent otherwise.
//
// chronyd drops the packet silently on the first three. The command and
// the length the command needs are the caller's to check next
// (RequestLen, then BADPKTLENGTH).
func ParseRequestHeader(pkt []byte) (RequestHeader, error) {
	var h RequestHeader
	if len(pkt) < MinRequestLen {
		return h, fmt.Errorf("request of %d bytes, want at least %d: %w", len(pkt), MinRequestLen, ErrShort)
	}
	if len(pkt) > MaxRequestLen {
		return h, fmt.Errorf("request of %d bytes, want at most %d: %w", len(pkt), MaxRequestLen, ErrLong)
	}
	h = RequestHeader{
		Version: pkt[0], PktType: pkt[1], Res1: pkt[2], Res2: pkt[3],
		Command:  Command(be.Uint16(pkt[4:])),
		Attempt:  be.Uint16(pkt[6:]),
		Sequence: be.Uint32(pkt[8:]),
	}
	if h.PktType != PktRequest || h.Res1 != 0 || h.Res2 != 0 {
		return h, fmt.Errorf("request with type %d, reserved %d %d: %w", h.PktType, h.Res1, h.Res2, ErrHeader)
	}
	if h.Version != Version {
		return h, fmt.Errorf("request of version %d: %w", h.Version, ErrVersion)
	}
	return h, nil
}

// Put writes the header into b[0:20] (pad1 and pad2 zero). b must hold
// RequestHeaderLen bytes.
func (h RequestHeader) Put(b []byte) {
	_ = b[RequestHeaderLen-1]
	b[0], b[1], b[2], b[3] = h.Version, h.PktType, h.Res1, h.Res2
	be.PutUint16(b[4:], uint16(h.Command))
	be.PutUint16(b[6:], h.Attempt)
	be.PutUint32(b[8:], h.Sequence)
	clear(b[12:RequestHeaderLen])
}

// ParseReplyHeader checks a received reply as chronyc does and returns its
// header: at least 28 bytes (ErrShort), pkt_type PktReply and zero
// reserved bytes (ErrHeader), version 6 — or another version ≥
// VersionCompatClient with status BADPKTVERSION, which is returned without
// error (ErrVersion otherwise) — and, when the stated type is one whose
// length is known, at least that long (ErrShort). Matching the command and
// sequence, and the type to the one expected, is the caller's job.
func ParseReplyHeader(pkt []byte) (ReplyHeader, error) {
	var h ReplyHeader
	if len(pkt) < ReplyHeaderLen {
		return h, fmt.Errorf("reply of %d bytes, want at least %d: %w", len(pkt), ReplyHeaderLen, ErrShort)
	}
	h = ReplyHeader{
		Version: pkt[0], PktType: pkt[1], Res1: pkt[2], Res2: pkt[3],
		Command:  Command(be.Uint16(pkt[4:])),
		Reply:    ReplyType(be.Uint16(pkt[6:])),
		Status:   Status(be.Uint16(pkt[8:])),
		Sequence: be.Uint32(pkt[16:]),
	}
	if h.PktType != PktReply || h.Res1 != 0 || h.Res2 != 0 {
		return h, fmt.Errorf("reply with type %d, reserved %d %d: %w", h.PktType, h.Res1, h.Res2, ErrHeader)
	}
	if h.Version != Version {
		if h.Version >= VersionCompatClient && h.Status == StatusBadPktVersion {
			return h, nil
		}
		return h, fmt.Errorf("reply of version %d: %w", h.Version, ErrVersion)
	}
	if n := ReplyLen(h.Reply); n > 0 && len(pkt) < n {
		return h, fmt.Errorf("%v reply of %d bytes, want %d: %w", h.Reply, len(pkt), n, ErrShort)
	}
	return h, nil
}

// Put writes the header into b[0:28] (pad1..pad5 zero). b must hold
// ReplyHeaderLen bytes.
func (h ReplyHeader) Put(b []byte) {
	_ = b[ReplyHeaderLen-1]
	b[0], b[1], b[2], b[3] = h.Version, h.PktType, h.Res1, h.Res2
	be.PutUint16(b[4:], uint16(h.Command))
	be.PutUint16(b[6:], uint16(h.Reply))
	be.PutUint16(b[8:], uint16(h.Status))
	clear(b[10:16])
	be.PutUint32(b[16:], h.Sequence)
	clear(b[20:ReplyHeaderLen])
}

// NewRequestHeader is the header of a version-6 request.
func NewRequestHeader(cmd Command, seq uint32, attempt uint16) RequestHeader {
	return RequestHeader{Version: Version, PktType: PktRequest, Command: cmd, Attempt: attempt, Sequence: seq}
}

// ReplyTo is the header of the reply to req, as chronyd starts it: version
// 6, the command and sequence echoed, the given type and status.
func ReplyTo(req RequestHeader, rt ReplyType, st Status) ReplyHeader {
	return ReplyHeader{Version: Version, PktType: PktReply, Command: req.Command, Reply: rt, Status: st, Sequence: req.Sequence}
}

// AppendErrorReply appends the 28-byte reply chronyd sends for an error
// (and for commands whose answer is only a status): type NULL, the status,
// version 6, req's command and sequence echoed.
func AppendErrorReply(dst []byte, req RequestHeader, st Status) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, ReplyHeaderLen)...)
	ReplyTo(req, RpyNull, st).Put(dst[n:])
	return dst
}
