package clock

import (
	"sync/atomic"
	"time"
)

// Virtual is a software clock layered on a base clock (normally the system
// clock): virtual = base + offset + freq × (base − anchor). Steering it
// never touches the base clock, which is what `make run`, tests and
// containers discipline. It is safe for concurrent use: readers load the
// parameters through an atomic pointer, and steering (one goroutine, the
// discipline engine) replaces them.
type Virtual struct {
	base Clock
	p    atomic.Pointer[virtualParams]
}

type virtualParams struct {
	anchor  time.Time     // base time at which offset was exact
	offset  time.Duration // virtual − base at anchor
	freqPPB float64
}

// NewVirtual returns a virtual clock equal to base until steered.
func NewVirtual(base Clock) *Virtual {
	v := &Virtual{base: base}
	v.p.Store(&virtualParams{anchor: base.Now()})
	return v
}

// Now reads the virtual clock.
func (v *Virtual) Now() time.Time { return v.at(v.base.Now()) }

// FromRealtime converts a base-clock (CLOCK_REALTIME) reading to virtual time.
func (v *Virtual) FromRealtime(t time.Time) time.Time { return v.at(t) }

func (v *Virtual) at(b time.Time) time.Time {
	p := v.p.Load()
	d := p.offset
	if p.freqPPB != 0 {
		d += time.Duration(float64(b.Sub(p.anchor)) * p.freqPPB * 1e-9)
	}
	return b.Add(d)
}

// AdjustFrequency sets the frequency correction relative to the base clock.
func (v *Virtual) AdjustFrequency(ppb float64) error {
	now := v.base.Now()
	v.p.Store(&virtualParams{anchor: now, offset: v.at(now).Sub(now), freqPPB: ppb})
	return nil
}

// Frequency returns the frequency correction in ppb.
func (v *Virtual) Frequency() (float64, error) { return v.p.Load().freqPPB, nil }

// Step moves the virtual clock by d.
func (v *Virtual) Step(d time.Duration) error {
	now := v.base.Now()
	p := v.p.Load()
	v.p.Store(&virtualParams{anchor: now, offset: v.at(now).Sub(now) + d, freqPPB: p.freqPPB})
	return nil
}

// Offset returns virtual − base now.
func (v *Virtual) Offset() time.Duration {
	now := v.base.Now()
	return v.at(now).Sub(now)
}
