package upstream

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/internal/hostname"
	"github.com/gnomon-time/gnomon/ntp/client"
)

// DefaultPort is the NTP port used when an address has none.
const DefaultPort = 123

// ServerConfig is one upstream server (chrony's `server` directive).
type ServerConfig struct {
	// Name identifies the source in the Sink, logs and Status; default
	// Address. Names must be unique.
	Name string
	// Address is "host", "host:port", "IPv4", "IPv4:port", "IPv6" or
	// "[IPv6]:port"; the port defaults to 123. Host names are resolved
	// when Run starts.
	Address string
	// MinPoll, MaxPoll (log2 s), IBurst, Burst and Version go to the
	// ntp/client core (zero values take its defaults: 6, 10, NTPv4).
	MinPoll, MaxPoll int8
	IBurst, Burst    bool
	Version          uint8
	// Selection options. The shell does not interpret them; they are kept
	// here so that the configuration of a source lives in one place, and
	// the engine reads them from Config.Servers.
	Prefer, NoSelect, Trust, Require bool
}

// ID returns the source's identifier: Name, or Address when Name is empty.
func (s *ServerConfig) ID() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Address
}

// Config configures an Upstream.
type Config struct {
	// Servers are the upstream servers, in the order Status lists them.
	Servers []ServerConfig
	// Timestamping is the hwts mode of the client sockets (default
	// ModeAuto: kernel software stamps, daemon stamps where there are
	// none). ModeHardware is refused: client sockets are not bound to an
	// interface and no PHC conversion exists yet.
	Timestamping hwts.Mode
	// Bind4 and Bind6 are the local addresses of the IPv4 and IPv6 client
	// sockets (default 0.0.0.0 and ::, ephemeral port). A socket is opened
	// only for a family some server resolves to.
	Bind4, Bind6 netip.Addr
	// DSCP of requests (0–63).
	DSCP uint8
	// Precision is log2 s of our clock readings, passed to the cores
	// (0: the core's default, −20).
	Precision int8
	// ResolveTimeout bounds each DNS lookup (default 5 s).
	ResolveTimeout time.Duration
	// ResolveRetry is the first delay before retrying a name that did not
	// resolve; it doubles up to ResolveRetryMax (defaults 16 s and 1024 s).
	ResolveRetry, ResolveRetryMax time.Duration
	// Rand supplies the request cookies (nil: crypto/rand). Tests only.
	Rand io.Reader
}

func (c *Config) setDefaults() {
	if !c.Bind4.IsValid() {
		c.Bind4 = netip.IPv4Unspecified()
	}
	if !c.Bind6.IsValid() {
		c.Bind6 = netip.IPv6Unspecified()
	}
	if c.ResolveTimeout == 0 {
		c.ResolveTimeout = 5 * time.Second
	}
	if c.ResolveRetry == 0 {
		c.ResolveRetry = 16 * time.Second
	}
	if c.ResolveRetryMax == 0 {
		c.ResolveRetryMax = 1024 * time.Second
	}
}

// Validate reports every problem in c (after defaults), each naming the
// server and field.
func (c *Config) Validate() error {
	var errs []error
	seen := make(map[string]int, len(c.Servers))
	for i := range c.Servers {
		s := &c.Servers[i]
		where := fmt.Sprintf("upstream: servers[%d] (%q)", i, s.ID())
		if _, _, err := splitAddress(s.Address); err != nil {
			errs = append(errs, fmt.Errorf("%s: address: %w", where, err))
		}
		if j, dup := seen[s.ID()]; dup {
			errs = append(errs, fmt.Errorf("%s: name %q already used by servers[%d]", where, s.ID(), j))
		} else {
			seen[s.ID()] = i
		}
		cc := s.clientConfig(c)
		if _, err := client.New(cc); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	if !c.Bind4.Is4() {
		errs = append(errs, fmt.Errorf("upstream: bind4 %s: not an IPv4 address", c.Bind4))
	}
	if !c.Bind6.Is6() || c.Bind6.Is4In6() {
		errs = append(errs, fmt.Errorf("upstream: bind6 %s: not an IPv6 address", c.Bind6))
	}
	if c.Timestamping > hwts.ModeNone {
		errs = append(errs, fmt.Errorf("upstream: timestamping %s: unknown mode", c.Timestamping))
	}
	if c.Timestamping == hwts.ModeHardware {
		errs = append(errs, errors.New("upstream: timestamping hardware: not supported for client sockets (use auto or software)"))
	}
	if c.DSCP > 63 {
		errs = append(errs, fmt.Errorf("upstream: dscp %d: out of range 0..63", c.DSCP))
	}
	if c.ResolveTimeout < 0 || c.ResolveRetry < 0 || c.ResolveRetryMax < c.ResolveRetry {
		errs = append(errs, fmt.Errorf("upstream: resolve timeout %v / retry %v / retry max %v: must be ≥ 0 with retry ≤ retry max",
			c.ResolveTimeout, c.ResolveRetry, c.ResolveRetryMax))
	}
	return errors.Join(errs...)
}

// clientConfig is the ntp/client configuration of server s.
func (s *ServerConfig) clientConfig(c *Config) client.Config {
	return client.Config{
		MinPoll: s.MinPoll, MaxPoll: s.MaxPoll,
		IBurst: s.IBurst, Burst: s.Burst,
		Version: s.Version, Precision: c.Precision, Rand: c.Rand,
	}
}

// splitAddress splits a server address into host and port (see
// hostname.SplitAddress); the port defaults to DefaultPort.
func splitAddress(a string) (host string, port uint16, err error) {
	return hostname.SplitAddress(a, DefaultPort)
}
