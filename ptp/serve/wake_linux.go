//go:build linux

package serve

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// waker is where the sender sleeps: ppoll on an eventfd, in the kernel,
// until a timeout or notify. It replaces a Go timer and channel select on
// purpose: a goroutine woken by a Go timer is woken through the runtime,
// whose other threads (sysmon, the netpoller, a spinning M) wake around the
// same deadline and send the sender's CPU timer interrupts and reschedule
// IPIs while its Sync is in the kernel between its TX stamp and its
// delivery; each adds 10–35 µs to that Sync on this VM (see doc.go).
type waker struct {
	mu      sync.RWMutex // sleep and notify hold it shared, close exclusively
	fd      int
	closed  bool
	closing atomic.Bool // set by close before it wakes the sleeper
}

func newWaker() (*waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("ptp: sender wake-up eventfd: %w", err)
	}
	return &waker{fd: fd}, nil
}

// sleep waits up to d, or until notify (also one that came before the
// call and was not consumed yet). It may return early (a signal). It
// returns false, at once, once the waker is closed.
func (w *waker) sleep(d time.Duration) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return false
	}
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	ts := unix.NsecToTimespec(max(d, 0).Nanoseconds())
	if n, err := unix.Ppoll(fds, &ts, nil); err == nil && n > 0 {
		var b [8]byte
		unix.Read(w.fd, b[:]) // consume the notifications (non-blocking)
	}
	return !w.closing.Load() // a timeout, a notification or a signal (EINTR)
}

// notify ends the current or next sleep.
func (w *waker) notify() {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return
	}
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], 1)
	unix.Write(w.fd, b[:]) // EAGAIN only when 2^64−2 are pending: still notified
}

// close wakes a sleeper, waits for it to leave and frees the eventfd.
func (w *waker) close() {
	w.closing.Store(true)
	w.notify()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		unix.Close(w.fd)
	}
}
