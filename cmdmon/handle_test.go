package cmdmon

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/cmdmon/wire"
	"github.com/gnomon-time/gnomon/report"
)

// fakeDiscipline serves fixed reports and records commands.
type fakeDiscipline struct {
	tracking   report.Tracking
	sources    []report.Source
	stats      []report.SourceStats
	selectData []report.SelectData
	ntpData    []report.NTPData
	burstTo    []netip.Prefix
	burstN     int
	steps      int
	resets     int
}

func (f *fakeDiscipline) Tracking() (report.Tracking, bool)        { return f.tracking, true }
func (f *fakeDiscipline) Sources(context.Context) []report.Source  { return f.sources }
func (f *fakeDiscipline) SourceStats() []report.SourceStats        { return f.stats }
func (f *fakeDiscipline) SelectData() []report.SelectData          { return f.selectData }
func (f *fakeDiscipline) NTPData(context.Context) []report.NTPData { return f.ntpData }
func (f *fakeDiscipline) MakeStep(context.Context) error           { f.steps++; return nil }
func (f *fakeDiscipline) ResetSources(context.Context) error       { f.resets++; return nil }
func (f *fakeDiscipline) Burst(_ context.Context, p netip.Prefix, n int) (int, error) {
	f.burstTo, f.burstN = append(f.burstTo, p), n
	asked := 0
	for _, s := range f.sources {
		if s.Addr.IsValid() && (!p.IsValid() || p.Contains(s.Addr)) {
			asked++
		}
	}
	return asked, nil
}

type fakeServer struct{ clients []report.Client }

func (f *fakeServer) ServerStats() report.ServerStats {
	return report.ServerStats{Received: 1000, Interleaved: 7, Authenticated: 5,
		Requests: []report.VerdictCount{{Verdict: "served", Count: 990}, {Verdict: "rate_limited", Count: 10}},
		NTS:      report.NTSStats{Authenticated: 30},
		NTSKE:    report.NTSKEStats{Accepted: 4, Dropped: 2}}
}

func (f *fakeServer) Clients(first, limit int, minHits uint32) report.ClientPage {
	p := report.ClientPage{Indices: len(f.clients), Next: first}
	for i := first; i < len(f.clients) && len(p.Clients) < limit; i++ {
		p.Next = i + 1
		if f.clients[i].NTPHits >= minHits {
			p.Clients = append(p.Clients, f.clients[i])
		}
	}
	return p
}

var (
	srcA = netip.MustParseAddr("192.0.2.1")
	srcB = netip.MustParseAddr("2001:db8::2")
)

func newFixture() (*Handler, *fakeDiscipline) {
	d := &fakeDiscipline{
		tracking: report.Tracking{Synchronized: true, Mode: report.SyncLocked, RefID: 0xC0000201, RefAddr: srcA,
			Stratum: 2, RefTime: time.Unix(1_800_000_000, 0), LastOffset: 250 * time.Microsecond,
			RMSOffset: 100 * time.Microsecond, FreqEstimatePPB: 2000, ResidualFreqPPB: 3, SkewPPB: 40,
			RootDelay: time.Millisecond, RootDispersion: 2 * time.Millisecond, UpdateInterval: 16 * time.Second},
		sources: []report.Source{
			{ID: "192.0.2.1", Addr: srcA, Mode: report.SourceServer, State: report.StateSelected, Stratum: 1,
				Poll: 4, Reach: 0o377, Sampled: true, LastRxAgo: 3 * time.Second,
				Offset: time.Millisecond, LastSampleOffset: 2 * time.Millisecond, Error: 5 * time.Millisecond},
			{ID: "[2001:db8::2]", Addr: srcB, Mode: report.SourceServer, State: report.StateCombined, Stratum: 2},
			{ID: "ntp.example.net", Mode: report.SourceServer, State: report.StateUnusable},
		},
		selectData: []report.SelectData{
			{ID: "192.0.2.1", Addr: srcA, StateChar: '*', Lo: -time.Millisecond, Hi: 3 * time.Millisecond, Weight: 0.75},
			{ID: "[2001:db8::2]", Addr: srcB, StateChar: '+'},
			{ID: "ntp.example.net", StateChar: '?'},
		},
		stats: []report.SourceStats{{ID: "192.0.2.1", Addr: srcA, Samples: 8, Fitted: true, Offset: time.Millisecond, ResidFreqPPB: 500},
			{ID: "[2001:db8::2]", Addr: srcB}, {ID: "ntp.example.net"}},
		ntpData: []report.NTPData{{ID: "192.0.2.1", Remote: netip.AddrPortFrom(srcA, 123), Stratum: 1, Version: 4, Mode: 4,
			Offset: -time.Millisecond, Sampled: true, TotalTx: 10, TotalRx: 9, TotalValid: 9, TotalGood: 8, TxKind: 'K', RxKind: 'K'}},
	}
	s := &fakeServer{}
	for i := range 11 {
		s.clients = append(s.clients, report.Client{Index: i, Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), NTPHits: uint32(i)})
	}
	return New(Config{Discipline: d, Server: s, Reload: func(context.Context) error { return nil }}), d
}

