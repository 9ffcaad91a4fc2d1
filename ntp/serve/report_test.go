package serve

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/report"
)

func TestStatsReport(t *testing.T) {
	var st Stats
	st.Requests[ntp.VerdictServed] = 100
	st.Requests[ntp.VerdictInterleaved] = 40
	st.Requests[ntp.VerdictKoDRate] = 3
	st.Requests[ntp.VerdictRateLimited] = 7
	st.Requests[ntp.VerdictDenied] = 2
	st.Requests[ntp.VerdictMalformed] = 5
	st.RXTimestamps[hwts.KindDaemon] = 12
	st.RXTimestamps[hwts.KindKernel] = 150
	st.RXTimestamps[hwts.KindHardware] = 1
	st.TXTimestamps[hwts.KindNone] = 99 // never counted; must not leak into a kind
	st.TXTimestamps[hwts.KindDaemon] = 103
	st.TXTimestamps[hwts.KindKernel] = 140
	st.TXTimestamps[hwts.KindHardware] = 9
	st.RXHardwareUnused, st.TXHardwareUnused, st.TXRecorded, st.TXUnmatched = 6, 2, 139, 1
	st.Replies, st.SendErrors, st.ReceiveErrors, st.Truncated, st.KernelDrops = 143, 2, 3, 1, 8
	st.NTSVerdicts = [nts.NumVerdicts]uint64{1000, 20, 3, 4, 5, 6}
	st.NTSAuthenticated, st.NTSNAKs, st.NTSSealFailed = 19, 7, 1

	want := report.ServerStats{
		Received: 157, Dropped: 14, KoD: 3, Interleaved: 40,
		RXTimestamps:     report.TimestampCounts{Daemon: 12, Kernel: 150, Hardware: 1},
		TXTimestamps:     report.TimestampCounts{Daemon: 103, Kernel: 140, Hardware: 9},
		RXHardwareUnused: 6, TXHardwareUnused: 2, TXRecorded: 139, TXUnmatched: 1,
		Replies: 143, SendErrors: 2, ReceiveErrors: 3, Truncated: 1, KernelDrops: 8,
		NTS: report.NTSStats{
			Requests: []report.VerdictCount{{Verdict: "authentic", Count: 20}, {Verdict: "nak_unknown_key", Count: 3},
				{Verdict: "nak_bad_cookie", Count: 4}, {Verdict: "malformed", Count: 5}, {Verdict: "bad_authenticator", Count: 6}},
			Authenticated: 19, NAKs: 7, SealFailed: 1,
		},
	}
	for v := range ntp.NumVerdicts {
		want.Requests = append(want.Requests, report.VerdictCount{Verdict: ntp.Verdict(v).String(), Count: st.Requests[v]})
	}
	if d := cmp.Diff(want, st.Report()); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
}

// Every verdict has its own label, also verdicts added to ntp later.
func TestReportEveryVerdict(t *testing.T) {
	var st Stats
	r := st.Report()
	if len(r.Requests) != ntp.NumVerdicts {
		t.Fatalf("%d verdicts reported, want %d", len(r.Requests), ntp.NumVerdicts)
	}
	seen := map[string]bool{}
	for _, v := range r.Requests {
		if seen[v.Verdict] {
			t.Errorf("verdict label %q twice", v.Verdict)
		}
		seen[v.Verdict] = true
	}
}

func TestServiceServerStats(t *testing.T) {
	s := &Service{}
	if r := s.ServerStats(); r.Received != 0 || len(r.Requests) != ntp.NumVerdicts {
		t.Errorf("report of an idle service %+v", r)
	}
}
