package metrics

import (
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/report"
)

type fakeServe struct{ st report.ServerStats }

func (f *fakeServe) ServerStats() report.ServerStats { return f.st }

type fakeLog struct{ st report.ClientLogStats }

func (f *fakeLog) ClientLogStats() report.ClientLogStats { return f.st }

type fakeServed struct {
	r  report.Served
	ok bool
}

func (f *fakeServed) Served() (report.Served, bool) { return f.r, f.ok }

// verdicts are ntp's verdict labels in ntp's order, as ntp/serve reports
// them (its tests check that every verdict is there).
var verdicts = []string{"served", "interleaved", "kod_rate", "rate_limited", "denied", "malformed",
	"bad_version", "bad_mode", "no_key", "auth_failed", "crypto_nak", "nts_nak", "short_buffer"}

func fixture() (*fakeServe, *fakeLog, *fakeServed) {
	counts := map[string]uint64{"served": 100, "interleaved": 40, "kod_rate": 3, "rate_limited": 7, "denied": 2,
		"malformed": 5, "bad_version": 1, "bad_mode": 4, "no_key": 6, "auth_failed": 11, "crypto_nak": 12, "nts_nak": 2}
	ss := report.ServerStats{
		RXTimestamps:     report.TimestampCounts{Daemon: 12, Kernel: 150},
		TXTimestamps:     report.TimestampCounts{Daemon: 103, Kernel: 140, Hardware: 9},
		RXHardwareUnused: 6, TXHardwareUnused: 2, TXRecorded: 139, TXUnmatched: 1,
		Interleaved: 40, Replies: 143, SendErrors: 2, ReceiveErrors: 3, Truncated: 1, KernelDrops: 8,
		Authenticated: 13, SealFailed: 0, BasicBatched: 4,
		// 3 errors ≤ 1 µs, 5 ≤ 2 µs, 1 ≤ 20 µs, 1 above 1 ms.
		BasicTXError: report.TXErrorHistogram{Counts: [report.NumTXErrorBounds + 1]uint64{6: 3, 7: 5, 10: 1, 14: 1},
			Sum: 2024900 * time.Nanosecond},
		NTS: report.NTSStats{
			Requests: []report.VerdictCount{{Verdict: "authentic", Count: 30}, {Verdict: "nak_unknown_key", Count: 2},
				{Verdict: "nak_bad_cookie", Count: 0}, {Verdict: "malformed", Count: 1}, {Verdict: "bad_authenticator", Count: 4}},
			Authenticated: 29, NAKs: 2, SealFailed: 0,
		},
	}
	for _, v := range verdicts {
		ss.Requests = append(ss.Requests, report.VerdictCount{Verdict: v, Count: counts[v]})
	}
	cl := report.ClientLogStats{Capacity: 4096, Records: 17, Hits: 150, RateLimited: 7, KoDs: 3, Leaks: 2,
		Contended: 1, Evictions: 0, TimestampsHeld: 5, TimestampEvictions: 2}
	// The served state 100 s after its reference time: the root dispersion
	// has grown from 100 µs by 1.5 ms (engine.ServedReport's job).
	served := report.Served{Synchronized: true, Leap: clock.LeapInsert, Stratum: 3,
		RootDelay: 250 * time.Microsecond, RootDispersion: 1600 * time.Microsecond}
	return &fakeServe{ss}, &fakeLog{cl}, &fakeServed{served, true}
}

// fakeControl is the control protocol's counters.
type fakeControl struct{}

func (fakeControl) ControlStats() report.ControlStats {
	return report.ControlStats{Requests: []report.VerdictCount{
		{Verdict: "answered", Count: 12}, {Verdict: "refused", Count: 3}, {Verdict: "dropped_address", Count: 1}}}
}

type fakeNTSKE struct{}

