package wire

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The sizes table of ntp.md §6.3 (chrony's pktlength.c): request command,
// data end, request size, reply type, reply size.
func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		cmd            Command
		dataEnd, reqSz int
		rt             ReplyType
		rpySz          int
	}{
		{CmdNull, 20, 28, RpyNull, 28},
		{CmdNSources, 20, 32, RpyNSources, 32},
		{CmdSourceData, 24, 76, RpySourceData, 76},
		{CmdTracking, 20, 104, RpyTracking, 104},
		{CmdSourceStats, 24, 84, RpySourceStats, 84},
		{CmdActivity, 20, 48, RpyActivity, 48},
		{CmdSmoothing, 20, 52, RpySmoothing, 52},
		{CmdServerStats, 20, 196, RpyServerStats4, 196},
		{CmdNTPData, 40, 172, RpyNTPData2, 172},
		{CmdNTPSourceName, 40, 284, RpyNTPSourceName, 284},
		{CmdResetSources, 20, 28, RpyNull, 28},
		{CmdBurst, 68, 68, RpyNull, 28},
		{CmdClientAccessesByIndex3, 36, 520, RpyClientAccessesByIndex3, 520},
		{CmdSelectData, 24, 76, RpySelectData, 76},
	} {
		if d, ok := RequestDataLen(tc.cmd); !ok || d != tc.dataEnd {
			t.Errorf("RequestDataLen(%v) = %d %v, want %d", tc.cmd, d, ok, tc.dataEnd)
		}
		if rt, ok := ReplyFor(tc.cmd); !ok || rt != tc.rt {
			t.Errorf("ReplyFor(%v) = %v %v, want %v", tc.cmd, rt, ok, tc.rt)
		}
		if n, ok := RequestLen(tc.cmd); !ok || n != tc.reqSz {
			t.Errorf("RequestLen(%v) = %d %v, want %d", tc.cmd, n, ok, tc.reqSz)
		}
		if n := ReplyLen(tc.rt); n != tc.rpySz {
			t.Errorf("ReplyLen(%v) = %d, want %d", tc.rt, n, tc.rpySz)
		}
	}
	if n, ok := RequestLenFor(CmdServerStats, RpyServerStats3); !ok || n != 72 {
		t.Errorf("RequestLenFor(SERVER_STATS, SERVER_STATS3) = %d, want 72", n)
	}
	if n, ok := RequestLenFor(CmdNTPData, RpyNTPData); !ok || n != 152 {
		t.Errorf("RequestLenFor(NTP_DATA, NTP_DATA) = %d, want 152", n)
	}
	if _, ok := RequestLen(CmdDump); ok {
		t.Error("RequestLen(DUMP) known; gnomon does not speak it")
	}
}

func TestVersionTrap(t *testing.T) {
	for _, tc := range []struct {
		n      int
		ss, nd ReplyType // 0: refuse
	}{
		{28, 0, 0}, {71, 0, 0}, {72, RpyServerStats3, 0}, {151, RpyServerStats3, 0},
		{152, RpyServerStats3, RpyNTPData}, {171, RpyServerStats3, RpyNTPData},
		{172, RpyServerStats3, RpyNTPData2}, {195, RpyServerStats3, RpyNTPData2},
		{196, RpyServerStats4, RpyNTPData2}, {416, RpyServerStats4, RpyNTPData2}, {860, RpyServerStats4, RpyNTPData2},
	} {
		ss, ok := ServerStatsReplyFor(tc.n)
		if ss != tc.ss || ok != (tc.ss != 0) {
			t.Errorf("ServerStatsReplyFor(%d) = %v %v, want %v", tc.n, ss, ok, tc.ss)
		}
		if ok && ReplyLen(ss) > tc.n {
			t.Errorf("ServerStatsReplyFor(%d): reply of %d bytes is longer", tc.n, ReplyLen(ss))
		}
		nd, ok := NTPDataReplyFor(tc.n)
		if nd != tc.nd || ok != (tc.nd != 0) {
			t.Errorf("NTPDataReplyFor(%d) = %v %v, want %v", tc.n, nd, ok, tc.nd)
		}
	}
}

