package hwts

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Kind says where a packet timestamp came from. The names match the
// counters of chrony's serverstats ("daemon", "kernel", "hardware").
type Kind uint8

const (
	// KindNone means there is no timestamp.
	KindNone Kind = iota
	// KindDaemon is a user-space reading of Config.Now taken right after the
	// receive system call returned (CLOCK_REALTIME by default).
	KindDaemon
	// KindKernel is a kernel software timestamp (CLOCK_REALTIME), ts[0] of
	// SCM_TIMESTAMPING.
	KindKernel
	// KindHardware is a NIC timestamp in the raw time of the PHC named by
	// Info.PHCIndex, ts[2] of SCM_TIMESTAMPING. It is NOT system time: the
	// caller converts it through its clock interface.
	KindHardware
)

// NumKinds is the number of Kind values, for counter arrays indexed by Kind.
const NumKinds = int(KindHardware) + 1

// String returns the stable snake_case name used in logs and metric labels.
func (k Kind) String() string {
	switch k {
	case KindNone:
		return "none"
	case KindDaemon:
		return "daemon"
	case KindKernel:
		return "kernel"
	case KindHardware:
		return "hardware"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Timestamp is one packet timestamp. Time carries no monotonic reading.
// For KindKernel and KindDaemon (default Now) it is CLOCK_REALTIME; for
// KindHardware it is raw PHC time.
type Timestamp struct {
	Time time.Time
	Kind Kind
}

// IsZero reports whether t holds no timestamp.
func (t Timestamp) IsZero() bool { return t.Kind == KindNone }

// Mode selects how hard Listen tries to get timestamps.
type Mode uint8

const (
	// ModeAuto tries NIC hardware timestamps (only when Config.Interface is
	// set), falls back to kernel software timestamps, then to daemon
	// (user-space) timestamps. Software RX stamps are always requested so
	// that every packet has a CLOCK_REALTIME stamp even when the NIC
	// misses one.
	ModeAuto Mode = iota
	// ModeHardware requires NIC hardware timestamps on Config.Interface
	// (RX filter ALL or NTP_ALL, TX on); Listen fails otherwise. Software
	// stamps are still requested as a companion.
	ModeHardware
	// ModeSoftware requires kernel software timestamps.
	ModeSoftware
	// ModeNone requests no kernel timestamps: RX stamps are daemon stamps,
	// there are no TX stamps.
	ModeNone
)

// String returns the configuration spelling of m.
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeHardware:
		return "hardware"
	case ModeSoftware:
		return "software"
	case ModeNone:
		return "none"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode parses "auto", "hardware", "software" or "none".
func ParseMode(s string) (Mode, error) {
	for m := ModeAuto; m <= ModeNone; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("timestamping mode %q: want auto, hardware, software or none", s)
}

// RXFilter is a NIC receive timestamp filter (linux/net_tstamp.h
// HWTSTAMP_FILTER_*), as reported by SIOCGHWTSTAMP.
type RXFilter int32

// The filters gnomon cares about. The PTP ones are PTPv2 variants that
// stamp Delay_Req over UDP (what a grandmaster receives).
const (
	FilterNone RXFilter = 0
	FilterAll  RXFilter = 1
	FilterSome RXFilter = 2
	// FilterPTPv2L4Event stamps PTPv2 event messages over UDP;
	// FilterPTPv2Event over UDP and Ethernet.
	FilterPTPv2L4Event    RXFilter = 6
	FilterPTPv2L4DelayReq RXFilter = 8
	FilterPTPv2Event      RXFilter = 12
	FilterPTPv2DelayReq   RXFilter = 14
	FilterNTPAll          RXFilter = 15
	// FilterUnknown means no hardware timestamping was configured.
	FilterUnknown RXFilter = -1
)

// String names f like ethtool -T does.
func (f RXFilter) String() string {
	switch f {
	case FilterUnknown:
		return "unknown"
	case FilterNone:
		return "none"
	case FilterAll:
		return "all"
	case FilterSome:
		return "some"
	case FilterNTPAll:
		return "ntp_all"
	}
	if f >= 3 && f <= 14 {
		return fmt.Sprintf("ptp(%d)", int32(f))
	}
	return fmt.Sprintf("filter(%d)", int32(f))
}

// Traffic is what a socket needs the NIC's receive filter to stamp.
type Traffic uint8

const (
	// TrafficNTP: NTP over UDP (filters ALL, NTP_ALL).
	TrafficNTP Traffic = iota
	// TrafficPTP: PTPv2 Delay_Req over UDP, what a grandmaster receives
	// (filters ALL, PTP_V2_L4_EVENT, PTP_V2_EVENT and their Delay_Req-only
	// variants).
	TrafficPTP
)

// String names t.
func (t Traffic) String() string {
	if t == TrafficPTP {
		return "ptp"
	}
	return "ntp"
}

// filters are the RX filters to request for t, narrowest first.
func (t Traffic) filters() []RXFilter {
	if t == TrafficPTP {
		return []RXFilter{FilterPTPv2L4Event, FilterPTPv2Event, FilterAll}
	}
	return []RXFilter{FilterNTPAll, FilterAll}
}

// Covers reports whether f timestamps the packets of t.
func (f RXFilter) Covers(t Traffic) bool {
	switch f {
	case FilterAll:
		return true
	case FilterNTPAll:
		return t == TrafficNTP
	case FilterPTPv2L4Event, FilterPTPv2L4DelayReq, FilterPTPv2Event, FilterPTPv2DelayReq:
		return t == TrafficPTP
	}
	return false
}

// Info reports what Listen obtained.
type Info struct {
	// RX is the best receive timestamp kind packets normally get. With
	// KindHardware, Message.RX still carries the kernel software stamp and
	// Message.RXHW the hardware one.
	RX Kind
	// TX is the best transmit timestamp kind ReadTX reports (KindNone when
	// there are no TX timestamps).
	TX Kind
	// PHCIndex is the /dev/ptpN index hardware stamps refer to, or -1.
	PHCIndex int
	// RXFilter is the NIC's RX filter after setup, FilterUnknown if
	// hardware timestamping was not attempted or failed.
	RXFilter RXFilter
	// TXIDPerPacket is true when WriteBatch tags every packet with its ID
	// (SCM_TS_OPT_ID, Linux ≥ 6.13); false when IDs follow the kernel's
	// per-socket OPT_ID counter.
	TXIDPerPacket bool
	// RecvBufferRequested is the receive buffer asked for in bytes
	// (Config.RecvBuffer; 0 = none asked, the system default).
	RecvBufferRequested int
	// RecvBuffer is the receive buffer the kernel granted, in bytes, as it
	// reports it (SO_RCVBUF read back): Linux doubles the request for its
	// own bookkeeping, and without CAP_NET_ADMIN caps the request at
	// net.core.rmem_max first, so 4 MiB asked reads back as 8 MiB.
	RecvBuffer int
	// Fallback says why a better timestamp kind was not obtained (empty when
	// the mode was fully satisfied).
	Fallback string
}

// Message is one datagram for ReadBatch or WriteBatch. A worker keeps a
// slice of Messages with their Bufs and reuses it for every batch.
type Message struct {
	// Buf is the receive buffer (ReadBatch fills Buf[:N]) or holds the
	// payload (WriteBatch sends Buf[:N]).
	Buf []byte
	// N is the payload length.
	N int
	// Trunc is set by ReadBatch when the datagram was longer than Buf.
	Trunc bool
	// Addr is the peer: source on read, destination on write.
	Addr netip.AddrPort
	// Local is the destination address of a received datagram (from
	// IP_PKTINFO / IPV6_PKTINFO, or the bound address of a socket bound to
	// one unicast address) and, on write, the source address to send
	// from (invalid = let the kernel choose). IfIndex is the interface the
	// datagram arrived on (0 on a socket bound to one unicast address,
	// which does not ask for pktinfo); on write it pins the outgoing
	// interface (0 = any).
	// On write a multicast, unspecified or 255.255.255.255 Local is ignored
	// (the kernel picks the source).
	Local   netip.Addr
	IfIndex int
	// RX is the receive timestamp: kernel software if present, else a daemon
	// stamp. It is never KindNone after ReadBatch.
	RX Timestamp
	// RXHW is the raw PHC hardware receive timestamp when the NIC gave one
	// (KindHardware), else zero (KindNone).
	RXHW Timestamp
	// WantTX asks WriteBatch for a transmit timestamp of this datagram on a
	// socket opened with Config.TXOnDemand; it is ignored otherwise (every
	// datagram is stamped).
	WantTX bool
	// TXID is set by WriteBatch: the ID ReadTX will report for this
	// datagram's transmit timestamp. Valid only for the messages WriteBatch
	// says it sent, and with Config.TXOnDemand only for those with WantTX.
	TXID uint32
}

// Config configures Listen. The zero value plus Addr is a usable config.
type Config struct {
	// Addr is the local address and port to bind (port 0 = ephemeral). An
	// IPv4 address (also 0.0.0.0) gives an IPv4 socket, an IPv6 address
	// (also ::) an IPv6-only socket: listen twice for both families.
	Addr netip.AddrPort
	// Interface, if set, binds the socket to this interface by NAME
	// (SO_BINDTODEVICE) and is where hardware timestamping is enabled.
	Interface string
	// ReusePort sets SO_REUSEPORT so several worker sockets share the port;
	// the kernel's 4-tuple hash keeps a client on one socket.
	ReusePort bool
	// DSCP is the differentiated services code point (0–63) for sent
	// packets (IP_TOS / IPV6_TCLASS = DSCP << 2).
	DSCP uint8
	// RecvBuffer is the requested SO_RCVBUF in bytes (0 = system default).
	// TX timestamps waiting on the error queue count against it.
	RecvBuffer int
	// Timestamping selects the timestamp mode.
	Timestamping Mode
	// Traffic is what the NIC's receive filter must stamp when hardware
	// timestamping is set up (default NTP).
	Traffic Traffic
	// TXOnDemand stamps only the datagrams sent with Message.WantTX (a
	// per-datagram SO_TIMESTAMPING control message) instead of every
	// datagram. A server whose clients mostly cannot use the stamp saves
	// the error-queue message, its wake-up and the ReadTX system call per
	// reply. Without kernel timestamps it has no effect.
	TXOnDemand bool
	// SendOnly makes a socket that only sends (WriteBatch, ReadTX) and is
	// never read: after setup it leaves Go's netpoller. Each TX timestamp
	// the kernel queues on the error queue wakes the socket's waiters, and
	// a socket registered with the netpoller wakes the poller's thread from
	// epoll_wait inside the send, between the packet's TX stamp and its
	// delivery: measured on loopback at 8 Hz, the TX-stamp-to-peer-RX-stamp
	// time grew from 2.6 µs to 4.5–5 µs at the median and from 3.4 µs to
	// 9–27 µs at p90. A precise-origin sender (PTP Sync) wants none of
	// that. ReadBatch and deadlines then return ErrUnsupported; a full send
	// buffer makes WriteBatch fail with EAGAIN instead of waiting.
	SendOnly bool
	// BlockingRead takes the socket out of Go's netpoller and puts it in
	// blocking mode: ReadBatch sleeps in the kernel, in one
	// recvmmsg(MSG_WAITFORONE) that returns with the first datagram and
	// whatever else is queued by then, on the calling goroutine's thread.
	// That saves, per wake-up, the poller's epoll_pwait calls, the
	// recvmmsg that finds the queue empty before parking and the futex
	// hand-offs between threads; it costs a thread per blocked reader (see
	// "Blocking reads" in doc.go). WriteBatch and ReadTX never sleep
	// (MSG_DONTWAIT); a full send buffer makes WriteBatch wait in poll(2).
	// Close wakes a blocked ReadBatch at once (shutdown(2)) and returns when
	// it has left the kernel; SO_RCVTIMEO (1 s) bounds each sleep should that
	// wake-up be lost. Deadlines return ErrUnsupported. Ignored with SendOnly.
	BlockingRead bool
	// NoWait makes ReadBatch never wait: the socket leaves Go's netpoller
	// after setup (as with SendOnly) and ReadBatch returns 0 at once when
	// nothing is queued. Wait for data with a Poller, which polls several
	// such sockets in one system call. For a caller that runs its own
	// event loop over several sockets and timers in one goroutine (the PTP
	// load generator). Deadlines return ErrUnsupported; a full send buffer
	// makes WriteBatch fail with EAGAIN instead of waiting.
	NoWait bool
	// Multicast lists groups the socket joins on Interface (required):
	// IP_ADD_MEMBERSHIP for IPv4 groups, IPV6_JOIN_GROUP for IPv6 ones, of
	// the socket's family. Only a socket bound to the unspecified address
	// receives the groups' datagrams (one bound to a unicast address does
	// not). It implies MulticastSend.
	Multicast []netip.Addr
	// MulticastSend makes the multicast this socket sends leave through
	// Interface (required; IP_MULTICAST_IF / IPV6_MULTICAST_IF) and not loop
	// back to this host's sockets (IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP
	// 0), so a server that joined the group does not hear itself. The hop
	// limit stays the kernel default, 1.
	MulticastSend bool
	// BatchSize is the most datagrams one ReadBatch, WriteBatch or ReadTX
	// system call handles (default 32, at most 1024). Buffers for that many
	// are preallocated per Conn.
	BatchSize int
	// Now provides daemon timestamps; default time.Now().Round(0)
	// (CLOCK_REALTIME, no monotonic reading).
	Now func() time.Time
	// Logger receives setup decisions (nil = discard). Nothing per packet.
	Logger *slog.Logger
}

// Batch size bounds.
const (
	DefaultBatchSize = 32
	MaxBatchSize     = 1024
)

// Validate returns every problem in c, each naming the field and value.
func (c *Config) Validate() error {
	var errs []error
	if !c.Addr.IsValid() {
		errs = append(errs, errors.New("hwts: addr: not set"))
	} else if c.Addr.Addr().Is4In6() {
		errs = append(errs, fmt.Errorf("hwts: addr %s: IPv4-mapped IPv6 address; use the IPv4 address", c.Addr))
	}
	if len(c.Interface) >= 16 { // IFNAMSIZ including NUL
		errs = append(errs, fmt.Errorf("hwts: interface %q: name longer than 15 bytes", c.Interface))
	}
	if c.DSCP > 63 {
		errs = append(errs, fmt.Errorf("hwts: dscp %d: out of range 0..63", c.DSCP))
	}
	if c.RecvBuffer < 0 {
		errs = append(errs, fmt.Errorf("hwts: recv_buffer %d: negative", c.RecvBuffer))
	}
	if c.Timestamping > ModeNone {
		errs = append(errs, fmt.Errorf("hwts: timestamping %s: unknown mode", c.Timestamping))
	}
	if c.Timestamping == ModeHardware && c.Interface == "" {
		errs = append(errs, errors.New("hwts: timestamping hardware: needs interface"))
	}
	if (len(c.Multicast) > 0 || c.MulticastSend) && c.Interface == "" {
		errs = append(errs, errors.New("hwts: multicast: needs interface"))
	}
	for _, g := range c.Multicast {
		if !g.IsMulticast() || (c.Addr.IsValid() && g.Is4() != c.Addr.Addr().Is4()) {
			errs = append(errs, fmt.Errorf("hwts: multicast %s: not a multicast group of %s's family", g, c.Addr.Addr()))
		}
	}
	if c.SendOnly && c.NoWait {
		errs = append(errs, errors.New("hwts: send_only and no_wait: give at most one (a send-only socket is never read)"))
	}
	if c.BlockingRead && c.NoWait {
		errs = append(errs, errors.New("hwts: blocking_read and no_wait: give at most one"))
	}
	if c.BatchSize < 0 || c.BatchSize > MaxBatchSize {
		errs = append(errs, fmt.Errorf("hwts: batch_size %d: out of range 0..%d", c.BatchSize, MaxBatchSize))
	}
	return errors.Join(errs...)
}

// ErrUnsupported is returned by Listen on platforms without an
// implementation (everything but Linux).
var ErrUnsupported = errors.New("hwts: not supported on this platform")

// ErrNoHardware is wrapped by Listen in ModeHardware when the interface
// cannot timestamp NTP packets in hardware.
var ErrNoHardware = errors.New("hardware timestamping unavailable")

func defaultNow() time.Time { return time.Now().Round(0) }
