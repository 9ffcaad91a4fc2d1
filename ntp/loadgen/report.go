package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Result is the outcome of one run. Counts are requests or replies;
// rates are per second over SendWindow.
type Result struct {
	Config Config
	// Wall is the whole run including drain; SendWindow from the start to
	// the last send.
	Wall, SendWindow time.Duration
	// CPU is the process's user+system CPU time during the run (the
	// generator's own cost; 1 s per second = one core busy).
	CPU time.Duration
	// Busy is the workers' summed time spent sending and reading replies
	// (not polling, spinning or sleeping): the generator's load.
	Busy time.Duration
	// Interrupted is set when the context ended the run early.
	Interrupted bool

	Sent     uint64 // requests handed to the kernel
	Received uint64 // replies matched to a request in flight (valid, KoD or failing a check), malformed sockets left out
	Lost     uint64 // Sent - MalformedSent - Received
	LossPct  float64
	Valid    uint64 // matched and passing every check; only these have an RTT
	KoD      uint64 // matched Kiss-o'-Death replies
	// Invalid counts wrong replies: failing a check, matched or not, on
	// any socket, including any reply to a malformed request other than an
	// allowed crypto-NAK (Reason.Wrong).
	Invalid uint64
	Late    uint64 // our cookie, but not in flight any more (duplicate or arrived too late)
	// Interleaved counts valid replies that echoed the Receive cookie
	// (server answered in interleaved mode).
	Interleaved uint64
	// XleaveEligible counts valid replies to interleaved requests that a
	// server could answer interleaved: their Origin was the Receive field
	// of a reply to an interleaved-form request, echoed by no request
	// before (a request sent while no such reply was at hand repeats the
	// last Origin, which no server replays). XleaveEligibleInterleaved
	// counts those answered interleaved: their ratio is the server's
	// interleaved share.
	XleaveEligible, XleaveEligibleInterleaved uint64
	// Reasons counts every reply by classification (Reason.String keys).
	Reasons map[string]uint64
	// Kinds holds, per socket kind (Kind index), sockets, requests sent and
	// valid replies.
	Kinds [NumKinds]KindResult
	// MalformedSent is Kinds[KindMalformed].Sent: requests that expect no
	// reply (left out of the loss).
	MalformedSent uint64
	// NTSNAKs counts NTS NAKs, CryptoNAKs crypto-NAKs to the malformed
	// unknown-key requests (both allowed answers, not wrong).
	NTSNAKs, CryptoNAKs uint64
	// NTS: key exchanges before the run and their total time; fresh
	// cookies received; requests that reused a cookie (pool empty).
	NTSKeyExchanges            int
	NTSKETime                  time.Duration
	NTSCookies, NTSCookieReuse uint64

	// Generator-side trouble; non-zero values mean the generator, not the
	// server, limited the run.
	Skipped     uint64 // rate mode: requests not sent because a worker fell too far behind schedule (package doc)
	SendBlocked uint64 // sendmmsg found the socket buffer full
	RxDrops     uint64 // replies dropped by our own sockets (SO_RXQ_OVFL)
	SendErrors  uint64
	RecvErrors  uint64
	ICMPErrors  uint64 // ECONNREFUSED: the server port is closed
	// GSOSends counts UDP_SEGMENT sends (one per batch); GSOFallbacks is
	// non-zero when the kernel refused segmentation offload and the run went
	// on with sendmmsg.
	GSOSends, GSOFallbacks uint64
	// UserRxStamps counts replies without a kernel RX timestamp, timed in
	// user space instead.
	UserRxStamps uint64

	RequestRate, ReplyRate float64
	RTT                    Histogram
	// TXRaw holds, for basic [0] and interleaved [1] valid replies, the
	// client's kernel RX stamp minus the server's Transmit timestamp (for
	// an interleaved reply: the RX stamp of the earlier reply its Transmit
	// describes). TXError takes the one-way delay off it.
	TXRaw [2]Histogram
}