func TestStatusString(t *testing.T) {
	for st, want := range map[Status]string{
		StatusSuccess: "200 OK", StatusUnauth: "501 Not authorised", StatusInvalid: "502 Invalid command",
		StatusNoSuchSource: "503 No such source", StatusBadPktVersion: "517 Protocol version mismatch",
		StatusBadPktLength: "518 Packet length mismatch", StatusFailed: "500 Failure",
		StatusInactive: "519 Client logging is not active in the daemon", StatusInvalidName: "521 Invalid name",
		20: "520 Got unexpected error from daemon", 999: "520 Got unexpected error from daemon",
	} {
		if got := st.String(); got != want {
			t.Errorf("Status(%d) = %q, want %q", uint16(st), got, want)
		}
	}
}

func TestRequestHeader(t *testing.T) {
	pkt, err := AppendRequest(nil, CmdTracking, 0x01020304, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "06010000" + "0021" + "0002" + "01020304" + "00000000" + "00000000"
	if got := hexs(pkt[:20]); got != want || len(pkt) != 104 {
		t.Fatalf("request = %s (%d B), want %s… (104 B)", got, len(pkt), want)
	}
	for _, b := range pkt[20:] {
		if b != 0 {
			t.Fatalf("padding not zero: %s", hexs(pkt))
		}
	}
	h, err := ParseRequestHeader(pkt)
	if err != nil || h != NewRequestHeader(CmdTracking, 0x01020304, 2) {
		t.Fatalf("ParseRequestHeader = %+v, %v", h, err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), pkt...)) }
	for _, tc := range []struct {
		name string
		pkt  []byte
		err  error
	}{
		{"27 bytes", pkt[:27], ErrShort},
		{"861 bytes", make([]byte, 861), ErrLong},
		{"reply type", mod(func(b []byte) []byte { b[1] = 2; return b }), ErrHeader},
		{"res1", mod(func(b []byte) []byte { b[2] = 1; return b }), ErrHeader},
		{"res2", mod(func(b []byte) []byte { b[3] = 1; return b }), ErrHeader},
		{"version 5", mod(func(b []byte) []byte { b[0] = 5; return b }), ErrVersion},
	} {
		h, err := ParseRequestHeader(tc.pkt)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
		}
		if tc.err == ErrVersion && (h.Version != 5 || h.Sequence != 0x01020304) {
			t.Errorf("%s: header not returned: %+v", tc.name, h)
		}
	}
	if _, err := ParseRequestHeader(pkt[:28]); err != nil {
		t.Errorf("28-byte request: %v", err)
	}
}

func TestReplyHeader(t *testing.T) {
	req := NewRequestHeader(CmdSourceData, 0xAABBCCDD, 0)
	pkt := AppendErrorReply(nil, req, StatusNoSuchSource)
	want := "06020000" + "000f" + "0001" + "0004" + "000000000000" + "aabbccdd" + "0000000000000000"
	if got := hexs(pkt); got != want {
		t.Fatalf("error reply = %s, want %s", got, want)
	}
	h, body, err := ParseReply(pkt)
	if err != nil || body != nil || h != ReplyTo(req, RpyNull, StatusNoSuchSource) {
		t.Fatalf("ParseReply = %+v %v %v", h, body, err)
	}
	// A stated type longer than the packet.
	short := append([]byte(nil), pkt...)
	be.PutUint16(short[6:], uint16(RpyTracking))
	be.PutUint16(short[8:], 0)
	if _, err := ParseReplyHeader(short); !errors.Is(err, ErrShort) {
		t.Errorf("TRACKING in 28 bytes: %v, want ErrShort", err)
	}
	// Version mismatch: accepted only as BADPKTVERSION from version ≥ 4.
	v := AppendErrorReply(nil, req, StatusBadPktVersion)
	v[0] = 4
	if _, err := ParseReplyHeader(v); err != nil {
		t.Errorf("v4 BADPKTVERSION: %v", err)
	}
	v[0] = 3
	if _, err := ParseReplyHeader(v); !errors.Is(err, ErrVersion) {
		t.Errorf("v3 BADPKTVERSION: %v, want ErrVersion", err)
	}
	v = AppendErrorReply(nil, req, StatusSuccess)
	v[0] = 5
	if _, err := ParseReplyHeader(v); !errors.Is(err, ErrVersion) {
		t.Errorf("v5 OK: %v, want ErrVersion", err)
	}
	v[0], v[1] = 6, 1
	if _, err := ParseReplyHeader(v); !errors.Is(err, ErrHeader) {
		t.Errorf("pkt_type 1: %v, want ErrHeader", err)
	}
	if _, err := ParseReplyHeader(v[:27]); !errors.Is(err, ErrShort) {
		t.Errorf("27 bytes: %v, want ErrShort", err)
	}
}

