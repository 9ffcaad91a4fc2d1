package loadgen

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"
)

// Hard limits. They bound every run in time, clients and rates whatever the
// caller asks (house rule: every load loop bounded in count and time).
const (
	MaxDuration = 10 * time.Minute
	// MaxClients bounds port mode (two sockets per client);
	// MaxAddressClients address mode (two sockets in all; a /16's hosts).
	MaxClients        = 4096
	MaxAddressClients = 65534
	MaxWorkers        = 16
	// MinLogInterval and MaxLogInterval bound the requested Sync (and
	// Delay_Req) and Announce intervals: 2^-7 s (128 Hz) .. 2^6 s.
	MinLogInterval = -7
	MaxLogInterval = 6
	MaxDrain       = 5 * time.Second
	// MinGrant and MaxGrant bound the requested contract duration
	// (durationField, seconds). ptp4l's client refuses less than 10 s;
	// ptp4u caps grants at 1 h.
	MinGrant = 2 * time.Second
	MaxGrant = time.Hour
)

// Defaults for zero Config fields.
const (
	DefaultClients     = 16
	DefaultSyncRate    = 1.0 // Hz
	DefaultAnnounceLog = 0   // 1 s
	DefaultGrant       = 60 * time.Second
	DefaultDrain       = 500 * time.Millisecond
	DefaultLateAfter   = 100 * time.Millisecond
	DefaultGrantWait   = time.Second
	DefaultEventPort   = 319
	DefaultGeneralPort = 320
	// ClientsPerWorker is how many clients DefaultWorkers plans per worker.
	ClientsPerWorker = 512
)

// Config describes one run.
type Config struct {
	// Server is the only address messages are sent to; EventPort (Delay_Req)
	// and GeneralPort (Signaling) its ports (319 and 320 by default).
	Server                 netip.Addr
	EventPort, GeneralPort uint16
	// Domain is the PTP domainNumber of every message sent; replies from
	// another domain are counted apart and otherwise ignored.
	Domain uint8
	// Clients is the number of simulated unicast clients.
	Clients int
	// SyncRate in Hz, a power of two (1/64 .. 128): the Sync and Delay_Resp
	// rates requested, and the rate each client sends Delay_Req at.
	SyncRate float64
	// AnnounceLog is the requested log2 Announce interval (s).
	AnnounceLog int8
	// Grant is the requested contract duration, whole seconds; contracts
	// are renewed at 3/4 of the granted duration.
	Grant time.Duration
	// Duration is how long the clients run (≤ MaxDuration); then each sends
	// CANCEL and replies are collected for Drain.
	Duration time.Duration
	Drain    time.Duration
	// LateAfter: a Follow_Up this long after its Sync, or a Delay_Resp this
	// long after its Delay_Req, counts as late (it still counts as received).
	LateAfter time.Duration
	// GrantWait: a request not granted within this time is sent again
	// (also the wait after a denial).
	GrantWait time.Duration
	// SourcePrefix, if valid, selects address mode: client i binds
	// EventPort and GeneralPort on the prefix's address plus i (plus i+1
	// when the prefix is given by its network address, e.g. 10.201.0.0/16;
	// the broadcast address is never used). The addresses must be
	// configured on a local interface. Otherwise port
	// mode: every client binds a pair of ephemeral ports (general = event+1)
	// on Source (zero: any address).
	SourcePrefix netip.Prefix
	Source       netip.Addr
	// Workers is the number of event loops; 0 = one per ClientsPerWorker
	// clients, at most GOMAXPROCS.
	Workers int
	// AllowPublic permits a target outside loopback, private and
	// link-local ranges. Only for servers you run yourself.
	AllowPublic bool
}

// LogSync is the log2 Sync interval a valid SyncRate maps to.
func (c Config) LogSync() int8 {
	return int8(math.Round(-math.Log2(c.SyncRate)))
}

func (c Config) withDefaults(gomaxprocs int) Config {
	if c.EventPort == 0 {
		c.EventPort = DefaultEventPort
	}
	if c.GeneralPort == 0 {
		c.GeneralPort = DefaultGeneralPort
	}
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.SyncRate == 0 {
		c.SyncRate = DefaultSyncRate
	}
	if c.Grant == 0 {
		c.Grant = DefaultGrant
	}
	if c.Drain == 0 {
		c.Drain = DefaultDrain
	}
	if c.LateAfter == 0 {
		c.LateAfter = DefaultLateAfter
	}
	if c.GrantWait == 0 {
		c.GrantWait = DefaultGrantWait
	}
	if c.Workers == 0 && c.SourcePrefix.IsValid() {
		c.Workers = 1 // one pair of sockets on the wildcard address
	}
	if c.Workers == 0 {
		c.Workers = min(max(gomaxprocs, 1), (c.Clients+ClientsPerWorker-1)/ClientsPerWorker)
	}
	c.Workers = max(min(c.Workers, c.Clients), 1)
	return c
}

