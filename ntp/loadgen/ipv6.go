package loadgen

import (
	"net"

	"golang.org/x/net/ipv6"
)

// ipv6PacketConn wraps conn for batched I/O on an IPv6 socket.
func ipv6PacketConn(conn *net.UDPConn) batchConn { return ipv6.NewPacketConn(conn) }
