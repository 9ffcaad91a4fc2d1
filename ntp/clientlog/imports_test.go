package clientlog

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPureImports checks mechanically that the package stays sans-IO: no
// network, OS or syscall imports (the standard library's own transitive use
// of them, e.g. by time, is not ours).
func TestPureImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string]bool{
		"net": true, "os": true, "syscall": true, "unsafe": true, "math/rand": true, "math/rand/v2": true,
		"golang.org/x/sys/unix": true, "os/exec": true, "sync": true, "runtime": true,
	}
	for _, imp := range strings.Fields(string(out)) {
		if forbidden[imp] {
			t.Errorf("clientlog imports %s", imp)
		}
	}
}
