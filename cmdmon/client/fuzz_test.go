package client

import (
	"testing"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// FuzzAccept feeds arbitrary datagrams to the client's acceptance path
// (header, echo, length, status, type, then the body parser the client
// would use): nothing panics, and an accepted reply echoes the request.
func FuzzAccept(f *testing.F) {
	req := wire.NewRequestHeader(wire.CmdTracking, 0x01020304, 0)
	good, _ := wire.AppendReply(nil, wire.ReplyTo(req, wire.RpyTracking, wire.StatusSuccess), &wire.Tracking{Stratum: 2})
	f.Add(good)
	f.Add(wire.AppendErrorReply(nil, req, wire.StatusUnauth))
	f.Add(good[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		v := accept(b, req)
		if v != replyOK {
			return
		}
		h, _ := wire.ParseReplyHeader(b)
		if h.Command != req.Command || h.Sequence != req.Sequence {
			t.Fatalf("accepted a reply to %v #%d", h.Command, h.Sequence)
		}
		if out, _, err := check(b, req, []wire.ReplyType{wire.RpyTracking}); err == nil {
			if _, err := wire.ParseTracking(out); err != nil {
				t.Fatalf("accepted TRACKING reply does not parse: %v", err)
			}
		}
	})
}
