package wire

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestSansIO checks with `go list -deps` and the package's sources that the
// control protocol's format stays free of I/O: no net, os, syscall or x/sys
// imports, net and x/sys nowhere in its dependency graph (net/netip is
// fine), no clock reads and no goroutines.
func TestSansIO(t *testing.T) {
	r := purity.SansIO()
	r.ModuleDeps = true
	r.Absent = []string{"net", "golang.org/x/sys/..."}
	purity.Check(t, ".", r)
}
