package statuspage

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestReadsReportsOnly checks over `go list -deps` that the page knows the
// daemon only through package report (and ntp/wire's reference-ID
// format): nothing of the engine, the sources or the servers.
func TestReadsReportsOnly(t *testing.T) {
	const mod = "github.com/gnomon-time/gnomon/"
	purity.Check(t, ".", purity.Rules{
		ModuleOnly: []string{mod + "report", mod + "clock", mod + "ntp/wire"},
		Absent: []string{mod + "clock/engine/...", mod + "clock/selection/...", mod + "hwts/...",
			mod + "source/...", mod + "metrics/..."},
	})
}