func (fakeNTSKE) NTSKEStats() report.NTSKEStats {
	return report.NTSKEStats{Accepted: 21, Dropped: 1, HandshakeFailed: 3, Failed: 2, Served: 15, Refusals: 1, Cookies: 120,
		Keys: report.NTSKeyStats{Rotations: 4, SaveErrors: 2, ReloadErrors: 1, HasFile: true, FileCurrent: false}}
}

type fakeReload struct{}

func (fakeReload) ReloadStats() report.ReloadStats {
	return report.ReloadStats{OK: 5, Failed: 2, LastOK: false}
}

type fakePTP struct{}

func (fakePTP) PTPStats() report.PTPStats {
	return report.PTPStats{
		Received:    []report.LabelCount{{Label: "answered", Count: 900}, {Label: "malformed", Count: 2}},
		Sent:        []report.LabelCount{{Label: "sync", Count: 640}, {Label: "follow_up", Count: 639}, {Label: "announce", Count: 80}},
		Negotiation: []report.LabelCount{{Label: "granted", Count: 6}, {Label: "denied_interval", Count: 1}, {Label: "cancelled", Count: 1}},
		TXMisses:    1, SendErrors: 0, ForeignAnnounces: 3, Clients: 2,
		Grants: []report.LabelCount{{Label: "announce", Count: 2}, {Label: "sync", Count: 2}, {Label: "delay_resp", Count: 1}},
		Timestamps: []report.PTPStampCount{{Direction: "rx", Kind: "kernel", Count: 4}, {Direction: "rx", Kind: "hardware", Count: 896},
			{Direction: "tx", Kind: "hardware", Count: 639}},
		HardwareMissing: []report.LabelCount{{Label: "rx", Count: 4}, {Label: "tx", Count: 1}},
	}
}

