package clock

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Leap is the leap-second warning carried by NTP's LI field.
type Leap uint8

const (
	LeapNone   Leap = 0 // no warning
	LeapInsert Leap = 1 // last minute of the day has 61 seconds
	LeapDelete Leap = 2 // last minute of the day has 59 seconds
	LeapUnsync Leap = 3 // alarm: clock not synchronised
)

func (l Leap) String() string {
	switch l {
	case LeapNone:
		return "none"
	case LeapInsert:
		return "insert"
	case LeapDelete:
		return "delete"
	case LeapUnsync:
		return "unsynchronised"
	}
	return fmt.Sprintf("leap(%d)", uint8(l))
}

// DefaultDispersionRate is how fast the error of a free-running clock grows
// after its last update, in seconds per second (RFC 5905 PHI = 15 ppm).
const DefaultDispersionRate = 15e-6

// SyncState is an immutable snapshot of what the local clock knows about
// time. The discipline engine (one goroutine) builds a new value for every
// change and publishes it through a StateCell; servers load it per packet and
// never modify it.
type SyncState struct {
	// Synchronized is false until a source has been selected (or a local
	// reference is configured). Servers then answer with LI=3, stratum 0.
	Synchronized bool
	Leap         Leap
	// Stratum of this server (1 = primary). Meaningless when not synchronised.
	Stratum uint8
	// RefID is the reference identifier as on the NTP wire (big-endian
	// value: 'GPS\0' = 0x47505300, or an upstream IPv4 address).
	RefID uint32
	// RefTime is the time of the last clock update, on the served clock.
	RefTime time.Time
	// RootDelay and RootDispersion are the totals to the primary reference
	// at RefTime. Servers add DispersionRate × (now − RefTime) to the
	// dispersion they send.
	RootDelay      time.Duration
	RootDispersion time.Duration
	// DispersionRate is the growth of dispersion in s/s since RefTime.
	DispersionRate float64
	// Precision is log2 seconds of a clock reading (−24 ≈ 60 ns).
	Precision int8
	// ErrorBound is the bound on |served time − true time| at RefTime:
	// |offset| + RootDispersion + RootDelay/2.
	ErrorBound time.Duration
	// ClockClass is the PTP clockClass this state maps to (6 locked,
	// 7 holdover, 248 free-running default).
	ClockClass uint8
	// TAIOffset is TAI − UTC in seconds (37 since 2017).
	TAIOffset int
	// Source names the selected source for logs and status ("local", an
	// address, "PHC0"...).
	Source string
}

// RootDispersionAt returns the root dispersion grown to time now.
func (s *SyncState) RootDispersionAt(now time.Time) time.Duration {
	d := s.RootDispersion
	if s.DispersionRate > 0 && !s.RefTime.IsZero() {
		if age := now.Sub(s.RefTime); age > 0 {
			d += time.Duration(float64(age) * s.DispersionRate)
		}
	}
	return d
}

// Unsynchronised returns the state of a clock that knows nothing: LI=3,
// stratum 16 (sent as 0 on the NTP wire).
func Unsynchronised(precision int8) *SyncState {
	return &SyncState{
		Leap:           LeapUnsync,
		Stratum:        16,
		Precision:      precision,
		DispersionRate: DefaultDispersionRate,
		ClockClass:     248,
		TAIOffset:      37,
		Source:         "none",
	}
}

// StateCell publishes SyncState snapshots from one writer to many lock-free
// readers. The zero value holds nil; Load then returns nil.
type StateCell struct {
	p atomic.Pointer[SyncState]
}

// Load returns the latest published state (never modify it).
func (c *StateCell) Load() *SyncState { return c.p.Load() }

// Store publishes s. The caller must not modify s afterwards.
func (c *StateCell) Store(s *SyncState) { c.p.Store(s) }