// request builds a request of cmd padded to n bytes (0: what a current
// chronyc sends).
func request(t testing.TB, cmd wire.Command, body wire.RequestBody, n int) []byte {
	t.Helper()
	var b []byte
	var err error
	if n == 0 {
		b, err = wire.AppendRequest(nil, cmd, 0x1234, 0, body)
	} else {
		b, err = wire.AppendRequestLen(nil, n, cmd, 0x1234, 0, body)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func status(t *testing.T, out []byte) (wire.ReplyHeader, bool) {
	t.Helper()
	if out == nil {
		return wire.ReplyHeader{}, false
	}
	h, err := wire.ParseReplyHeader(out)
	if err != nil && h.Status == 0 {
		t.Fatalf("reply does not parse: %v", err)
	}
	return h, true
}

func TestHandleChecksInChronydOrder(t *testing.T) {
	h, _ := newFixture()
	ctx := context.Background()
	tracking := request(t, wire.CmdTracking, nil, 0)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), tracking...)) }
	tests := []struct {
		name   string
		req    []byte
		access Access
		want   Verdict
		st     wire.Status
	}{
		{"short", tracking[:27], AccessSocket, DroppedLength, 0},
		{"long", append(append([]byte(nil), tracking...), make([]byte, 800)...), AccessSocket, DroppedLength, 0},
		{"reply type", mod(func(b []byte) []byte { b[1] = 2; return b }), AccessSocket, DroppedHeader, 0},
		{"reserved", mod(func(b []byte) []byte { b[3] = 1; return b }), AccessSocket, DroppedHeader, 0},
		{"version 5", mod(func(b []byte) []byte { b[0] = 5; return b }), AccessSocket, Refused, wire.StatusBadPktVersion},
		{"version 4", mod(func(b []byte) []byte { b[0] = 4; return b }), AccessSocket, DroppedVersion, 0},
		{"unknown command", mod(func(b []byte) []byte { b[5] = 200; return b }), AccessSocket, Refused, wire.StatusInvalid},
		{"obsolete command", mod(func(b []byte) []byte { b[5] = 38; return b }), AccessNetwork, Refused, wire.StatusInvalid},
		{"too short for tracking", tracking[:100], AccessSocket, Refused, wire.StatusBadPktLength},
		{"tracking", tracking, AccessNetwork, Answered, wire.StatusSuccess},
		{"serverstats over UDP", request(t, wire.CmdServerStats, nil, 0), AccessNetwork, Refused, wire.StatusUnauth},
		{"makestep over UDP", request(t, wire.CmdMakestep, nil, 0), AccessNetwork, Refused, wire.StatusUnauth},
		{"reset over UDP", request(t, wire.CmdResetSources, nil, 0), AccessNetwork, Refused, wire.StatusUnauth},
		{"unsupported write over the socket", mod(func(b []byte) []byte { b[5] = byte(wire.CmdOffline); return b }), AccessSocket, Refused, wire.StatusInvalid},
		{"unsupported write over UDP", mod(func(b []byte) []byte { b[5] = byte(wire.CmdOffline); return b }), AccessNetwork, Refused, wire.StatusUnauth},
		{"smoothing", request(t, wire.CmdSmoothing, nil, 0), AccessNetwork, Refused, wire.StatusNotEnabled},
		{"source out of range", request(t, wire.CmdSourceData, &wire.IndexRequest{Index: 3}, 0), AccessNetwork, Refused, wire.StatusNoSuchSource},
		{"negative source", request(t, wire.CmdSourceData, &wire.IndexRequest{Index: -1}, 0), AccessNetwork, Refused, wire.StatusNoSuchSource},
		{"clients reset", request(t, wire.CmdClientAccessesByIndex3, &wire.ClientAccessesRequest{NClients: 8, Reset: 1}, 0), AccessSocket, Refused, wire.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, v := h.Handle(ctx, tt.req, tt.access)
			if v != tt.want {
				t.Fatalf("verdict %v, want %v", v, tt.want)
			}
			if len(out) > len(tt.req) {
				t.Fatalf("reply of %d bytes to a request of %d", len(out), len(tt.req))
			}
			hdr, ok := status(t, out)
			if ok != (tt.want == Answered || tt.want == Refused) {
				t.Fatalf("reply sent: %v", ok)
			}
			if ok && (hdr.Status != tt.st || hdr.Sequence != 0x1234) {
				t.Errorf("status %v sequence %#x, want %v 0x1234", hdr.Status, hdr.Sequence, tt.st)
			}
		})
	}
}

