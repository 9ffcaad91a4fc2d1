package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gnomon-time/gnomon/report"
)

// NTSKEStats is the NTS-KE server's counter source (gnomond's NTS runtime
// implements it). Set it only when NTS is on: then the gnomon_nts_*
// metrics are exported, the NTP side from ServeStats' NTS part.
type NTSKEStats interface {
	NTSKEStats() report.NTSKEStats
}

type ntsDescs struct {
	keAccepted, keDropped, keErrors, keResponses, keCookies *prometheus.Desc
	requests, authenticated, naks, sealFailed               *prometheus.Desc
	keyRotations, keyFileErrors, keyFileCurrent             *prometheus.Desc
}

func newNTSDescs(d func(name, help string, labels ...string) *prometheus.Desc) ntsDescs {
	return ntsDescs{
		keAccepted: d("gnomon_nts_ke_connections_accepted_total",
			"NTS-KE TCP connections accepted (chronyc serverstats: NTS-KE connections accepted)."),
		keDropped: d("gnomon_nts_ke_connections_dropped_total",
			"NTS-KE connections closed at once because nts.max_connections were open (chronyc: NTS-KE connections dropped)."),
		keErrors: d("gnomon_nts_ke_errors_total",
			"NTS-KE exchanges that failed: kind = handshake (TLS handshake, no ALPN ntske/1), exchange (timeout, oversized or truncated request, reset).", "kind"),
		keResponses: d("gnomon_nts_ke_responses_total",
			"NTS-KE responses: result = served (with cookies), refused (an Error record).", "result"),
		keCookies: d("gnomon_nts_ke_cookies_issued_total", "Cookies issued by NTS-KE."),
		requests: d("gnomon_nts_requests_total",
			"NTP requests with NTS extension fields, by NTS verdict: authentic, nak_unknown_key and nak_bad_cookie (answered with an NTS NAK), malformed and bad_authenticator (dropped).", "verdict"),
		authenticated: d("gnomon_nts_authenticated_replies_total",
			"NTP replies sent with an NTS authenticator and fresh cookies."),
		naks: d("gnomon_nts_naks_total",
			"NTS NAKs sent (cookie of an unknown master key or that does not open: the client redoes NTS-KE)."),
		sealFailed: d("gnomon_nts_seal_failures_total",
			"NTS replies not sent because they could not be sealed (no randomness; a bug if ever non-zero)."),
		keyRotations: d("gnomon_nts_key_rotations_total",
			"NTS master-key rotations done by this server (a writer: nts.rotate > 0)."),
		keyFileErrors: d("gnomon_nts_key_file_errors_total",
			"Failed operations on nts.key_file: op = save (writing it: full disk, read-only or missing directory), reload (reading it at run time: removed, broken, loose permissions). The keys in use are kept.", "op"),
		keyFileCurrent: d("gnomon_nts_key_file_current",
			"1 if nts.key_file holds the master keys in use, 0 while they live only in memory (unsaved, or the file missing or broken: cookies would not survive a restart). Only with nts.key_file set."),
	}
}

func (n *ntsDescs) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{n.keAccepted, n.keDropped, n.keErrors, n.keResponses, n.keCookies,
		n.requests, n.authenticated, n.naks, n.sealFailed, n.keyRotations, n.keyFileErrors, n.keyFileCurrent} {
		ch <- d
	}
}

func (n *ntsDescs) collect(ke report.NTSKEStats, st report.NTSStats, counter func(*prometheus.Desc, uint64, ...string),
	gauge func(*prometheus.Desc, float64, ...string)) {
	counter(n.keAccepted, ke.Accepted)
	counter(n.keDropped, ke.Dropped)
	counter(n.keErrors, ke.HandshakeFailed, "handshake")
	counter(n.keErrors, ke.Failed, "exchange")
	counter(n.keResponses, ke.Served, "served")
	counter(n.keResponses, ke.Refusals, "refused")
	counter(n.keCookies, ke.Cookies)
	for _, v := range st.Requests {
		counter(n.requests, v.Count, v.Verdict)
	}
	counter(n.authenticated, st.Authenticated)
	counter(n.naks, st.NAKs)
	counter(n.sealFailed, st.SealFailed)
	counter(n.keyRotations, ke.Keys.Rotations)
	counter(n.keyFileErrors, ke.Keys.SaveErrors, "save")
	counter(n.keyFileErrors, ke.Keys.ReloadErrors, "reload")
	if ke.Keys.HasFile {
		gauge(n.keyFileCurrent, b2f(ke.Keys.FileCurrent))
	}
}
