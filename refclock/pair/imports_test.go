package pair

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestSansIO: no net, os, syscall, no time.Now, no goroutines.
func TestSansIO(t *testing.T) { purity.Check(t, ".", purity.SansIO()) }
