package clientlog

import (
	"errors"
	"fmt"
	"math/bits"
)

// Limits of the configuration, from chrony.conf(5) "ratelimit" and
// "clientloglimit".
const (
	DefaultClients      = 4096
	MinClients          = 16
	MaxClients          = 1 << 24 // 1 GiB of slots; chrony's maximum record count
	DefaultIntervalLog2 = 3       // one response per 8 s
	MinIntervalLog2     = -19
	MaxIntervalLog2     = 12
	DefaultBurst        = 8
	MaxBurst            = 255
	DefaultLeak         = 2 // at least one request in four is answered
	MaxLeak             = 4
	MaxKoD              = 4

	// SlotBytes is the size of one address record (rate limiting, counters).
	SlotBytes = 48
	// StampBytes is the size of one held interleaved timestamp entry (one
	// association's Receive field and transmit timestamp).
	StampBytes = 16
	// BytesPerClient is the memory per Config.Clients: one address record
	// and one timestamp entry. Memory = Clients × BytesPerClient.
	BytesPerClient = SlotBytes + StampBytes
	// Ways is the associativity of both tables: the number of slots an
	// address, or entries a Receive field, can use.
	Ways = 4
)

// RateLimit configures per-address response rate limiting (chrony's
// ratelimit directive). The zero value disables it.
type RateLimit struct {
	// Enabled turns limiting on; the other fields are ignored (and not
	// validated) when it is false.
	Enabled bool
	// IntervalLog2 is the minimum mean interval between responses, as log2
	// seconds (−19…12; 3 = 8 s). Zero is a valid value (1 s), so there is no
	// "unset": use DefaultRateLimit for chrony's defaults.
	IntervalLog2 int8
	// Burst is the bucket size: responses allowed back to back (1…255; 0
	// means DefaultBurst).
	Burst int
	// Leak: a request over the limit is still answered with probability
	// 2^−Leak (1…4; 0 means DefaultLeak).
	Leak int
	// KoD: a request over the limit that is not leaked gets a RATE
	// kiss-o'-death instead of being dropped with probability 2^−KoD
	// (1…4); 0 never sends one.
	KoD int
}

// DefaultRateLimit returns enabled limiting with chrony's defaults
// (interval 3, burst 8, leak 2, no KoD).
func DefaultRateLimit() RateLimit {
	return RateLimit{Enabled: true, IntervalLog2: DefaultIntervalLog2, Burst: DefaultBurst, Leak: DefaultLeak}
}

// Config configures a Log.
type Config struct {
	// Clients is the number of address records, and of interleaved
	// timestamp entries (one association each): a power of two, 16…2^24
	// (0 means DefaultClients). Memory is Clients × BytesPerClient (64 B).
	Clients int
	// RateLimit configures response rate limiting.
	RateLimit RateLimit
	// Seed keys the address hash (and the leak draws). 0 means a fixed
	// constant; the daemon should pass a random value so that remote hosts
	// cannot aim addresses at one bucket.
	Seed uint64
}

// withDefaults fills the fields whose zero value means "default".
func (c Config) withDefaults() Config {
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.RateLimit.Burst == 0 {
		c.RateLimit.Burst = DefaultBurst
	}
	if c.RateLimit.Leak == 0 {
		c.RateLimit.Leak = DefaultLeak
	}
	return c
}

// Validate reports every problem in c, each naming the field and its value.
func (c Config) Validate() error {
	var errs []error
	if c.Clients != 0 && (c.Clients < MinClients || c.Clients > MaxClients || bits.OnesCount(uint(c.Clients)) != 1) {
		errs = append(errs, fmt.Errorf("clientlog: clients = %d: want a power of two in [%d, %d] (or 0 for %d)",
			c.Clients, MinClients, MaxClients, DefaultClients))
	}
	if r := c.RateLimit; r.Enabled {
		if r.IntervalLog2 < MinIntervalLog2 || r.IntervalLog2 > MaxIntervalLog2 {
			errs = append(errs, fmt.Errorf("clientlog: ratelimit interval = %d: want log2 seconds in [%d, %d]",
				r.IntervalLog2, MinIntervalLog2, MaxIntervalLog2))
		}
		if r.Burst < 0 || r.Burst > MaxBurst {
			errs = append(errs, fmt.Errorf("clientlog: ratelimit burst = %d: want [1, %d] (or 0 for %d)",
				r.Burst, MaxBurst, DefaultBurst))
		}
		if r.Leak < 0 || r.Leak > MaxLeak {
			errs = append(errs, fmt.Errorf("clientlog: ratelimit leak = %d: want [1, %d] (or 0 for %d)",
				r.Leak, MaxLeak, DefaultLeak))
		}
		if r.KoD < 0 || r.KoD > MaxKoD {
			errs = append(errs, fmt.Errorf("clientlog: ratelimit kod = %d: want [0, %d] (0 = never)", r.KoD, MaxKoD))
		}
	}
	return errors.Join(errs...)
}
