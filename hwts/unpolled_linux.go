//go:build linux

package hwts

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// blockingTimeout is SO_RCVTIMEO of a Config.BlockingRead socket: the
// longest a blocked ReadBatch sleeps before it looks at the closed flag
// again. Close wakes it at once with shutdown(2); this only bounds Close if
// that wake-up were lost. An idle socket pays one system call per period.
const blockingTimeout = time.Second

// writeWait is the poll(2) slice of a blocking socket's WriteBatch waiting
// for room in a full send buffer.
const writeWaitMillis = 10

// unpolled is a socket taken out of Go's netpoller (Config.SendOnly,
// Config.BlockingRead): a duplicate of the socket's descriptor is kept and
// the net.UDPConn closed, which removes the descriptor from the poller's
// epoll set (Go deletes it explicitly before closing). The socket itself,
// with every option set, lives on in the duplicate. It implements
// syscall.RawConn for the batch code: Control, Read and Write run the
// function on the descriptor directly.
type unpolled struct {
	fd    int
	local netip.AddrPort
	// blocking: the descriptor is in blocking mode and Read waits in the
	// kernel (Config.BlockingRead); otherwise it is non-blocking, and Read
	// runs once and fails with EAGAIN when nothing is queued
	// (Config.NoWait, readable) or is not supported (Config.SendOnly).
	blocking, readable bool

	closed atomic.Bool
	mu     sync.RWMutex // held shared by calls in progress; Close takes it to close fd
}

// leavePoller replaces c's socket by an unpolled duplicate, in blocking
// mode with SO_RCVTIMEO when blocking is set; readable allows
// non-waiting reads (Config.NoWait).
func (c *Conn) leavePoller(blocking, readable bool) error {
	var fd int
	var derr error
	if err := c.rc.Control(func(f uintptr) { fd, derr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0) }); err != nil || derr != nil {
		c.uc.Close()
		return fmt.Errorf("unpolled socket: dup: %w", errors.Join(err, derr))
	}
	u := &unpolled{fd: fd, local: c.uc.LocalAddr().(*net.UDPAddr).AddrPort(), blocking: blocking, readable: readable && !blocking}
	c.uc.Close()
	if blocking {
		tv := unix.NsecToTimeval(blockingTimeout.Nanoseconds())
		if err := unix.SetNonblock(fd, false); err != nil {
			unix.Close(fd)
			return fmt.Errorf("blocking socket: clear O_NONBLOCK: %w", err)
		}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(fd)
			return fmt.Errorf("blocking socket: set SO_RCVTIMEO: %w", err)
		}
	}
	c.unp, c.rc = u, u
	return nil
}

func (u *unpolled) Control(f func(fd uintptr)) error {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if u.closed.Load() {
		return net.ErrClosed
	}
	f(uintptr(u.fd))
	return nil
}

// Read runs f once on a NoWait socket: a read that would block fails with
// EAGAIN (ReadBatch turns that into 0 messages). On a blocking socket it
// runs f until it reports done (a send-only socket is never read). f must block in the kernel through the
// runtime's system-call entry (rxState.recvBlocking): false means the wait
// ended without data (SO_RCVTIMEO, a signal), and Read looks at the closed
// flag before trying again. Whatever f returned after Close began (shutdown
// makes recvmmsg return empty datagrams) is reported as net.ErrClosed.
func (u *unpolled) Read(f func(fd uintptr) bool) error {
	if u.readable {
		u.mu.RLock()
		defer u.mu.RUnlock()
		if u.closed.Load() {
			return net.ErrClosed
		}
		if f(uintptr(u.fd)) {
			return nil
		}
		return unix.EAGAIN
	}
	if !u.blocking {
		return ErrUnsupported
	}
	u.mu.RLock()
	defer u.mu.RUnlock()
	for {
		if u.closed.Load() {
			return net.ErrClosed
		}
		done := f(uintptr(u.fd))
		if u.closed.Load() {
			return net.ErrClosed
		}
		if done {
			return nil
		}
	}
}

// Write runs f, which must not block (sendmmsg with MSG_DONTWAIT). When it
// would block, a send-only socket fails with EAGAIN; a blocking socket waits
// for room in poll(2) slices of writeWaitMillis until it is closed.
func (u *unpolled) Write(f func(fd uintptr) bool) error {
	u.mu.RLock()
	defer u.mu.RUnlock()
	for {
		if u.closed.Load() {
			return net.ErrClosed
		}
		if f(uintptr(u.fd)) {
			return nil
		}
		if !u.blocking {
			return unix.EAGAIN
		}
		fds := [1]unix.PollFd{{Fd: int32(u.fd), Events: unix.POLLOUT}}
		if _, err := unix.Poll(fds[:], writeWaitMillis); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("poll for room to send: %w", err)
		}
	}
}

// close marks the socket closed, wakes a reader blocked in the kernel
// (shutdown(2): a UDP socket's receive side then reports end of data),
// waits for the calls in progress and closes the descriptor.
func (u *unpolled) close() error {
	if u.closed.Swap(true) {
		return net.ErrClosed
	}
	if u.blocking {
		// ENOTCONN on an unconnected socket, but the shutdown flag is set
		// and the waiters are woken all the same.
		_ = unix.Shutdown(u.fd, unix.SHUT_RDWR)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return unix.Close(u.fd)
}
