package metrics

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestReadsReportsOnly checks over `go list -deps` that the collector knows
// the daemon only through package report: of gnomon, only report and the
// clock vocabulary it uses are in the dependency graph: nothing of the
// engine, the sources and their runner, selection, hwts or ntp, wherever those
// packages move. Absent names them as well, in case the allowlist grows.
func TestReadsReportsOnly(t *testing.T) {
	const mod = "github.com/gnomon-time/gnomon/"
	purity.Check(t, ".", purity.Rules{
		ModuleOnly: []string{mod + "report", mod + "clock"},
		Absent: []string{mod + "clock/engine/...", mod + "clock/selection/...", mod + "hwts/...",
			mod + "ntp/...", mod + "source/..."},
	})
}