func TestReplyTypeFitsRequest(t *testing.T) {
	h, _ := newFixture()
	addr := &wire.AddrRequest{Addr: wire.IPAddr{Addr: srcA, Family: wire.FamilyInet4}}
	for _, tt := range []struct {
		cmd  wire.Command
		body wire.RequestBody
		n    int
		want wire.ReplyType
		st   wire.Status
	}{
		{wire.CmdServerStats, nil, 72, wire.RpyServerStats3, wire.StatusSuccess},
		{wire.CmdServerStats, nil, 195, wire.RpyServerStats3, wire.StatusSuccess},
		{wire.CmdServerStats, nil, 196, wire.RpyServerStats4, wire.StatusSuccess},
		{wire.CmdServerStats, nil, 71, wire.RpyNull, wire.StatusBadPktLength},
		{wire.CmdNTPData, addr, 152, wire.RpyNTPData, wire.StatusSuccess},
		{wire.CmdNTPData, addr, 172, wire.RpyNTPData2, wire.StatusSuccess},
		{wire.CmdNTPData, addr, 151, wire.RpyNull, wire.StatusBadPktLength},
	} {
		out, _ := h.Handle(context.Background(), request(t, tt.cmd, tt.body, tt.n), AccessSocket)
		hdr, _ := status(t, out)
		if hdr.Reply != tt.want || hdr.Status != tt.st || len(out) > tt.n {
			t.Errorf("%v in %d bytes: reply %v status %v (%d bytes), want %v %v", tt.cmd, tt.n, hdr.Reply, hdr.Status, len(out), tt.want, tt.st)
		}
	}
}

