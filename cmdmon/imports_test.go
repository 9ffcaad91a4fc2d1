package cmdmon

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestSansIO: the control protocol's core, and every gnomon package it
// depends on, imports no net, os or syscall, reads no clock and starts no
// goroutine; the sockets are cmdmon/serve's.
func TestSansIO(t *testing.T) {
	r := purity.SansIO()
	r.ModuleDeps = true
	purity.Check(t, ".", r)
}
