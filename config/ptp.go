package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// PTP configures the PTP grandmaster (off unless enabled).
type PTP struct {
	Enabled bool `yaml:"enabled"`
	// Listen holds addresses (no ports) to serve PTP on.
	Listen []string `yaml:"listen"`
	// EventPort and GeneralPort are UDP ports (319 and 320; tests use
	// others).
	EventPort   int `yaml:"event_port"`
	GeneralPort int `yaml:"general_port"`
	// Interface binds the sockets to an interface and gives the clock
	// identity (EUI-64 from its MAC) when ClockIdentity is empty.
	Interface string `yaml:"interface"`
	// ClockIdentity is the grandmaster's identity, 8 bytes as hex pairs
	// separated by colons (ptp4l writes 0a1b2c.fffe.3d4e5f; both forms are
	// accepted).
	ClockIdentity string `yaml:"clock_identity"`
	Domain        int    `yaml:"domain"`
	Priority1     int    `yaml:"priority1"`
	Priority2     int    `yaml:"priority2"`
	// Timestamping is auto, hardware, software or none (as ntp's).
	Timestamping string `yaml:"timestamping"`
	DSCP         int    `yaml:"dscp"`
	// Allow lists client prefixes; empty serves nobody.
	Allow []string `yaml:"allow"`
	// Unicast negotiation limits.
	MaxClients              int `yaml:"max_clients"`
	MinLogSyncInterval      int `yaml:"min_log_sync_interval"`
	MinLogAnnounceInterval  int `yaml:"min_log_announce_interval"`
	MinLogDelayRespInterval int `yaml:"min_log_delay_resp_interval"`
	MaxGrantDurationSeconds int `yaml:"max_grant_duration"`
	// Multicast is the default profile's multicast E2E service.
	Multicast PTPMulticast `yaml:"multicast"`
}

// PTPMulticast configures multicast E2E (default profile) as a
// grandmaster only: Announce, Sync and Follow_Up to 224.0.1.129 (IPv4) and
// ff0e::181 (IPv6) on ptp.interface, Delay_Resp to the group. The
// intervals are log2 seconds and are what the messages' logMessageInterval
// carries (a slave adopts logMinDelayReqInterval from the Delay_Resp).
type PTPMulticast struct {
	Enabled                bool `yaml:"enabled"`
	LogSyncInterval        int  `yaml:"log_sync_interval"`
	LogAnnounceInterval    int  `yaml:"log_announce_interval"`
	LogMinDelayReqInterval int  `yaml:"log_min_delay_req_interval"`
}

func builtinPTP() PTP {
	return PTP{Listen: []string{"0.0.0.0", "::"}, EventPort: 319, GeneralPort: 320, Priority1: 128, Priority2: 128,
		Timestamping: TimestampingAuto, Allow: []string{"127.0.0.0/8", "::1/128"}, MaxClients: 10000,
		MinLogSyncInterval: -7, MinLogAnnounceInterval: -3, MinLogDelayRespInterval: -7, MaxGrantDurationSeconds: 3600,
		Multicast: PTPMulticast{LogAnnounceInterval: 1}}
}

