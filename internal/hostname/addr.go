package hostname

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// SplitAddress splits a server address ("host", "host:port", "IPv4",
// "IPv4:port", "IPv6", "[IPv6]:port") into host and port: host is an IP
// literal or a valid host name, port defaults to defPort. It is the one
// parser of configured server addresses: config validation, the NTP
// poller and the source layer all use it, so that `gnomond validate`
// refuses exactly what a run would. Errors do not repeat the address.
func SplitAddress(a string, defPort uint16) (host string, port uint16, err error) {
	if a == "" {
		return "", 0, errors.New("empty: want host, host:port, IP or [IPv6]:port")
	}
	if ap, err := netip.ParseAddrPort(a); err == nil {
		if ap.Port() == 0 {
			return "", 0, errors.New("port 0")
		}
		return ap.Addr().String(), ap.Port(), nil
	}
	if ip, err := netip.ParseAddr(a); err == nil {
		return ip.String(), defPort, nil
	}
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		// No port: the whole string is the host.
		h, p = a, ""
	}
	port = defPort
	if p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return "", 0, fmt.Errorf("port %q: want 1 … 65535", p)
		}
		port = uint16(n)
	}
	if !Valid(h) {
		return "", 0, fmt.Errorf("%q is neither an IP address nor a host name", h)
	}
	return h, port, nil
}

// AddrOf returns the IP address of a server address that is an IP literal
// (with or without a port), and false for a host name or an invalid
// address.
func AddrOf(a string, defPort uint16) (netip.Addr, bool) {
	h, _, err := SplitAddress(a, defPort)
	if err != nil {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(h)
	return ip, err == nil
}
