//go:build linux

package hwts

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// setupMulticast joins cfg.Multicast on cfg.Interface and pins the
// socket's multicast output to it without loopback (Config.Multicast,
// Config.MulticastSend; Validate checked the interface and families).
func (c *Conn) setupMulticast(fd int, cfg Config) error {
	if len(cfg.Multicast) == 0 && !cfg.MulticastSend {
		return nil
	}
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return fmt.Errorf("multicast: interface %q: %w", cfg.Interface, err)
	}
	if c.ipv6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index); err != nil {
			return fmt.Errorf("set IPV6_MULTICAST_IF %s: %w", cfg.Interface, err)
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0); err != nil {
			return fmt.Errorf("clear IPV6_MULTICAST_LOOP: %w", err)
		}
		for _, g := range cfg.Multicast {
			mreq := unix.IPv6Mreq{Multiaddr: g.As16(), Interface: uint32(ifi.Index)}
			if err := unix.SetsockoptIPv6Mreq(fd, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, &mreq); err != nil {
				return fmt.Errorf("join %s on %s: %w", g, cfg.Interface, err)
			}
		}
		return nil
	}
	if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifi.Index)}); err != nil {
		return fmt.Errorf("set IP_MULTICAST_IF %s: %w", cfg.Interface, err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0); err != nil {
		return fmt.Errorf("clear IP_MULTICAST_LOOP: %w", err)
	}
	for _, g := range cfg.Multicast {
		mreq := unix.IPMreqn{Multiaddr: g.As4(), Ifindex: int32(ifi.Index)}
		if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, &mreq); err != nil {
			return fmt.Errorf("join %s on %s: %w", g, cfg.Interface, err)
		}
	}
	return nil
}
