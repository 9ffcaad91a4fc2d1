package report

import (
	"net/netip"
	"time"
)

// ServerStats are the NTP server's counters since start: chronyc
// serverstats' NTP lines and everything gnomon exports as gnomon_ntp_*.
// Counters are summed over the workers when the report is taken, each
// read atomically; the set is not read at one instant.
type ServerStats struct {
	// Received counts every datagram read from the NTP sockets (chronyc
	// "NTP packets received"; chronyd counts only those from allowed
	// hosts: subtract the "denied" verdict for that).
	Received uint64
	// Dropped counts datagrams that got no reply, whatever the verdict
	// (chronyc "NTP packets dropped"; chronyd counts only rate-limit
	// drops there: the "rate_limited" verdict).
	Dropped uint64
	// KoD counts Kiss-o'-Death RATE replies; Interleaved the interleaved
	// replies (chronyc "Interleaved NTP packets").
	KoD         uint64
	Interleaved uint64
	// Requests has one entry per verdict of the server, every verdict
	// present (zero counts too), in a fixed order: the label set of
	// gnomon_ntp_requests_total.
	Requests []VerdictCount
	// RXTimestamps counts the receive timestamp used for each request by
	// kind (a hardware stamp without a fresh PHC mapping counts as
	// kernel); TXTimestamps the transmit timestamps: daemon = read by
	// gnomond and written into a reply, kernel/hardware = reported by the
	// kernel after sending (chronyc "NTP daemon/kernel/hardware RX/TX
	// timestamps").
	RXTimestamps TimestampCounts
	TXTimestamps TimestampCounts
	// RXHardwareUnused counts requests whose NIC hardware stamp could not
	// be used (no fresh PHC mapping; the kernel stamp was used);
	// TXHardwareUnused hardware TX stamps that could not be mapped.
	RXHardwareUnused uint64
	TXHardwareUnused uint64
	// TXRecorded counts kernel TX stamps stored for interleaved mode;
	// TXUnmatched those whose reply was no longer known.
	TXRecorded  uint64
	TXUnmatched uint64
	// Replies sent; SendErrors replies the kernel refused.
	Replies    uint64
	SendErrors uint64
	// ReceiveErrors counts failed receive calls (not datagrams).
	ReceiveErrors uint64
	// Truncated counts datagrams longer than the receive buffer (also in
	// the "malformed" verdict).
	Truncated uint64
	// Authenticated counts replies sent with a symmetric-key MAC (chronyc
	// "Authenticated NTP packets"); authentication failures are the
	// verdicts auth_failed, crypto_nak and no_key. SealFailed counts
	// authenticated replies not sent because they could not be sealed
	// (never expected).
	Authenticated uint64
	SealFailed    uint64
	// KernelDrops counts datagrams the kernel dropped because a socket's
	// receive queue was full.
	KernelDrops uint64
	// BasicTXError is how far a basic reply's Transmit timestamp (read by
	// gnomond and written into the reply) leads the kernel's transmit
	// timestamp of the same datagram: kernel stamp − Transmit, positive
	// when the Transmit is early. Measured for the basic replies whose TX
	// timestamp gnomond asks for anyway (the calibration's samples, about
	// one reply in 16 batches, and the first reply of an interleaved
	// association); empty without kernel TX timestamps.
	BasicTXError TXErrorHistogram
	// BasicBatched counts basic replies sent in a shared sendmmsg, their
	// Transmit predicted from the calibration rather than read right
	// before sending: only while the server is behind (requests
	// queueing), where throughput comes first.
	BasicBatched uint64
	// NTS is the NTP side of NTS (filled by the shell; zero without NTS);
	// NTSKE the NTS-KE server's counters (filled by gnomond, which runs
	// it; zero without NTS).
	NTS   NTSStats
	NTSKE NTSKEStats
	// ClientLog is the client log's part (filled by ntp/clientlog, not
	// by the shell).
	ClientLog ClientLogStats
}

// NTSStats are the NTS counters of the NTP server (gnomon_nts_*).
type NTSStats struct {
	// Requests has one entry per NTS verdict of ntp/nts (authentic,
	// nak_unknown_key, nak_bad_cookie, malformed, bad_authenticator; not
	// "none", the plain requests), every verdict present, in a fixed
	// order: requests that carried NTS extension fields.
	Requests []VerdictCount
	// Authenticated counts replies sent with an NTS authenticator and
	// fresh cookies; NAKs the NTS NAKs sent; SealFailed NTS replies not
	// sent because they could not be sealed (no randomness; never
	// expected).
	Authenticated uint64
	NAKs          uint64
	SealFailed    uint64
}

// NTSKEStats are the NTS-KE server's counters (gnomon_nts_ke_*; chronyc
// serverstats "NTS-KE connections accepted/dropped").
type NTSKEStats struct {
	// Accepted counts TCP connections accepted; Dropped those closed at
	// once because max_connections were open.
	Accepted uint64
	Dropped  uint64
	// HandshakeFailed counts failed TLS handshakes (or no ALPN ntske/1);
	// Failed exchanges that broke after it (timeout, oversized or
	// truncated request, reset).
	HandshakeFailed uint64
	Failed          uint64
	// Served counts responses with cookies; Refusals responses with an
	// Error record (bad request, unsupported protocol or AEAD).
	Served   uint64
	Refusals uint64
	// Cookies counts the cookies issued.
	Cookies uint64
	// Keys are the master keys' store (gnomon_nts_key_*).
	Keys NTSKeyStats
}

