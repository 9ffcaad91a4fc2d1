package phcsource

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock/phc"
)

// TestRealDevice measures the first /dev/ptp* read-only (nothing is
// steered), when the machine has one: one sample, a bracket under 1 ms.
func TestRealDevice(t *testing.T) {
	devs, _ := filepath.Glob("/dev/ptp[0-9]*")
	if len(devs) == 0 {
		t.Skip("no /dev/ptp* on this machine")
	}
	p, err := phc.OpenReadOnly(devs[0])
	if err != nil {
		t.Skipf("open %s: %v", devs[0], err)
	}
	defer p.Close()
	s, err := New(p, Config{FromRealtime: identity})
	if err != nil {
		t.Fatal(err)
	}
	out := &sink{}
	s.Poll(t.Context(), out)
	if len(out.got) != 1 {
		t.Fatalf("no sample from %s (stats %+v)", devs[0], s.Stats())
	}
	g := out.got[0]
	t.Logf("%s: PHC − CLOCK_REALTIME %v, dispersion %v", devs[0], g.Offset, g.Dispersion)
	if g.Dispersion > time.Millisecond {
		t.Errorf("dispersion %v: a bracket over 2 ms", g.Dispersion)
	}
}
