//go:build linux

package hwts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Per-message control buffer sizes in bytes. RX: SCM_TIMESTAMPING (64) +
// IPV6_PKTINFO (40) with room to spare. TX: pktinfo
// (40) + SCM_TS_OPT_ID (24) + SO_TIMESTAMPING (24, Config.TXOnDemand).
// Error queue: SCM_TIMESTAMPING (64) +
// IPV6_RECVERR with offender address (64).
const (
	rxOOBLen   = 256
	txOOBLen   = 96
	errqOOBLen = 256
)

// scmTSOptID is SCM_TS_OPT_ID (Linux ≥ 6.13): per-packet OPT_ID value.
const scmTSOptID = unix.SCM_TS_OPT_ID

// soEETimestamping and scmTstampSnd identify a TX timestamp on the error
// queue (sock_extended_err.ee_origin and ee_info).
const (
	soEETimestamping = unix.SO_EE_ORIGIN_TIMESTAMPING
	scmTstampSnd     = 0
)

// alignedBytes returns n zero bytes aligned for cmsghdr access.
func alignedBytes(n int) []byte {
	if n <= 0 {
		return nil
	}
	u := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&u[0])), n)
}

// ---- receive ----

type rxState struct {
	hdrs  []unix.Mmsghdr
	iov   []unix.Iovec
	names []unix.RawSockaddrInet6
	oob   []byte
	// Arguments and results of recv, which runs inside RawConn.Read.
	fn    func(uintptr) bool
	fnBlk func(uintptr) bool // recvBlocking, for a Config.BlockingRead socket
	vlen  int
	got   int
	errno syscall.Errno
	zones [64]string // scope ID → zone string cache for link-local peers
}

func (r *rxState) init(c *Conn) {
	n := c.batch
	r.hdrs = make([]unix.Mmsghdr, n)
	r.iov = make([]unix.Iovec, n)
	r.names = make([]unix.RawSockaddrInet6, n)
	r.oob = alignedBytes(n * rxOOBLen)
	for i := range r.hdrs {
		h := &r.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iov[i]
		h.SetIovlen(1)
		h.Control = &r.oob[i*rxOOBLen]
	}
	r.fn = r.recv
	r.fnBlk = r.recvBlocking
}

// recv is the RawConn.Read callback: false means "would block, park". The
// socket is non-blocking, so a raw system call (no entersyscall, hence no
// sysmon wake-up) is safe here and in send and the error-queue read; see
// "Batched I/O and the netpoller" in doc.go.
func (r *rxState) recv(fd uintptr) bool {
	got, errno, done := mmsg(unix.SYS_RECVMMSG, fd, unsafe.Pointer(&r.hdrs[0]), r.vlen, 0)
	if done {
		r.got, r.errno = got, errno
	}
	return done
}

// recvBlocking is the Read callback of a Config.BlockingRead socket: one
// recvmmsg that sleeps in the kernel until the first datagram arrives and
// then takes what else is queued, up to vlen, without waiting
// (MSG_WAITFORONE). Because it may sleep it enters the kernel through the
// runtime (unix.Syscall6: the goroutine's P can be handed to other work);
// see "Blocking reads" in doc.go. false: the wait ended without data
// (SO_RCVTIMEO expired, or a signal interrupted it, which a socket with a
// receive timeout reports as EINTR instead of restarting).
func (r *rxState) recvBlocking(fd uintptr) bool {
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(r.vlen),
		unix.MSG_WAITFORONE, 0, 0)
	switch e {
	case 0:
		r.got, r.errno = int(n), 0
		return true
	case unix.EAGAIN, unix.EINTR:
		return false
	default:
		r.got, r.errno = 0, e
		return true
	}
}

// mmsg runs recvmmsg or sendmmsg (trap) with flags on the socket fd with
// vlen headers at hdrs, retrying on EINTR. The call must not sleep: the
// socket is non-blocking or flags has MSG_DONTWAIT. done is false on EAGAIN (the
// RawConn callback must park); otherwise got is the number of messages
// transferred, or 0 with errno set. hdrs is passed as an unsafe.Pointer and
// converted to uintptr only in the call expression, so the GC keeps the
// headers alive for the system call (unsafe.Pointer rule 4). No allocation.
func mmsg(trap, fd uintptr, hdrs unsafe.Pointer, vlen int, flags uintptr) (got int, errno syscall.Errno, done bool) {
	for {
		n, _, e := unix.RawSyscall6(trap, fd, uintptr(hdrs), uintptr(vlen), flags, 0, 0)
		switch e {
		case 0:
			return int(n), 0, true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, 0, false
		default:
			return 0, e, true
		}
	}
}