// NTSKeyStats are the NTS master-key store's counters and its key file's
// state (gnomon_nts_key_*).
type NTSKeyStats struct {
	// Rotations counts master-key rotations (not the first keys' creation).
	Rotations uint64
	// SaveErrors counts failed writes of the key file (full disk,
	// read-only or missing directory); ReloadErrors failed reads of it at
	// run time (a reader's reload, a writer's check: file removed, broken,
	// loose permissions).
	SaveErrors   uint64
	ReloadErrors uint64
	// HasFile: nts.key_file is set. FileCurrent: the file holds the keys
	// in use (false while they live only in memory).
	HasFile     bool
	FileCurrent bool
}

// ReloadStats count configuration reloads (SIGHUP, chronyc reload
// sources) since start (gnomon_config_*).
type ReloadStats struct {
	// OK counts reloads applied, Failed those refused (the running
	// configuration and keys kept).
	OK     uint64
	Failed uint64
	// LastOK: the last reload was applied, or there was none (the
	// configuration loaded at start is in force).
	LastOK bool
}

// VerdictCount is the number of requests that got one verdict. Verdict is
// the verdict's stable snake_case name ("served", "rate_limited", ...), the
// metric label value.
type VerdictCount struct {
	Verdict string
	Count   uint64
}

// Verdict returns the count of the named verdict (0 if there is none).
func (s *ServerStats) Verdict(name string) uint64 {
	for _, v := range s.Requests {
		if v.Verdict == name {
			return v.Count
		}
	}
	return 0
}

// TXErrorHistogram is a histogram of transmit-timestamp errors with the
// buckets of TXErrorBounds: Counts[i] counts errors ≤ bound i and above
// bound i−1 (not cumulative); the last count holds those above the last
// bound. Sum is the errors' sum.
type TXErrorHistogram struct {
	Counts [NumTXErrorBounds + 1]uint64
	Sum    time.Duration
}

// Count returns the number of errors counted.
func (h *TXErrorHistogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// NumTXErrorBounds is the number of finite bucket bounds of a
// TXErrorHistogram.
const NumTXErrorBounds = 14

// TXErrorBounds returns the inclusive upper bounds of a TXErrorHistogram's
// buckets, ascending: from 20 µs late to 1 ms early, finest around zero.
func TXErrorBounds() [NumTXErrorBounds]time.Duration {
	const us = time.Microsecond
	return [NumTXErrorBounds]time.Duration{-20 * us, -10 * us, -5 * us, -2 * us, -1 * us, 0,
		1 * us, 2 * us, 5 * us, 10 * us, 20 * us, 50 * us, 100 * us, 1000 * us}
}

// TXErrorBucket returns the index in TXErrorHistogram.Counts of error d.
func TXErrorBucket(d time.Duration) int {
	b := TXErrorBounds()
	for i, u := range b {
		if d <= u {
			return i
		}
	}
	return len(b)
}

// TimestampCounts count packet timestamps by kind (the label values
// daemon, kernel, hardware).
type TimestampCounts struct {
	Daemon   uint64
	Kernel   uint64
	Hardware uint64
}

// ClientLogStats are the client log's counters (gnomon_ntp_client_log_*).
type ClientLogStats struct {
	// Capacity is the log's size in records; Records those in use
	// (records are replaced, never deleted).
	Capacity int
	Records  uint64
	// Hits counts requests looked up; RateLimited those the rate limit
	// dropped, KoDs those it answered with KoD RATE, Leaks those over the
	// limit answered anyway.
	Hits        uint64
	RateLimited uint64
	KoDs        uint64
	Leaks       uint64
	// Contended counts updates skipped because another worker held the
	// record.
	Contended uint64
	// Evictions counts records replaced by a new client (chronyc "Client
	// log records dropped").
	Evictions uint64
	// The interleaved-mode timestamp table (one entry per association):
	// TimestampsHeld entries hold a transmit timestamp now (chronyc "NTP
	// timestamps held"; approximate under concurrency);
	// TimestampEvictions counts entries replaced before their client asked
	// for them (that association gets one basic reply).
	TimestampsHeld     uint64
	TimestampEvictions uint64
}

// Client is one row of chronyc clients: one record of the client log.
// There are no NTS-KE or command columns (not served).
type Client struct {
	// Index is the record's slot in the client log (stable while the
	// record lives; chrony's paging index).
	Index int
	Addr  netip.Addr
	// NTPHits counts the client's requests, NTPDrops those the rate limit
	// dropped (both saturate at 2^32 − 1; KoD replies are not drops).
	NTPHits  uint32
	NTPDrops uint32
	// NTPIntervalLog2 is the estimated mean interval between the client's
	// requests, rounded log2 s (chronyc "Int"); it means nothing when
	// IntervalKnown is false (fewer than two requests).
	NTPIntervalLog2 int8
	IntervalKnown   bool
	// LastNTPHitAgo is how long before the report the last request came.
	LastNTPHitAgo time.Duration
	// Interleaved: the client's latest request was in interleaved form
	// (its Origin echoed one of our Receive fields).
	Interleaved bool
}

// ClientPage is one page of the client log, as chrony's
// CLIENT_ACCESSES_BY_INDEX returns it.
type ClientPage struct {
	// Indices is the number of slots (chrony n_indices); Next the index to
	// ask for next (Indices when the end was reached).
	Indices int
	Next    int
	Clients []Client
}

// ControlStats are the control protocol's counters (gnomon_control_*):
// requests by verdict (cmdmon's Verdict names: answered, refused,
// dropped_length, dropped_header, dropped_version, dropped_address), every
// verdict present, in a fixed order.
type ControlStats struct {
	Requests []VerdictCount
}
