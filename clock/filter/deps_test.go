package filter

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestSansIO checks that the filter stays usable by every kind of source:
// no I/O, no clock reads, no goroutines, and nothing from the protocol or
// timestamping packages anywhere in its dependency graph.
func TestSansIO(t *testing.T) {
	r := purity.SansIO()
	r.ModuleDeps = true
	r.Absent = []string{"net", "os/exec", "golang.org/x/sys/...",
		"github.com/gnomon-time/gnomon/ntp/...", "github.com/gnomon-time/gnomon/ptp/...",
		"github.com/gnomon-time/gnomon/hwts/..."}
	purity.Check(t, ".", r)
}
