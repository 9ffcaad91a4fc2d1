package report

import (
	"testing"

	"github.com/gnomon-time/gnomon/internal/purity"
)

// TestVocabularyOnly checks that report stays a leaf every package may
// import: of gnomon it depends on clock (for clock.Leap) only, and like the
// sans-IO cores it does no I/O, reads no clock and starts no goroutines.
func TestVocabularyOnly(t *testing.T) {
	r := purity.SansIO()
	r.ModuleOnly = []string{"github.com/gnomon-time/gnomon/clock"}
	purity.Check(t, ".", r)
}
