package engine

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/leap"
)

// SmearClock is the clock servers hand out: the engine's clock plus, with
// LeapModeSmear, the leap smear (clock/leap.Smear). Without a smear in
// progress it reads exactly the engine's clock.
//
// Construction of the served time: the engine's clock follows UTC (it is
// stepped at the leap as in LeapModeStep). A continuous clock, one that
// ignores the leap, is the engine's clock + shift, where shift is 0 before
// the leap step and +1 s after an insertion (−1 s after a deletion). Served
// time is continuous + leap.Smear.Offset(continuous, ev), which is 0 before
// the leap and reaches exactly −shift at the end of the smear, when served
// time equals the engine's clock again and the engine drops the
// parameters (an exact no-op, no step).
//
// Readers are lock-free and allocate nothing: they load the parameters
// through an atomic pointer. The one change that must be atomic with a
// change of the underlying clock, the leap step together with the new
// shift, is published under a sequence counter (a seqlock): readers retry
// a reading that overlapped it, so that no reader ever combines the
// stepped clock with the old shift (served time 1 s off) or the reverse.
// Readers spin only during that one write, once per leap.
type SmearClock struct {
	base clock.Clock
	rt   interface{ FromRealtime(time.Time) time.Time } // nil: base readings are CLOCK_REALTIME readings
	seq  atomic.Uint64                                  // odd while the engine steps and swaps
	p    atomic.Pointer[smearParams]
}

// smearParams are immutable once published.
type smearParams struct {
	smear leap.Smear
	ev    leap.Event
	// shift is continuous − engine clock: 0 before the leap step, −by
	// after a step by `by`.
	shift time.Duration
}

// offset returns served − base for the base reading b.
func (p *smearParams) offset(b time.Time) time.Duration {
	if p == nil {
		return 0
	}
	return p.shift + p.smear.Offset(b.Add(p.shift), p.ev)
}

// end is the base reading at which the smear is over.
func (p *smearParams) end() time.Time {
	return p.ev.At.Add(p.smear.Duration() - p.shift)
}

func newSmearClock(base clock.Clock) *SmearClock {
	c := &SmearClock{base: base}
	c.rt, _ = base.(interface{ FromRealtime(time.Time) time.Time })
	return c
}

// Now reads the served clock.
func (c *SmearClock) Now() time.Time {
	for {
		s := c.seq.Load()
		if s&1 != 0 {
			runtime.Gosched()
			continue
		}
		p := c.p.Load()
		b := c.base.Now()
		if c.seq.Load() == s {
			return b.Add(p.offset(b))
		}
	}
}

// FromRealtime converts a CLOCK_REALTIME reading (a kernel packet
// timestamp) to served time.
func (c *SmearClock) FromRealtime(t time.Time) time.Time {
	for {
		s := c.seq.Load()
		if s&1 != 0 {
			runtime.Gosched()
			continue
		}
		p := c.p.Load()
		b := t
		if c.rt != nil {
			b = c.rt.FromRealtime(t)
		}
		if c.seq.Load() == s {
			return b.Add(p.offset(b))
		}
	}
}

// OffsetAt returns served − engine clock for an engine-clock reading b
// (0 when no smear is in progress).
func (c *SmearClock) OffsetAt(b time.Time) time.Duration { return c.p.Load().offset(b) }

// set publishes p (nil: no smear) where no clock change goes with it.
func (c *SmearClock) set(p *smearParams) { c.p.Store(p) }

// stepAndSet steps the engine's clock with step and publishes p as one
// change for readers; p is published only if step succeeds.
func (c *SmearClock) stepAndSet(step func() error, p *smearParams) error {
	c.seq.Add(1)
	defer c.seq.Add(1)
	if err := step(); err != nil {
		return err
	}
	c.p.Store(p)
	return nil
}
