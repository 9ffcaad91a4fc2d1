package cmdmon

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// chronyOpen are the request codes chronyd (cmdmon.c's permissions table)
// serves to the network (PERMIT_OPEN), written out from chrony's table
// rather than from lookup: NULL, LOGON, N_SOURCES, SOURCE_DATA, TRACKING,
// SOURCESTATS, RTCREPORT, MANUAL_LIST, ACTIVITY, SMOOTHING,
// NTP_SOURCE_NAME.
var chronyOpen = map[wire.Command]bool{0: true, 10: true, 14: true, 15: true, 33: true, 34: true, 35: true,
	41: true, 44: true, 51: true, 65: true}

// chronyGone are the codes whose request length chrony's pktlength.c
// leaves 0 (answered INVALID before any permission check): LOCAL,
// ADD_SERVER/PEER 1–3, DOFFSET, the old client lists, LOCAL2.
var chronyGone = map[wire.Command]bool{12: true, 27: true, 28: true, 32: true, 38: true, 39: true, 40: true,
	55: true, 56: true, 58: true, 59: true, 60: true, 61: true}

// rawRequest is an 860-byte request of any code with a zero body.
func rawRequest(cmd wire.Command, n int) []byte {
	b := make([]byte, n)
	wire.NewRequestHeader(cmd, 0xCAFE0001, 0).Put(b)
	return b
}

// Every code 0…80 over both transports: unknown and obsolete codes are
// INVALID everywhere; over the network everything outside chrony's open
// set is UNAUTH and nothing inside it is; over the socket nothing is
// UNAUTH. Command and sequence are echoed in every reply.
func TestPermissionsEveryCode(t *testing.T) {
	h, _ := newFixture()
	for cmd := wire.Command(0); cmd <= 80; cmd++ {
		for _, a := range []Access{AccessNetwork, AccessSocket} {
			req := rawRequest(cmd, wire.MaxRequestLen)
			out, v := h.Handle(context.Background(), req, a)
			if out == nil {
				t.Errorf("code %d access %d: no reply (%v)", cmd, a, v)
				continue
			}
			hdr, err := wire.ParseReplyHeader(out)
			if err != nil && hdr.Status == 0 {
				t.Fatalf("code %d: %v", cmd, err)
			}
			if hdr.Command != cmd || hdr.Sequence != 0xCAFE0001 || hdr.Version != wire.Version {
				t.Errorf("code %d: reply header %+v does not echo the request", cmd, hdr)
			}
			var want wire.Status
			switch {
			case cmd > wire.CmdLocal3 || chronyGone[cmd]:
				want = wire.StatusInvalid
			case a == AccessNetwork && !chronyOpen[cmd]:
				want = wire.StatusUnauth
			}
			if want != 0 && hdr.Status != want {
				t.Errorf("code %d access %d: status %v, want %v", cmd, a, hdr.Status, want)
			}
			if want == 0 && hdr.Status == wire.StatusUnauth {
				t.Errorf("code %d access %d: not authorised, chronyd allows it", cmd, a)
			}
		}
	}
}

// The commands the brief names, each at the length a current chronyc
// sends: refused over UDP, served over the socket.
func TestSocketOnlyCommands(t *testing.T) {
	h, _ := newFixture()
	addr := &wire.AddrRequest{Addr: wire.IPAddr{Addr: srcA, Family: wire.FamilyInet4}}
	for _, c := range []struct {
		cmd  wire.Command
		body wire.RequestBody
		open bool
	}{
		{wire.CmdServerStats, nil, false},
		{wire.CmdNTPData, addr, false},
		{wire.CmdSelectData, &wire.IndexRequest{}, false},
		{wire.CmdClientAccessesByIndex3, &wire.ClientAccessesRequest{NClients: 8}, false},
		{wire.CmdBurst, &wire.BurstRequest{NGood: 1, NTotal: 1}, false},
		{wire.CmdMakestep, nil, false},
		{wire.CmdResetSources, nil, false},
		{wire.CmdReloadSources, nil, false},
		{wire.CmdTracking, nil, true},
		{wire.CmdNSources, nil, true},
		{wire.CmdSourceData, &wire.IndexRequest{Index: 1}, true},
		{wire.CmdSourceStats, &wire.IndexRequest{Index: 0}, true},
		{wire.CmdActivity, nil, true},
		{wire.CmdNTPSourceName, addr, true},
	} {
		for _, a := range []Access{AccessNetwork, AccessSocket} {
			out, v := h.Handle(context.Background(), request(t, c.cmd, c.body, 0), a)
			hdr, _ := status(t, out)
			want := wire.StatusSuccess
			if a == AccessNetwork && !c.open {
				want = wire.StatusUnauth
			}
			if hdr.Status != want {
				t.Errorf("%v access %d: status %v (%v), want %v", c.cmd, a, hdr.Status, v, want)
			}
			if wantType, _ := wire.ReplyFor(c.cmd); want == wire.StatusSuccess && hdr.Reply != wantType {
				t.Errorf("%v access %d: reply type %v, want %v", c.cmd, a, hdr.Reply, wantType)
			}
		}
	}
}