// ReadBatch receives up to min(len(msgs), BatchSize) datagrams, blocking
// (parked in the netpoller, or with Config.BlockingRead asleep in recvmmsg
// on the caller's thread) until at least one arrives, and fills Buf[:N],
// Trunc, Addr, Local, IfIndex, RX and RXHW of each. It returns how many
// messages it filled. It does not allocate. Close or an expired read
// deadline make a blocked call return an error wrapping net.ErrClosed or
// os.ErrDeadlineExceeded.
func (c *Conn) ReadBatch(msgs []Message) (int, error) {
	n := c.prepareRX(msgs)
	if n == 0 {
		return 0, nil
	}
	r := &c.r
	fn := r.fn
	if c.unp != nil && c.unp.blocking {
		fn = r.fnBlk
	}
	if err := c.rc.Read(fn); err != nil {
		if errors.Is(err, unix.EAGAIN) { // Config.NoWait: nothing queued
			c.clearRX(n)
			return 0, nil
		}
		if !isNotPollable(err) {
			return 0, fmt.Errorf("hwts: read: %w", err)
		}
		if err := c.readNotPollable(); err != nil {
			return 0, err
		}
	}
	if r.errno != 0 {
		return 0, fmt.Errorf("hwts: recvmmsg: %w", r.errno)
	}
	got := r.got
	var daemon time.Time
	for i := range got {
		m := &msgs[i]
		h := &r.hdrs[i].Hdr
		m.N = int(r.hdrs[i].Len)
		m.Trunc = h.Flags&unix.MSG_TRUNC != 0
		m.Addr = r.sockaddr(&r.names[i])
		m.Local, m.IfIndex = c.fixedLocal, 0
		m.RX, m.RXHW = Timestamp{}, Timestamp{}
		c.parseRXControl(m, r.oob[i*rxOOBLen:i*rxOOBLen+int(h.Controllen)])
		if m.RX.Kind == KindNone {
			if daemon.IsZero() {
				daemon = c.now().Round(0) // Timestamp.Time never carries a monotonic reading
			}
			m.RX = Timestamp{Time: daemon, Kind: KindDaemon}
		}
	}
	c.clearRX(n)
	return got, nil
}

// clearRX drops the references to the caller's buffers.
func (c *Conn) clearRX(n int) {
	for i := range n {
		c.r.iov[i].Base = nil
	}
}

// prepareRX points the receive headers at msgs' buffers and returns how
// many are used.
func (c *Conn) prepareRX(msgs []Message) int {
	n := min(len(msgs), c.batch)
	r := &c.r
	for i := range n {
		b := msgs[i].Buf
		if len(b) > 0 {
			r.iov[i].Base = &b[0]
		} else {
			r.iov[i].Base = nil
		}
		r.iov[i].SetLen(len(b))
		h := &r.hdrs[i].Hdr
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(rxOOBLen)
		h.Flags = 0
		r.hdrs[i].Len = 0
	}
	r.vlen = n
	return n
}

// isNotPollable recognises internal/poll.ErrNotPollable, which the runtime
// reports for reads when epoll signalled EPOLLERR alone: the error queue
// holds TX timestamps while the socket is momentarily not writable and
// has no data. The sentinel is not exported, so match its text.
func isNotPollable(err error) bool {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == "not pollable" {
			return true
		}
	}
	return false
}

// readNotPollable reads without the netpoller until data arrives, waiting
// in poll(2) for at most 10 ms at a time so Close stays effective. The
// runtime's error flag clears with the next readiness event.
func (c *Conn) readNotPollable() error {
	r := &c.r
	for {
		var ready bool
		var perr error
		err := c.rc.Control(func(fd uintptr) {
			if ready = r.recv(fd); ready {
				return
			}
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			_, perr = unix.Poll(fds, 10)
			if errors.Is(perr, unix.EINTR) {
				perr = nil
			}
		})
		if err != nil {
			return fmt.Errorf("hwts: read: %w", err)
		}
		if ready {
			return nil
		}
		if perr != nil {
			return fmt.Errorf("hwts: poll: %w", perr)
		}
		if err := c.rc.Read(r.fn); err == nil {
			return nil
		} else if !isNotPollable(err) {
			return fmt.Errorf("hwts: read: %w", err)
		}
	}
}

