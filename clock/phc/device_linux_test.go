package phc

import (
	"path/filepath"
	"testing"
	"time"
)

// Real PHCs, read-only: gated on /dev/ptp* existing. Writing a PHC is
// tested (opt-in) in clock/system's TestWritePathOnPHC, since another
// daemon may be steering it.
func TestRealDeviceReadOnly(t *testing.T) {
	devs, _ := filepath.Glob("/dev/ptp[0-9]*")
	if len(devs) == 0 {
		t.Skip("no /dev/ptp* on this machine: the PHC is tested against phc.Sim only")
	}
	for _, path := range devs {
		t.Run(path, func(t *testing.T) {
			p, err := OpenReadOnly(path)
			if err != nil {
				t.Skipf("cannot open %s: %v", path, err)
			}
			defer p.Close()
			if p.MaxFrequency() <= 0 {
				t.Errorf("max_adj %v", p.MaxFrequency())
			}
			t1, err := p.Time()
			if err != nil {
				t.Fatal(err)
			}
			t2, err := p.Time()
			if err != nil {
				t.Fatal(err)
			}
			if t2.Before(t1) {
				t.Errorf("PHC went backwards: %v then %v", t1, t2)
			}
			off, delay, at, err := p.SysOffset(MaxSamples)
			if err != nil {
				t.Fatal(err)
			}
			if delay < 0 || delay > 10*time.Millisecond {
				t.Errorf("delay %v", delay)
			}
			if d := time.Since(at); d < 0 || d > time.Second {
				t.Errorf("at %v is %v ago", at, d)
			}
			t.Logf("%s: PHC − CLOCK_REALTIME = %v (delay %v), max_adj %.0f ppb", path, off, delay, p.MaxFrequency())
		})
	}
}
