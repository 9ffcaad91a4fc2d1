package cmdmon

import (
	"context"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// Verdict says what Handle did with a request; the names are stable
// snake_case strings for logs and metric labels.
type Verdict uint8

const (
	Answered       Verdict = iota // a reply with status 200 OK
	Refused                       // an error reply (invalid, unauthorised, no such source, ...)
	DroppedLength                 // shorter than a reply header or longer than any request: no reply
	DroppedHeader                 // not a request, or reserved bytes set: no reply
	DroppedVersion                // a version too old for an error reply: no reply
	NumVerdicts
)

var verdictNames = [NumVerdicts]string{"answered", "refused", "dropped_length", "dropped_header", "dropped_version"}

func (v Verdict) String() string {
	if v < NumVerdicts {
		return verdictNames[v]
	}
	return "verdict(?)"
}

// versionCompat is the lowest request version that gets a "protocol
// version mismatch" reply (chrony's PROTO_VERSION_MISMATCH_COMPAT_SERVER);
// older ones are dropped.
const versionCompat = 5

// Handle answers one request read from a socket of the given access and
// returns the reply (nil: none is sent). It follows chronyd's order of
// checks (read_from_cmd_socket): length, header, version, command, the
// command's length (the padding rule), permission. A reply is never longer
// than its request.
func (h *Handler) Handle(ctx context.Context, req []byte, access Access) ([]byte, Verdict) {
	out, v := h.handle(ctx, req, access)
	if len(out) > len(req) {
		// Never answer with more than was asked (a bug above, not a reason
		// to amplify): the error reply always fits.
		out, v = errorReply(req, wire.StatusBadPktLength)
	}
	if out == nil {
		h.drops.Add(1)
	} else {
		h.hits.Add(1)
	}
	return out, v
}

func (h *Handler) handle(ctx context.Context, req []byte, access Access) ([]byte, Verdict) {
	if len(req) < wire.MinRequestLen || len(req) > wire.MaxRequestLen {
		return nil, DroppedLength
	}
	hdr, err := wire.ParseRequestHeader(req)
	if err != nil || hdr.PktType != wire.PktRequest || hdr.Res1 != 0 || hdr.Res2 != 0 {
		return nil, DroppedHeader
	}
	if hdr.Version != wire.Version {
		if hdr.Version >= versionCompat {
			return errorReply(req, wire.StatusBadPktVersion)
		}
		return nil, DroppedVersion
	}
	c, ok := lookup(hdr.Command)
	if !ok {
		return errorReply(req, wire.StatusInvalid)
	}
	if n := wire.RequestLen(hdr.Command); len(req) < n {
		return errorReply(req, wire.StatusBadPktLength)
	}
	if access != AccessSocket && !c.network {
		return errorReply(req, wire.StatusUnauth)
	}
	if c.run == nil {
		return errorReply(req, c.status)
	}
	body, rtype, st := c.run(h, ctx, req)
	if st != wire.StatusSuccess || body == nil {
		if st == wire.StatusSuccess {
			return reply(req, wire.RpyNull, wire.StatusSuccess), Answered
		}
		return errorReply(req, st)
	}
	return encode(reply(req, rtype, wire.StatusSuccess), rtype, body), Answered
}

// reply is the header of the reply to req (command and sequence echoed).
func reply(req []byte, rtype wire.ReplyType, st wire.Status) []byte {
	hdr, _ := wire.ParseRequestHeader(req)
	return wire.AppendReplyHeader(make([]byte, 0, wire.ReplyHeaderLen), wire.ReplyHeader{
		Version: wire.Version, PktType: wire.PktReply, Command: hdr.Command,
		Reply: rtype, Status: st, Sequence: hdr.Sequence,
	})
}

// errorReply is the 28-byte NULL reply with status st.
func errorReply(req []byte, st wire.Status) ([]byte, Verdict) {
	return reply(req, wire.RpyNull, st), Refused
}

// encode appends body to the reply header h.
func encode(h []byte, rtype wire.ReplyType, body any) []byte {
	switch b := body.(type) {
	case wire.NSources:
		return wire.EncodeNSources(h, b)
	case wire.SourceData:
		return wire.EncodeSourceData(h, b)
	case wire.Tracking:
		return wire.EncodeTracking(h, b)
	case wire.SourceStats:
		return wire.EncodeSourceStats(h, b)
	case wire.SelectData:
		return wire.EncodeSelectData(h, b)
	case wire.NTPData:
		return wire.EncodeNTPData(h, b, rtype == wire.RpyNTPData2)
	case wire.ServerStats:
		return wire.EncodeServerStats(h, b, rtype == wire.RpyServerStats4)
	case wire.ClientAccesses:
		return wire.EncodeClientAccesses(h, b)
	case wire.Activity:
		return wire.EncodeActivity(h, b)
	case wire.NTPSourceName:
		return wire.EncodeNTPSourceName(h, b)
	}
	panic("cmdmon: no encoder for a reply body") // a programming error, covered by tests
}
