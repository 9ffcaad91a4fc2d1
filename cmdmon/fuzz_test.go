package cmdmon

import (
	"context"
	"testing"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// FuzzHandle: whatever arrives, Handle never panics, never answers with
// more bytes than it got, and answers nothing shorter than a reply header.
func FuzzHandle(f *testing.F) {
	for _, c := range []struct {
		cmd  wire.Command
		body wire.RequestBody
	}{
		{wire.CmdTracking, nil}, {wire.CmdNSources, nil}, {wire.CmdSourceData, &wire.IndexRequest{Index: 1}},
		{wire.CmdSourceStats, &wire.IndexRequest{}}, {wire.CmdSelectData, &wire.IndexRequest{Index: 2}},
		{wire.CmdNTPData, &wire.AddrRequest{Addr: wire.IPAddr{Addr: srcA, Family: wire.FamilyInet4}}},
		{wire.CmdNTPSourceName, &wire.AddrRequest{Addr: wire.IPAddr{ID: 3, Family: wire.FamilyID}}},
		{wire.CmdServerStats, nil}, {wire.CmdActivity, nil}, {wire.CmdMakestep, nil}, {wire.CmdResetSources, nil},
		{wire.CmdBurst, &wire.BurstRequest{NGood: 1, NTotal: 4}},
		{wire.CmdClientAccessesByIndex3, &wire.ClientAccessesRequest{FirstIndex: 5, NClients: 8}},
		{wire.CmdNull, nil}, {wire.CmdReloadSources, nil}, {wire.CmdSmoothing, nil},
		{wire.CmdBurst, &wire.BurstRequest{Mask: wire.IPAddr{Addr: srcB, Family: wire.FamilyInet6},
			Addr: wire.IPAddr{Addr: srcB, Family: wire.FamilyInet6}, NGood: 2, NTotal: 2}},
	} {
		b := request(f, c.cmd, c.body, 0)
		f.Add(b, false)
		f.Add(b, true)
	}
	// Old clients' lengths, and a request of every unsupported code.
	f.Add(request(f, wire.CmdServerStats, nil, 72), true)
	f.Add(request(f, wire.CmdNTPData, &wire.AddrRequest{Addr: wire.IPAddr{Addr: srcA, Family: wire.FamilyInet4}}, 152), true)
	f.Add(rawRequest(wire.CmdOffline, 60), true)
	f.Fuzz(func(t *testing.T, req []byte, socket bool) {
		h, _ := newFixture()
		a := AccessNetwork
		if socket {
			a = AccessSocket
		}
		out, v := h.Handle(context.Background(), req, a)
		if len(out) > len(req) {
			t.Fatalf("reply of %d bytes to %d", len(out), len(req))
		}
		if out != nil && (len(out) < wire.ReplyHeaderLen || len(req) < wire.MinRequestLen) {
			t.Fatalf("reply of %d bytes to %d (verdict %v)", len(out), len(req), v)
		}
		if (out == nil) != (v == DroppedLength || v == DroppedHeader || v == DroppedVersion) {
			t.Fatalf("verdict %v with reply %v", v, out != nil)
		}
		if out == nil {
			return
		}
		// A reply echoes the request's command and sequence, is a
		// well-formed version-6 reply, and is as long as its type says.
		hdr, err := wire.ParseReplyHeader(out)
		if err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		rq, _ := wire.ParseRequestHeader(req)
		if hdr.Command != rq.Command || hdr.Sequence != rq.Sequence {
			t.Fatalf("reply %+v to request %+v", hdr, rq)
		}
		if n := wire.ReplyLen(hdr.Reply); n != len(out) || (hdr.Status != wire.StatusSuccess && n != wire.ReplyHeaderLen) {
			t.Fatalf("reply type %v status %v in %d bytes", hdr.Reply, hdr.Status, len(out))
		}
	})
}
