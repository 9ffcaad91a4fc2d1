package ntp

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestImportsNoIO checks with `go list -deps` that ntp and every gnomon
// package under it import nothing that does I/O, and that neither net nor
// golang.org/x/sys is anywhere in the dependency graph. (fmt depends on os
// and syscall inside the standard library; that is not the core doing I/O.)
func TestImportsNoIO(t *testing.T) { purity.Check(t, ".", purity.NoIOGraph()) }

// TestNoClockReadsOrGoroutines: time comes in as arguments, goroutines
// belong to the shell.
func TestNoClockReadsOrGoroutines(t *testing.T) { purity.Check(t, ".", purity.NoClockReads()) }
