package cmdmon

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
	"github.com/gnomon-time/gnomon/report"
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

// BURST's mask and address become the prefix Discipline.Burst gets;
// the count is NTotal, at least NGood, at most 64.
func TestBurstPrefix(t *testing.T) {
	v4 := func(s string) wire.IPAddr { return wire.IPAddr{Addr: netip.MustParseAddr(s), Family: wire.FamilyInet4} }
	v6 := func(s string) wire.IPAddr { return wire.IPAddr{Addr: netip.MustParseAddr(s), Family: wire.FamilyInet6} }
	for _, c := range []struct {
		name       string
		mask, addr wire.IPAddr
		good, tot  int32
		st         wire.Status
		prefix     string // "" for every source
		n          int
	}{
		{"all", wire.IPAddr{}, wire.IPAddr{}, 4, 8, wire.StatusSuccess, "", 8},
		{"one v4", v4("255.255.255.255"), v4("192.0.2.1"), 1, 1, wire.StatusSuccess, "192.0.2.1/32", 1},
		{"v6 /64", v6("ffff:ffff:ffff:ffff::"), v6("2001:db8::77"), 2, 1, wire.StatusSuccess, "2001:db8::/64", 2},
		{"any v4", v4("0.0.0.0"), v4("203.0.113.9"), 0, 0, wire.StatusSuccess, "0.0.0.0/0", 1},
		{"capped", wire.IPAddr{}, wire.IPAddr{}, 1000, 2000, wire.StatusSuccess, "", 64},
		{"no v6 source there", v6("ffff::"), v6("3fff::1"), 1, 1, wire.StatusNoSuchSource, "3fff::/16", 1},
		{"non-contiguous v6", v6("ffff:0:ffff::"), v6("2001:db8::2"), 1, 1, wire.StatusInvalid, "-", 0},
		{"families differ", v4("255.255.255.0"), v6("2001:db8::2"), 1, 1, wire.StatusInvalid, "-", 0},
		{"negative count", wire.IPAddr{}, wire.IPAddr{}, -1, 4, wire.StatusInvalid, "-", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, d := newFixture()
			out, _ := h.Handle(context.Background(), request(t, wire.CmdBurst,
				&wire.BurstRequest{Mask: c.mask, Addr: c.addr, NGood: c.good, NTotal: c.tot}, 0), AccessSocket)
			hdr, _ := status(t, out)
			if hdr.Status != c.st {
				t.Errorf("status %v, want %v", hdr.Status, c.st)
			}
			if c.prefix == "-" {
				if len(d.burstTo) != 0 {
					t.Errorf("Burst called with %v", d.burstTo)
				}
				return
			}
			var want netip.Prefix
			if c.prefix != "" {
				want = netip.MustParsePrefix(c.prefix)
			}
			if len(d.burstTo) != 1 || d.burstTo[0] != want || d.burstN != c.n {
				t.Errorf("Burst(%v, %d), want (%v, %d)", d.burstTo, d.burstN, want, c.n)
			}
		})
	}
}

// The discipline's failures are FAILED, not a crash or a success.
func TestCommandFailures(t *testing.T) {
	h := New(Config{Discipline: failing{}})
	for _, cmd := range []wire.Command{wire.CmdMakestep, wire.CmdResetSources, wire.CmdReloadSources} {
		out, _ := h.Handle(context.Background(), request(t, cmd, nil, 0), AccessSocket)
		if hdr, _ := status(t, out); hdr.Status != wire.StatusFailed {
			t.Errorf("%v: %v, want FAILED", cmd, hdr.Status)
		}
	}
	out, _ := h.Handle(context.Background(), request(t, wire.CmdBurst, &wire.BurstRequest{NGood: 1, NTotal: 1}, 0), AccessSocket)
	if hdr, _ := status(t, out); hdr.Status != wire.StatusFailed {
		t.Errorf("burst: %v, want FAILED", hdr.Status)
	}
	// Before the first snapshot and without a server: tracking is
	// unsynchronised, serverstats counts commands only, clients is empty.
	out, _ = h.Handle(context.Background(), request(t, wire.CmdTracking, nil, 0), AccessNetwork)
	if tr, err := wire.ParseTracking(out); err != nil || tr.Stratum != 0 || tr.LeapStatus != 3 || !tr.RefTime.IsZero() {
		t.Errorf("tracking with no snapshot: %+v %v", tr, err)
	}
	out, _ = h.Handle(context.Background(), request(t, wire.CmdServerStats, nil, 0), AccessSocket)
	if ss, err := wire.ParseServerStats(out); err != nil || ss.NTPHits != 0 || ss.CmdHits != 6 {
		t.Errorf("serverstats without a server: %+v %v", ss, err)
	}
	out, _ = h.Handle(context.Background(), request(t, wire.CmdClientAccessesByIndex3, &wire.ClientAccessesRequest{NClients: 8}, 0), AccessSocket)
	if c, err := wire.ParseClientAccesses(out); err != nil || c.NIndices != 0 || len(c.Clients) != 0 {
		t.Errorf("clients without a server: %+v %v", c, err)
	}
}

type failing struct{}

var errFail = errors.New("no")

func (failing) Tracking() (report.Tracking, bool)                     { return report.Tracking{}, false }
func (failing) Sources(context.Context) []report.Source               { return nil }
func (failing) SourceStats() []report.SourceStats                     { return nil }
func (failing) SelectData() []report.SelectData                       { return nil }
func (failing) NTPData(context.Context) []report.NTPData              { return nil }
func (failing) Burst(context.Context, netip.Prefix, int) (int, error) { return 0, errFail }
func (failing) MakeStep(context.Context) error                        { return errFail }
func (failing) ResetSources(context.Context) error                    { return errFail }