// sockaddr converts a received peer address without allocating (a zone
// string is allocated once per new interface index above 63).
func (r *rxState) sockaddr(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(r.zone(sa.Scope_id))
		}
		return netip.AddrPortFrom(a, uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

func (r *rxState) zone(id uint32) string {
	if id < uint32(len(r.zones)) {
		if r.zones[id] == "" {
			r.zones[id] = strconv.FormatUint(uint64(id), 10)
		}
		return r.zones[id]
	}
	return strconv.FormatUint(uint64(id), 10)
}

func cmsgAlign(n int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	return (n + a - 1) &^ (a - 1)
}

// parseTimestamping decodes SCM_TIMESTAMPING: ts[0] software, ts[2] raw
// hardware. SO_TIMESTAMPING_NEW always uses 64-bit seconds and
// nanoseconds; the old option uses the native timespec.
func parseTimestamping(d []byte) (sw, hw time.Time) {
	var ts [3]time.Time
	switch {
	case len(d) >= 48:
		for i := range ts {
			s := int64(binary.NativeEndian.Uint64(d[16*i:]))
			ns := int64(binary.NativeEndian.Uint64(d[16*i+8:]))
			if s != 0 || ns != 0 {
				ts[i] = time.Unix(s, ns).UTC()
			}
		}
	case len(d) >= 24:
		for i := range ts {
			s := int64(int32(binary.NativeEndian.Uint32(d[8*i:])))
			ns := int64(int32(binary.NativeEndian.Uint32(d[8*i+4:])))
			if s != 0 || ns != 0 {
				ts[i] = time.Unix(s, ns).UTC()
			}
		}
	}
	return ts[0], ts[2]
}

func (c *Conn) parseRXControl(m *Message, b []byte) {
	hdr := unix.CmsgLen(0)
	for len(b) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		l := int(h.Len)
		if l < hdr || l > len(b) {
			return
		}
		d := b[hdr:l]
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == c.tsType:
			sw, hw := parseTimestamping(d)
			if !sw.IsZero() {
				m.RX = Timestamp{Time: sw, Kind: KindKernel}
			}
			if !hw.IsZero() {
				m.RXHW = Timestamp{Time: hw, Kind: KindHardware}
			}
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(d) >= unix.SizeofInet4Pktinfo:
			// ipi_addr (header destination), not ipi_spec_dst: the address
			// the client sent to is the one to answer from.
			m.IfIndex = int(int32(binary.NativeEndian.Uint32(d)))
			m.Local = netip.AddrFrom4([4]byte(d[8:12]))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(d) >= unix.SizeofInet6Pktinfo:
			m.Local = netip.AddrFrom16([16]byte(d[:16]))
			m.IfIndex = int(binary.NativeEndian.Uint32(d[16:]))
		}
		next := cmsgAlign(l)
		if next >= len(b) {
			return
		}
		b = b[next:]
	}
}

// ---- send ----

type txState struct {
	hdrs  []unix.Mmsghdr
	iov   []unix.Iovec
	names []unix.RawSockaddrInet6
	oob   []byte
	// perPacket: tag packets with SCM_TS_OPT_ID (probed at Listen; tests
	// clear it to exercise the counter mode). Read by Info.
	perPacket atomic.Bool
	nextID    uint32 // next ID to assign (per-packet mode) or kernel counter
	stamped   []bool // stamped[i]: header i asks for a TX timestamp
	fn        func(uintptr) bool
	off, vlen int
	got       int
	errno     syscall.Errno
}

func (w *txState) init(c *Conn) {
	n := c.batch
	w.hdrs = make([]unix.Mmsghdr, n)
	w.iov = make([]unix.Iovec, n)
	w.names = make([]unix.RawSockaddrInet6, n)
	w.stamped = make([]bool, n)
	w.oob = alignedBytes(n * txOOBLen)
	for i := range w.hdrs {
		h := &w.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&w.names[i]))
		h.Iov = &w.iov[i]
		h.SetIovlen(1)
	}
	w.perPacket.Store(c.info.TXIDPerPacket)
	w.fn = w.send
}