// Chrony's signs: sources and tracking print local − reference, the
// frequency is the uncorrected clock's error.
func TestMappingSigns(t *testing.T) {
	h, d := newFixture()
	ctx := context.Background()
	out, _ := h.Handle(ctx, request(t, wire.CmdTracking, nil, 0), AccessNetwork)
	tr, err := wire.ParseTracking(out)
	if err != nil {
		t.Fatal(err)
	}
	near := func(got, want float64) bool {
		return got-want < 1e-6*max(1, -want, want) && want-got < 1e-6*max(1, -want, want)
	}
	if tr.Stratum != 2 || tr.RefID != 0xC0000201 || tr.Addr.Addr != srcA || !near(tr.LastOffset, -250e-6) ||
		!near(tr.FreqPPM, -2) || !near(tr.ResidFreqPPM, -0.003) || !near(tr.SkewPPM, 0.04) || !near(tr.RootDispersion, 2e-3) {
		t.Errorf("tracking %+v", tr)
	}
	d.tracking.Synchronized = false
	out, _ = h.Handle(ctx, request(t, wire.CmdTracking, nil, 0), AccessNetwork)
	if tr, _ := wire.ParseTracking(out); tr.Stratum != 0 || tr.LeapStatus != uint16(clock.LeapUnsync) {
		t.Errorf("unsynchronised tracking: stratum %d leap %d, want 0 3", tr.Stratum, tr.LeapStatus)
	}

	out, _ = h.Handle(ctx, request(t, wire.CmdSourceData, &wire.IndexRequest{Index: 0}, 0), AccessNetwork)
	sd, err := wire.ParseSourceData(out)
	if err != nil {
		t.Fatal(err)
	}
	if !near(sd.LatestMeas, -1e-3) || !near(sd.OrigLatestMeas, -2e-3) || !near(sd.LatestMeasErr, 5e-3) ||
		sd.State != sdSelected || sd.Reachability != 0o377 || sd.SinceSample != 3 || sd.Poll != 4 {
		t.Errorf("source 0 %+v", sd)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdSourceData, &wire.IndexRequest{Index: 1}, 0), AccessNetwork)
	if sd, _ := wire.ParseSourceData(out); sd.Addr.Addr != srcB || sd.State != sdUnselected || sd.SinceSample != never {
		t.Errorf("source 1 %+v", sd)
	}
	// The unresolved source is named by ID, and NTP_SOURCE_NAME finds it.
	out, _ = h.Handle(ctx, request(t, wire.CmdSourceData, &wire.IndexRequest{Index: 2}, 0), AccessNetwork)
	sd, _ = wire.ParseSourceData(out)
	if sd.Addr.Family != wire.FamilyID {
		t.Fatalf("unresolved source's address %+v, want an ID", sd.Addr)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdNTPSourceName, &wire.AddrRequest{Addr: sd.Addr}, 0), AccessNetwork)
	if n, err := wire.ParseNTPSourceName(out); err != nil || n.Name != "ntp.example.net" {
		t.Errorf("source name of %+v: %q %v", sd.Addr, n.Name, err)
	}

	out, _ = h.Handle(ctx, request(t, wire.CmdSelectData, &wire.IndexRequest{Index: 0}, 0), AccessSocket)
	sel, err := wire.ParseSelectData(out)
	if err != nil || sel.StateChar != '*' || !near(sel.LoLimit, -3e-3) || !near(sel.HiLimit, 1e-3) {
		t.Errorf("selectdata %+v %v: want interval [−3 ms, +1 ms]", sel, err)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdSourceStats, &wire.IndexRequest{Index: 0}, 0), AccessNetwork)
	st, err := wire.ParseSourceStats(out)
	if err != nil || st.NSamples != 8 || !near(st.EstOffset, -1e-3) || !near(st.ResidFreqPPM, -0.5) {
		t.Errorf("sourcestats %+v %v", st, err)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdNTPData, &wire.AddrRequest{Addr: wire.IPAddr{Addr: srcA, Family: wire.FamilyInet4}}, 0), AccessSocket)
	nd, err := wire.ParseNTPData(out)
	if err != nil || !near(nd.Offset, -1e-3) || nd.RemotePort != 123 || nd.TotalGoodCount != 8 || nd.Flags&ntpTests != ntpTests {
		t.Errorf("ntpdata %+v %v", nd, err)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdActivity, nil, 0), AccessNetwork)
	if a, _ := wire.ParseActivity(out); a.Online != 2 || a.Unresolved != 1 {
		t.Errorf("activity %+v", a)
	}
}

