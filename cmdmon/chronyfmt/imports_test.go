package chronyfmt

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestSansIO: the formatter imports no net, os or syscall, reads no clock
// and starts no goroutine.
func TestSansIO(t *testing.T) {
	purity.Check(t, ".", purity.SansIO())
}
