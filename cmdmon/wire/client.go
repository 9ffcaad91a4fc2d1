package wire

import (
	"errors"
	"fmt"
)

// ErrMismatch is returned by CheckReply for a reply to another request
// (command or sequence differ): a client ignores it and keeps waiting.
var ErrMismatch = errors.New("cmdmon: reply to another request")

// StatusError is a reply whose status is not OK; its text is chronyc's
// ("503 No such source").
type StatusError struct{ Status Status }

func (e *StatusError) Error() string { return e.Status.String() }

// CheckReply does what chronyc does with a received datagram for the
// request req that expects a reply of type want (client.c): the header
// checks of ParseReplyHeader; the command and sequence must echo req's
// (ErrMismatch); a status other than SUCCESS, ACCESSALLOWED or
// ACCESSDENIED is a *StatusError; then the type must be want (ErrReplyType,
// chronyc's "508 Bad reply from daemon"). For SERVER_STATS and NTP_DATA,
// where two types are acceptable, pass want 0 and check h.Reply yourself.
func CheckReply(pkt []byte, req RequestHeader, want ReplyType) (ReplyHeader, error) {
	h, err := ParseReplyHeader(pkt)
	if err != nil {
		return h, err
	}
	if h.Command != req.Command || h.Sequence != req.Sequence {
		return h, fmt.Errorf("reply to %v #%d, sent %v #%d: %w", h.Command, h.Sequence, req.Command, req.Sequence, ErrMismatch)
	}
	if !h.Status.OK() {
		return h, &StatusError{h.Status}
	}
	if want != 0 && h.Reply != want {
		return h, fmt.Errorf("508 Bad reply from daemon: %v, want %v: %w", h.Reply, want, ErrReplyType)
	}
	return h, nil
}
