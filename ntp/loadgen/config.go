package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/gnomon-time/gnomon/ntp/symkey"
)

// Hard limits. They bound every run in time and rate whatever the caller
// asks (house rule: every load loop bounded in count and time).
const (
	MaxDuration    = 10 * time.Minute
	MaxRate        = 5_000_000 // requests per second, total
	MaxClients     = 4096
	MaxOutstanding = 4096
	MaxWorkers     = 64
	MaxBatch       = 256
	MaxDrain       = 5 * time.Second
)

// Defaults for zero Config fields.
const (
	DefaultClients     = 16
	DefaultBatch       = 32
	DefaultOutstanding = 32
	DefaultDrain       = 500 * time.Millisecond
	DefaultStallAfter  = 50 * time.Millisecond
	DefaultVersion     = 4
	DefaultNTSPerKE    = 1
	DefaultNTSTimeout  = 5 * time.Second
	// WorkerRate is the request rate per worker DefaultWorkers plans for:
	// half of what one worker sent and received on one vCPU in make
	// bench-ntp (docs/benchmarks.md), so a default run keeps headroom.
	WorkerRate = 50_000
)

// DefaultWorkers is the worker count for a zero Config.Workers. In rate mode
// it is one worker per WorkerRate requests per second (rounded up), so that
// a low-rate run uses one worker that sleeps between sends instead of
// several that each hold a CPU; in max mode, where every worker spins, one
// per CPU. Never more than cpus (GOMAXPROCS) or MaxWorkers.
func DefaultWorkers(rate float64, maxMode bool, cpus int) int {
	n := max(cpus, 1)
	if !maxMode && rate > 0 && rate <= MaxRate {
		n = min(n, int(math.Ceil(rate/WorkerRate)))
	}
	return min(max(n, 1), MaxWorkers)
}

// Config describes one run. Exactly one of Rate > 0 or Max must be set.
type Config struct {
	// Server is the only address requests are sent to.
	Server netip.AddrPort
	// Rate is the total request rate in requests per second, spread evenly
	// over the workers (open loop: replies do not gate sends).
	Rate float64
	// Max sends as fast as possible with at most Outstanding requests in
	// flight per socket.
	Max bool
	// Outstanding bounds in-flight requests per socket in Max mode.
	Outstanding int
	// StallAfter: in Max mode, when a socket's window is full and no reply
	// arrived on it for this long, its in-flight requests are written off
	// (they still count if they arrive later) so losses cannot stop the run.
	StallAfter time.Duration
	// Duration is how long requests are sent (≤ MaxDuration).
	Duration time.Duration
	// Count, if > 0, stops sending after this many requests in total (or at
	// the end of Duration, whichever comes first).
	Count uint64
	// Drain is how long replies are still collected after the last send.
	Drain time.Duration
	// Clients is the number of UDP sockets, each with its own source port.
	Clients int
	// Sources are local addresses the sockets bind to, round-robin (empty:
	// the kernel picks). Lets one run look like several client hosts.
	Sources []netip.Addr
	// Workers is the number of event-loop goroutines, at most Clients;
	// 0 = DefaultWorkers (one per WorkerRate req/s up to GOMAXPROCS; max
	// mode: GOMAXPROCS).
	Workers int
	// Batch is the number of requests per sendmmsg and replies per recvmmsg.
	Batch int
	// NoGSO sends each request with its own sendmmsg entry instead of one
	// UDP_SEGMENT (generic segmentation offload) sendmsg per batch. GSO is
	// the default: each request still leaves as its own datagram, but the
	// batch passes the socket and IP layers once (docs/benchmarks.md has
	// the measured send ceilings). The generator falls back to sendmmsg by
	// itself when the kernel refuses GSO.
	NoGSO bool
	// Xleave sends chrony-style interleaved requests (RFC 9769) from
	// every socket; the same as Mix xleave=100. Not with Mix.
	Xleave bool
	// Mix gives each socket kind its share of the sockets (and so of the
	// requests); zero: all basic (all interleaved with Xleave).
	Mix Mix
	// MACKey signs every request of the KindMAC sockets; each reply must
	// carry a valid MAC with it. Needed for a mac share; with it, the
	// malformed share also sends requests with a wrong digest.
	MACKey *symkey.Key
	// NTSServer is the NTS-KE server (HOST:PORT) the KindNTS sockets get
	// keys and cookies from before the run; NTS requests still go to
	// Server (Server and Port records are ignored). Needed for an nts share.
	NTSServer string
	// NTSTLS is the TLS configuration for NTS-KE (trusted roots; ALPN and
	// TLS 1.3 are set by the handshake).
	NTSTLS *tls.Config
	// NTSPerKE is how many NTS sockets share one NTS-KE session (keys and
	// the initial cookies; default 1: one handshake per socket).
	NTSPerKE int
	// NTSTimeout bounds one NTS-KE exchange (default 5 s).
	NTSTimeout time.Duration
	// Version is the NTP version of requests (1..4, default 4).
	Version uint8
	// AllowUnsync accepts replies with LI = 3 (alarm) as valid.
	AllowUnsync bool
	// AllowPublic permits a target outside loopback, private and
	// link-local ranges. Only for servers you run yourself.
	AllowPublic bool
}

