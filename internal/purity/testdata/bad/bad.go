// Package bad breaks every rule once, for the purity tests.
package bad

import (
	"net/netip"
	"syscall"
	clk "time"

	"github.com/gnomon-time/gnomon/internal/purity/testdata/dep"
)

// Now reads the clock under an import alias.
func Now() clk.Time { return clk.Now() }

// Spawn starts a goroutine.
func Spawn(f func()) { go f() }

// Pid makes a system call.
func Pid() int { return syscall.Getpid() }

// Host uses a module dependency that does I/O.
func Host() string { return dep.Hostname() }

// Addr uses net/netip, which is allowed.
func Addr() netip.Addr { return netip.Addr{} }