var (
	v4   = AddrOf(netip.MustParseAddr("192.0.2.7"))
	v6   = AddrOf(netip.MustParseAddr("2001:db8::7"))
	when = time.Unix(1_764_000_000, 250_000_000)
)

// exact values: small dyadic numbers survive the Float encoding unchanged.
func sampleBodies() []struct {
	rt   ReplyType
	body ReplyBody
} {
	return []struct {
		rt   ReplyType
		body ReplyBody
	}{
		{RpyNSources, &NSources{N: 7}},
		{RpySourceData, &SourceData{Addr: v4, Poll: -3, Stratum: 2, State: 5, Mode: 0, Flags: 0x12,
			Reachability: 0377, SinceSample: 0xFFFFFFFF, OrigLatestMeas: -0.00048828125, LatestMeas: 0.25, LatestMeasErr: 0.0009765625}},
		{RpyTracking, &Tracking{RefID: 0xC0000207, Addr: v4, Stratum: 3, LeapStatus: 1, RefTime: when,
			CurrentCorrection: -0.5, LastOffset: 0.125, RMSOffset: 0.0625, FreqPPM: -12.5, ResidFreqPPM: 0.015625,
			SkewPPM: 0.03125, RootDelay: 0.0078125, RootDispersion: 0.001953125, LastUpdateInterval: 64}},
		{RpySourceStats, &SourceStats{RefID: 0x47505300, Addr: IPAddr{}, NSamples: 8, NRuns: 5, SpanSeconds: 448,
			StdDev: 0.5, ResidFreqPPM: -0.25, SkewPPM: 2, EstOffset: -0.0009765625, EstOffsetErr: 0.125}},
		{RpySelectData, &SelectData{RefID: 1, Addr: v6, StateChar: '*', Authenticated: 1, Leap: 2, ConfOptions: 0x2,
			EffOptions: 0xA, LastSampleAgo: 33, Score: 1.5, LoLimit: -0.25, HiLimit: 0.375}},
		{RpyNTPData2, &NTPData{RemoteAddr: v4, LocalAddr: v6, RemotePort: 123, Leap: 1, Version: 4, Mode: 4, Stratum: 2,
			Poll: 6, Precision: -25, RootDelay: 0.5, RootDispersion: 0.25, RefID: 0x0A000001, RefTime: when,
			Offset: -0.125, PeerDelay: 0.0625, PeerDispersion: 0.03125, ResponseTime: 0.0001220703125,
			JitterAsymmetry: -0.5, Flags: 0x43FF, TxTssChar: 'K', RxTssChar: 'H', TotalTxCount: 11, TotalRxCount: 10,
			TotalValidCount: 9, TotalGoodCount: 8, TotalKernelTxTS: 7, TotalKernelRxTS: 6, TotalHwTxTS: 5, TotalHwRxTS: 4}},
		{RpyNTPData, &NTPData{RemoteAddr: v6, LocalAddr: v4, RemotePort: 4460, Leap: 3, Version: 3, Mode: 2, Stratum: 16,
			Poll: -2, Precision: -6, RootDelay: 1, RootDispersion: 2, RefID: 7, RefTime: time.Time{},
			Offset: 4, PeerDelay: 8, PeerDispersion: 16, ResponseTime: 32, JitterAsymmetry: 0.5,
			Flags: 0x8000, TxTssChar: 'D', RxTssChar: 'D', TotalTxCount: 1, TotalRxCount: 2, TotalValidCount: 3, TotalGoodCount: 4}},
		{RpyServerStats4, &ServerStats{1<<40 + 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1<<63 + 17}},
		{RpyServerStats3, &ServerStats{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xFFFFFFFF, 0, 0, 0, 0, 0, 0}},
		{RpyClientAccessesByIndex3, &ClientAccesses{NIndices: 1024, NextIndex: 9, Clients: []ClientAccess{
			{Addr: v4, NTPHits: 1, NKEHits: 2, CmdHits: 3, NTPDrops: 4, NKEDrops: 5, CmdDrops: 6, NTPInterval: -3,
				NKEInterval: 127, CmdInterval: 5, NTPTimeout: -7, LastNTPHitAgo: 8, LastNKEHitAgo: 0xFFFFFFFF, LastCmdHitAgo: 10},
			{Addr: v6, NTPHits: 100},
		}}},
		{RpyClientAccessesByIndex3, &ClientAccesses{NIndices: 0, NextIndex: 0}},
		{RpyActivity, &Activity{Online: 3, Offline: 1, BurstOnline: 0, BurstOffline: -1, Unresolved: 2}},
		{RpySmoothing, &Smoothing{Flags: SmoothingActive | SmoothingLeapOnly, Offset: -0.25, FreqPPM: 0.5,
			WanderPPM: 0.0078125, LastUpdateAgo: 12, RemainingTime: 3}},
		{RpyNTPSourceName, &NTPSourceName{Name: "time.example.org"}},
	}
}