// TXError summarises the transmit-timestamp error of basic (interleaved
// false) or interleaved replies: client RX stamp − server Transmit − half
// the minimum RTT of the run (the one-way delay, both paths alike), so 0
// is a Transmit taken exactly at departure and a positive error a stamp
// that leads the packet's real departure. Both ends read one clock (one
// host, network namespaces). ok is false without samples.
func (r *Result) TXError(interleaved bool) (e TXError, ok bool) {
	h := &r.TXRaw[0]
	if interleaved {
		h = &r.TXRaw[1]
	}
	if h.Count() == 0 || r.RTT.Count() == 0 {
		return TXError{}, false
	}
	half := r.RTT.Min() / 2
	return TXError{Samples: h.Count(), Mean: h.Mean() - half, StdDev: h.StdDev(),
		P99: h.Quantile(0.99) - half, Max: h.Max() - half}, true
}

// TXError is Result.TXError's summary.
type TXError struct {
	Samples                uint64
	Mean, StdDev, P99, Max time.Duration
}

// KindResult is one socket kind's share of a run.
type KindResult struct {
	Sockets     int
	Sent, Valid uint64
}

func (r *Result) add(s *stats) {
	r.Sent += s.sent
	r.Received += s.matched
	r.Interleaved += s.interleaved
	r.XleaveEligible += s.eligible
	r.XleaveEligibleInterleaved += s.eligibleInterleaved
	r.Skipped += s.skipped
	r.SendBlocked += s.sendBlocked
	r.RxDrops += s.drops
	r.SendErrors += s.sendErrors
	r.RecvErrors += s.recvErrors
	r.ICMPErrors += s.icmpErrors
	r.UserRxStamps += s.userRxStamps
	r.GSOSends += s.gsoSends
	r.GSOFallbacks += s.gsoFallbacks
	if r.Reasons == nil {
		r.Reasons = make(map[string]uint64, NumReasons)
	}
	for i, c := range s.reasons {
		if c > 0 {
			r.Reasons[Reason(i).String()] += c
		}
	}
	r.Valid += s.reasons[ReasonValid]
	r.KoD += s.reasons[ReasonKoD]
	r.Late += s.reasons[ReasonLate]
	for i := range Reason(NumReasons) {
		if i.Wrong() {
			r.Invalid += s.reasons[i]
		}
	}
	r.NTSNAKs += s.reasons[ReasonNTSNAK]
	r.CryptoNAKs += s.reasons[ReasonCryptoNAK]
	for k := range r.Kinds {
		r.Kinds[k].Sent += s.kindSent[k]
		r.Kinds[k].Valid += s.kindValid[k]
	}
	r.MalformedSent += s.kindSent[KindMalformed]
	r.NTSCookies += s.ntsCookies
	r.NTSCookieReuse += s.ntsCookieReuse
	r.RTT.Merge(&s.hist)
	for i := range r.TXRaw {
		r.TXRaw[i].Merge(&s.txErr[i])
	}
	r.Busy += s.busy
}

func (r *Result) finish() {
	expect := r.Sent - min(r.Sent, r.MalformedSent)
	if expect >= r.Received {
		r.Lost = expect - r.Received
	}
	if expect > 0 {
		r.LossPct = 100 * float64(r.Lost) / float64(expect)
	}
	if w := r.SendWindow.Seconds(); w > 0 {
		r.RequestRate = float64(r.Sent) / w
		r.ReplyRate = float64(r.Received) / w
	}
}

// CPUPct is the generator's CPU use in percent of one core over the run.
func (r *Result) CPUPct() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return 100 * r.CPU.Seconds() / r.Wall.Seconds()
}

// BusyPct is the share of the workers' send window spent in sendmmsg and
// recvmmsg calls and reply handling, in percent (100 = no headroom left).
// Time the thread was descheduled inside those calls counts as busy.
func (r *Result) BusyPct() float64 {
	total := r.SendWindow.Seconds() * float64(r.Config.Workers)
	if total <= 0 {
		return 0
	}
	return min(100, 100*r.Busy.Seconds()/total)
}

// GeneratorLimited says whether the generator itself fell short: it could
// not keep the requested rate, or dropped replies in its own sockets.
func (r *Result) GeneratorLimited() bool {
	if r.RxDrops > 0 || r.Skipped > r.Sent/100 {
		return true
	}
	return !r.Config.Max && r.RequestRate < 0.97*r.Config.Rate && !r.Interrupted
}

