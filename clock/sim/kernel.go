package sim

import (
	"fmt"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// KernelOp is one kind of request to (or action of) a simulated kernel.
type KernelOp uint8

const (
	OpStep   KernelOp = iota // Step by the caller
	OpArm                    // SetLeap: arm (or disarm) the leap bits
	OpLeap                   // the kernel inserted or deleted a second itself
	OpSync                   // SetSync
	OpUnsync                 // SetUnsync
	OpTAI                    // SetTAIOffset
)

func (o KernelOp) String() string {
	switch o {
	case OpStep:
		return "step"
	case OpArm:
		return "arm"
	case OpLeap:
		return "leap"
	case OpSync:
		return "sync"
	case OpUnsync:
		return "unsync"
	case OpTAI:
		return "tai"
	}
	return fmt.Sprintf("kernel_op(%d)", uint8(o))
}

// KernelCall describes one request or action for Kernel.Trace.
type KernelCall struct {
	Op KernelOp
	// Leap: what OpArm arms, or what OpLeap carried out.
	Leap clock.Leap
	// Changed (OpArm) is true when the arming changes what the kernel will
	// do: another value, or arming again after a leap carried out.
	Changed bool
	// Step: the step of OpStep, or the kernel's own step of OpLeap (−1 s
	// for an insertion, +1 s for a deletion).
	Step time.Duration
	// MaxError written by OpSync; TAI written by OpTAI.
	MaxError time.Duration
	TAI      int
}

// Kernel is a simulated Clock with the optional abilities CLOCK_REALTIME
// has through the kernel (clock.LeapSetter, clock.SyncSetter,
// clock.TAISetter), for tests and scenarios in which the engine steers "the
// system clock". Like the Linux kernel (kernel/time/ntp.c), once armed it
// inserts (deletes) a second when its own reading passes the next UTC
// midnight (23:59:59), then waits until disarmed (TIME_WAIT). The step is
// applied at the first reading at or after that instant. It never touches
// the real clock.
type Kernel struct {
	*Clock
	// Trace, if set, is called for every request and every leap the
	// kernel carries out, before its effect.
	Trace func(KernelCall)
	// Fail, if set, is returned by every setter, which then changes
	// nothing (the request is still traced).
	Fail error

	armed   clock.Leap
	at      time.Time // local instant of the armed leap
	waiting bool
	leaps   int
	synced  bool
	maxErr  time.Duration
	tai     int
}

var (
	_ clock.LeapSetter = (*Kernel)(nil)
	_ clock.SyncSetter = (*Kernel)(nil)
	_ clock.TAISetter  = (*Kernel)(nil)
)

// NewKernel returns a kernel over c: nothing armed, unsynchronised, TAI
// offset −1 (never written).
func NewKernel(c *Clock) *Kernel { return &Kernel{Clock: c, tai: -1} }

func (k *Kernel) trace(c KernelCall) {
	if k.Trace != nil {
		k.Trace(c)
	}
}

// Now reads the clock, carrying out an armed leap that is due.
func (k *Kernel) Now() time.Time {
	t := k.Clock.Now()
	if k.armed == clock.LeapNone || k.waiting || t.Before(k.at) {
		return t
	}
	by := -time.Second
	if k.armed == clock.LeapDelete {
		by = time.Second
	}
	k.trace(KernelCall{Op: OpLeap, Leap: k.armed, Step: by})
	if err := k.Clock.Step(by); err != nil {
		panic("sim: kernel leap: " + err.Error()) // a constant step of a simulated clock cannot fail
	}
	k.waiting = true
	k.leaps++
	return k.Clock.Now()
}

// Step steps the clock (traced; the kernel's own leaps are not steps).
func (k *Kernel) Step(d time.Duration) error {
	k.trace(KernelCall{Op: OpStep, Step: d})
	return k.Clock.Step(d)
}

// SetLeap implements clock.LeapSetter.
func (k *Kernel) SetLeap(l clock.Leap) error {
	k.trace(KernelCall{Op: OpArm, Leap: l, Changed: l != k.armed || k.waiting})
	if k.Fail != nil {
		return k.Fail
	}
	k.armed, k.waiting = l, false
	if l != clock.LeapNone {
		y, m, d := k.Clock.Now().UTC().Date()
		k.at = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
		if l == clock.LeapDelete {
			k.at = k.at.Add(-time.Second)
		}
	}
	return nil
}

// SetSync implements clock.SyncSetter.
func (k *Kernel) SetSync(maxErr, _ time.Duration) error {
	k.trace(KernelCall{Op: OpSync, MaxError: maxErr})
	if k.Fail != nil {
		return k.Fail
	}
	k.synced, k.maxErr = true, maxErr
	return nil
}

// SetUnsync implements clock.SyncSetter.
func (k *Kernel) SetUnsync() error {
	k.trace(KernelCall{Op: OpUnsync})
	if k.Fail != nil {
		return k.Fail
	}
	k.synced = false
	return nil
}

// SetTAIOffset implements clock.TAISetter.
func (k *Kernel) SetTAIOffset(sec int) error {
	k.trace(KernelCall{Op: OpTAI, TAI: sec})
	if k.Fail != nil {
		return k.Fail
	}
	k.tai = sec
	return nil
}

// Armed returns what the leap bits are armed with.
func (k *Kernel) Armed() clock.Leap { return k.armed }

// Leaps returns how many seconds the kernel inserted or deleted.
func (k *Kernel) Leaps() int { return k.leaps }

// Synced returns the synchronisation status and the last maxerror written.
func (k *Kernel) Synced() (bool, time.Duration) { return k.synced, k.maxErr }

// TAI returns the last TAI − UTC written (−1: never).
func (k *Kernel) TAI() int { return k.tai }
