package scenario

import (
	"time"

	"github.com/gnomon-time/gnomon/clock/sim"
)

// simKernel is the simulated kernel of clock/sim (leap bits, sync status,
// TAI offset), for scenarios in which the engine steers "the system clock"
// (engine.LeapModeSystem), with what the engine asked of it recorded. The
// runner reads the clock at every event, and the engine asks for a tick at
// the leap instant, so the kernel's leap is within 1 µs of it.
type simKernel struct {
	*sim.Kernel
	stats KernelStats
}

func newSimKernel(c *sim.Clock, tl *sim.Timeline) *simKernel {
	k := &simKernel{Kernel: sim.NewKernel(c), stats: KernelStats{TAI: -1}}
	k.Trace = func(c sim.KernelCall) {
		switch c.Op {
		case sim.OpArm:
			if c.Changed {
				k.stats.Armed = append(k.stats.Armed, Event{T: tl.Elapsed(), Kind: "kernel_arm", To: c.Leap.String()})
			}
		case sim.OpLeap:
			k.stats.Leaps = append(k.stats.Leaps, Event{T: tl.Elapsed(), Kind: "kernel_leap", To: c.Leap.String(), Step: c.Step})
		case sim.OpSync:
			k.stats.SyncCalls++
			k.stats.Synced, k.stats.MaxError = true, c.MaxError
		case sim.OpUnsync:
			k.stats.UnsyncCalls++
			k.stats.Synced = false
		case sim.OpTAI:
			k.stats.TAI = c.TAI
		}
	}
	return k
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