// jsonResult is the stable JSON form: units in the key names.
type jsonResult struct {
	Server           string              `json:"server"`
	Mode             string              `json:"mode"`
	TargetRate       float64             `json:"target_rate"`
	Clients          int                 `json:"clients"`
	Workers          int                 `json:"workers"`
	Outstanding      int                 `json:"outstanding,omitempty"`
	Xleave           bool                `json:"xleave"`
	Mix              string              `json:"mix,omitempty"`
	Kinds            map[string]jsonKind `json:"kinds,omitempty"`
	Wrong            uint64              `json:"wrong_replies"`
	MalformedSent    uint64              `json:"malformed_sent,omitempty"`
	NTSNAKs          uint64              `json:"nts_naks,omitempty"`
	CryptoNAKs       uint64              `json:"crypto_naks,omitempty"`
	NTSKeyExchanges  int                 `json:"nts_key_exchanges,omitempty"`
	NTSKETimeS       float64             `json:"nts_ke_time_s,omitempty"`
	NTSCookies       uint64              `json:"nts_cookies_received,omitempty"`
	NTSCookieReuse   uint64              `json:"nts_cookie_reuse,omitempty"`
	DurationS        float64             `json:"duration_s"`
	Count            uint64              `json:"count,omitempty"`
	SendWindowS      float64             `json:"send_window_s"`
	Interrupted      bool                `json:"interrupted"`
	Sent             uint64              `json:"sent"`
	Received         uint64              `json:"received"`
	Lost             uint64              `json:"lost"`
	LossPct          float64             `json:"loss_pct"`
	Valid            uint64              `json:"valid"`
	Invalid          uint64              `json:"invalid"`
	KoD              uint64              `json:"kod"`
	Late             uint64              `json:"late"`
	Interleaved      uint64              `json:"interleaved"`
	XleaveEligible   uint64              `json:"xleave_eligible"`
	XleaveEligibleIn uint64              `json:"xleave_eligible_interleaved"`
	Reasons          map[string]uint64   `json:"reasons"`
	RequestRate      float64             `json:"request_rate"`
	ReplyRate        float64             `json:"reply_rate"`
	RTTMinUS         float64             `json:"rtt_min_us"`
	RTTMeanUS        float64             `json:"rtt_mean_us"`
	RTTP50US         float64             `json:"rtt_p50_us"`
	RTTP90US         float64             `json:"rtt_p90_us"`
	RTTP99US         float64             `json:"rtt_p99_us"`
	RTTMaxUS         float64             `json:"rtt_max_us"`
	RTTSamples       uint64              `json:"rtt_samples"`
	RTTOver100ms     uint64              `json:"rtt_over_100ms"` // replies more than 100 ms after their request
	TXErrBasic       *jsonTXError        `json:"tx_error_basic,omitempty"`
	TXErrXleave      *jsonTXError        `json:"tx_error_interleaved,omitempty"`
	UserRxStamps     uint64              `json:"user_rx_stamps"`
	GSOSends         uint64              `json:"gso_sends"`
	GSOFallbacks     uint64              `json:"gso_fallbacks"`
	Skipped          uint64              `json:"gen_skipped"`
	SendBlocked      uint64              `json:"gen_send_blocked"`
	RxDrops          uint64              `json:"gen_rx_drops"`
	SendErrors       uint64              `json:"send_errors"`
	RecvErrors       uint64              `json:"recv_errors"`
	ICMPErrors       uint64              `json:"icmp_errors"`
	CPUPct           float64             `json:"gen_cpu_pct"`
	BusyPct          float64             `json:"gen_busy_pct"`
	GeneratorLimited bool                `json:"generator_limited"`
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

// jsonKind is one socket kind's share in JSON.
type jsonKind struct {
	Sockets int    `json:"sockets"`
	Sent    uint64 `json:"sent"`
	Valid   uint64 `json:"valid"`
}

func (r *Result) jsonKinds() map[string]jsonKind {
	if r.Config.Mix.IsZero() {
		return nil
	}
	m := make(map[string]jsonKind, NumKinds)
	for k, v := range r.Kinds {
		if v.Sockets > 0 {
			m[Kind(k).String()] = jsonKind{v.Sockets, v.Sent, v.Valid}
		}
	}
	return m
}

// jsonTXError is a TXError in µs.
type jsonTXError struct {
	Samples  uint64  `json:"samples"`
	MeanUS   float64 `json:"mean_us"`
	StdDevUS float64 `json:"stddev_us"`
	P99US    float64 `json:"p99_us"`
	MaxUS    float64 `json:"max_us"`
}

func (r *Result) jsonTXError(interleaved bool) *jsonTXError {
	e, ok := r.TXError(interleaved)
	if !ok {
		return nil
	}
	return &jsonTXError{Samples: e.Samples, MeanUS: us(e.Mean), StdDevUS: us(e.StdDev), P99US: us(e.P99), MaxUS: us(e.Max)}
}

// MarshalJSON renders the result with explicit units.
func (r *Result) MarshalJSON() ([]byte, error) {
	mode := "rate"
	out := 0
	if r.Config.Max {
		mode, out = "max", r.Config.Outstanding
	}
	return json.Marshal(jsonResult{
		Server: r.Config.Server.String(), Mode: mode, TargetRate: r.Config.Rate,
		Clients: r.Config.Clients, Workers: r.Config.Workers, Outstanding: out, Xleave: r.Config.Xleave,
		Mix: r.Config.Mix.String(), Kinds: r.jsonKinds(), Wrong: r.Invalid, MalformedSent: r.MalformedSent,
		NTSNAKs: r.NTSNAKs, CryptoNAKs: r.CryptoNAKs, NTSKeyExchanges: r.NTSKeyExchanges, NTSKETimeS: r.NTSKETime.Seconds(),
		NTSCookies: r.NTSCookies, NTSCookieReuse: r.NTSCookieReuse,
		DurationS: r.Config.Duration.Seconds(), Count: r.Config.Count, SendWindowS: r.SendWindow.Seconds(), Interrupted: r.Interrupted,
		Sent: r.Sent, Received: r.Received, Lost: r.Lost, LossPct: r.LossPct,
		Valid: r.Valid, Invalid: r.Invalid, KoD: r.KoD, Late: r.Late, Interleaved: r.Interleaved,
		XleaveEligible: r.XleaveEligible, XleaveEligibleIn: r.XleaveEligibleInterleaved, Reasons: r.Reasons,
		RequestRate: r.RequestRate, ReplyRate: r.ReplyRate,
		RTTMinUS: us(r.RTT.Min()), RTTMeanUS: us(r.RTT.Mean()), RTTP50US: us(r.RTT.Quantile(0.5)),
		RTTP90US: us(r.RTT.Quantile(0.9)), RTTP99US: us(r.RTT.Quantile(0.99)), RTTMaxUS: us(r.RTT.Max()),
		RTTSamples: r.RTT.Count(), RTTOver100ms: r.RTT.Above(100 * time.Millisecond), TXErrBasic: r.jsonTXError(false), TXErrXleave: r.jsonTXError(true), UserRxStamps: r.UserRxStamps, GSOSends: r.GSOSends, GSOFallbacks: r.GSOFallbacks,
		Skipped: r.Skipped, SendBlocked: r.SendBlocked, RxDrops: r.RxDrops,
		SendErrors: r.SendErrors, RecvErrors: r.RecvErrors, ICMPErrors: r.ICMPErrors,
		CPUPct: r.CPUPct(), BusyPct: r.BusyPct(), GeneratorLimited: r.GeneratorLimited(),
	})
}

// WriteTable prints the result for people.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	mode := fmt.Sprintf("rate %.0f/s", r.Config.Rate)
	if r.Config.Max {
		mode = fmt.Sprintf("max (%d outstanding/socket)", r.Config.Outstanding)
	}
	if r.Config.Xleave {
		mode += ", interleaved"
	}
	if !r.Config.Mix.IsZero() {
		mode += ", mix " + r.Config.Mix.String()
	}
	d := func(x time.Duration) string { return fmt.Sprintf("%.1f µs", us(x)) }
	rows := [][2]string{
		{"server", r.Config.Server.String()},
		{"mode", mode},
		{"clients / workers", fmt.Sprintf("%d / %d", r.Config.Clients, r.Config.Workers)},
		{"send window", r.SendWindow.Round(time.Millisecond).String()},
		{"sent", fmt.Sprint(r.Sent)},
		{"received", fmt.Sprint(r.Received)},
		{"lost", fmt.Sprintf("%d (%.3f %%)", r.Lost, r.LossPct)},
		{"valid / invalid / kod / late", fmt.Sprintf("%d / %d / %d / %d", r.Valid, r.Invalid, r.KoD, r.Late)},
		{"interleaved", fmt.Sprintf("%d (of eligible requests: %d of %d)", r.Interleaved, r.XleaveEligibleInterleaved, r.XleaveEligible)},
		{"wrong replies", fmt.Sprint(r.Invalid)},
		{"request rate", fmt.Sprintf("%.0f/s", r.RequestRate)},
		{"reply rate", fmt.Sprintf("%.0f/s", r.ReplyRate)},
		{"rtt min / p50 / p90", fmt.Sprintf("%s / %s / %s", d(r.RTT.Min()), d(r.RTT.Quantile(.5)), d(r.RTT.Quantile(.9)))},
		{"rtt p99 / max", fmt.Sprintf("%s / %s", d(r.RTT.Quantile(.99)), d(r.RTT.Max()))},
	}
	for _, x := range []bool{false, true} {
		if e, ok := r.TXError(x); ok {
			name := "tx stamp error basic"
			if x {
				name = "tx stamp error interleaved"
			}
			rows = append(rows, [2]string{name + " mean / sd / p99 / max", fmt.Sprintf("%s / %s / %s / %s (%d replies)",
				d(e.Mean), d(e.StdDev), d(e.P99), d(e.Max), e.Samples)})
		}
	}
	if !r.Config.Mix.IsZero() {
		s := ""
		for k, v := range r.Kinds {
			if v.Sockets > 0 {
				s += fmt.Sprintf("%s %d/%d/%d  ", Kind(k), v.Sockets, v.Sent, v.Valid)
			}
		}
		rows = append(rows, [2]string{"kind sockets/sent/valid", s})
		if r.MalformedSent > 0 {
			rows = append(rows, [2]string{"malformed sent / crypto-NAKs", fmt.Sprintf("%d / %d (lost and loss leave malformed requests out)", r.MalformedSent, r.CryptoNAKs)})
		}
		if r.NTSKeyExchanges > 0 {
			rows = append(rows, [2]string{"nts key exchanges / naks / cookies / reused", fmt.Sprintf("%d in %v / %d / %d / %d",
				r.NTSKeyExchanges, r.NTSKETime.Round(time.Millisecond), r.NTSNAKs, r.NTSCookies, r.NTSCookieReuse)})
		}
	}
	rows = append(rows, [][2]string{
		{"generator cpu / busy", fmt.Sprintf("%.0f %% of one core / %.0f %% in send/receive", r.CPUPct(), r.BusyPct())},
	}...)
	if r.Invalid > 0 {
		s := ""
		for i := range Reason(NumReasons) {
			if c := r.Reasons[i.String()]; c > 0 && i.Wrong() {
				s += fmt.Sprintf("%s=%d ", i, c)
			}
		}
		rows = append(rows, [2]string{"invalid by reason", s})
	}
	if r.Skipped+r.SendBlocked+r.RxDrops+r.SendErrors+r.RecvErrors+r.ICMPErrors > 0 {
		rows = append(rows, [2]string{"generator trouble", fmt.Sprintf(
			"skipped=%d send_blocked=%d rx_drops=%d send_err=%d recv_err=%d icmp=%d",
			r.Skipped, r.SendBlocked, r.RxDrops, r.SendErrors, r.RecvErrors, r.ICMPErrors)})
	}
	if r.GeneratorLimited() {
		rows = append(rows, [2]string{"WARNING", "the generator limited this run; the server was not what was measured"})
	}
	if r.Interrupted {
		rows = append(rows, [2]string{"WARNING", "interrupted before the end"})
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}
