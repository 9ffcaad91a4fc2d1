package loadgen

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	ntpload "github.com/gnomon-time/gnomon/ntp/loadgen"
)

// Flow is the accounting of one message type over all clients.
type Flow struct {
	// Expected: Announce and Sync: one per granted period from one period
	// after the client's first grant (or, never granted, after the grant
	// was due) to the end of sending; Follow_Up: one per two-step Sync
	// received; Delay_Resp: one per Delay_Req sent.
	Expected uint64 `json:"expected"`
	// Received counts toward Expected (per client at most its expected
	// count for Announce and Sync; the excess is Extra).
	Received uint64  `json:"received"`
	Pct      float64 `json:"received_pct"`
	Missing  uint64  `json:"missing"`
	// Late: Follow_Up more than LateAfter after its Sync, Delay_Resp more
	// than LateAfter after its Delay_Req, Sync more than 1.5 periods after
	// the previous one. Late messages still count as received.
	Late  uint64 `json:"late"`
	Extra uint64 `json:"extra,omitempty"`
	// Total is every message of the type received, in or out of a window.
	Total uint64 `json:"total"`
}

func (f *Flow) finish() {
	if f.Received > f.Expected {
		f.Received = f.Expected
	}
	f.Missing = f.Expected - f.Received
	if f.Expected > 0 {
		f.Pct = 100 * float64(f.Received) / float64(f.Expected)
	}
}

// Grants is the negotiation's accounting.
type Grants struct {
	Requested     uint64 `json:"requested"` // REQUEST TLVs sent (renewals included)
	Granted       uint64 `json:"granted"`
	Denied        uint64 `json:"denied"`   // GRANT with duration 0
	Timeouts      uint64 `json:"timeouts"` // requests not answered within GrantWait (sent again)
	Renewals      uint64 `json:"renewals"` // REQUEST TLVs sent for a contract already granted
	Unsolicited   uint64 `json:"unsolicited"`
	PeriodDiffers uint64 `json:"period_differs"` // granted period other than the one requested
	CancelsSent   uint64 `json:"cancels_sent"`   // CANCEL TLVs sent at the end
	AckCancels    uint64 `json:"ack_cancels"`
	ServerCancels uint64 `json:"server_cancels"`
}

// Latency summarises a histogram in µs.
type Latency struct {
	Samples uint64  `json:"samples"`
	MinUS   float64 `json:"min_us"`
	P50US   float64 `json:"p50_us"`
	P99US   float64 `json:"p99_us"`
	MaxUS   float64 `json:"max_us"`
}

func latency(h *ntpload.Histogram) Latency {
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	return Latency{Samples: h.Count(), MinUS: us(h.Min()), P50US: us(h.Quantile(.5)), P99US: us(h.Quantile(.99)), MaxUS: us(h.Max())}
}

