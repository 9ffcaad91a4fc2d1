package report

import (
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// NTPData is chronyc ntpdata's report for one upstream NTP server: the
// association's addresses, the header of the server's latest reply, the
// latest sample and the association's counters. Filled by the NTP poller
// (source/ntpsource from ntp/upstream's status).
type NTPData struct {
	// ID is the source's configured name or address.
	ID string
	// Remote is the server's address and port; Local the client socket's
	// local address (unspecified when bound to the wildcard).
	Remote netip.AddrPort
	Local  netip.Addr
	// From the server's latest valid reply (zero before the first).
	Leap           clock.Leap
	Version        uint8
	Mode           uint8
	Stratum        uint8
	Precision      int8
	RootDelay      time.Duration
	RootDispersion time.Duration
	RefID          uint32
	RefTime        time.Time
	// Poll is our polling interval, log2 s.
	Poll int8
	// The latest sample (reference − local, as everywhere in gnomon; it is
	// also chronyc ntpdata's sign): offset, round-trip delay, dispersion.
	// Sampled is false before the first.
	Offset     time.Duration
	Delay      time.Duration
	Dispersion time.Duration
	Sampled    bool
	// Interleaved: the latest sample came from an interleaved exchange.
	Interleaved bool
	// TxKind and RxKind are the kinds of our transmit and receive
	// timestamps of the latest sample: 'D'aemon, 'K'ernel, 'H'ardware.
	TxKind, RxKind byte
	// Counters since start: requests sent, replies received, replies that
	// passed the header tests, replies that gave samples; and the sample
	// timestamps by kind.
	TotalTx, TotalRx, TotalValid, TotalGood    uint64
	KernelTx, KernelRx, HardwareTx, HardwareRx uint64
}
