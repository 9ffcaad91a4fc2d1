package nts

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestImportsNoIO: the NTS core is sans-IO like package ntp.
func TestImportsNoIO(t *testing.T) {
	purity.Check(t, ".", purity.Rules{
		Imports: []string{"net", "os", "os/exec", "os/signal", "syscall", "unsafe", "net/http",
			"golang.org/x/sys/unix", "crypto/rand"},
		ModuleDeps: true,
		Absent:     []string{"net", "golang.org/x/sys/..."},
	})
}

func TestNoClockReadsOrGoroutines(t *testing.T) {
	purity.Check(t, ".", purity.Rules{
		Funcs: []string{"time.Now", "time.Since", "time.Until", "time.Sleep", "time.NewTimer",
			"time.NewTicker", "time.After", "time.AfterFunc", "time.Tick"},
		NoGo: true,
	})
}
