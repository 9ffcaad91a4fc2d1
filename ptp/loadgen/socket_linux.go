//go:build linux

package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// rcvBufBytes is each client socket's receive buffer: a few hundred
// messages, far more than one client receives between two reads.
const rcvBufBytes = 256 << 10

// maxPortTries bounds the search for a free pair of adjacent ephemeral ports.
const maxPortTries = 64

// openUDP opens a non-blocking IPv4 UDP socket bound to a:port with kernel
// receive timestamps (SO_TIMESTAMPNS, CLOCK_REALTIME).
func openUDP(a netip.Addr, port uint16) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("SO_TIMESTAMPNS: %w", err)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBufBytes) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBufBytes)
	}
	sa := &unix.SockaddrInet4{Port: int(port)}
	if a.IsValid() {
		sa.Addr = a.Unmap().As4()
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind %v:%d: %w", a, port, err)
	}
	return fd, nil
}

func localPort(fd int) (uint16, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, fmt.Errorf("getsockname: %w", err)
	}
	s4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		return 0, fmt.Errorf("getsockname: not IPv4")
	}
	return uint16(s4.Port), nil
}

// openClient opens client i's event and general sockets in port mode: an
// ephemeral general port and the port just below it for events (a pair like
// 319/320, so a server may derive one from the other). Address mode shares
// two sockets among all clients (addrio_linux.go).
func openClient(cfg *Config, i int) (ev, gen int, err error) {
	for range maxPortTries {
		gen, err = openUDP(cfg.Source, 0)
		if err != nil {
			return -1, -1, fmt.Errorf("client %d general socket: %w", i, err)
		}
		p, perr := localPort(gen)
		if perr != nil {
			unix.Close(gen)
			return -1, -1, perr
		}
		if p > 1 {
			ev, err = openUDP(cfg.Source, p-1)
			if err == nil {
				return ev, gen, nil
			}
		}
		unix.Close(gen)
		if err != nil && !errors.Is(err, unix.EADDRINUSE) {
			return -1, -1, fmt.Errorf("client %d event socket: %w", i, err)
		}
	}
	return -1, -1, fmt.Errorf("client %d: no free pair of adjacent ports after %d tries", i, maxPortTries)
}

// oobLen holds SCM_TIMESTAMPNS (a 16-byte timespec) with room to spare.
const oobLen = 64

// parseStamp extracts the kernel receive time (CLOCK_REALTIME ns, 0 if
// absent) from ancillary data without allocating. Malformed data ends the
// scan.
func parseStamp(oob []byte) int64 {
	hdr := unix.SizeofCmsghdr
	for len(oob) >= hdr && hdr == 16 {
		l := binary.NativeEndian.Uint64(oob)
		if l < uint64(hdr) || l > uint64(len(oob)) {
			break
		}
		level := int32(binary.NativeEndian.Uint32(oob[8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[12:]))
		data := oob[unix.CmsgLen(0):l]
		if level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPNS && len(data) >= 16 {
			return int64(binary.NativeEndian.Uint64(data))*1e9 + int64(binary.NativeEndian.Uint64(data[8:]))
		}
		step := unix.CmsgSpace(int(l) - unix.CmsgLen(0))
		if step <= 0 || step > len(oob) {
			break
		}
		oob = oob[step:]
	}
	return 0
}

// cpuTime is this process's user+system CPU time in ns.
func cpuTime() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