func (w *txState) send(fd uintptr) bool {
	// MSG_DONTWAIT: a Config.BlockingRead socket is in blocking mode, and
	// a raw system call must never sleep (unpolled.Write waits instead).
	got, errno, done := mmsg(unix.SYS_SENDMMSG, fd, unsafe.Pointer(&w.hdrs[w.off]), w.vlen, unix.MSG_DONTWAIT)
	if done {
		w.got, w.errno = got, errno
	}
	return done
}

// WriteBatch sends msgs[i].Buf[:N] to msgs[i].Addr, from msgs[i].Local
// and IfIndex when set, for up to BatchSize messages, and sets each sent
// message's TXID. It returns how many messages were sent, in order; when
// that is less than requested, err describes the failure of msgs[n] (the
// caller may skip it and resend msgs[n+1:]). It does not allocate unless
// it fails or a peer's IPv6 zone is an interface name.
func (c *Conn) WriteBatch(msgs []Message) (int, error) {
	n := min(len(msgs), c.batch)
	if n == 0 {
		return 0, nil
	}
	w := &c.w
	tag := w.perPacket.Load() && c.info.TX != KindNone
	// Counter mode needs the prepared messages' stamp decisions to predict
	// the kernel's counter; prepareTX records them in w.stamped.
	for i := range n {
		if err := c.prepareTX(i, &msgs[i], tag); err != nil {
			// Send what precedes the bad message, then report it.
			if i == 0 {
				return 0, err
			}
			sent, serr := c.sendPrepared(msgs[:i], tag)
			if serr != nil {
				return sent, serr
			}
			return sent, err
		}
	}
	return c.sendPrepared(msgs[:n], tag)
}

// prepareTX fills header i for m and records in w.stamped[i] whether the
// datagram gets a TX timestamp (always, unless Config.TXOnDemand and not
// m.WantTX). A stamped datagram on an on-demand socket carries an
// SO_TIMESTAMPING control message with the TX flags; with tag it also gets
// its TXID and the SCM_TS_OPT_ID control message.
func (c *Conn) prepareTX(i int, m *Message, tag bool) error {
	w := &c.w
	if m.N < 0 || m.N > len(m.Buf) {
		return fmt.Errorf("hwts: write: message %d: length %d outside buffer of %d bytes", i, m.N, len(m.Buf))
	}
	h := &w.hdrs[i].Hdr
	nl, err := c.putSockaddr(&w.names[i], m.Addr)
	if err != nil {
		return err
	}
	h.Namelen = nl
	if m.N > 0 {
		w.iov[i].Base = &m.Buf[0]
	} else {
		w.iov[i].Base = nil
	}
	w.iov[i].SetLen(m.N)
	oob := w.oob[i*txOOBLen : (i+1)*txOOBLen]
	used := 0
	local := m.Local
	if local.IsMulticast() || local.IsUnspecified() || local == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		// A request sent to a group or broadcast address is answered from
		// an address the kernel picks; these are not valid sources.
		local = netip.Addr{}
	}
	if local == c.fixedLocal && m.IfIndex == 0 {
		// A socket bound to one address sends from it anyway.
		local = netip.Addr{}
	}
	if local.IsValid() || m.IfIndex != 0 {
		l, err := c.putPktinfo(oob, local, m.IfIndex)
		if err != nil {
			return err
		}
		used += l
	}
	stamp := c.info.TX != KindNone && (c.txCmsgFlags == 0 || m.WantTX)
	w.stamped[i] = stamp
	if stamp && c.txCmsgFlags != 0 {
		// Only SOF_TIMESTAMPING_TX_* flags are allowed here; the socket
		// keeps the reporting flags (SOFTWARE, RAW_HARDWARE, OPT_ID,
		// OPT_TSONLY). The old option number is the one every kernel with
		// per-datagram flags (≥ 4.7) accepts.
		used += putCmsgU32(oob[used:], unix.SOL_SOCKET, unix.SO_TIMESTAMPING_OLD, c.txCmsgFlags)
	}
	if tag && stamp {
		m.TXID = w.nextID
		w.nextID++
		used += putCmsgU32(oob[used:], unix.SOL_SOCKET, scmTSOptID, m.TXID)
	} else if !stamp {
		m.TXID = 0
	}
	if used > 0 {
		h.Control = &oob[0]
	} else {
		h.Control = nil
	}
	h.SetControllen(used)
	h.Flags = 0
	return nil
}

