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
	} {
		b := request(f, c.cmd, c.body, 0)
		f.Add(b, false)
		f.Add(b, true)
	}
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
	})
}