const golden = `
# HELP gnomon_build_info Build information; the value is always 1.
# TYPE gnomon_build_info gauge
gnomon_build_info{goversion="GOVERSION",version="v0.0.0-test"} 1
# HELP gnomon_control_requests_total Control-protocol (chronyc) requests by verdict: answered, refused (an error status), or dropped without a reply.
# TYPE gnomon_control_requests_total counter
gnomon_control_requests_total{verdict="answered"} 12
gnomon_control_requests_total{verdict="dropped_address"} 1
gnomon_control_requests_total{verdict="refused"} 3
# HELP gnomon_config_last_reload_successful 1 if the last configuration reload was applied (or none was tried since start), 0 if it failed and the running configuration is older than the file.
# TYPE gnomon_config_last_reload_successful gauge
gnomon_config_last_reload_successful 0
# HELP gnomon_config_reloads_total Configuration reloads (SIGHUP, chronyc reload sources): result = ok (applied), failed (refused: the running configuration and keys kept; the log says why).
# TYPE gnomon_config_reloads_total counter
gnomon_config_reloads_total{result="failed"} 2
gnomon_config_reloads_total{result="ok"} 5
# HELP gnomon_ntp_authenticated_replies_total NTP replies sent with a symmetric-key MAC (requests whose MAC verified); failures are the verdicts auth_failed, crypto_nak and no_key.
# TYPE gnomon_ntp_authenticated_replies_total counter
gnomon_ntp_authenticated_replies_total 13
# HELP gnomon_ntp_basic_replies_batched_total Basic NTP replies sent in a shared sendmmsg with a Transmit predicted from the calibration instead of read right before sending (only while requests queue: the server is behind).
# TYPE gnomon_ntp_basic_replies_batched_total counter
gnomon_ntp_basic_replies_batched_total 4
# HELP gnomon_ntp_basic_transmit_error_seconds How far basic NTP replies' Transmit timestamps led their packets' kernel (or NIC) transmit timestamps (kernel stamp − Transmit; negative: the Transmit was late), for the basic replies gnomond stamps: about one in 16 batches, and the first of each interleaved association.
# TYPE gnomon_ntp_basic_transmit_error_seconds histogram
gnomon_ntp_basic_transmit_error_seconds_bucket{le="-2e-05"} 0
gnomon_ntp_basic_transmit_error_seconds_bucket{le="-1e-05"} 0
gnomon_ntp_basic_transmit_error_seconds_bucket{le="-5e-06"} 0
gnomon_ntp_basic_transmit_error_seconds_bucket{le="-2e-06"} 0
gnomon_ntp_basic_transmit_error_seconds_bucket{le="-1e-06"} 0
gnomon_ntp_basic_transmit_error_seconds_bucket{le="0"} 0
gnomon_ntp_basic_transmit_error_seconds_bucket{le="1e-06"} 3
gnomon_ntp_basic_transmit_error_seconds_bucket{le="2e-06"} 8
gnomon_ntp_basic_transmit_error_seconds_bucket{le="5e-06"} 8
gnomon_ntp_basic_transmit_error_seconds_bucket{le="1e-05"} 8
gnomon_ntp_basic_transmit_error_seconds_bucket{le="2e-05"} 9
gnomon_ntp_basic_transmit_error_seconds_bucket{le="5e-05"} 9
gnomon_ntp_basic_transmit_error_seconds_bucket{le="0.0001"} 9
gnomon_ntp_basic_transmit_error_seconds_bucket{le="0.001"} 9
gnomon_ntp_basic_transmit_error_seconds_bucket{le="+Inf"} 10
gnomon_ntp_basic_transmit_error_seconds_sum 0.0020249
gnomon_ntp_basic_transmit_error_seconds_count 10
# HELP gnomon_ntp_client_log_capacity Client log size in records.
# TYPE gnomon_ntp_client_log_capacity gauge
gnomon_ntp_client_log_capacity 4096
# HELP gnomon_ntp_client_log_contended_total Client log updates skipped because another worker held the record.
# TYPE gnomon_ntp_client_log_contended_total counter
gnomon_ntp_client_log_contended_total 1
# HELP gnomon_ntp_client_log_evictions_total Client log records replaced by a new client.
# TYPE gnomon_ntp_client_log_evictions_total counter
gnomon_ntp_client_log_evictions_total 0
# HELP gnomon_ntp_client_log_hits_total Requests looked up in the client log.
# TYPE gnomon_ntp_client_log_hits_total counter
gnomon_ntp_client_log_hits_total 150
# HELP gnomon_ntp_client_log_kod_total Requests the rate limit answered with KoD RATE.
# TYPE gnomon_ntp_client_log_kod_total counter
gnomon_ntp_client_log_kod_total 3
# HELP gnomon_ntp_client_log_leaked_total Requests over the rate limit answered anyway (leak).
# TYPE gnomon_ntp_client_log_leaked_total counter
gnomon_ntp_client_log_leaked_total 2
# HELP gnomon_ntp_client_log_rate_limited_total Requests the rate limit dropped.
# TYPE gnomon_ntp_client_log_rate_limited_total counter
gnomon_ntp_client_log_rate_limited_total 7
# HELP gnomon_ntp_client_log_records Client log records in use.
# TYPE gnomon_ntp_client_log_records gauge
gnomon_ntp_client_log_records 17
# HELP gnomon_ntp_client_log_timestamp_evictions_total Held transmit timestamps replaced before their client asked for them (that association got one basic reply).
# TYPE gnomon_ntp_client_log_timestamp_evictions_total counter
gnomon_ntp_client_log_timestamp_evictions_total 2
# HELP gnomon_ntp_client_log_timestamps_held Interleaved-mode associations whose last transmit timestamp the client log holds (chronyc's NTP timestamps held).
# TYPE gnomon_ntp_client_log_timestamps_held gauge
gnomon_ntp_client_log_timestamps_held 5
# HELP gnomon_ntp_interleaved_replies_total NTP replies sent in interleaved mode (RFC 9769).
# TYPE gnomon_ntp_interleaved_replies_total counter
gnomon_ntp_interleaved_replies_total 40
# HELP gnomon_ntp_interleaved_tx_timestamps_recorded_total Kernel transmit timestamps stored for interleaved mode.
# TYPE gnomon_ntp_interleaved_tx_timestamps_recorded_total counter
gnomon_ntp_interleaved_tx_timestamps_recorded_total 139
# HELP gnomon_ntp_interleaved_tx_timestamps_unmatched_total Kernel transmit timestamps whose reply was no longer known.
# TYPE gnomon_ntp_interleaved_tx_timestamps_unmatched_total counter
gnomon_ntp_interleaved_tx_timestamps_unmatched_total 1
# HELP gnomon_ntp_receive_errors_total Failed receive calls on NTP sockets.
# TYPE gnomon_ntp_receive_errors_total counter
gnomon_ntp_receive_errors_total 3
# HELP gnomon_ntp_replies_total NTP replies sent.
# TYPE gnomon_ntp_replies_total counter
gnomon_ntp_replies_total 143
# HELP gnomon_ntp_requests_total NTP datagrams received, by the verdict of the server.
# TYPE gnomon_ntp_requests_total counter
gnomon_ntp_requests_total{verdict="auth_failed"} 11
gnomon_ntp_requests_total{verdict="bad_mode"} 4
gnomon_ntp_requests_total{verdict="bad_version"} 1
gnomon_ntp_requests_total{verdict="crypto_nak"} 12
gnomon_ntp_requests_total{verdict="denied"} 2
gnomon_ntp_requests_total{verdict="interleaved"} 40
gnomon_ntp_requests_total{verdict="kod_rate"} 3
gnomon_ntp_requests_total{verdict="malformed"} 5
gnomon_ntp_requests_total{verdict="no_key"} 6
gnomon_ntp_requests_total{verdict="nts_nak"} 2
gnomon_ntp_requests_total{verdict="rate_limited"} 7
gnomon_ntp_requests_total{verdict="served"} 100
gnomon_ntp_requests_total{verdict="short_buffer"} 0
# HELP gnomon_ntp_requests_truncated_total NTP datagrams longer than the receive buffer (also counted as malformed).
# TYPE gnomon_ntp_requests_truncated_total counter
gnomon_ntp_requests_truncated_total 1
# HELP gnomon_ntp_rx_hardware_timestamps_unused_total NTP requests that carried a NIC hardware timestamp gnomond could not use (no fresh PHC-to-system-clock mapping); their kernel software timestamp was used.
# TYPE gnomon_ntp_rx_hardware_timestamps_unused_total counter
gnomon_ntp_rx_hardware_timestamps_unused_total 6
# HELP gnomon_ntp_rx_timestamps_total Receive timestamps used for NTP requests, by kind (a hardware stamp without a fresh PHC mapping counts as kernel).
# TYPE gnomon_ntp_rx_timestamps_total counter
gnomon_ntp_rx_timestamps_total{kind="daemon"} 12
gnomon_ntp_rx_timestamps_total{kind="hardware"} 0
gnomon_ntp_rx_timestamps_total{kind="kernel"} 150
# HELP gnomon_ntp_tx_hardware_timestamps_unused_total NIC hardware transmit timestamps gnomond could not map to the system clock; the packet's kernel software timestamp was used.
# TYPE gnomon_ntp_tx_hardware_timestamps_unused_total counter
gnomon_ntp_tx_hardware_timestamps_unused_total 2
# HELP gnomon_ntp_seal_failures_total Authenticated NTP replies not sent because they could not be sealed (a bug if ever non-zero).
# TYPE gnomon_ntp_seal_failures_total counter
gnomon_ntp_seal_failures_total 0
# HELP gnomon_ntp_send_errors_total NTP replies the kernel refused to send.
# TYPE gnomon_ntp_send_errors_total counter
gnomon_ntp_send_errors_total 2
# HELP gnomon_ntp_socket_drops_total Datagrams the kernel dropped because an NTP socket's receive queue was full.
# TYPE gnomon_ntp_socket_drops_total counter
gnomon_ntp_socket_drops_total 8
# HELP gnomon_ntp_tx_timestamps_total Transmit timestamps: daemon = read by gnomond and written into a reply; kernel/hardware = reported by the kernel after sending.
# TYPE gnomon_ntp_tx_timestamps_total counter
gnomon_ntp_tx_timestamps_total{kind="daemon"} 103
gnomon_ntp_tx_timestamps_total{kind="hardware"} 9
gnomon_ntp_tx_timestamps_total{kind="kernel"} 140
# HELP gnomon_sync_leap Leap indicator served: 0 none, 1 insert, 2 delete, 3 unsynchronised.
# TYPE gnomon_sync_leap gauge
gnomon_sync_leap 1
# HELP gnomon_sync_root_delay_seconds Root delay of the served clock.
# TYPE gnomon_sync_root_delay_seconds gauge
gnomon_sync_root_delay_seconds 0.00025
# HELP gnomon_sync_root_dispersion_seconds Root dispersion of the served clock, grown to the scrape time.
# TYPE gnomon_sync_root_dispersion_seconds gauge
gnomon_sync_root_dispersion_seconds 0.0016
# HELP gnomon_sync_stratum Stratum of the served clock (16 = unsynchronised).
# TYPE gnomon_sync_stratum gauge
gnomon_sync_stratum 3
# HELP gnomon_sync_synchronized 1 if the served clock is synchronised (or declared so by a local reference), else 0.
# TYPE gnomon_sync_synchronized gauge
gnomon_sync_synchronized 1
# HELP gnomon_nts_authenticated_replies_total NTP replies sent with an NTS authenticator and fresh cookies.
# TYPE gnomon_nts_authenticated_replies_total counter
gnomon_nts_authenticated_replies_total 29
# HELP gnomon_nts_key_file_current 1 if nts.key_file holds the master keys in use, 0 while they live only in memory (unsaved, or the file missing or broken: cookies would not survive a restart). Only with nts.key_file set.
# TYPE gnomon_nts_key_file_current gauge
gnomon_nts_key_file_current 0
# HELP gnomon_nts_key_file_errors_total Failed operations on nts.key_file: op = save (writing it: full disk, read-only or missing directory), reload (reading it at run time: removed, broken, loose permissions). The keys in use are kept.
# TYPE gnomon_nts_key_file_errors_total counter
gnomon_nts_key_file_errors_total{op="reload"} 1
gnomon_nts_key_file_errors_total{op="save"} 2
# HELP gnomon_nts_key_rotations_total NTS master-key rotations done by this server (a writer: nts.rotate > 0).
# TYPE gnomon_nts_key_rotations_total counter
gnomon_nts_key_rotations_total 4
# HELP gnomon_nts_ke_connections_accepted_total NTS-KE TCP connections accepted (chronyc serverstats: NTS-KE connections accepted).
# TYPE gnomon_nts_ke_connections_accepted_total counter
gnomon_nts_ke_connections_accepted_total 21
# HELP gnomon_nts_ke_connections_dropped_total NTS-KE connections closed at once because nts.max_connections were open (chronyc: NTS-KE connections dropped).
# TYPE gnomon_nts_ke_connections_dropped_total counter
gnomon_nts_ke_connections_dropped_total 1
# HELP gnomon_nts_ke_cookies_issued_total Cookies issued by NTS-KE.
# TYPE gnomon_nts_ke_cookies_issued_total counter
gnomon_nts_ke_cookies_issued_total 120
# HELP gnomon_nts_ke_errors_total NTS-KE exchanges that failed: kind = handshake (TLS handshake, no ALPN ntske/1), exchange (timeout, oversized or truncated request, reset).
# TYPE gnomon_nts_ke_errors_total counter
gnomon_nts_ke_errors_total{kind="exchange"} 2
gnomon_nts_ke_errors_total{kind="handshake"} 3
# HELP gnomon_nts_ke_responses_total NTS-KE responses: result = served (with cookies), refused (an Error record).
# TYPE gnomon_nts_ke_responses_total counter
gnomon_nts_ke_responses_total{result="refused"} 1
gnomon_nts_ke_responses_total{result="served"} 15
# HELP gnomon_nts_naks_total NTS NAKs sent (cookie of an unknown master key or that does not open: the client redoes NTS-KE).
# TYPE gnomon_nts_naks_total counter
gnomon_nts_naks_total 2
# HELP gnomon_nts_requests_total NTP requests with NTS extension fields, by NTS verdict: authentic, nak_unknown_key and nak_bad_cookie (answered with an NTS NAK), malformed and bad_authenticator (dropped).
# TYPE gnomon_nts_requests_total counter
gnomon_nts_requests_total{verdict="authentic"} 30
gnomon_nts_requests_total{verdict="bad_authenticator"} 4
gnomon_nts_requests_total{verdict="malformed"} 1
gnomon_nts_requests_total{verdict="nak_bad_cookie"} 0
gnomon_nts_requests_total{verdict="nak_unknown_key"} 2
# HELP gnomon_nts_seal_failures_total NTS replies not sent because they could not be sealed (no randomness; a bug if ever non-zero).
# TYPE gnomon_nts_seal_failures_total counter
gnomon_nts_seal_failures_total 0
# HELP gnomon_ptp_foreign_announces_total Announces from other PTP masters: noted and logged, never obeyed.
# TYPE gnomon_ptp_foreign_announces_total counter
gnomon_ptp_foreign_announces_total 3
# HELP gnomon_ptp_hardware_timestamp_misses_total Event messages that should have had a NIC hardware timestamp and did not (the kernel stamp was used instead when there was one).
# TYPE gnomon_ptp_hardware_timestamp_misses_total counter
gnomon_ptp_hardware_timestamp_misses_total{direction="rx"} 4
gnomon_ptp_hardware_timestamp_misses_total{direction="tx"} 1
# HELP gnomon_ptp_messages_received_total PTP messages received, by the grandmaster's verdict.
# TYPE gnomon_ptp_messages_received_total counter
gnomon_ptp_messages_received_total{verdict="answered"} 900
gnomon_ptp_messages_received_total{verdict="malformed"} 2
# HELP gnomon_ptp_messages_sent_total PTP messages sent, by message type.
# TYPE gnomon_ptp_messages_sent_total counter
gnomon_ptp_messages_sent_total{type="announce"} 80
gnomon_ptp_messages_sent_total{type="follow_up"} 639
gnomon_ptp_messages_sent_total{type="sync"} 640
# HELP gnomon_ptp_send_errors_total PTP messages the kernel refused to send.
# TYPE gnomon_ptp_send_errors_total counter
gnomon_ptp_send_errors_total 0
# HELP gnomon_ptp_timestamps_total Timestamps of PTP event messages (Delay_Req received, Sync sent), by direction and kind (kernel, or NIC hardware from the served PHC).
# TYPE gnomon_ptp_timestamps_total counter
gnomon_ptp_timestamps_total{direction="rx",kind="hardware"} 896
gnomon_ptp_timestamps_total{direction="rx",kind="kernel"} 4
gnomon_ptp_timestamps_total{direction="tx",kind="hardware"} 639
# HELP gnomon_ptp_tx_timestamp_misses_total Syncs whose transmit timestamp did not arrive in time; no Follow_Up was sent for them.
# TYPE gnomon_ptp_tx_timestamp_misses_total counter
gnomon_ptp_tx_timestamp_misses_total 1
# HELP gnomon_ptp_unicast_clients Clients holding unicast grants.
# TYPE gnomon_ptp_unicast_clients gauge
gnomon_ptp_unicast_clients 2
# HELP gnomon_ptp_unicast_grants Unicast grants in force, by message type.
# TYPE gnomon_ptp_unicast_grants gauge
gnomon_ptp_unicast_grants{type="announce"} 2
gnomon_ptp_unicast_grants{type="delay_resp"} 1
gnomon_ptp_unicast_grants{type="sync"} 2
# HELP gnomon_ptp_unicast_negotiations_total Unicast negotiation TLVs: requests granted or denied (by reason), and grants cancelled by their client.
# TYPE gnomon_ptp_unicast_negotiations_total counter
gnomon_ptp_unicast_negotiations_total{result="cancelled"} 1
gnomon_ptp_unicast_negotiations_total{result="denied_interval"} 1
gnomon_ptp_unicast_negotiations_total{result="granted"} 6
`