func TestReplyRoundTrip(t *testing.T) {
	for _, tc := range sampleBodies() {
		req := NewRequestHeader(CmdTracking, 77, 0) // command echo is not checked by the body parsers
		pkt, err := AppendReply([]byte{0xAA}, ReplyTo(req, tc.rt, StatusSuccess), tc.body)
		if err != nil {
			t.Fatalf("%v: %v", tc.rt, err)
		}
		if pkt[0] != 0xAA || len(pkt) != 1+ReplyLen(tc.rt) {
			t.Fatalf("%v: appended %d bytes, want %d after dst", tc.rt, len(pkt)-1, ReplyLen(tc.rt))
		}
		pkt = pkt[1:]
		h, body, err := ParseReply(pkt)
		if err != nil || h.Reply != tc.rt || h.Sequence != 77 {
			t.Fatalf("%v: ParseReply header %+v, %v", tc.rt, h, err)
		}
		want := tc.body
		if ss, ok := want.(*ServerStats); ok && tc.rt == RpyServerStats3 {
			w := *ss
			w.NTPSpanSeconds &= 0xFFFFFFFF
			want = &w
		}
		if diff := cmp.Diff(want, ptr(body), ipEq); diff != "" {
			t.Errorf("%v round trip (-want +got):\n%s", tc.rt, diff)
		}
		// Short packets are refused, never read past.
		if _, _, err := ParseReply(pkt[:len(pkt)-1]); !errors.Is(err, ErrShort) {
			t.Errorf("%v one byte short: %v, want ErrShort", tc.rt, err)
		}
		// Wrong type for the body.
		if err := tc.body.PutReply(make([]byte, 600), RpyNull); !errors.Is(err, ErrReplyType) {
			t.Errorf("%v as NULL: %v, want ErrReplyType", tc.rt, err)
		}
		if err := tc.body.PutReply(make([]byte, ReplyLen(tc.rt)-1), tc.rt); !errors.Is(err, ErrShort) {
			t.Errorf("%v into a short buffer: %v, want ErrShort", tc.rt, err)
		}
	}
}

