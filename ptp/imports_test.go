package ptp

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestSansIO checks mechanically that the core stays free of I/O: no
// forbidden imports, no goroutines, no reading of the clock.
func TestSansIO(t *testing.T) { purity.Check(t, ".", purity.SansIO()) }
