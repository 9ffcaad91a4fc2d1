package wire

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func addGoldenSeeds(f *testing.F, suffix string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*."+suffix+".bin"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzRequest parses network bytes as the control server will: header,
// then the body of the command. Never panics; what parses re-encodes to
// the same body.
func FuzzRequest(f *testing.F) {
	addGoldenSeeds(f, "req")
	f.Add(make([]byte, 28))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		h, err := ParseRequestHeader(pkt)
		if err != nil {
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrLong) && !errors.Is(err, ErrHeader) && !errors.Is(err, ErrVersion) {
				t.Fatalf("unexpected error %v", err)
			}
			if errors.Is(err, ErrVersion) && len(AppendErrorReply(nil, h, StatusBadPktVersion)) > len(pkt) {
				t.Fatal("error reply longer than the request")
			}
			return
		}
		if len(pkt) < MinRequestLen || len(pkt) > MaxRequestLen {
			t.Fatalf("accepted a %d-byte request", len(pkt))
		}
		rt, known := ReplyFor(h.Command)
		switch h.Command {
		case CmdServerStats:
			rt, known = ServerStatsReplyFor(len(pkt))
		case CmdNTPData:
			rt, known = NTPDataReplyFor(len(pkt))
		}
		if !known {
			return // INVALID or BADPKTLENGTH: a 28-byte reply, which fits
		}
		if n, _ := RequestLenFor(h.Command, rt); len(pkt) < n {
			return // BADPKTLENGTH
		}
		if ReplyLen(rt) > len(pkt) {
			t.Fatalf("%v: %v reply of %d bytes to a %d-byte request", h.Command, rt, ReplyLen(rt), len(pkt))
		}
		var body RequestBody
		switch h.Command {
		case CmdSourceData, CmdSourceStats, CmdSelectData:
			r, err := ParseIndexRequest(pkt)
			must(t, err)
			body = &r
		case CmdNTPData, CmdNTPSourceName:
			r, err := ParseAddrRequest(pkt)
			must(t, err)
			body = &r
		case CmdBurst:
			r, err := ParseBurstRequest(pkt)
			must(t, err)
			body = &r
		case CmdClientAccessesByIndex3:
			r, err := ParseClientAccessesRequest(pkt)
			must(t, err)
			body = &r
		}
		again, err := AppendRequestLen(nil, len(pkt), h.Command, h.Sequence, h.Attempt, body)
		must(t, err)
		h2, err := ParseRequestHeader(again)
		must(t, err)
		if h2 != h {
			t.Fatalf("header %+v re-encoded as %+v", h, h2)
		}
		var body2 RequestBody
		switch body.(type) {
		case *IndexRequest:
			r, _ := ParseIndexRequest(again)
			body2 = &r
		case *AddrRequest:
			r, _ := ParseAddrRequest(again)
			body2 = &r
		case *BurstRequest:
			r, _ := ParseBurstRequest(again)
			body2 = &r
		case *ClientAccessesRequest:
			r, _ := ParseClientAccessesRequest(again)
			body2 = &r
		}
		if diff := cmp.Diff(body, body2, ipEq); diff != "" {
			t.Fatalf("body re-encoded differently:\n%s", diff)
		}
	})
}

// FuzzReply parses network bytes as gnomonctl will. Never panics; what
// parses re-encodes to a reply that parses to the same body.
func FuzzReply(f *testing.F) {
	addGoldenSeeds(f, "rpy")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		h, body, err := ParseReply(pkt)
		if err != nil || body == nil {
			return
		}
		rb, ok := ptr(body).(ReplyBody)
		if !ok {
			t.Fatalf("%T is not a ReplyBody", body)
		}
		h.Version = Version // a BADPKTVERSION reply of another version has no body
		again, err := AppendReply(nil, h, rb)
		if err != nil {
			t.Fatalf("%v: re-encoding %+v: %v", h.Reply, body, err)
		}
		_, body2, err := ParseReply(again)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(body, body2, ipEq); diff != "" {
			t.Fatalf("%v re-encoded differently:\n%s", h.Reply, diff)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