func TestCommands(t *testing.T) {
	h, d := newFixture()
	ctx := context.Background()
	send := func(cmd wire.Command, body wire.RequestBody) wire.Status {
		out, _ := h.Handle(ctx, request(t, cmd, body, 0), AccessSocket)
		hdr, _ := status(t, out)
		return hdr.Status
	}
	if st := send(wire.CmdBurst, &wire.BurstRequest{NGood: 4, NTotal: 8}); st != wire.StatusSuccess || d.burstTo[0].IsValid() || d.burstN != 8 {
		t.Errorf("burst to all: %v, prefix %v n %d", st, d.burstTo, d.burstN)
	}
	mask := wire.IPAddr{Addr: netip.MustParseAddr("255.255.255.0"), Family: wire.FamilyInet4}
	if st := send(wire.CmdBurst, &wire.BurstRequest{Mask: mask, Addr: wire.IPAddr{Addr: srcA, Family: wire.FamilyInet4}, NGood: 2, NTotal: 2}); st != wire.StatusSuccess || d.burstTo[1] != netip.MustParsePrefix("192.0.2.0/24") {
		t.Errorf("burst to 192.0.2.1/24: %v, prefix %v", st, d.burstTo)
	}
	if st := send(wire.CmdBurst, &wire.BurstRequest{Mask: wire.IPAddr{Addr: netip.MustParseAddr("255.0.255.0"), Family: wire.FamilyInet4}, Addr: wire.IPAddr{Addr: srcA, Family: wire.FamilyInet4}, NGood: 2, NTotal: 2}); st != wire.StatusInvalid {
		t.Errorf("burst with a non-contiguous mask: %v", st)
	}
	other := wire.IPAddr{Addr: netip.MustParseAddr("198.51.100.1"), Family: wire.FamilyInet4}
	full := wire.IPAddr{Addr: netip.MustParseAddr("255.255.255.255"), Family: wire.FamilyInet4}
	if st := send(wire.CmdBurst, &wire.BurstRequest{Mask: full, Addr: other, NGood: 2, NTotal: 2}); st != wire.StatusNoSuchSource {
		t.Errorf("burst to no source: %v", st)
	}
	if st := send(wire.CmdMakestep, nil); st != wire.StatusSuccess || d.steps != 1 {
		t.Errorf("makestep: %v, steps %d", st, d.steps)
	}
	if st := send(wire.CmdResetSources, nil); st != wire.StatusSuccess || d.resets != 1 {
		t.Errorf("reset sources: %v, resets %d", st, d.resets)
	}
	if st := send(wire.CmdReloadSources, nil); st != wire.StatusSuccess {
		t.Errorf("reload: %v", st)
	}

	// Clients page 8 at a time, from first_index, skipping below min hits.
	out, _ := h.Handle(ctx, request(t, wire.CmdClientAccessesByIndex3, &wire.ClientAccessesRequest{FirstIndex: 0, NClients: 8, MinHits: 2}, 0), AccessSocket)
	c, err := wire.ParseClientAccesses(out)
	if err != nil || c.NIndices != 11 || len(c.Clients) != 8 || c.NextIndex != 10 || c.Clients[0].NTPHits != 2 {
		t.Errorf("clients page 1: %+v %v", c, err)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdClientAccessesByIndex3, &wire.ClientAccessesRequest{FirstIndex: c.NextIndex, NClients: 8}, 0), AccessSocket)
	if c, err := wire.ParseClientAccesses(out); err != nil || len(c.Clients) != 1 || c.NextIndex != 11 {
		t.Errorf("clients page 2: %+v %v", c, err)
	}
	// serverstats counts the commands: everything above was answered,
	// and (as chronyd does) itself.
	out, _ = h.Handle(ctx, request(t, wire.CmdServerStats, nil, 0), AccessSocket)
	ss, err := wire.ParseServerStats(out)
	if err != nil || ss.NTPHits != 1000 || ss.NTPDrops != 10 || ss.NTPInterleavedHits != 7 || ss.CmdHits != 10 || ss.CmdDrops != 0 ||
		ss.NKEHits != 4 || ss.NKEDrops != 2 || ss.NTPAuthHits != 35 {
		t.Errorf("serverstats %+v %v", ss, err)
	}
	h.Handle(ctx, []byte{1, 2, 3}, AccessSocket)
	if st := h.Stats(); st.Dropped != 1 || st.Received != 11 {
		t.Errorf("command counters %+v, want 11 received (9 commands, serverstats, a runt), 1 dropped", st)
	}
	// By verdict: 2 refusals (non-contiguous mask, no such source), 8
	// answered, the runt dropped for its length.
	want := map[string]uint64{"answered": 8, "refused": 2, "dropped_length": 1}
	for _, v := range h.ControlStats().Requests {
		if v.Count != want[v.Verdict] {
			t.Errorf("requests %s = %d, want %d", v.Verdict, v.Count, want[v.Verdict])
		}
	}
}

// No request of any command and length gets a reply longer than itself.
func TestNoAmplification(t *testing.T) {
	h, _ := newFixture()
	bodies := map[wire.Command]wire.RequestBody{
		wire.CmdSourceData: &wire.IndexRequest{}, wire.CmdSourceStats: &wire.IndexRequest{}, wire.CmdSelectData: &wire.IndexRequest{},
		wire.CmdNTPData:                &wire.AddrRequest{Addr: wire.IPAddr{Addr: srcA, Family: wire.FamilyInet4}},
		wire.CmdNTPSourceName:          &wire.AddrRequest{Addr: wire.IPAddr{Addr: srcA, Family: wire.FamilyInet4}},
		wire.CmdBurst:                  &wire.BurstRequest{NGood: 1, NTotal: 1},
		wire.CmdClientAccessesByIndex3: &wire.ClientAccessesRequest{NClients: 8},
	}
	full := make([]byte, wire.MaxRequestLen)
	for cmd := wire.Command(0); cmd <= wire.CmdLocal3+2; cmd++ {
		for _, a := range []Access{AccessNetwork, AccessSocket} {
			for n := wire.MinRequestLen; n <= wire.MaxRequestLen; n++ {
				hdr := wire.NewRequestHeader(cmd, uint32(n), 0)
				hdr.Put(full)
				clear(full[wire.RequestHeaderLen:])
				if b, ok := bodies[cmd]; ok {
					_ = b.PutRequest(full[:max(n, 68)])
				}
				out, _ := h.Handle(context.Background(), full[:n], a)
				if len(out) > n {
					t.Fatalf("%v in %d bytes (access %d): reply of %d", cmd, n, a, len(out))
				}
			}
		}
	}
}