// sendPrepared sends the prepared headers for msgs, resuming after partial
// sends.
func (c *Conn) sendPrepared(msgs []Message, tag bool) (int, error) {
	w := &c.w
	n := len(msgs)
	sent := 0
	for sent < n {
		if !tag {
			// The kernel's OPT_ID counter advances once per timestamped
			// datagram it accepts (sk_tskey moves only when the datagram
			// asks for a TX stamp); errors before the datagram is built
			// (routing, EACCES) do not advance it.
			id := w.nextID
			for j := sent; j < n; j++ {
				if w.stamped[j] {
					msgs[j].TXID = id
					id++
				}
			}
		}
		w.off, w.vlen = sent, n-sent
		if err := c.rc.Write(w.fn); err != nil {
			c.clearTX(n)
			return sent, fmt.Errorf("hwts: write: %w", err)
		}
		if w.errno != 0 {
			c.clearTX(n)
			return sent, fmt.Errorf("hwts: sendmmsg to %s: %w", msgs[sent].Addr, w.errno)
		}
		if !tag {
			for j := sent; j < sent+w.got; j++ {
				if w.stamped[j] {
					w.nextID++
				}
			}
		}
		sent += w.got
	}
	c.clearTX(n)
	return sent, nil
}

func (c *Conn) clearTX(n int) {
	for i := range n {
		c.w.iov[i].Base = nil
	}
}

func (c *Conn) putSockaddr(sa *unix.RawSockaddrInet6, ap netip.AddrPort) (uint32, error) {
	if ap.Port() == 0 && ap.Addr().IsValid() {
		// Never a valid destination (the kernel would answer EINVAL).
		return 0, fmt.Errorf("hwts: write: destination %s has port 0", ap)
	}
	a := ap.Addr()
	port := ap.Port()
	if !c.ipv6 {
		if a.Is4In6() {
			a = a.Unmap()
		}
		if !a.Is4() {
			return 0, fmt.Errorf("hwts: write: destination %s is not IPv4", ap)
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		return unix.SizeofSockaddrInet4, nil
	}
	if !a.Is6() || a.Is4In6() {
		return 0, fmt.Errorf("hwts: write: destination %s is not IPv6 (IPv6 sockets are IPv6-only)", ap)
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	if z := a.Zone(); z != "" {
		id, err := zoneIndex(z)
		if err != nil {
			return 0, fmt.Errorf("hwts: write: destination %s: %w", ap, err)
		}
		sa.Scope_id = id
	}
	return unix.SizeofSockaddrInet6, nil
}

func zoneIndex(z string) (uint32, error) {
	if id, err := strconv.ParseUint(z, 10, 32); err == nil {
		return uint32(id), nil
	}
	ifi, err := net.InterfaceByName(z)
	if err != nil {
		return 0, err
	}
	return uint32(ifi.Index), nil
}

func (c *Conn) putPktinfo(b []byte, local netip.Addr, ifindex int) (int, error) {
	if !c.ipv6 {
		var src [4]byte
		if local.IsValid() {
			l := local.Unmap()
			if !l.Is4() {
				return 0, fmt.Errorf("hwts: write: local address %s is not IPv4", local)
			}
			src = l.As4()
		}
		d := cmsgData(b, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
		binary.NativeEndian.PutUint32(d, uint32(int32(ifindex)))
		copy(d[4:8], src[:]) // ipi_spec_dst: source address to use
		clear(d[8:12])
		return unix.CmsgSpace(unix.SizeofInet4Pktinfo), nil
	}
	var src [16]byte
	if local.IsValid() {
		if !local.Is6() || local.Is4In6() {
			return 0, fmt.Errorf("hwts: write: local address %s is not IPv6", local)
		}
		src = local.As16()
	}
	d := cmsgData(b, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
	copy(d[:16], src[:])
	binary.NativeEndian.PutUint32(d[16:], uint32(ifindex))
	return unix.CmsgSpace(unix.SizeofInet6Pktinfo), nil
}

// cmsgData writes a control message header at the start of b and returns
// its zeroed data area of n bytes.
func cmsgData(b []byte, level, typ int32, n int) []byte {
	sp := unix.CmsgSpace(n)
	clear(b[:sp])
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(n))
	return b[unix.CmsgLen(0):unix.CmsgLen(n)]
}

func putCmsgU32(b []byte, level, typ int32, v uint32) int {
	binary.NativeEndian.PutUint32(cmsgData(b, level, typ, 4), v)
	return unix.CmsgSpace(4)
}

// ---- error queue ----

type errqState struct {
	hdrs    []unix.Mmsghdr
	iov     []unix.Iovec
	scratch []byte
	oob     []byte
	fn      func(uintptr)
	got     int
	errno   syscall.Errno
}

func (e *errqState) init(c *Conn) {
	n := c.batch
	e.hdrs = make([]unix.Mmsghdr, n)
	e.iov = make([]unix.Iovec, n)
	e.scratch = make([]byte, 64) // OPT_TSONLY: no payload comes back
	e.oob = alignedBytes(n * errqOOBLen)
	for i := range e.hdrs {
		e.iov[i].Base = &e.scratch[0]
		e.iov[i].SetLen(len(e.scratch))
		h := &e.hdrs[i].Hdr
		h.Iov = &e.iov[i]
		h.SetIovlen(1)
		h.Control = &e.oob[i*errqOOBLen]
	}
	e.fn = e.recv
}

func (e *errqState) recv(fd uintptr) {
	for {
		n, _, en := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&e.hdrs[0])), uintptr(len(e.hdrs)),
			unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT, 0, 0)
		if en == unix.EINTR {
			continue
		}
		e.got, e.errno = int(n), en
		if en != 0 {
			e.got = 0
		}
		return
	}
}

