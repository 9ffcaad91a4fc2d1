package clientlog

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestPureImports checks mechanically that the package stays sans-IO: no
// network, OS or syscall imports (the standard library's own transitive use
// of them, e.g. by time, is not ours), and lock-free: no sync, no runtime.
func TestPureImports(t *testing.T) {
	purity.Check(t, ".", purity.Rules{
		Imports: []string{"net", "os", "syscall", "unsafe", "math/rand", "math/rand/v2",
			"golang.org/x/sys/unix", "os/exec", "sync", "runtime"},
	})
}
