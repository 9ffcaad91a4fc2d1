package serve

import (
	"sync/atomic"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/nts"
	"github.com/gnomon-time/gnomon/report"
)

// Stats is a snapshot of the shell's counters, summed over all worker
// goroutines. Each counter is read atomically; the set is not read at one
// instant.
type Stats struct {
	// Requests counts received datagrams by the verdict Respond (or, for a
	// truncated datagram, the shell) gave them.
	Requests [ntp.NumVerdicts]uint64
	// RXTimestamps counts the receive timestamp kind used for each request.
	// A hardware stamp is used when Config.HWClock maps its PHC time to
	// CLOCK_REALTIME; otherwise the request counts as kernel here and in
	// RXHardwareUnused.
	RXTimestamps [hwts.NumKinds]uint64
	// RXHardwareUnused counts requests that carried a hardware timestamp
	// the shell could not use (no HWClock, or no fresh PHC mapping).
	RXHardwareUnused uint64
	// TXHardwareUnused counts hardware TX timestamps that could not be
	// mapped to CLOCK_REALTIME (the software stamp of the packet was used).
	TXHardwareUnused uint64
	// TXTimestamps counts transmit timestamps by kind: daemon = transmit
	// timestamps the daemon read and wrote into a reply (basic and KoD
	// replies); kernel/hardware = TX timestamps from the error queue.
	TXTimestamps [hwts.NumKinds]uint64
	// TXRecorded counts kernel TX timestamps handed to the client log for
	// interleaved mode (ntp.Server.RecordTX returned true).
	TXRecorded uint64
	// TXUnmatched counts error-queue TX timestamps whose reply was no longer
	// in the ring (overwritten) or was never recorded.
	TXUnmatched uint64
	// Replies counts replies sent; SendErrors replies that could not be sent.
	Replies    uint64
	SendErrors uint64
	// ReceiveErrors counts failed receive calls (not datagrams), e.g. an
	// ICMP error reported on the socket.
	ReceiveErrors uint64
	// Truncated counts datagrams longer than the receive buffer (also
	// counted as malformed in Requests).
	Truncated uint64
	// Authenticated counts replies sent with a symmetric-key MAC (to
	// requests whose MAC verified: served, interleaved or KoD); chronyc's
	// "Authenticated NTP packets". Failures are the verdicts auth_failed,
	// crypto_nak and no_key.
	Authenticated uint64
	// NTSAuthenticated counts replies sent with an NTS authenticator and
	// fresh cookies; NTSNAKs NTS NAKs sent (stale or foreign cookies: the
	// client must redo NTS-KE).
	NTSAuthenticated uint64
	NTSNAKs          uint64
	// NTSVerdicts counts the NTS verdicts of requests that reached the NTS
	// check (rule 5 of ntp.Server.RespondAuth; nts.VerdictNone = plain
	// NTP), summed over the workers' nts.Worker; NTSSealFailed the NTS
	// replies that could not be sealed. All zero without NTS.
	NTSVerdicts   [nts.NumVerdicts]uint64
	NTSSealFailed uint64
	// SealFailed counts replies not sent because ntp.Server.Seal could not
	// authenticate them (never expected: a shell or core bug).
	SealFailed uint64
	// KernelDrops is the sum over sockets of the kernel's count of datagrams
	// dropped because the receive queue was full (hwts.Conn.Drops).
	KernelDrops uint64
	// BasicTXError counts basic replies by how far their Transmit led the
	// kernel's (or NIC's) TX stamp (see report.ServerStats.BasicTXError).
	BasicTXError report.TXErrorHistogram
	// BasicBatched counts basic replies sent in a shared sendmmsg with a
	// calibrated Transmit (see report.ServerStats.BasicBatched).
	BasicBatched uint64
}

// Total returns the number of requests received.
func (s *Stats) Total() uint64 {
	var t uint64
	for _, v := range s.Requests {
		t += v
	}
	return t
}

// counters are one worker goroutine's counters: one writer (the worker),
// many readers (Stats). Padded so that two workers' counters never share a
// cache line.
type counters struct {
	_                [64]byte
	requests         [ntp.NumVerdicts]atomic.Uint64
	rx               [hwts.NumKinds]atomic.Uint64
	rxHardwareUnused atomic.Uint64
	txHardwareUnused atomic.Uint64
	tx               [hwts.NumKinds]atomic.Uint64
	txRecorded       atomic.Uint64
	txUnmatched      atomic.Uint64
	replies          atomic.Uint64
	sendErrors       atomic.Uint64
	receiveErrors    atomic.Uint64
	truncated        atomic.Uint64
	authenticated    atomic.Uint64
	sealFailed       atomic.Uint64
	ntsAuthenticated atomic.Uint64
	ntsNAKs          atomic.Uint64
	txCalibration    atomic.Uint64 // basic replies sent with a TX stamp request for txCal
	basicBatched     atomic.Uint64
	txErr            [report.NumTXErrorBounds + 1]atomic.Uint64
	txErrSum         atomic.Int64 // ns
	_                [64]byte
}

// addTo adds the counters into s.
func (c *counters) addTo(s *Stats) {
	for i := range c.requests {
		s.Requests[i] += c.requests[i].Load()
	}
	for i := range c.rx {
		s.RXTimestamps[i] += c.rx[i].Load()
		s.TXTimestamps[i] += c.tx[i].Load()
	}
	s.RXHardwareUnused += c.rxHardwareUnused.Load()
	s.TXHardwareUnused += c.txHardwareUnused.Load()
	s.TXRecorded += c.txRecorded.Load()
	s.TXUnmatched += c.txUnmatched.Load()
	s.Replies += c.replies.Load()
	s.SendErrors += c.sendErrors.Load()
	s.ReceiveErrors += c.receiveErrors.Load()
	s.Truncated += c.truncated.Load()
	s.Authenticated += c.authenticated.Load()
	s.SealFailed += c.sealFailed.Load()
	s.NTSAuthenticated += c.ntsAuthenticated.Load()
	s.NTSNAKs += c.ntsNAKs.Load()
	s.BasicBatched += c.basicBatched.Load()
	for i := range c.txErr {
		s.BasicTXError.Counts[i] += c.txErr[i].Load()
	}
	s.BasicTXError.Sum += time.Duration(c.txErrSum.Load())
}

// observeTXError counts one basic reply's transmit error (kernel or NIC
// TX stamp − the Transmit written).
func (c *counters) observeTXError(d time.Duration) {
	c.txErr[report.TXErrorBucket(d)].Add(1)
	c.txErrSum.Add(int64(d))
}

// addNTS adds an NTS worker's counters into s.
func addNTS(w *nts.Worker, s *Stats) {
	if w == nil {
		return
	}
	v, failed := w.Counts()
	for i := range v {
		s.NTSVerdicts[i] += v[i]
	}
	s.NTSSealFailed += failed
}