// ptr turns the value ParseReply returns into a pointer, as the bodies
// are put.
func ptr(v any) any {
	switch b := v.(type) {
	case NSources:
		return &b
	case SourceData:
		return &b
	case Tracking:
		return &b
	case SourceStats:
		return &b
	case SelectData:
		return &b
	case NTPData:
		return &b
	case ServerStats:
		return &b
	case ClientAccesses:
		return &b
	case Activity:
		return &b
	case Smoothing:
		return &b
	case NTPSourceName:
		return &b
	}
	return v
}

func TestReplyOffsets(t *testing.T) {
	// Spot checks of absolute offsets against ntp.md §6.7.
	pkt := make([]byte, 196)
	ReplyTo(RequestHeader{}, RpyServerStats4, 0).Put(pkt)
	if err := (&ServerStats{NTPHits: 0x1122, NTPHwTxTimestamps: 0x3344}).PutReply(pkt, RpyServerStats4); err != nil {
		t.Fatal(err)
	}
	if be.Uint64(pkt[28:]) != 0x1122 || be.Uint64(pkt[156:]) != 0x3344 {
		t.Errorf("SERVER_STATS4 offsets: %s", hexs(pkt))
	}
	pkt = make([]byte, 172)
	if err := (&NTPData{RemotePort: 123, Flags: 0x4000, TotalGoodCount: 9, TotalHwRxTS: 5}).PutReply(pkt, RpyNTPData2); err != nil {
		t.Fatal(err)
	}
	if be.Uint16(pkt[68:]) != 123 || be.Uint16(pkt[120:]) != 0x4000 || be.Uint32(pkt[136:]) != 9 || be.Uint32(pkt[152:]) != 5 {
		t.Errorf("NTP_DATA2 offsets: %s", hexs(pkt))
	}
	pkt = make([]byte, 520)
	ca := ClientAccesses{Clients: make([]ClientAccess, 8)}
	ca.Clients[7].LastCmdHitAgo = 0xDEADBEEF
	if err := ca.PutReply(pkt, RpyClientAccessesByIndex3); err != nil {
		t.Fatal(err)
	}
	if be.Uint32(pkt[36:]) != 8 || be.Uint32(pkt[40+7*60+56:]) != 0xDEADBEEF || 40+8*60 != 520 {
		t.Errorf("CLIENT_ACCESSES_BY_INDEX3 offsets")
	}
	ca.Clients = make([]ClientAccess, 9)
	if err := ca.PutReply(pkt, RpyClientAccessesByIndex3); !errors.Is(err, ErrValue) {
		t.Errorf("9 clients: %v, want ErrValue", err)
	}
	be.PutUint32(pkt[36:], 9)
	be.PutUint16(pkt[6:], uint16(RpyClientAccessesByIndex3))
	if _, err := ParseClientAccesses(pkt); !errors.Is(err, ErrValue) {
		t.Errorf("n_clients 9: %v, want ErrValue", err)
	}
	long := NTPSourceName{Name: string(make([]byte, 256))}
	if err := long.PutReply(make([]byte, 284), RpyNTPSourceName); !errors.Is(err, ErrValue) {
		t.Errorf("256-byte name: %v, want ErrValue", err)
	}
}