// Result is the outcome of one run.
type Result struct {
	Server       string  `json:"server"`
	Mode         string  `json:"mode"` // "ports" or "addresses"
	Clients      int     `json:"clients"`
	Workers      int     `json:"workers"`
	Domain       uint8   `json:"domain"`
	SyncRateHz   float64 `json:"sync_rate_hz"`
	AnnounceLog  int8    `json:"announce_log_interval"`
	GrantS       float64 `json:"grant_s"`
	DurationS    float64 `json:"duration_s"`
	WallS        float64 `json:"wall_s"`
	CPUPct       float64 `json:"gen_cpu_pct"` // process CPU over the run, % of one core
	Interrupted  bool    `json:"interrupted"`
	LateAfterMS  float64 `json:"late_after_ms"`
	MessagesRecv uint64  `json:"messages_received"`

	Announce  Flow   `json:"announce"`
	Sync      Flow   `json:"sync"`
	FollowUp  Flow   `json:"follow_up"`
	DelayResp Flow   `json:"delay_resp"`
	Grants    Grants `json:"grants"`

	FollowUpLag  Latency `json:"follow_up_lag"`  // Follow_Up receive − Sync receive
	DelayRespRTT Latency `json:"delay_resp_rtt"` // Delay_Resp receive − Delay_Req send
	SyncGap      Latency `json:"sync_gap"`       // between consecutive Syncs of a client
	// SyncTransit is Sync receive − its Follow_Up's preciseOriginTimestamp,
	// modulo 1 s into [−0.5 s, 0.5 s), for every matched Follow_Up with a
	// non-empty origin. Meaningful only when server and generator read one
	// clock (network namespaces on one host); negative transits are
	// recorded as 0 and counted in SyncTransitNegative.
	SyncTransit         Latency `json:"sync_transit"`
	SyncTransitLate     uint64  `json:"sync_transit_late"`     // transits > TransitLate (exact)
	SyncTransitNegative uint64  `json:"sync_transit_negative"` // transits < 0: the clocks differ

	SignalingSent      uint64 `json:"signaling_sent"`
	DelayReqSent       uint64 `json:"delay_req_sent"`
	DelayReqSkipped    uint64 `json:"gen_delay_req_skipped"`
	OneStepSyncs       uint64 `json:"one_step_syncs"`
	FollowUpReordered  uint64 `json:"follow_up_before_sync"`
	FollowUpOrphans    uint64 `json:"follow_up_orphans"`
	DelayRespUnmatched uint64 `json:"delay_resp_unmatched"`
	DelayRespForeign   uint64 `json:"delay_resp_foreign"`
	Malformed          uint64 `json:"malformed"`
	BadVersion         uint64 `json:"bad_version"`
	BadDomain          uint64 `json:"bad_domain"`
	OtherMessages      uint64 `json:"other_messages"`
	OtherTLVs          uint64 `json:"other_tlvs"`
	ForeignSource      uint64 `json:"foreign_source"`
	NoKernelStamp      uint64 `json:"no_kernel_stamp"`
	SendErrors         uint64 `json:"send_errors"`
	RecvErrors         uint64 `json:"recv_errors"`
	EncodeErrors       uint64 `json:"encode_errors"`

	fuLag, drRTT, syncGap, syncTransit ntpload.Histogram
}

func (r *Result) add(s *stats) {
	r.Announce.Expected += s.expected[0]
	r.Announce.Received += s.inWindow[0]
	r.Announce.Extra += s.extra[0]
	r.Announce.Total += s.rx[kindAnnounce]
	r.Sync.Expected += s.expected[1]
	r.Sync.Received += s.inWindow[1]
	r.Sync.Extra += s.extra[1]
	r.Sync.Total += s.rx[kindSync]
	r.Sync.Late += s.syncLate
	r.FollowUp.Expected += s.fuExpected
	r.FollowUp.Received += s.fuMatched
	r.FollowUp.Late += s.fuLate
	r.FollowUp.Total += s.rx[kindFollowUp]
	r.DelayResp.Expected += s.dreqSent
	r.DelayResp.Received += s.drMatched
	r.DelayResp.Late += s.drLate
	r.DelayResp.Total += s.rx[kindDelayResp]
	g := &r.Grants
	g.Requested += s.requests
	g.Granted += s.grants
	g.Denied += s.denials
	g.Timeouts += s.grantTimeouts
	g.Renewals += s.renewals
	g.Unsolicited += s.unsolicitedGrants
	g.PeriodDiffers += s.grantPeriodDiffers
	g.CancelsSent += s.cancelsSent
	g.AckCancels += s.ackCancels
	g.ServerCancels += s.serverCancels
	r.SignalingSent += s.signalingSent
	r.DelayReqSent += s.dreqSent
	r.DelayReqSkipped += s.dreqSkipped
	r.OneStepSyncs += s.oneStep
	r.FollowUpReordered += s.fuReordered
	r.SyncTransitLate += s.transitLate
	r.SyncTransitNegative += s.transitNegative
	r.FollowUpOrphans += s.fuOrphan
	r.DelayRespUnmatched += s.drUnmatched
	r.DelayRespForeign += s.drForeign
	r.Malformed += s.malformed
	r.BadVersion += s.badVersion
	r.BadDomain += s.badDomain
	r.OtherMessages += s.otherMsgs
	r.OtherTLVs += s.otherTLVs
	r.ForeignSource += s.foreignSource
	r.NoKernelStamp += s.noKernelStamp
	r.SendErrors += s.sendErrors
	r.RecvErrors += s.recvErrors
	r.EncodeErrors += s.encodeErrors
	for _, n := range s.rx {
		r.MessagesRecv += n
	}
	r.fuLag.Merge(&s.fuLag)
	r.drRTT.Merge(&s.drRTT)
	r.syncGap.Merge(&s.syncGap)
	r.syncTransit.Merge(&s.syncTransit)
}

