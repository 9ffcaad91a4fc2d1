package cmdmon

import (
	"context"
	"errors"

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
	DroppedAddress                // a network request from a non-loopback address (counted by the shell): no reply
	NumVerdicts
)

var verdictNames = [NumVerdicts]string{"answered", "refused", "dropped_length", "dropped_header", "dropped_version", "dropped_address"}

func (v Verdict) String() string {
	if v < NumVerdicts {
		return verdictNames[v]
	}
	return "verdict(?)"
}

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
		hdr, _ := wire.ParseRequestHeader(req)
		out, v = errorReply(hdr, wire.StatusBadPktLength)
	}
	if out == nil {
		h.drops.Add(1)
	} else {
		h.hits.Add(1)
	}
	h.verdicts[v].Add(1)
	return out, v
}

func (h *Handler) handle(ctx context.Context, req []byte, access Access) ([]byte, Verdict) {
	hdr, err := wire.ParseRequestHeader(req)
	switch {
	case errors.Is(err, wire.ErrShort), errors.Is(err, wire.ErrLong):
		return nil, DroppedLength
	case errors.Is(err, wire.ErrVersion):
		if hdr.Version >= wire.VersionCompatServer {
			return errorReply(hdr, wire.StatusBadPktVersion)
		}
		return nil, DroppedVersion
	case err != nil:
		return nil, DroppedHeader
	}
	c, ok := lookup(hdr.Command)
	if !ok {
		return errorReply(hdr, wire.StatusInvalid)
	}
	// The padding rule, before the permission and the command: a request
	// shorter than its reply is BADPKTLENGTH.
	if n, ok := minRequestLen(hdr.Command); ok && len(req) < n {
		return errorReply(hdr, wire.StatusBadPktLength)
	}
	if access != AccessSocket && !c.network {
		return errorReply(hdr, wire.StatusUnauth)
	}
	if c.run == nil {
		return errorReply(hdr, c.status)
	}
	body, rtype, st := c.run(h, ctx, req)
	if st != wire.StatusSuccess {
		return errorReply(hdr, st)
	}
	if body == nil {
		rtype = wire.RpyNull
	}
	out, err := wire.AppendReply(nil, wire.ReplyTo(hdr, rtype, wire.StatusSuccess), body)
	if err != nil {
		// A value the format cannot hold: chronyd would not have it.
		return errorReply(hdr, wire.StatusFailed)
	}
	return out, Answered
}

// minRequestLen is the least length of a request of cmd that can be
// answered (ok false for commands without a known layout). SERVER_STATS
// and NTP_DATA also accept the shorter requests of clients that know only
// their older reply types (SERVER_STATS3, NTP_DATA: their run picks the
// type by length).
func minRequestLen(cmd wire.Command) (int, bool) {
	switch cmd {
	case wire.CmdServerStats:
		return wire.RequestLenFor(cmd, wire.RpyServerStats3)
	case wire.CmdNTPData:
		return wire.RequestLenFor(cmd, wire.RpyNTPData)
	}
	return wire.RequestLen(cmd)
}

// errorReply is the 28-byte NULL reply with status st.
func errorReply(req wire.RequestHeader, st wire.Status) ([]byte, Verdict) {
	return wire.AppendErrorReply(nil, req, st), Refused
}
