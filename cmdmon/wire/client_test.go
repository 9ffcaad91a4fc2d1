package wire

import (
	"errors"
	"testing"
)

func TestCheckReply(t *testing.T) {
	req := NewRequestHeader(CmdTracking, 42, 0)
	ok, err := AppendReply(nil, ReplyTo(req, RpyTracking, StatusSuccess), &Tracking{})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := CheckReply(ok, req, RpyTracking); err != nil || h.Reply != RpyTracking {
		t.Errorf("good reply: %+v %v", h, err)
	}
	if _, err := CheckReply(ok, NewRequestHeader(CmdTracking, 43, 0), RpyTracking); !errors.Is(err, ErrMismatch) {
		t.Errorf("other sequence: %v, want ErrMismatch", err)
	}
	if _, err := CheckReply(ok, NewRequestHeader(CmdActivity, 42, 0), RpyActivity); !errors.Is(err, ErrMismatch) {
		t.Errorf("other command: %v, want ErrMismatch", err)
	}
	if _, err := CheckReply(ok, req, RpySourceStats); !errors.Is(err, ErrReplyType) {
		t.Errorf("other type: %v, want ErrReplyType", err)
	}
	var se *StatusError
	_, err = CheckReply(AppendErrorReply(nil, req, StatusUnauth), req, RpyTracking)
	if !errors.As(err, &se) || se.Status != StatusUnauth || err.Error() != "501 Not authorised" {
		t.Errorf("UNAUTH: %v", err)
	}
	// chronyc goes on to the type check for ACCESSALLOWED/DENIED.
	if _, err := CheckReply(AppendErrorReply(nil, req, StatusAccessDenied), req, RpyTracking); !errors.Is(err, ErrReplyType) {
		t.Errorf("ACCESSDENIED NULL reply: %v, want ErrReplyType", err)
	}
}
