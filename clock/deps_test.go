package clock_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestLayering checks with `go list -deps` that clock and every package
// under it stay the floor of the tree: no protocol (ntp/, ptp/), no source
// lifecycle (source/), no packet I/O (hwts), no network and no processes
// anywhere in their dependency graphs, and their test files import none
// of those gnomon packages either (a test that needs a protocol belongs
// above, in scenario or the protocol's package). The engine fills package
// report's plain structs; report depends on clock alone (its own test
// keeps that true), so it is allowed here.
func TestLayering(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not in PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "./...").Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 8 {
		t.Fatalf("go list ./... found only %v", pkgs)
	}
	const mod = "github.com/gnomon-time/gnomon/"
	rules := purity.Rules{
		Absent: []string{mod + "ntp/...", mod + "ptp/...", mod + "source/...", mod + "scenario/...",
			mod + "hwts/...", mod + "metrics/...", mod + "config/...", mod + "cmd/...",
			"net", "os/exec"},
	}
	for _, p := range pkgs {
		t.Run(strings.TrimPrefix(p, mod), func(t *testing.T) {
			purity.Check(t, p, rules)
			for _, imp := range testImports(t, goTool, p) {
				for _, bad := range rules.Absent {
					if strings.HasSuffix(bad, "/...") && strings.HasPrefix(imp+"/", strings.TrimSuffix(bad, "...")) {
						t.Errorf("%s: a test imports %s", p, imp)
					}
				}
			}
		})
	}
}

// testImports lists what p's test files import directly.
func testImports(t *testing.T, goTool, p string) []string {
	out, err := exec.Command(goTool, "list", "-f", `{{join .TestImports " "}} {{join .XTestImports " "}}`, p).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", p, err)
	}
	return strings.Fields(string(out))
}
