//go:build !linux

package serve

import (
	"sync"
	"time"
)

// waker is the portable sleep of the sender (see wake_linux.go for why
// Linux sleeps in the kernel instead).
type waker struct {
	c    chan struct{}
	done chan struct{}
	once sync.Once
}

func newWaker() (*waker, error) {
	return &waker{c: make(chan struct{}, 1), done: make(chan struct{})}, nil
}

func (w *waker) sleep(d time.Duration) bool {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.c:
	case <-w.done:
		return false
	}
	return true
}

func (w *waker) notify() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

func (w *waker) close() { w.once.Do(func() { close(w.done) }) }
