package config

import (
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
)

// Limits enforced by Validate.
const (
	MaxWorkers       = 1024
	MinClientLogSize = 16
	// MinRecvBuffer and MaxRecvBuffer bound ntp.recv_buffer in bytes.
	MinRecvBuffer = 4096
	MaxRecvBuffer = 1 << 30
	// MaxClientLogSize is chrony's clientloglimit maximum in records.
	MaxClientLogSize = 1 << 24
	// maxUnixPath is sizeof(sockaddr_un.sun_path) − 1 on Linux.
	maxUnixPath = 107
	// maxIfName is IFNAMSIZ − 1 on Linux.
	maxIfName = 15
)

// Validate checks every value and returns all problems joined
// (errors.Join), each naming the key path and the value. It returns nil for
// a valid configuration.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key string, value any, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", key, quote(value), fmt.Sprintf(format, args...)))
	}

	n := &c.NTP
	if len(n.Listen) == 0 {
		errs = append(errs, errors.New("ntp.listen: empty: give at least one ADDR:PORT to serve on"))
	}
	seen := map[netip.AddrPort]int{}
	for i, s := range n.Listen {
		key := fmt.Sprintf("ntp.listen[%d]", i)
		ap, err := parseListen(s)
		if err != nil {
			bad(key, s, "%v", err)
			continue
		}
		if j, dup := seen[ap]; dup && ap.Port() != 0 {
			bad(key, s, "duplicate of ntp.listen[%d]", j)
		}
		seen[ap] = i
	}
	for i, s := range n.ListenOptional {
		key := fmt.Sprintf("ntp.listen_optional[%d]", i)
		ap, err := parseListen(s)
		if err != nil {
			bad(key, s, "%v", err)
			continue
		}
		if ap.Port() == 0 {
			bad(key, s, "port 0 is not allowed here: an optional address must name its port")
			continue
		}
	}
	if n.Interface != "" {
		if len(n.Interface) > maxIfName || strings.ContainsAny(n.Interface, "/ \t\n:") {
			bad("ntp.interface", n.Interface, "not a valid interface name")
		}
	}
	if n.Workers < 0 || n.Workers > MaxWorkers {
		bad("ntp.workers", n.Workers, "must be 0 (one per CPU) … %d", MaxWorkers)
	}
	switch n.Timestamping {
	case TimestampingAuto, TimestampingHardware, TimestampingSoftware, TimestampingNone:
	default:
		bad("ntp.timestamping", n.Timestamping, "must be auto, hardware, software or none")
	}
	if n.Timestamping == TimestampingHardware && n.Interface == "" {
		bad("ntp.timestamping", n.Timestamping, "needs ntp.interface (the NIC whose hardware stamps to use)")
	}
	if n.DSCP < 0 || n.DSCP > 63 {
		bad("ntp.dscp", n.DSCP, "must be 0 … 63")
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"ntp.allow", n.Allow}, {"ntp.deny", n.Deny}} {
		for i, s := range l.list {
			if _, err := parsePrefix(s); err != nil {
				bad(fmt.Sprintf("%s[%d]", l.key, i), s, "%v", err)
			}
		}
	}
	// A prefix both allowed and denied is ambiguous under "most specific
	// wins" (ntp.NewACL rejects it too).
	allowed := map[netip.Prefix]int{}
	for i, s := range n.Allow {
		if p, err := parsePrefix(s); err == nil {
			allowed[p] = i
		}
	}
	for i, s := range n.Deny {
		if p, err := parsePrefix(s); err == nil {
			if j, ok := allowed[p]; ok {
				bad(fmt.Sprintf("ntp.deny[%d]", i), s, "also in ntp.allow[%d]: a prefix cannot be both allowed and denied", j)
			}
		}
	}
	if r := n.RateLimit; r != nil {
		rangeCheck := func(key string, v, lo, hi int) {
			if v < lo || v > hi {
				bad(key, v, "must be %d … %d", lo, hi)
			}
		}
		rangeCheck("ntp.ratelimit.interval", r.Interval, -19, 12)
		rangeCheck("ntp.ratelimit.burst", r.Burst, 1, 255)
		rangeCheck("ntp.ratelimit.leak", r.Leak, 1, 4)
		rangeCheck("ntp.ratelimit.kod", r.KoD, 0, 4)
	}
	if n.ClientLogSize < MinClientLogSize || n.ClientLogSize > MaxClientLogSize || bits.OnesCount(uint(n.ClientLogSize)) != 1 {
		bad("ntp.client_log_size", n.ClientLogSize, "must be a power of two, %d … %d entries", MinClientLogSize, MaxClientLogSize)
	}

	if b := n.RecvBuffer; b != 0 && b != -1 && (b < MinRecvBuffer || b > MaxRecvBuffer) {
		bad("ntp.recv_buffer", b, "must be 0 (gnomond's default, 4 MiB), -1 (the system default) or %d … %d bytes", MinRecvBuffer, MaxRecvBuffer)
	}

	c.validateDiscipline(bad)

	if s := c.Metrics.Listen; s != "" {
		if err := checkHostPort(s); err != nil {
			bad("metrics.listen", s, "%v", err)
		}
	}

	for _, l := range []struct {
		key      string
		list     []string
		optional bool
	}{{"control.listen", c.Control.Listen, false}, {"control.listen_optional", c.Control.ListenOptional, true}} {
		for i, s := range l.list {
			key := fmt.Sprintf("%s[%d]", l.key, i)
			ap, err := parseListen(s)
			if err != nil {
				bad(key, s, "%v", err)
				continue
			}
			if l.optional && ap.Port() == 0 {
				bad(key, s, "port 0 is not allowed here: an optional address must name its port")
			}
		}
	}
	if _, err := parseMode(c.Control.SocketMode); err != nil {
		bad("control.socket_mode", c.Control.SocketMode, "%v", err)
	}
	if g := c.Control.SocketGroup; g != "" && strings.ContainsAny(g, " \t\n:/") {
		bad("control.socket_group", g, "not a group name or number")
	}
	if s := c.Control.Socket; s != "" {
		switch {
		case !filepath.IsAbs(s):
			bad("control.socket", s, "must be an absolute path")
		case len(s) > maxUnixPath:
			bad("control.socket", s, "longer than %d bytes (Unix socket limit)", maxUnixPath)
		}
	}

	if s := c.ClockBound.Path; s != "" && !filepath.IsAbs(s) {
		bad("clockbound.path", s, "must be an absolute path")
	}
	if d := c.ClockBound.MaxDriftPPB; d < 1 || d > 1_000_000 {
		bad("clockbound.max_drift_ppb", d, "must be 1 … 1000000 ppb")
	}

	for _, k := range []struct{ key, v string }{{"process.user", c.Process.User}, {"process.group", c.Process.Group}} {
		if k.v != "" && (strings.ContainsAny(k.v, " \t\n:/") || strings.HasPrefix(k.v, "-")) {
			bad(k.key, k.v, "not a user or group name or number")
		}
	}
	if c.Process.Group != "" && c.Process.User == "" {
		bad("process.group", c.Process.Group, "needs process.user (gnomond changes group only together with user)")
	}

	c.validatePTP(bad)
	c.validateNTS(bad)
	c.validateRefclocks(bad)

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", c.Log.Level, "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case FormatText, FormatJSON:
	default:
		bad("log.format", c.Log.Format, "must be text or json")
	}
	return errors.Join(errs...)
}

// parseListen parses an NTP listen address: a literal IP and a port.
func parseListen(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, errors.New("not ADDR:PORT (IPv6 needs brackets: [::1]:123)")
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, errors.New("invalid address (a literal IP is required)")
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, errors.New("invalid port")
	}
	if a.Is4In6() {
		return netip.AddrPort{}, errors.New("IPv4-mapped IPv6 address: write the IPv4 address")
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// checkHostPort checks an HTTP listen address: optional literal IP, port.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("not ADDR:PORT (IPv6 needs brackets: [::1]:9100)")
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return errors.New("invalid address (a literal IP or nothing for all addresses)")
		}
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return errors.New("invalid port")
	}
	return nil
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}