// withDefaults returns c with zero fields replaced by defaults.
func (c Config) withDefaults(gomaxprocs int) Config {
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.Outstanding == 0 {
		c.Outstanding = DefaultOutstanding
	}
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
	if c.StallAfter == 0 {
		c.StallAfter = DefaultStallAfter
	}
	if c.Version == 0 {
		c.Version = DefaultVersion
	}
	if c.NTSPerKE == 0 {
		c.NTSPerKE = DefaultNTSPerKE
	}
	if c.NTSTimeout == 0 {
		c.NTSTimeout = DefaultNTSTimeout
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers(c.Rate, c.Max, gomaxprocs)
	}
	c.Workers = min(c.Workers, max(c.Clients, 1))
	return c
}

// Validate reports every problem with c (after defaults), each naming the
// field and value.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !c.Server.IsValid() || c.Server.Port() == 0 {
		bad("server %q: need ADDR:PORT with a non-zero port", c.Server)
	} else if err := checkTarget(c.Server.Addr(), c.AllowPublic); err != nil {
		errs = append(errs, err)
	}
	switch {
	case c.Max && c.Rate != 0:
		bad("rate %g and max: give exactly one", c.Rate)
	case !c.Max && !(c.Rate > 0):
		bad("rate %g: need a rate > 0 or max", c.Rate)
	case c.Rate > MaxRate:
		bad("rate %g: above the limit of %d/s", c.Rate, MaxRate)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		bad("duration %v: need 0 < duration <= %v", c.Duration, MaxDuration)
	}
	if c.Drain < 0 || c.Drain > MaxDrain {
		bad("drain %v: need 0 <= drain <= %v", c.Drain, MaxDrain)
	}
	if c.StallAfter <= 0 || c.StallAfter > time.Minute {
		bad("stall_after %v: need 0 < stall_after <= 1m", c.StallAfter)
	}
	if c.Clients < 1 || c.Clients > MaxClients {
		bad("clients %d: need 1..%d", c.Clients, MaxClients)
	}
	if c.Workers < 1 || c.Workers > MaxWorkers {
		bad("workers %d: need 1..%d", c.Workers, MaxWorkers)
	}
	if c.Batch < 1 || c.Batch > MaxBatch {
		bad("batch %d: need 1..%d", c.Batch, MaxBatch)
	}
	if c.Outstanding < 1 || c.Outstanding > MaxOutstanding {
		bad("outstanding %d: need 1..%d", c.Outstanding, MaxOutstanding)
	}
	if c.Version < 1 || c.Version > 4 {
		bad("version %d: need 1..4", c.Version)
	}
	if c.Xleave && c.Version != 4 {
		bad("xleave with version %d: interleaved mode needs version 4", c.Version)
	}
	c.validateMix(bad)
	for _, s := range c.Sources {
		if !s.IsValid() || s.Is4() != c.Server.Addr().Unmap().Is4() {
			bad("source %v: need an address of the server's family", s)
		}
	}
	return errors.Join(errs...)
}

// checkTarget refuses addresses a benchmark has no business loading unless
// the caller says the server is theirs: loopback, private (RFC 1918, RFC
// 4193) and link-local addresses are allowed, network namespaces use them.
func checkTarget(a netip.Addr, allowPublic bool) error {
	a = a.Unmap()
	switch {
	case a.IsUnspecified(), a.IsMulticast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("server %v: not a unicast address", a)
	case a.IsLoopback(), a.IsPrivate(), a.IsLinkLocalUnicast():
		return nil
	case allowPublic:
		return nil
	}
	return fmt.Errorf("server %v: not a loopback, private or link-local address; "+
		"load only servers you run (allow with AllowPublic / --allow-public)", a)
}

// validateMix checks Mix against the other fields.
func (c Config) validateMix(bad func(string, ...any)) {
	if c.MACKey != nil && c.MACKey.ID() == UnknownKeyID {
		bad("mac key id %d: reserved for the malformed unknown-key requests", UnknownKeyID)
	}
	if c.Mix.IsZero() {
		return
	}
	if err := c.Mix.validate(); err != nil {
		bad("%v", err)
		return
	}
	if c.Xleave {
		bad("xleave and mix %v: give interleaved clients as xleave= in the mix", c.Mix)
	}
	if c.Mix != (Mix{KindBasic: 100}) && c.Version != 4 {
		bad("version %d with mix %v: interleaved, NTS, MAC and malformed clients speak version 4", c.Version, c.Mix)
	}
	kinds := 0
	for _, v := range c.Mix {
		if v > 0 {
			kinds++
		}
	}
	if c.Clients < kinds {
		bad("clients %d: mix %v needs at least one socket per kind (%d)", c.Clients, c.Mix, kinds)
	}
	if c.Mix[KindMAC] > 0 && c.MACKey == nil {
		bad("mix %v: a mac share needs a MAC key", c.Mix)
	}
	if c.Mix[KindNTS] > 0 {
		if _, port, err := net.SplitHostPort(c.NTSServer); err != nil || port == "" {
			bad("nts server %q: need HOST:PORT of an NTS-KE server for an nts share", c.NTSServer)
		} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			bad("nts server %q: bad port", c.NTSServer)
		}
		if c.NTSTLS == nil {
			bad("mix %v: an nts share needs a TLS configuration (the NTS-KE server's CA)", c.Mix)
		}
	}
	if c.NTSPerKE < 1 || c.NTSPerKE > MaxClients {
		bad("nts_per_ke %d: need 1..%d", c.NTSPerKE, MaxClients)
	}
	if c.NTSTimeout <= 0 || c.NTSTimeout > time.Minute {
		bad("nts_timeout %v: need 0 < timeout <= 1m", c.NTSTimeout)
	}
	if c.Mix[KindMalformed] > 0 && c.Max {
		bad("mix %v with max: malformed requests get no reply, so only a paced --rate run can send them", c.Mix)
	}
}
