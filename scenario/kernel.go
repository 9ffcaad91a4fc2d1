package scenario

import (
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// simKernel is the simulated clock with the kernel's optional abilities
// (clock.LeapSetter, SyncSetter, TAISetter), for scenarios in which the
// engine steers "the system clock" (engine.LeapModeSystem). Like the Linux
// kernel (kernel/time/ntp.c), once armed it inserts (deletes) a second
// when its own reading passes the next UTC midnight (23:59:59), then
// waits until disarmed. The step is applied at the first reading at or
// after that instant; the runner reads the clock at every event, and the
// engine asks for a tick at the leap instant, so that is within 1 µs.
// It records what the engine asked of it.
type simKernel struct {
	*sim.Clock
	tl      *sim.Timeline
	armed   clock.Leap
	at      time.Time // local instant of the armed leap
	waiting bool
	stats   KernelStats
}

// KernelStats is what the engine did to the simulated kernel.
type KernelStats struct {
	// Armed lists every change of the leap bits (true time since start,
	// and what was armed: "insert", "delete", "none").
	Armed []Event `json:"armed"`
	// Leaps are the seconds the kernel inserted or deleted (true time).
	Leaps []Event `json:"leaps"`
	// SyncCalls and UnsyncCalls count SetSync and SetUnsync; Synced is the
	// status at the end, MaxError the last maxerror written.
	SyncCalls   int           `json:"sync_calls"`
	UnsyncCalls int           `json:"unsync_calls"`
	Synced      bool          `json:"synced"`
	MaxError    time.Duration `json:"max_error_ns"`
	// TAI is the last TAI − UTC written (−1: never).
	TAI int `json:"tai_offset"`
}

func (k *simKernel) Now() time.Time {
	t := k.Clock.Now()
	if k.armed == clock.LeapNone || k.waiting || t.Before(k.at) {
		return t
	}
	by := -time.Second
	if k.armed == clock.LeapDelete {
		by = time.Second
	}
	if err := k.Clock.Step(by); err != nil {
		panic("scenario: simulated kernel leap: " + err.Error()) // a constant step of a simulated clock cannot fail
	}
	k.waiting = true
	k.stats.Leaps = append(k.stats.Leaps, Event{T: k.tl.Elapsed(), Kind: "kernel_leap", To: k.armed.String(), Step: by})
	return k.Clock.Now()
}

func (k *simKernel) SetLeap(l clock.Leap) error {
	if l != k.armed || k.waiting {
		k.stats.Armed = append(k.stats.Armed, Event{T: k.tl.Elapsed(), Kind: "kernel_arm", To: l.String()})
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

func (k *simKernel) SetSync(maxErr, _ time.Duration) error {
	k.stats.SyncCalls++
	k.stats.Synced, k.stats.MaxError = true, maxErr
	return nil
}

func (k *simKernel) SetUnsync() error {
	k.stats.UnsyncCalls++
	k.stats.Synced = false
	return nil
}

func (k *simKernel) SetTAIOffset(sec int) error {
	k.stats.TAI = sec
	return nil
}