func TestRequestBodies(t *testing.T) {
	for _, tc := range []struct {
		cmd   Command
		body  RequestBody
		parse func([]byte) (RequestBody, error)
	}{
		{CmdSourceData, &IndexRequest{Index: -2}, func(b []byte) (RequestBody, error) { r, err := ParseIndexRequest(b); return &r, err }},
		{CmdSourceStats, &IndexRequest{Index: 5}, func(b []byte) (RequestBody, error) { r, err := ParseIndexRequest(b); return &r, err }},
		{CmdSelectData, &IndexRequest{Index: 0}, func(b []byte) (RequestBody, error) { r, err := ParseIndexRequest(b); return &r, err }},
		{CmdNTPData, &AddrRequest{Addr: v6}, func(b []byte) (RequestBody, error) { r, err := ParseAddrRequest(b); return &r, err }},
		{CmdNTPSourceName, &AddrRequest{Addr: IDAddr(3)}, func(b []byte) (RequestBody, error) { r, err := ParseAddrRequest(b); return &r, err }},
		{CmdBurst, &BurstRequest{Mask: AddrOf(netip.MustParseAddr("255.255.255.0")), Addr: v4, NGood: 4, NTotal: 8},
			func(b []byte) (RequestBody, error) { r, err := ParseBurstRequest(b); return &r, err }},
		{CmdClientAccessesByIndex3, &ClientAccessesRequest{FirstIndex: 16, NClients: 8, MinHits: 1, Reset: 1},
			func(b []byte) (RequestBody, error) { r, err := ParseClientAccessesRequest(b); return &r, err }},
	} {
		pkt, err := AppendRequest(nil, tc.cmd, 5, 0, tc.body)
		if err != nil {
			t.Fatalf("%v: %v", tc.cmd, err)
		}
		if n, _ := RequestLen(tc.cmd); len(pkt) != n {
			t.Errorf("%v: %d bytes, want %d", tc.cmd, len(pkt), n)
		}
		got, err := tc.parse(pkt)
		if err != nil {
			t.Fatalf("%v: parse: %v", tc.cmd, err)
		}
		if diff := cmp.Diff(tc.body, got, ipEq); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.cmd, diff)
		}
		d, _ := RequestDataLen(tc.cmd)
		if _, err := tc.parse(pkt[:d-1]); !errors.Is(err, ErrShort) {
			t.Errorf("%v short: %v, want ErrShort", tc.cmd, err)
		}
	}
	if _, err := AppendRequest(nil, CmdTracking, 1, 0, &IndexRequest{}); !errors.Is(err, ErrValue) {
		t.Errorf("TRACKING with a body: %v, want ErrValue", err)
	}
	if _, err := AppendRequest(nil, CmdSourceData, 1, 0, nil); !errors.Is(err, ErrValue) {
		t.Errorf("SOURCE_DATA without body: %v, want ErrValue", err)
	}
	if _, err := AppendRequest(nil, CmdNTPData, 1, 0, &IndexRequest{}); !errors.Is(err, ErrValue) {
		t.Errorf("NTP_DATA with an index: %v, want ErrValue", err)
	}
	if _, err := AppendRequest(nil, CmdDump, 1, 0, nil); err == nil {
		t.Error("DUMP: no error")
	}
	pkt, err := AppendRequestLen(nil, 72, CmdServerStats, 1, 0, nil)
	if err != nil || len(pkt) != 72 {
		t.Errorf("SERVER_STATS padded to 72: %d %v", len(pkt), err)
	}
	if _, err := AppendRequestLen(nil, 30, CmdBurst, 1, 0, &BurstRequest{}); !errors.Is(err, ErrValue) {
		t.Errorf("BURST in 30 bytes: %v, want ErrValue", err)
	}
}

// TestAllocs: the server's hot path — parse a request, encode a reply into
// a reused buffer — allocates nothing.

func TestOpen(t *testing.T) {
	open := map[Command]bool{CmdNull: true, CmdLogon: true, CmdNSources: true, CmdSourceData: true, CmdTracking: true,
		CmdSourceStats: true, CmdRTCReport: true, CmdManualList: true, CmdActivity: true, CmdSmoothing: true, CmdNTPSourceName: true}
	for c := Command(0); c <= CmdLocal3+1; c++ {
		if c.Open() != open[c] {
			t.Errorf("%v.Open() = %v", c, c.Open())
		}
	}
}
