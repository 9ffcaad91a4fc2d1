//go:build linux

package loadgen

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// rcvBufBytes is the receive buffer each socket asks for, so that replies
// are not dropped by our own socket while a worker is busy sending.
const rcvBufBytes = 4 << 20

// openSocket opens a UDP socket connected to server (so the kernel filters
// other sources), bound to src if valid, with kernel RX timestamps
// (SO_TIMESTAMPNS) and the socket drop counter (SO_RXQ_OVFL) enabled.
// It returns the connection and its descriptor; the descriptor stays owned
// by conn.
func openSocket(server netip.AddrPort, src netip.Addr) (*net.UDPConn, int, error) {
	var laddr *net.UDPAddr
	if src.IsValid() {
		laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	}
	conn, err := net.DialUDP("udp", laddr, net.UDPAddrFromAddrPort(server))
	if err != nil {
		return nil, -1, fmt.Errorf("dial %v: %w", server, err)
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, -1, fmt.Errorf("raw conn: %w", err)
	}
	fd := -1
	var serr error
	cerr := rc.Control(func(s uintptr) {
		fd = int(s)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			serr = fmt.Errorf("SO_TIMESTAMPNS: %w", err)
			return
		}
		// Best effort: the overflow counter is a diagnostic only.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
		// FORCE works as root beyond rmem_max; otherwise fall back.
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBufBytes) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBufBytes)
		}
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, rcvBufBytes) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, rcvBufBytes)
		}
	})
	if cerr == nil {
		cerr = serr
	}
	if cerr != nil {
		conn.Close()
		return nil, -1, fmt.Errorf("socket options: %w", cerr)
	}
	return conn, fd, nil
}

// maxGSOSegments bounds the datagrams of one UDP_SEGMENT send (the kernel's
// UDP_MAX_SEGMENTS is 64 on older kernels, 128 on newer ones).
const maxGSOSegments = 64

// gsoControl is the control message of a UDP_SEGMENT send: cut the payload
// into datagrams of size bytes.
func gsoControl(size int) []byte {
	b := make([]byte, unix.CmsgSpace(2))
	hdr := unix.SizeofCmsghdr // cmsg_len is a size_t: 8 bytes on 64-bit, 4 on 32-bit
	if hdr == 16 {
		binary.NativeEndian.PutUint64(b, uint64(unix.CmsgLen(2)))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(unix.CmsgLen(2)))
	}
	binary.NativeEndian.PutUint32(b[hdr-8:], uint32(unix.SOL_UDP))
	binary.NativeEndian.PutUint32(b[hdr-4:], uint32(unix.UDP_SEGMENT))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(size))
	return b
}

// oobLen is enough for SCM_TIMESTAMPNS (a 16-byte timespec) and
// SO_RXQ_OVFL (u32): CmsgSpace(16)+CmsgSpace(4) = 56 on 64-bit Linux.
const oobLen = 64

// parseControl extracts the kernel receive time (CLOCK_REALTIME ns, 0 if
// absent) and the socket's cumulative drop counter from ancillary data,
// without allocating. Malformed data ends the scan.
func parseControl(oob []byte) (rxNs int64, drops uint32, haveDrops bool) {
	hdr := unix.SizeofCmsghdr
	for len(oob) >= hdr {
		var l uint64
		if hdr == 16 {
			l = binary.NativeEndian.Uint64(oob)
		} else {
			l = uint64(binary.NativeEndian.Uint32(oob))
		}
		if l < uint64(hdr) || l > uint64(len(oob)) {
			break
		}
		level := int32(binary.NativeEndian.Uint32(oob[hdr-8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[hdr-4:]))
		data := oob[unix.CmsgLen(0):l]
		if level == unix.SOL_SOCKET {
			switch {
			case typ == unix.SCM_TIMESTAMPNS && len(data) >= 16 && hdr == 16:
				sec := int64(binary.NativeEndian.Uint64(data))
				nsec := int64(binary.NativeEndian.Uint64(data[8:]))
				rxNs = sec*1e9 + nsec
			case typ == unix.SO_RXQ_OVFL && len(data) >= 4:
				drops, haveDrops = binary.NativeEndian.Uint32(data), true
			}
		}
		step := unix.CmsgSpace(int(l) - unix.CmsgLen(0))
		if step <= 0 || step > len(oob) {
			break
		}
		oob = oob[step:]
	}
	return rxNs, drops, haveDrops
}

// poller is a worker's epoll instance over its sockets (level-triggered):
// one epoll_wait reports only the ready sockets, so the cost of a poll does
// not grow with the number of sockets.
type poller struct {
	fd     int
	events []unix.EpollEvent
	ready  []int
}

func newPoller(socks []*sock) (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	p := &poller{fd: fd, events: make([]unix.EpollEvent, len(socks)), ready: make([]int, 0, len(socks))}
	for i, s := range socks {
		// Fd is the event's user data: the socket's index, not a descriptor.
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLERR, Fd: int32(i)}
		if err := unix.EpollCtl(fd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	return p, nil
}

// wait returns the indexes of readable sockets, waiting up to d (0 = do not
// wait). A wait sleeps in ppoll on the epoll descriptor, which takes a
// timeout in ns (epoll_wait's is in whole ms, too coarse to pace sends a
// millisecond apart). The slice is reused by the next call.
func (p *poller) wait(d time.Duration) ([]int, error) {
	p.ready = p.ready[:0]
	if d > 0 {
		ts := unix.NsecToTimespec(int64(d))
		pfd := [1]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Ppoll(pfd[:], &ts, nil)
		if err == unix.EINTR || (err == nil && n == 0) {
			return p.ready, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ppoll: %w", err)
		}
	}
	n, err := unix.EpollWait(p.fd, p.events, 0)
	if err == unix.EINTR {
		return p.ready, nil
	}
	if err != nil {
		return nil, fmt.Errorf("epoll_wait: %w", err)
	}
	for _, ev := range p.events[:n] {
		p.ready = append(p.ready, int(ev.Fd))
	}
	return p.ready, nil
}

func (p *poller) close() {
	if p != nil {
		unix.Close(p.fd)
	}
}

// cpuTime is this process's user+system CPU time in ns.
func cpuTime() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
