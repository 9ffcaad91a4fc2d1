package hwts

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// unpolled is a socket taken out of Go's netpoller (Config.SendOnly or
// NoWait): a
// duplicate of the socket's descriptor is kept and the net.UDPConn closed,
// which removes the descriptor from the poller's epoll set (Go deletes it
// explicitly before closing). The socket itself, with every option set,
// lives on in the duplicate. It implements syscall.RawConn for the batch
// code: Control and Write run the function on the descriptor directly.
type unpolled struct {
	fd       int
	local    netip.AddrPort
	readable bool // Config.NoWait: Read runs f once

	mu     sync.RWMutex // Close waits for calls in progress
	closed bool
}

// leavePoller replaces c's socket by an unpolled duplicate; readable
// allows non-waiting reads (Config.NoWait).
func (c *Conn) leavePoller(readable bool) error {
	var fd int
	var derr error
	if err := c.rc.Control(func(f uintptr) { fd, derr = unix.Dup(int(f)) }); err != nil || derr != nil {
		c.uc.Close()
		return fmt.Errorf("send-only socket: dup: %w", errors.Join(err, derr))
	}
	u := &unpolled{fd: fd, local: c.uc.LocalAddr().(*net.UDPAddr).AddrPort(), readable: readable}
	c.uc.Close()
	c.sendOnly, c.rc = u, u
	return nil
}

func (u *unpolled) Control(f func(fd uintptr)) error {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if u.closed {
		return net.ErrClosed
	}
	f(uintptr(u.fd))
	return nil
}

// Read runs f once on a NoWait socket; a read that would block fails with
// EAGAIN (ReadBatch turns that into 0 messages). A send-only socket is
// never read.
func (u *unpolled) Read(f func(fd uintptr) bool) error {
	if !u.readable {
		return ErrUnsupported
	}
	return u.Write(f)
}

// Write runs f once; a write that would block fails with EAGAIN.
func (u *unpolled) Write(f func(fd uintptr) bool) error {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if u.closed {
		return net.ErrClosed
	}
	if !f(uintptr(u.fd)) {
		return unix.EAGAIN
	}
	return nil
}

func (u *unpolled) close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return net.ErrClosed
	}
	u.closed = true
	return unix.Close(u.fd)
}