// chronyd checks the command's length before the permission and before
// the command runs: a SERVER_STATS or NTP_DATA too short for even the
// older reply type is BADPKTLENGTH over UDP too, and an NTP_DATA naming
// no source is BADPKTLENGTH, not NOSUCHSOURCE, when it is too short.
func TestLengthBeforePermission(t *testing.T) {
	h, _ := newFixture()
	unknown := &wire.AddrRequest{Addr: wire.IPAddr{Addr: srcB, Family: wire.FamilyInet6}}
	known := &wire.AddrRequest{Addr: wire.IPAddr{Addr: srcA, Family: wire.FamilyInet4}}
	for _, c := range []struct {
		name   string
		cmd    wire.Command
		body   wire.RequestBody
		n      int
		access Access
	}{
		{"serverstats 71 over UDP", wire.CmdServerStats, nil, 71, AccessNetwork},
		{"serverstats 28 over UDP", wire.CmdServerStats, nil, 28, AccessNetwork},
		{"ntpdata 151 over UDP", wire.CmdNTPData, known, 151, AccessNetwork},
		{"ntpdata 151 no such source", wire.CmdNTPData, unknown, 151, AccessSocket},
		{"ntpdata 40 no such source", wire.CmdNTPData, unknown, 40, AccessSocket},
		{"selectdata 75 over UDP", wire.CmdSelectData, &wire.IndexRequest{}, 75, AccessNetwork},
		{"clients 519 over UDP", wire.CmdClientAccessesByIndex3, &wire.ClientAccessesRequest{NClients: 8}, 519, AccessNetwork},
		{"sourcedata 75 out of range", wire.CmdSourceData, &wire.IndexRequest{Index: 9}, 75, AccessNetwork},
		{"source name 283", wire.CmdNTPSourceName, known, 283, AccessNetwork},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _ := h.Handle(context.Background(), request(t, c.cmd, c.body, c.n), c.access)
			if hdr, _ := status(t, out); hdr.Status != wire.StatusBadPktLength || len(out) != wire.ReplyHeaderLen {
				t.Errorf("status %v (%d bytes), want BADPKTLENGTH in 28", hdr.Status, len(out))
			}
		})
	}
}

// Versions: 6 is served, ≥ 5 gets BADPKTVERSION in a version-6 reply,
// below 5 silence — checked before the command, so even an unknown
// command of version 5 gets BADPKTVERSION.
func TestVersions(t *testing.T) {
	h, _ := newFixture()
	for _, c := range []struct {
		version uint8
		cmd     wire.Command
		want    wire.Status
		reply   bool
	}{
		{1, wire.CmdTracking, 0, false},
		{4, wire.CmdTracking, 0, false},
		{5, wire.CmdTracking, wire.StatusBadPktVersion, true},
		{5, 999, wire.StatusBadPktVersion, true},
		{7, wire.CmdTracking, wire.StatusBadPktVersion, true},
		{255, wire.CmdMakestep, wire.StatusBadPktVersion, true},
		{6, 999, wire.StatusInvalid, true},
	} {
		req := rawRequest(c.cmd, 104)
		req[0] = c.version
		out, v := h.Handle(context.Background(), req, AccessNetwork)
		if (out != nil) != c.reply {
			t.Errorf("version %d: reply %v (%v)", c.version, out != nil, v)
			continue
		}
		if out == nil {
			if v != DroppedVersion {
				t.Errorf("version %d: verdict %v, want dropped_version", c.version, v)
			}
			continue
		}
		if out[0] != wire.Version || binary.BigEndian.Uint16(out[8:]) != uint16(c.want) || len(out) != wire.ReplyHeaderLen {
			t.Errorf("version %d: reply % x, want a 28-byte version-6 reply with status %v", c.version, out, c.want)
		}
	}
}