func TestGoldenExposition(t *testing.T) {
	s, l, served := fixture()
	c := NewCollector(Sources{Serve: s, ClientLog: l, Served: served, Control: fakeControl{}, PTP: fakePTP{}, NTSKE: fakeNTSKE{},
		Reload: fakeReload{}, Version: "v0.0.0-test"})
	want := strings.ReplaceAll(golden, "GOVERSION", runtime.Version())
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// Every reported verdict has a series (ntp/serve reports every verdict,
// also verdicts added to ntp later).
func TestEveryVerdictExported(t *testing.T) {
	s, _, _ := fixture()
	s.st.Requests = append(s.st.Requests, report.VerdictCount{Verdict: "added_later", Count: 1})
	c := NewCollector(Sources{Serve: s})
	if got := testutil.CollectAndCount(c, "gnomon_ntp_requests_total"); got != len(verdicts)+1 {
		t.Errorf("%d requests series, want %d (one per verdict)", got, len(verdicts)+1)
	}
}

// Scrapes read the sources live.
func TestScrapeReadsCurrentValues(t *testing.T) {
	s, _, _ := fixture()
	c := NewCollector(Sources{Serve: s})
	s.st.Replies = 1000
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP gnomon_ntp_replies_total NTP replies sent.
# TYPE gnomon_ntp_replies_total counter
gnomon_ntp_replies_total 1000
`), "gnomon_ntp_replies_total"); err != nil {
		t.Error(err)
	}
}

func TestUnsynchronisedAndMissingSources(t *testing.T) {
	served := &fakeServed{}
	c := NewCollector(Sources{Served: served, Version: "x"})
	// No state published yet: no sync gauges, only build info.
	if got := testutil.CollectAndCount(c); got != 1 {
		t.Errorf("%d series with nothing published, want 1 (build info)", got)
	}
	// What engine.ServedReport makes of clock.Unsynchronised.
	served.r, served.ok = report.Served{Leap: clock.LeapUnsync, Stratum: 16, ErrorBound: math.MaxInt64}, true
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP gnomon_sync_synchronized 1 if the served clock is synchronised (or declared so by a local reference), else 0.
# TYPE gnomon_sync_synchronized gauge
gnomon_sync_synchronized 0
# HELP gnomon_sync_leap Leap indicator served: 0 none, 1 insert, 2 delete, 3 unsynchronised.
# TYPE gnomon_sync_leap gauge
gnomon_sync_leap 3
# HELP gnomon_sync_stratum Stratum of the served clock (16 = unsynchronised).
# TYPE gnomon_sync_stratum gauge
gnomon_sync_stratum 16
`), "gnomon_sync_synchronized", "gnomon_sync_leap", "gnomon_sync_stratum"); err != nil {
		t.Error(err)
	}
}

// The metric names pass promlint (what `promtool check metrics` checks).
func TestLint(t *testing.T) {
	s, l, served := fixture()
	c := NewCollector(Sources{Serve: s, ClientLog: l, Served: served, Version: "v"})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

func TestRegister(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s, l, served := fixture()
	if _, err := Register(reg, Sources{Serve: s, ClientLog: l, Served: served, Version: "v"}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("pedantic gather: %v", err)
	}
	if _, err := Register(reg, Sources{}); err == nil {
		t.Error("registering twice succeeded")
	}
	if _, err := Register(nil, Sources{}); err == nil {
		t.Error("nil registerer accepted")
	}
}