// ListenAddrs returns the parsed listen addresses (call after Validate).
func (p *PTP) ListenAddrs() []netip.Addr {
	out := make([]netip.Addr, 0, len(p.Listen))
	for _, s := range p.Listen {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// AllowPrefixes returns the parsed allow list (call after Validate).
func (p *PTP) AllowPrefixes() []netip.Prefix { return prefixes(p.Allow) }

// ParseClockIdentity reads an EUI-64 clock identity written as eight hex
// pairs separated by colons or dashes, or as ptp4l prints it
// (0a1b2c.fffe.3d4e5f).
func ParseClockIdentity(s string) (uint64, error) {
	h := strings.NewReplacer(":", "", "-", "", ".", "").Replace(s)
	if len(h) != 16 {
		return 0, fmt.Errorf("want 8 bytes in hex (aa:bb:cc:ff:fe:dd:ee:ff or aabbcc.fffe.ddeeff)")
	}
	var v uint64
	for _, c := range h {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, fmt.Errorf("not hex")
		}
		v = v<<4 | d
	}
	if v == 0 || v == ^uint64(0) {
		return 0, fmt.Errorf("all zeros or all ones is not an identity")
	}
	return v, nil
}

// IdentityFromMAC is the EUI-64 clock identity of a MAC address (EUI-48:
// FF:FE inserted in the middle, as ptp4l does).
func IdentityFromMAC(mac net.HardwareAddr) (uint64, error) {
	var b [8]byte
	switch len(mac) {
	case 6:
		copy(b[:3], mac[:3])
		b[3], b[4] = 0xFF, 0xFE
		copy(b[5:], mac[3:])
	case 8:
		copy(b[:], mac)
	default:
		return 0, fmt.Errorf("MAC %v is neither EUI-48 nor EUI-64", mac)
	}
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	if v == 0 {
		return 0, fmt.Errorf("MAC %v is all zeros", mac)
	}
	return v, nil
}

// validatePTP checks the ptp section (only when enabled, except for
// syntax).
func (c *Config) validatePTP(bad func(key string, value any, format string, args ...any)) {
	p := &c.PTP
	for i, s := range p.Listen {
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			bad(fmt.Sprintf("ptp.listen[%d]", i), s, "not an IP address (ports are ptp.event_port and ptp.general_port)")
		case a.Is4In6():
			bad(fmt.Sprintf("ptp.listen[%d]", i), s, "IPv4-mapped IPv6 address; use the IPv4 address")
		}
	}
	if p.Enabled && len(p.Listen) == 0 {
		bad("ptp.listen", "", "empty: give at least one address")
	}
	for _, v := range []struct {
		key string
		v   int
	}{{"ptp.event_port", p.EventPort}, {"ptp.general_port", p.GeneralPort}} {
		if v.v < 1 || v.v > 65535 {
			bad(v.key, v.v, "must be 1 … 65535")
		}
	}
	if p.EventPort == p.GeneralPort {
		bad("ptp.general_port", p.GeneralPort, "same as ptp.event_port")
	}
	if p.ClockIdentity != "" {
		if _, err := ParseClockIdentity(p.ClockIdentity); err != nil {
			bad("ptp.clock_identity", p.ClockIdentity, "%v", err)
		}
	} else if p.Enabled && p.Interface == "" {
		bad("ptp.clock_identity", "", "set it, or ptp.interface to take it from that interface's MAC")
	}
	if len(p.Interface) >= 16 {
		bad("ptp.interface", p.Interface, "longer than 15 bytes")
	}
	if p.Domain < 0 || p.Domain > 127 {
		bad("ptp.domain", p.Domain, "must be 0 … 127 (G.8275.2: 44 … 63)")
	}
	for _, v := range []struct {
		key string
		v   int
	}{{"ptp.priority1", p.Priority1}, {"ptp.priority2", p.Priority2}} {
		if v.v < 0 || v.v > 255 {
			bad(v.key, v.v, "must be 0 … 255")
		}
	}
	switch p.Timestamping {
	case TimestampingAuto, TimestampingHardware, TimestampingSoftware, TimestampingNone:
	default:
		bad("ptp.timestamping", p.Timestamping, "must be auto, hardware, software or none")
	}
	if p.DSCP < 0 || p.DSCP > 63 {
		bad("ptp.dscp", p.DSCP, "must be 0 … 63")
	}
	for i, s := range p.Allow {
		if _, err := parsePrefix(s); err != nil {
			bad(fmt.Sprintf("ptp.allow[%d]", i), s, "%v", err)
		}
	}
	if p.MaxClients < 1 || p.MaxClients > 1_000_000 {
		bad("ptp.max_clients", p.MaxClients, "must be 1 … 1000000")
	}
	for _, v := range []struct {
		key string
		v   int
	}{{"ptp.min_log_sync_interval", p.MinLogSyncInterval}, {"ptp.min_log_announce_interval", p.MinLogAnnounceInterval},
		{"ptp.min_log_delay_resp_interval", p.MinLogDelayRespInterval}} {
		if v.v < -7 || v.v > 30 {
			bad(v.key, v.v, "must be −7 … 30 (log2 seconds)")
		}
	}
	if d := p.MaxGrantDurationSeconds; d < 10 || d > 86400 {
		bad("ptp.max_grant_duration", d, "must be 10 … 86400 seconds")
	}
	c.validatePTPMulticast(bad)
}

// validatePTPMulticast checks ptp.multicast: its intervals always, and
// when it is enabled that an interface (group membership and sending are
// per interface) and an unspecified listen address (a socket bound to a
// unicast address does not receive the group's messages) are configured.
func (c *Config) validatePTPMulticast(bad func(key string, value any, format string, args ...any)) {
	p := &c.PTP
	m := &p.Multicast
	for _, v := range []struct {
		key string
		v   int
	}{{"ptp.multicast.log_sync_interval", m.LogSyncInterval}, {"ptp.multicast.log_announce_interval", m.LogAnnounceInterval},
		{"ptp.multicast.log_min_delay_req_interval", m.LogMinDelayReqInterval}} {
		if v.v < -7 || v.v > 30 {
			bad(v.key, v.v, "must be −7 … 30 (log2 seconds)")
		}
	}
	if !m.Enabled {
		return
	}
	if p.Interface == "" {
		bad("ptp.multicast.enabled", true, "needs ptp.interface (groups are joined and sent to on one interface)")
	}
	if !slices.ContainsFunc(p.Listen, func(s string) bool { a, err := netip.ParseAddr(s); return err == nil && a.IsUnspecified() }) {
		bad("ptp.multicast.enabled", true, "needs 0.0.0.0 or :: in ptp.listen (a socket bound to a unicast address does not receive the group's messages)")
	}
}
