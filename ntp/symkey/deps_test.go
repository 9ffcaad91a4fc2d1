package symkey

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestImportsNoIO checks with `go list -deps` that ntp and every gnomon
// package under it import nothing that does I/O, and that neither net nor
// golang.org/x/sys is anywhere in the dependency graph. (fmt depends on os
// and syscall inside the standard library; that is not the core doing I/O.)
func TestImportsNoIO(t *testing.T) {
	purity.Check(t, ".", purity.Rules{
		// Forbidden for ntp and every gnomon package it depends on (STYLE.md §1).
		Imports: []string{"net", "os", "os/exec", "os/signal", "syscall", "unsafe", "net/http",
			"golang.org/x/sys/unix", "golang.org/x/net/ipv4", "golang.org/x/net/ipv6"},
		ModuleDeps: true,
		Absent:     []string{"net", "golang.org/x/sys/..."},
	})
}

// TestNoClockReadsOrGoroutines rejects time.Now, time.Since, time.Until and
// the like and go statements in the package's non-test sources: time comes
// in as arguments, goroutines belong to the shell.
func TestNoClockReadsOrGoroutines(t *testing.T) {
	purity.Check(t, ".", purity.Rules{
		Funcs: []string{"time.Now", "time.Since", "time.Until", "time.Sleep", "time.NewTimer",
			"time.NewTicker", "time.After", "time.AfterFunc", "time.Tick"},
		NoGo: true,
	})
}
