package nts

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestImportsNoIO: the NTS core is sans-IO like package ntp, and draws no
// randomness itself (the caller hands it a reader).
func TestImportsNoIO(t *testing.T) {
	r := purity.NoIOGraph()
	r.Imports = append(r.Imports, "crypto/rand")
	purity.Check(t, ".", r)
}

func TestNoClockReadsOrGoroutines(t *testing.T) { purity.Check(t, ".", purity.NoClockReads()) }