// maxTXRounds bounds one ReadTX call so a steady stream of stamps cannot
// keep it busy forever.
const maxTXRounds = 64

// ReadTX drains transmit timestamps from the error queue without blocking
// and calls fn for each with the TXID WriteBatch assigned. With hardware
// timestamping a packet may be reported twice, once per Kind (software and
// hardware stamps arrive as separate error-queue messages). It returns how
// many timestamps it reported. It does not allocate.
//
// Call it after each WriteBatch, before blocking in ReadBatch: queued stamps
// count against the receive buffer and wake a parked reader.
func (c *Conn) ReadTX(fn func(id uint32, ts Timestamp)) (int, error) {
	if c.info.TX == KindNone {
		return 0, nil
	}
	e := &c.e
	total := 0
	for range maxTXRounds {
		for i := range e.hdrs {
			h := &e.hdrs[i].Hdr
			h.SetControllen(errqOOBLen)
			h.Flags = 0
			e.hdrs[i].Len = 0
		}
		if err := c.rc.Control(e.fn); err != nil {
			return total, fmt.Errorf("hwts: read error queue: %w", err)
		}
		if e.errno == unix.EAGAIN {
			return total, nil
		}
		if e.errno != 0 {
			return total, fmt.Errorf("hwts: read error queue: %w", e.errno)
		}
		for i := range e.got {
			h := &e.hdrs[i].Hdr
			total += c.parseErrqueue(e.oob[i*errqOOBLen:i*errqOOBLen+int(h.Controllen)], fn)
		}
		if e.got < len(e.hdrs) {
			return total, nil
		}
	}
	return total, nil
}

func (c *Conn) parseErrqueue(b []byte, fn func(id uint32, ts Timestamp)) int {
	var sw, hw time.Time
	var id uint32
	isTS := false
	hdr := unix.CmsgLen(0)
	for len(b) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		l := int(h.Len)
		if l < hdr || l > len(b) {
			break
		}
		d := b[hdr:l]
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == c.tsType:
			sw, hw = parseTimestamping(d)
		case (h.Level == unix.IPPROTO_IP && h.Type == unix.IP_RECVERR ||
			h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_RECVERR) && len(d) >= int(unsafe.Sizeof(unix.SockExtendedErr{})):
			// struct sock_extended_err: ee_errno u32, ee_origin u8, ee_type,
			// ee_code, ee_pad, ee_info u32, ee_data u32.
			errno := binary.NativeEndian.Uint32(d)
			origin := d[4]
			info := binary.NativeEndian.Uint32(d[8:])
			isTS = errno == uint32(unix.ENOMSG) && origin == soEETimestamping && info == scmTstampSnd
			id = binary.NativeEndian.Uint32(d[12:])
		}
		next := cmsgAlign(l)
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	if !isTS {
		return 0
	}
	n := 0
	if !sw.IsZero() {
		fn(id, Timestamp{Time: sw, Kind: KindKernel})
		n++
	}
	if !hw.IsZero() {
		fn(id, Timestamp{Time: hw, Kind: KindHardware})
		n++
	}
	return n
}