func (r *Result) finish() {
	for _, f := range []*Flow{&r.Announce, &r.Sync, &r.FollowUp, &r.DelayResp} {
		f.finish()
	}
	r.FollowUpLag = latency(&r.fuLag)
	r.DelayRespRTT = latency(&r.drRTT)
	r.SyncGap = latency(&r.syncGap)
	r.SyncTransit = latency(&r.syncTransit)
}

// MinPct is the smallest received percentage over the four flows (100 when
// nothing was expected).
func (r *Result) MinPct() float64 {
	m := 100.0
	for _, f := range []Flow{r.Announce, r.Sync, r.FollowUp, r.DelayResp} {
		if f.Expected > 0 {
			m = min(m, f.Pct)
		}
	}
	return m
}

// WriteTable prints the result for people.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "server %s  mode %s  clients %d  workers %d  domain %d  sync %g Hz  announce 2^%d s  grant %gs  ran %.1fs  cpu %.0f %%\n",
		r.Server, r.Mode, r.Clients, r.Workers, r.Domain, r.SyncRateHz, r.AnnounceLog, r.GrantS, r.WallS, r.CPUPct)
	fmt.Fprintf(tw, "message\texpected\treceived\t%%\tmissing\tlate\textra\ttotal\t\n")
	for _, row := range []struct {
		name string
		f    Flow
	}{{"Announce", r.Announce}, {"Sync", r.Sync}, {"Follow_Up", r.FollowUp}, {"Delay_Resp", r.DelayResp}} {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%d\t%d\t%d\t%d\t\n", row.name, row.f.Expected, row.f.Received, row.f.Pct,
			row.f.Missing, row.f.Late, row.f.Extra, row.f.Total)
	}
	fmt.Fprintf(tw, "\t\t\t\t\t\t\t\t\n")
	fmt.Fprintf(tw, "latency\tsamples\tmin µs\tp50 µs\tp99 µs\tmax µs\t\t\t\n")
	for _, row := range []struct {
		name string
		l    Latency
	}{{"Follow_Up lag", r.FollowUpLag}, {"Delay_Resp RTT", r.DelayRespRTT}, {"Sync gap", r.SyncGap}, {"Sync transit", r.SyncTransit}} {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\t\t\n", row.name, row.l.Samples, row.l.MinUS, row.l.P50US, row.l.P99US, row.l.MaxUS)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	g := r.Grants
	fmt.Fprintf(w, "grants: requested %d granted %d denied %d timeouts %d renewals %d period_differs %d; cancels sent %d acked %d; server cancels %d\n",
		g.Requested, g.Granted, g.Denied, g.Timeouts, g.Renewals, g.PeriodDiffers, g.CancelsSent, g.AckCancels, g.ServerCancels)
	fmt.Fprintf(w, "sent: signaling %d delay_req %d\n", r.SignalingSent, r.DelayReqSent)
	if r.SyncTransit.Samples > 0 {
		fmt.Fprintf(w, "sync transit (valid on a shared clock only): above %v %d, negative %d\n",
			TransitLate, r.SyncTransitLate, r.SyncTransitNegative)
	}
	odd := r.Malformed + r.BadVersion + r.BadDomain + r.OtherMessages + r.ForeignSource + r.DelayRespUnmatched + r.DelayRespForeign +
		r.FollowUpOrphans + r.SendErrors + r.RecvErrors + r.EncodeErrors + r.DelayReqSkipped
	if odd > 0 {
		fmt.Fprintf(w, "odd: malformed %d bad_version %d bad_domain %d other_msgs %d foreign_source %d dr_unmatched %d dr_foreign %d fu_orphans %d send_err %d recv_err %d encode_err %d gen_dreq_skipped %d\n",
			r.Malformed, r.BadVersion, r.BadDomain, r.OtherMessages, r.ForeignSource, r.DelayRespUnmatched, r.DelayRespForeign,
			r.FollowUpOrphans, r.SendErrors, r.RecvErrors, r.EncodeErrors, r.DelayReqSkipped)
	}
	if r.Interrupted {
		fmt.Fprintln(w, "WARNING: interrupted before the end")
	}
	return nil
}
