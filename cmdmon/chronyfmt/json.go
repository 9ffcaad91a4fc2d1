package chronyfmt

import (
	"fmt"
	"strings"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// The --json shapes of gnomonctl: one object per command, arrays for
// per-source rows. Keys are snake_case with the unit in the name; offsets
// keep chrony's sign (local − reference, seconds), frequencies are ppm
// (positive = the local clock runs fast). Ages that were never set are
// null. These shapes are a stable interface (docs/operations.md).

// JSONTracking is `tracking --json`.
type JSONTracking struct {
	ReferenceID             string  `json:"reference_id"`   // 8 hex digits
	ReferenceName           string  `json:"reference_name"` // address or refclock name
	Address                 string  `json:"address,omitempty"`
	Stratum                 uint16  `json:"stratum"`
	RefTimeUTC              string  `json:"ref_time_utc"` // RFC 3339, nanoseconds
	RefTimeUnixSeconds      float64 `json:"ref_time_unix_seconds"`
	SystemTimeOffsetSeconds float64 `json:"system_time_offset_seconds"` // current correction: > 0 the clock is slow
	LastOffsetSeconds       float64 `json:"last_offset_seconds"`
	RMSOffsetSeconds        float64 `json:"rms_offset_seconds"`
	FrequencyPPM            float64 `json:"frequency_ppm"` // > 0 fast
	ResidualFrequencyPPM    float64 `json:"residual_frequency_ppm"`
	SkewPPM                 float64 `json:"skew_ppm"`
	RootDelaySeconds        float64 `json:"root_delay_seconds"`
	RootDispersionSeconds   float64 `json:"root_dispersion_seconds"`
	UpdateIntervalSeconds   float64 `json:"update_interval_seconds"`
	LeapStatus              string  `json:"leap_status"` // normal, insert_second, delete_second, not_synchronised, invalid
}

// LeapJSON is a leap status as a JSON word.
func LeapJSON(v uint16) string {
	switch v {
	case 0:
		return "normal"
	case 1:
		return "insert_second"
	case 2:
		return "delete_second"
	case 3:
		return "not_synchronised"
	}
	return "invalid"
}

func refIDHex(id uint32) string { return fmt.Sprintf("%08X", id) }

func jsonTime(t time.Time) (string, float64) {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format(time.RFC3339Nano), float64(t.UnixNano()) / 1e9
}

func jsonAddr(a wire.IPAddr) string {
	if a.Family == wire.FamilyUnspec {
		return ""
	}
	return Address(a)
}

// TrackingJSON maps a TRACKING reply.
func TrackingJSON(t wire.Tracking) JSONTracking {
	ts, unix := jsonTime(t.RefTime)
	return JSONTracking{
		ReferenceID: refIDHex(t.RefID), ReferenceName: sourceName(t.Addr.Family == wire.FamilyUnspec, t.RefID, t.Addr),
		Address: jsonAddr(t.Addr), Stratum: t.Stratum, RefTimeUTC: ts, RefTimeUnixSeconds: unix,
		SystemTimeOffsetSeconds: t.CurrentCorrection, LastOffsetSeconds: t.LastOffset, RMSOffsetSeconds: t.RMSOffset,
		FrequencyPPM: t.FreqPPM, ResidualFrequencyPPM: t.ResidFreqPPM, SkewPPM: t.SkewPPM,
		RootDelaySeconds: t.RootDelay, RootDispersionSeconds: t.RootDispersion,
		UpdateIntervalSeconds: t.LastUpdateInterval, LeapStatus: LeapJSON(t.LeapStatus),
	}
}

// JSONSource is one element of `sources --json`.
type JSONSource struct {
	Name                  string  `json:"name"`
	Address               string  `json:"address,omitempty"`
	Mode                  string  `json:"mode"`  // server, peer, refclock, unknown
	State                 string  `json:"state"` // selected, nonselectable, falseticker, jittery, combined, selectable, unknown
	Stratum               uint16  `json:"stratum"`
	PollLog2Seconds       int16   `json:"poll_log2_seconds"`
	Reachability          uint16  `json:"reachability"`
	LastRxAgoSeconds      *uint32 `json:"last_rx_ago_seconds"` // null: never
	AdjustedOffsetSeconds float64 `json:"adjusted_offset_seconds"`
	MeasuredOffsetSeconds float64 `json:"measured_offset_seconds"`
	EstimatedErrorSeconds float64 `json:"estimated_error_seconds"`
}

func ago(s uint32) *uint32 {
	if s == Never {
		return nil
	}
	return &s
}

// SourceJSON maps a SOURCE_DATA reply.
func SourceJSON(d wire.SourceData) JSONSource {
	modes := []string{"server", "peer", "refclock"}
	states := []string{"selected", "nonselectable", "falseticker", "jittery", "combined", "selectable"}
	mode, state := "unknown", "unknown"
	if int(d.Mode) < len(modes) {
		mode = modes[d.Mode]
	}
	if int(d.State) < len(states) {
		state = states[d.State]
	}
	name := sourceDataName(d)
	addr := jsonAddr(d.Addr)
	if d.Mode == ModeRefclock {
		addr = ""
	}
	return JSONSource{
		Name: name, Address: addr, Mode: mode, State: state, Stratum: d.Stratum,
		PollLog2Seconds: d.Poll, Reachability: d.Reachability, LastRxAgoSeconds: ago(d.SinceSample),
		AdjustedOffsetSeconds: d.LatestMeas, MeasuredOffsetSeconds: d.OrigLatestMeas,
		EstimatedErrorSeconds: d.LatestMeasErr,
	}
}

// JSONSourceStats is one element of `sourcestats --json`.
type JSONSourceStats struct {
	Name                        string  `json:"name"`
	Address                     string  `json:"address,omitempty"`
	ReferenceID                 string  `json:"reference_id"`
	Samples                     uint32  `json:"samples"`
	Runs                        uint32  `json:"runs"`
	SpanSeconds                 uint32  `json:"span_seconds"`
	ResidualFrequencyPPM        float64 `json:"residual_frequency_ppm"`
	SkewPPM                     float64 `json:"skew_ppm"`
	EstimatedOffsetSeconds      float64 `json:"estimated_offset_seconds"`
	EstimatedOffsetErrorSeconds float64 `json:"estimated_offset_error_seconds"`
	StdDevSeconds               float64 `json:"std_dev_seconds"`
}

// SourceStatsJSON maps a SOURCESTATS reply.
func SourceStatsJSON(s wire.SourceStats) JSONSourceStats {
	return JSONSourceStats{
		Name: sourceName(s.Addr.Family == wire.FamilyUnspec, s.RefID, s.Addr), Address: jsonAddr(s.Addr),
		ReferenceID: refIDHex(s.RefID), Samples: s.NSamples, Runs: s.NRuns, SpanSeconds: s.SpanSeconds,
		ResidualFrequencyPPM: s.ResidFreqPPM, SkewPPM: s.SkewPPM, EstimatedOffsetSeconds: s.EstOffset,
		EstimatedOffsetErrorSeconds: s.EstOffsetErr, StdDevSeconds: s.StdDev,
	}
}

// JSONSelectData is one element of `selectdata --json`.
type JSONSelectData struct {
	Name                 string  `json:"name"`
	Address              string  `json:"address,omitempty"`
	ReferenceID          string  `json:"reference_id"`
	State                string  `json:"state"` // chrony's state character
	Authenticated        bool    `json:"authenticated"`
	ConfiguredOptions    string  `json:"configured_options"` // NPTR- as printed
	EffectiveOptions     string  `json:"effective_options"`
	LastSampleAgoSeconds *uint32 `json:"last_sample_ago_seconds"`
	Score                float64 `json:"score"`
	LoLimitSeconds       float64 `json:"lo_limit_seconds"`
	HiLimitSeconds       float64 `json:"hi_limit_seconds"`
	Leap                 string  `json:"leap"`
}

// SelectDataJSON maps a SELECT_DATA reply.
func SelectDataJSON(s wire.SelectData) JSONSelectData {
	return JSONSelectData{
		Name: sourceName(s.Addr.Family == wire.FamilyUnspec, s.RefID, s.Addr), Address: jsonAddr(s.Addr),
		ReferenceID: refIDHex(s.RefID), State: string(rune(s.StateChar)), Authenticated: s.Authenticated != 0,
		ConfiguredOptions: options(s.ConfOptions), EffectiveOptions: options(s.EffOptions),
		LastSampleAgoSeconds: ago(s.LastSampleAgo), Score: s.Score, LoLimitSeconds: s.LoLimit,
		HiLimitSeconds: s.HiLimit, Leap: LeapJSON(uint16(s.Leap)),
	}
}

// JSONNTPData is one element of `ntpdata --json`.
type JSONNTPData struct {
	RemoteAddress         string  `json:"remote_address"`
	RemotePort            uint16  `json:"remote_port"`
	LocalAddress          string  `json:"local_address"`
	Leap                  string  `json:"leap"`
	Version               uint8   `json:"version"`
	Mode                  string  `json:"mode"`
	Stratum               uint8   `json:"stratum"`
	PollLog2Seconds       int8    `json:"poll_log2_seconds"`
	PrecisionLog2Seconds  int8    `json:"precision_log2_seconds"`
	RootDelaySeconds      float64 `json:"root_delay_seconds"`
	RootDispersionSeconds float64 `json:"root_dispersion_seconds"`
	ReferenceID           string  `json:"reference_id"`
	RefTimeUTC            string  `json:"ref_time_utc"`
	OffsetSeconds         float64 `json:"offset_seconds"`
	PeerDelaySeconds      float64 `json:"peer_delay_seconds"`
	PeerDispersionSeconds float64 `json:"peer_dispersion_seconds"`
	ResponseTimeSeconds   float64 `json:"response_time_seconds"`
	JitterAsymmetry       float64 `json:"jitter_asymmetry"`
	Tests                 string  `json:"tests"` // "111 111 1111"
	Interleaved           bool    `json:"interleaved"`
	Authenticated         bool    `json:"authenticated"`
	TxTimestamping        string  `json:"tx_timestamping"`
	RxTimestamping        string  `json:"rx_timestamping"`
	TotalTx               uint32  `json:"total_tx"`
	TotalRx               uint32  `json:"total_rx"`
	TotalValidRx          uint32  `json:"total_valid_rx"`
	TotalGoodRx           uint32  `json:"total_good_rx"`
	TotalKernelTx         *uint32 `json:"total_kernel_tx,omitempty"` // NTP_DATA2 only
	TotalKernelRx         *uint32 `json:"total_kernel_rx,omitempty"`
	TotalHwTx             *uint32 `json:"total_hw_tx,omitempty"`
	TotalHwRx             *uint32 `json:"total_hw_rx,omitempty"`
}

// NTPDataJSON maps an NTP_DATA or NTP_DATA2 reply (v2 says which: the
// kernel and hardware totals exist only in NTP_DATA2).
func NTPDataJSON(d wire.NTPData, v2 bool) JSONNTPData {
	ts, _ := jsonTime(d.RefTime)
	j := JSONNTPData{
		RemoteAddress: Address(d.RemoteAddr), RemotePort: d.RemotePort, LocalAddress: Address(d.LocalAddr),
		Leap: LeapJSON(uint16(d.Leap)), Version: d.Version, Mode: strings.ToLower(strings.ReplaceAll(ntpMode(d.Mode), " ", "_")),
		Stratum: d.Stratum, PollLog2Seconds: d.Poll, PrecisionLog2Seconds: d.Precision,
		RootDelaySeconds: d.RootDelay, RootDispersionSeconds: d.RootDispersion, ReferenceID: refIDHex(d.RefID),
		RefTimeUTC: ts, OffsetSeconds: d.Offset, PeerDelaySeconds: d.PeerDelay, PeerDispersionSeconds: d.PeerDispersion,
		ResponseTimeSeconds: d.ResponseTime, JitterAsymmetry: d.JitterAsymmetry,
		Tests:       bits(d.Flags>>7, 3) + " " + bits(d.Flags>>4, 3) + " " + bits(d.Flags, 4),
		Interleaved: d.Flags&NTPFlagInterleaved != 0, Authenticated: d.Flags&NTPFlagAuthenticated != 0,
		TxTimestamping: strings.ToLower(tssName(d.TxTssChar)), RxTimestamping: strings.ToLower(tssName(d.RxTssChar)),
		TotalTx: d.TotalTxCount, TotalRx: d.TotalRxCount, TotalValidRx: d.TotalValidCount, TotalGoodRx: d.TotalGoodCount,
	}
	if v2 {
		j.TotalKernelTx, j.TotalKernelRx = &d.TotalKernelTxTS, &d.TotalKernelRxTS
		j.TotalHwTx, j.TotalHwRx = &d.TotalHwTxTS, &d.TotalHwRxTS
	}
	return j
}

// JSONServerStats is `serverstats --json`. The timestamp counters exist
// only in SERVER_STATS4 replies (chrony ≥ 4.4, gnomond) and are null
// otherwise.
type JSONServerStats struct {
	NTPPacketsReceived       uint64  `json:"ntp_packets_received"`
	NTPPacketsDropped        uint64  `json:"ntp_packets_dropped"`
	CommandPacketsReceived   uint64  `json:"command_packets_received"`
	CommandPacketsDropped    uint64  `json:"command_packets_dropped"`
	ClientLogRecordsDropped  uint64  `json:"client_log_records_dropped"`
	NTSKEConnectionsAccepted uint64  `json:"nts_ke_connections_accepted"`
	NTSKEConnectionsDropped  uint64  `json:"nts_ke_connections_dropped"`
	AuthenticatedNTPPackets  uint64  `json:"authenticated_ntp_packets"`
	InterleavedNTPPackets    uint64  `json:"interleaved_ntp_packets"`
	NTPTimestampsHeld        uint64  `json:"ntp_timestamps_held"`
	NTPTimestampSpanSeconds  uint64  `json:"ntp_timestamp_span_seconds"`
	NTPDaemonRxTimestamps    *uint64 `json:"ntp_daemon_rx_timestamps"`
	NTPDaemonTxTimestamps    *uint64 `json:"ntp_daemon_tx_timestamps"`
	NTPKernelRxTimestamps    *uint64 `json:"ntp_kernel_rx_timestamps"`
	NTPKernelTxTimestamps    *uint64 `json:"ntp_kernel_tx_timestamps"`
	NTPHardwareRxTimestamps  *uint64 `json:"ntp_hardware_rx_timestamps"`
	NTPHardwareTxTimestamps  *uint64 `json:"ntp_hardware_tx_timestamps"`
}

// ServerStatsJSON maps a SERVER_STATS3 or 4 reply (v4 says which).
func ServerStatsJSON(s wire.ServerStats, v4 bool) JSONServerStats {
	j := JSONServerStats{
		NTPPacketsReceived: s.NTPHits, NTPPacketsDropped: s.NTPDrops, CommandPacketsReceived: s.CmdHits,
		CommandPacketsDropped: s.CmdDrops, ClientLogRecordsDropped: s.LogDrops, NTSKEConnectionsAccepted: s.NKEHits,
		NTSKEConnectionsDropped: s.NKEDrops, AuthenticatedNTPPackets: s.NTPAuthHits,
		InterleavedNTPPackets: s.NTPInterleavedHits, NTPTimestampsHeld: s.NTPTimestamps,
		NTPTimestampSpanSeconds: s.NTPSpanSeconds,
	}
	if v4 {
		j.NTPDaemonRxTimestamps, j.NTPDaemonTxTimestamps = &s.NTPDaemonRxTimestamps, &s.NTPDaemonTxTimestamps
		j.NTPKernelRxTimestamps, j.NTPKernelTxTimestamps = &s.NTPKernelRxTimestamps, &s.NTPKernelTxTimestamps
		j.NTPHardwareRxTimestamps, j.NTPHardwareTxTimestamps = &s.NTPHwRxTimestamps, &s.NTPHwTxTimestamps
	}
	return j
}

// JSONClient is one element of `clients --json`.
type JSONClient struct {
	Address                string  `json:"address"`
	NTPHits                uint32  `json:"ntp_hits"`
	NTPDrops               uint32  `json:"ntp_drops"`
	NTPIntervalLog2Seconds *int8   `json:"ntp_interval_log2_seconds"` // null: none
	NTPTimeoutLog2Seconds  *int8   `json:"ntp_timeout_interval_log2_seconds"`
	LastNTPAgoSeconds      *uint32 `json:"last_ntp_ago_seconds"`
	NKEHits                uint32  `json:"nke_hits"`
	NKEDrops               uint32  `json:"nke_drops"`
	NKEIntervalLog2Seconds *int8   `json:"nke_interval_log2_seconds"`
	LastNKEAgoSeconds      *uint32 `json:"last_nke_ago_seconds"`
	CmdHits                uint32  `json:"cmd_hits"`
	CmdDrops               uint32  `json:"cmd_drops"`
	CmdIntervalLog2Seconds *int8   `json:"cmd_interval_log2_seconds"`
	LastCmdAgoSeconds      *uint32 `json:"last_cmd_ago_seconds"`
}

func log2OrNull(v int8) *int8 {
	if v >= 127 {
		return nil
	}
	return &v
}

// ClientJSON maps one CLIENT_ACCESSES_BY_INDEX3 record.
func ClientJSON(c wire.ClientAccess) JSONClient {
	return JSONClient{
		Address: Address(c.Addr), NTPHits: c.NTPHits, NTPDrops: c.NTPDrops,
		NTPIntervalLog2Seconds: log2OrNull(c.NTPInterval), NTPTimeoutLog2Seconds: log2OrNull(c.NTPTimeout),
		LastNTPAgoSeconds: ago(c.LastNTPHitAgo), NKEHits: c.NKEHits, NKEDrops: c.NKEDrops,
		NKEIntervalLog2Seconds: log2OrNull(c.NKEInterval), LastNKEAgoSeconds: ago(c.LastNKEHitAgo),
		CmdHits: c.CmdHits, CmdDrops: c.CmdDrops, CmdIntervalLog2Seconds: log2OrNull(c.CmdInterval),
		LastCmdAgoSeconds: ago(c.LastCmdHitAgo),
	}
}

// JSONActivity is `activity --json`.
type JSONActivity struct {
	Online       int32 `json:"online"`
	Offline      int32 `json:"offline"`
	BurstOnline  int32 `json:"burst_online"`
	BurstOffline int32 `json:"burst_offline"`
	Unresolved   int32 `json:"unresolved"`
}

// ActivityJSON maps an ACTIVITY reply.
func ActivityJSON(a wire.Activity) JSONActivity {
	return JSONActivity{a.Online, a.Offline, a.BurstOnline, a.BurstOffline, a.Unresolved}
}

// JSONStatus is the reply of commands that return only a status (burst,
// makestep, reset sources).
type JSONStatus struct {
	Status string `json:"status"` // "200 OK"
}
