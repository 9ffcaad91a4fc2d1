package wire

// Real chronyc (4.3 on this machine) against a minimal control server built
// from this package in the test: proves chronyc accepts our replies, our
// padding checks accept its requests, and the reply type picked for its
// SERVER_STATS and NTP_DATA requests is the one it demands.

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer answers requests as chronyd's read_from_cmd_socket does, from
// fixed bodies.
type testServer struct {
	mu   sync.Mutex
	seen []string // "COMMAND/len"
}

func (s *testServer) answer(pkt []byte) []byte {
	h, err := ParseRequestHeader(pkt)
	switch {
	case errors.Is(err, ErrVersion) && h.Version >= VersionCompatServer:
		return AppendErrorReply(nil, h, StatusBadPktVersion)
	case err != nil:
		return nil
	}
	s.mu.Lock()
	s.seen = append(s.seen, h.Command.String()+"/"+strconv.Itoa(len(pkt)))
	s.mu.Unlock()
	rt, ok := ReplyFor(h.Command)
	switch h.Command {
	case CmdServerStats:
		rt, ok = ServerStatsReplyFor(len(pkt))
		if !ok {
			return AppendErrorReply(nil, h, StatusBadPktLength)
		}
	case CmdNTPData:
		rt, ok = NTPDataReplyFor(len(pkt))
		if !ok {
			return AppendErrorReply(nil, h, StatusBadPktLength)
		}
	}
	if !ok {
		return AppendErrorReply(nil, h, StatusInvalid)
	}
	if n, _ := RequestLenFor(h.Command, rt); len(pkt) < n {
		return AppendErrorReply(nil, h, StatusBadPktLength)
	}
	src := AddrOf(mustAddr("192.0.2.9"))
	var body ReplyBody
	switch h.Command {
	case CmdNSources:
		body = &NSources{N: 1}
	case CmdSourceData:
		if r, _ := ParseIndexRequest(pkt); r.Index != 0 {
			return AppendErrorReply(nil, h, StatusNoSuchSource)
		}
		body = &SourceData{Addr: src, Poll: 6, Stratum: 2, State: 0, Mode: 0, Reachability: 0377, SinceSample: 33,
			OrigLatestMeas: -13e-6, LatestMeas: -12e-6, LatestMeasErr: 250e-6}
	case CmdTracking:
		body = &Tracking{RefID: 0xC0000209, Addr: src, Stratum: 3, LeapStatus: 0,
			RefTime: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), CurrentCorrection: -2.5e-6, LastOffset: 1.25e-6,
			RMSOffset: 3e-6, FreqPPM: 7.5, ResidFreqPPM: -0.001, SkewPPM: 0.05, RootDelay: 1.5e-3, RootDispersion: 2e-4,
			LastUpdateInterval: 64}
	case CmdSourceStats:
		body = &SourceStats{RefID: 0xC0000209, Addr: src, NSamples: 12, NRuns: 7, SpanSeconds: 700, StdDev: 20e-6,
			ResidFreqPPM: 0.012, SkewPPM: 0.5, EstOffset: -3e-6, EstOffsetErr: 1e-6}
	case CmdSelectData:
		body = &SelectData{RefID: 0xC0000209, Addr: src, StateChar: '*', ConfOptions: 0x2, EffOptions: 0x2,
			LastSampleAgo: 33, Score: 1, LoLimit: -300e-6, HiLimit: 200e-6}
	case CmdNTPData:
		if r, _ := ParseAddrRequest(pkt); r.Addr != src {
			return AppendErrorReply(nil, h, StatusNoSuchSource)
		}
		body = &NTPData{RemoteAddr: src, LocalAddr: AddrOf(mustAddr("192.0.2.1")), RemotePort: 123, Version: 4,
			Mode: 4, Stratum: 2, Poll: 6, Precision: -20, RefID: 0x47505300, Flags: 0x3FF, TxTssChar: 'K', RxTssChar: 'H',
			TotalTxCount: 40, TotalRxCount: 39, TotalValidCount: 38, TotalGoodCount: 37}
	case CmdServerStats:
		body = &ServerStats{NTPHits: 1234, CmdHits: 56, NTPDrops: 7}
	case CmdClientAccessesByIndex3:
		body = &ClientAccesses{NIndices: 1, NextIndex: 1, Clients: []ClientAccess{{Addr: AddrOf(mustAddr("192.0.2.77")),
			NTPHits: 4321, NTPInterval: 4, NKEInterval: 127, CmdInterval: 127, NTPTimeout: 127,
			LastNTPHitAgo: 5, LastNKEHitAgo: 0xFFFFFFFF, LastCmdHitAgo: 0xFFFFFFFF}}}
	case CmdActivity:
		body = &Activity{Online: 1}
	case CmdNTPSourceName:
		body = &NTPSourceName{Name: "ntp.example.net"}
	}
	out, err := AppendReply(nil, ReplyTo(h, rt, StatusSuccess), body)
	if err != nil {
		return AppendErrorReply(nil, h, StatusFailed)
	}
	return out
}

func TestRealChronyc(t *testing.T) {
	chronyc, err := exec.LookPath("chronyc")
	if err != nil {
		t.Skip("chronyc not installed")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "chronyd.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv := &testServer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUnix(buf)
			if err != nil {
				return // closed
			}
			if out := srv.answer(buf[:n]); out != nil && from != nil {
				_, _ = conn.WriteToUnix(out, from)
			}
		}
	}()
	defer func() { conn.Close(); <-done }()

	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, chronyc, append([]string{"-n", "-h", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Errorf("chronyc %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"tracking"}, []string{"Reference ID    : C0000209 (192.0.2.9)", "Stratum         : 3",
			"Ref time (UTC)  : Sun Dec 06 12:00:00 2026", "System time     : 0.000002500 seconds fast of NTP time",
			"Frequency       : 7.500 ppm fast", "Update interval : 64.0 seconds", "Leap status     : Normal"}},
		{[]string{"sources"}, []string{"^* 192.0.2.9                     2   6   377    33    -12us[  -13us] +/-  250us"}},
		{[]string{"-N", "sources"}, []string{"^* ntp.example.net"}},
		{[]string{"sourcestats"}, []string{"192.0.2.9                  12   7   700     +0.012      0.500  -3000ns    20us"}},
		{[]string{"selectdata"}, []string{"* 192.0.2.9"}},
		{[]string{"ntpdata", "192.0.2.9"}, []string{"Remote address  : 192.0.2.9 (C0000209)", "Total good RX   : 37",
			"TX timestamping : Kernel", "RX timestamping : Hardware"}},
		{[]string{"serverstats"}, []string{"NTP packets received       : 1234", "Command packets received   : 56",
			"NTP packets dropped        : 7"}},
		{[]string{"clients"}, []string{"192.0.2.77                   4321      0   4   -     5       0      0   -     -"}},
		{[]string{"activity"}, []string{"1 sources online"}},
	} {
		out := run(tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("chronyc %v: no %q in\n%s", tc.args, w, out)
			}
		}
	}
	srv.mu.Lock()
	seen := strings.Join(srv.seen, " ")
	srv.mu.Unlock()
	t.Logf("requests: %s", seen)
	// chronyc 4.3's lengths: the version trap, served.
	for _, w := range []string{"SERVER_STATS/72", "NTP_DATA/152", "TRACKING/104", "CLIENT_ACCESSES_BY_INDEX3/520"} {
		if !strings.Contains(seen, w) {
			t.Errorf("no %s request seen", w)
		}
	}
}
