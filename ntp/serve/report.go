package serve

import (
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/report"
)

// ServerStats returns the shell's counters as a report, summed over the
// workers now (Stats). Its ClientLog part is left zero: the client log
// fills that (clientlog.Log.ClientLogStats). Safe from any goroutine; it
// allocates the verdict list, so it is for scrapes and control queries,
// not for the packet path.
func (s *Service) ServerStats() report.ServerStats {
	st := s.Stats()
	return st.Report()
}

// Report converts the counters to a report.ServerStats: one entry per
// ntp.Verdict, labelled with its String, and chronyc serverstats' totals
// (Received: every datagram; Dropped: those with a verdict that sends no
// reply).
func (st *Stats) Report() report.ServerStats {
	r := report.ServerStats{
		Requests:         make([]report.VerdictCount, ntp.NumVerdicts),
		KoD:              st.Requests[ntp.VerdictKoDRate],
		Interleaved:      st.Requests[ntp.VerdictInterleaved],
		RXTimestamps:     timestampCounts(&st.RXTimestamps),
		TXTimestamps:     timestampCounts(&st.TXTimestamps),
		RXHardwareUnused: st.RXHardwareUnused,
		TXHardwareUnused: st.TXHardwareUnused,
		TXRecorded:       st.TXRecorded,
		TXUnmatched:      st.TXUnmatched,
		Replies:          st.Replies,
		SendErrors:       st.SendErrors,
		ReceiveErrors:    st.ReceiveErrors,
		Truncated:        st.Truncated,
		Authenticated:    st.Authenticated,
		SealFailed:       st.SealFailed,
		KernelDrops:      st.KernelDrops,
		BasicTXError:     st.BasicTXError,
		BasicBatched:     st.BasicBatched,
		NTS: report.NTSStats{
			Requests:      make([]report.VerdictCount, 0, nts.NumVerdicts-1),
			Authenticated: st.NTSAuthenticated,
			NAKs:          st.NTSNAKs,
			SealFailed:    st.NTSSealFailed,
		},
	}
	for i, n := range st.NTSVerdicts {
		if v := nts.Verdict(i); v != nts.VerdictNone {
			r.NTS.Requests = append(r.NTS.Requests, report.VerdictCount{Verdict: v.String(), Count: n})
		}
	}
	for i, n := range st.Requests {
		v := ntp.Verdict(i)
		r.Requests[i] = report.VerdictCount{Verdict: v.String(), Count: n}
		r.Received += n
		if !v.Replied() {
			r.Dropped += n
		}
	}
	return r
}

// timestampCounts picks the daemon, kernel and hardware counts (KindNone
// is never counted).
func timestampCounts(c *[hwts.NumKinds]uint64) report.TimestampCounts {
	return report.TimestampCounts{Daemon: c[hwts.KindDaemon], Kernel: c[hwts.KindKernel], Hardware: c[hwts.KindHardware]}
}
