package hwts

import (
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Poller waits until one of several Config.NoWait sockets has data to read
// (ppoll(2), one system call for all of them). It keeps its poll set
// preallocated, so Wait does not allocate. Use it from one goroutine; do
// not Close its sockets while Wait runs (Close waits for Wait to return).
type Poller struct {
	conns []*Conn
	fds   []unix.PollFd
}

// NewPoller returns a Poller over conns, each opened with Config.NoWait.
func NewPoller(conns ...*Conn) (*Poller, error) {
	p := &Poller{conns: conns, fds: make([]unix.PollFd, len(conns))}
	for i, c := range conns {
		if c == nil || c.unp == nil || !c.unp.readable {
			return nil, fmt.Errorf("hwts: poller: socket %d was not opened with no_wait", i)
		}
		p.fds[i] = unix.PollFd{Fd: int32(c.unp.fd), Events: unix.POLLIN}
	}
	return p, nil
}

// Wait blocks until a socket has data or timeout passes (≤ 0: do not
// block) and returns how many sockets are readable; Readable says which.
// An interrupted wait returns 0 and no error. It returns an error wrapping
// net.ErrClosed when a socket was closed.
func (p *Poller) Wait(timeout time.Duration) (int, error) {
	for _, c := range p.conns {
		c.unp.mu.RLock()
		defer c.unp.mu.RUnlock()
		if c.unp.closed.Load() {
			return 0, fmt.Errorf("hwts: poll: %w", net.ErrClosed)
		}
	}
	for i := range p.fds {
		p.fds[i].Revents = 0
	}
	ts := unix.NsecToTimespec(int64(max(timeout, 0)))
	n, err := unix.Ppoll(p.fds, &ts, nil)
	if errors.Is(err, unix.EINTR) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("hwts: poll: %w", err)
	}
	return n, nil
}

// Readable reports whether socket i (in NewPoller's order) had data, or an
// error condition a read reports, when Wait last returned.
func (p *Poller) Readable(i int) bool { return p.fds[i].Revents != 0 }
