package netns

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on an OS thread that has joined the namespace. Sockets fn
// creates belong to the namespace and keep working after Do returns. The
// thread returns to its original namespace before it is unlocked; if that
// fails it stays locked, so the runtime retires it (or, for the main thread,
// parks it) and no other goroutine ever runs in the wrong namespace.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: open own namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(ns.Path())
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: open %s: %w", ns.Path(), err)
			return
		}
		defer target.Close()
		// Setns on a thread affects only that thread (CLONE_NEWNET).
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: setns %s: %w", ns.Name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Deliberately stay locked: see above.
			errc <- errors.Join(ferr, fmt.Errorf("netns: return from %s: %w", ns.Name, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// DialUDP opens a connected UDP socket inside the namespace. laddr may be
// empty (kernel picks the source address) or a host[:port] to bind.
func (ns *NS) DialUDP(laddr, raddr string) (*net.UDPConn, error) {
	var conn *net.UDPConn
	err := ns.Do(func() error {
		var la *net.UDPAddr
		if laddr != "" {
			if _, _, err := net.SplitHostPort(laddr); err != nil {
				laddr = net.JoinHostPort(laddr, "0")
			}
			var err error
			if la, err = net.ResolveUDPAddr("udp", laddr); err != nil {
				return fmt.Errorf("netns: local address %q: %w", laddr, err)
			}
		}
		ra, err := net.ResolveUDPAddr("udp", raddr)
		if err != nil {
			return fmt.Errorf("netns: remote address %q: %w", raddr, err)
		}
		conn, err = net.DialUDP("udp", la, ra)
		if err != nil {
			return fmt.Errorf("netns: dial %s in %s: %w", raddr, ns.Name, err)
		}
		return nil
	})
	return conn, err
}