// Validate reports every problem with c (after defaults).
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !c.Server.IsValid() || !c.Server.Unmap().Is4() {
		bad("server %v: need an IPv4 address (UDPv6 is not supported)", c.Server)
	} else if err := checkTarget(c.Server, c.AllowPublic); err != nil {
		errs = append(errs, err)
	}
	if c.EventPort == c.GeneralPort {
		bad("ports %d/%d: event and general port must differ", c.EventPort, c.GeneralPort)
	}
	if maxc := c.maxClients(); c.Clients < 1 || c.Clients > maxc {
		bad("clients %d: need 1..%d", c.Clients, maxc)
	}
	if l := -math.Log2(c.SyncRate); !(c.SyncRate > 0) || l != math.Round(l) || l < MinLogInterval || l > MaxLogInterval {
		bad("sync rate %g Hz: need a power of two from 1/%d to %d Hz", c.SyncRate, 1<<MaxLogInterval, 1<<-MinLogInterval)
	}
	if c.AnnounceLog < MinLogInterval || c.AnnounceLog > MaxLogInterval {
		bad("announce log interval %d: need %d..%d", c.AnnounceLog, MinLogInterval, MaxLogInterval)
	}
	if c.Grant < MinGrant || c.Grant > MaxGrant || c.Grant%time.Second != 0 {
		bad("grant %v: need whole seconds in %v..%v", c.Grant, MinGrant, MaxGrant)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		bad("duration %v: need 0 < duration <= %v", c.Duration, MaxDuration)
	}
	if c.Drain < 0 || c.Drain > MaxDrain {
		bad("drain %v: need 0 <= drain <= %v", c.Drain, MaxDrain)
	}
	if c.LateAfter <= 0 || c.LateAfter > 10*time.Second {
		bad("late_after %v: need 0 < late_after <= 10s", c.LateAfter)
	}
	if c.GrantWait < 10*time.Millisecond || c.GrantWait > time.Minute {
		bad("grant_wait %v: need 10ms..1m", c.GrantWait)
	}
	if c.Workers < 1 || c.Workers > MaxWorkers {
		bad("workers %d: need 1..%d", c.Workers, MaxWorkers)
	}
	if c.SourcePrefix.IsValid() {
		if !c.SourcePrefix.Addr().Is4() {
			bad("source prefix %v: need an IPv4 prefix", c.SourcePrefix)
		} else if room := c.prefixRoom(); uint64(c.Clients) > room {
			bad("source prefix %v: holds %d host addresses from its first client address, fewer than %d clients", c.SourcePrefix, room, c.Clients)
		}
		if c.Source.IsValid() {
			bad("source %v and source prefix %v: give at most one", c.Source, c.SourcePrefix)
		}
		if c.Workers > 1 {
			bad("workers %d: address mode runs one worker (its two sockets serve every client)", c.Workers)
		}
	}
	if c.Source.IsValid() && !c.Source.Unmap().Is4() {
		bad("source %v: need an IPv4 address", c.Source)
	}
	return errors.Join(errs...)
}

// maxClients is the client limit of c's mode.
func (c Config) maxClients() int {
	if c.SourcePrefix.IsValid() {
		return MaxAddressClients
	}
	return MaxClients
}

// clientAddr is client i's address in address mode: the prefix's address
// plus i, or, when that is the network address (10.201.0.0/16), the next
// one plus i.
func (c Config) clientAddr(i int) netip.Addr {
	return u32Addr(c.firstClientAddr() + uint32(i))
}

func (c Config) firstClientAddr() uint32 {
	v := addrU32(c.SourcePrefix.Addr())
	if c.SourcePrefix.Masked().Addr() == c.SourcePrefix.Addr() {
		v++
	}
	return v
}

// prefixRoom is how many client addresses fit in the prefix from the first
// one, the broadcast address excluded.
func (c Config) prefixRoom() uint64 {
	last := uint64(addrU32(c.SourcePrefix.Masked().Addr())) + 1<<(32-c.SourcePrefix.Bits()) - 1 // broadcast
	first := uint64(c.firstClientAddr())
	if first >= last {
		return 0
	}
	return last - first
}

func addrU32(a netip.Addr) uint32 {
	b := a.Unmap().As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func u32Addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// checkTarget refuses addresses a benchmark has no business loading unless
// the caller says the server is theirs.
func checkTarget(a netip.Addr, allowPublic bool) error {
	a = a.Unmap()
	switch {
	case a.IsUnspecified(), a.IsMulticast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("server %v: not a unicast address", a)
	case a.IsLoopback(), a.IsPrivate(), a.IsLinkLocalUnicast(), allowPublic:
		return nil
	}
	return fmt.Errorf("server %v: not a loopback, private or link-local address; "+
		"load only servers you run (allow with AllowPublic / --allow-public)", a)
}
