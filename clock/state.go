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

// DefaultTAIOffset is TAI − UTC in seconds in force since 2017-01-01 (the
// leap second at the end of 2016): the figure used wherever nothing better
// is known. A state carrying it only as a default has UTCOffsetValid false.
const DefaultTAIOffset = 37

// ParseRefID packs one to four printable ASCII characters into a
// reference ID as NTP carries a reference clock's (left aligned, zero
// padded: "PHC" → 0x50484300, "GPS" → 0x47505300).
func ParseRefID(s string) (uint32, error) {
	if len(s) < 1 || len(s) > 4 {
		return 0, fmt.Errorf("reference ID %q: want 1…4 ASCII characters", s)
	}
	var id uint32
	for i := range 4 {
		id <<= 8
		if i < len(s) {
			if s[i] < 0x20 || s[i] > 0x7e {
				return 0, fmt.Errorf("reference ID %q: want printable ASCII", s)
			}
			id |= uint32(s[i])
		}
	}
	return id, nil
}

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

	// PTP clock quality: what a grandmaster serving this state puts in its
	// Announce messages (IEEE 1588-2008 §7.6.2; types in quality.go). The
	// discipline engine sets them per mode:
	//
	//	mode                  class          accuracy        timeSource           traceable
	//	locking               248            from the bound  the source's         no
	//	locked                6              from the bound  the source's         yes
	//	holdover in spec      7              from the bound  the source's         yes
	//	holdover out of spec  52/187/14x-160 from the bound  the source's         no (140/150: frequency only)
	//	local                 248            unknown         internal oscillator  no
	//	unsynchronised        248            unknown         internal oscillator  no

	// ClockClass: ClockClassLocked while locked to a source,
	// ClockClassHoldover in holdover from it within specification, the
	// configured degraded class (52, 187, 140, 150 or 160) out of it,
	// ClockClassDefault while still locking and for a free-running clock
	// (local reference or unsynchronised).
	ClockClass ClockClass
	// ClockAccuracy is the smallest clockAccuracy code covering the error
	// bound when the state was built (ClockAccuracyFor of ErrorBound grown
	// at DispersionRate to that instant: in holdover it worsens from one
	// published state to the next). ClockAccuracyUnknown when free-running:
	// a local reference's bound is declared, not measured.
	ClockAccuracy ClockAccuracy
	// OffsetScaledLogVariance is PTP's stability estimate (§7.6.3: the
	// PTP variance, log2 s², scaled and offset into a uint16).
	// VarianceNotComputed: nothing estimates it yet.
	OffsetScaledLogVariance uint16
	// TimeSource is the immediate source of the time: the selected
	// source's (its engine.SourceConfig.TimeSource) while locked or in
	// holdover, TimeSourceInternalOscillator when free-running.
	TimeSource TimeSource
	// TimeTraceable and FrequencyTraceable are PTP's timeTraceable and
	// frequencyTraceable flags: the time (the frequency) is traceable to a
	// primary reference. Rule: true while locked to a selected source and
	// in holdover from one within specification (as telecom grandmasters
	// do at clockClass 7); false while locking, out of specification, for
	// a local reference and when unsynchronised. They move together (the
	// engine disciplines phase and frequency to the same source), except
	// out of specification at G.8275.1 classes 140 and 150, which keep
	// frequencyTraceable by definition.
	TimeTraceable      bool
	FrequencyTraceable bool
	// UTCOffset is TAI − UTC in seconds, PTP's currentUtcOffset: PTP
	// (TAI) seconds = Unix UTC seconds + UTCOffset (37 since 2017-01-01).
	// UTCOffsetValid is PTP's currentUtcOffsetValid: the number is known
	// (from a leap-second table, or counted through a leap the engine
	// carried out), not merely DefaultTAIOffset. It says where the number
	// comes from, not whether the clock is right: a reader that needs
	// both checks TimeTraceable too (a ptp4l slave applies the Announced
	// offset only when both flags are set).
	UTCOffset      int
	UTCOffsetValid bool
	// Source names the selected source for logs and status ("local", an
	// address, "PHC0"...).
	Source string
	// Disrupted: the counter under the local clock was disrupted (a live
	// migration or snapshot restore, announced by a VMClock device) and
	// the discipline has not locked since (engine.Engine.Disrupt). The
	// error bound then rests on an assumption about the disruption, not
	// only on measurements; ClockBound readers are told so (status
	// disrupted).
	Disrupted bool
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
// stratum 16 (sent as 0 on the NTP wire); for PTP a free-running clock
// (ClockClassDefault, accuracy unknown, internal oscillator, nothing
// traceable) with the default TAI − UTC, not valid.
func Unsynchronised(precision int8) *SyncState {
	return &SyncState{
		Leap:                    LeapUnsync,
		Stratum:                 16,
		Precision:               precision,
		DispersionRate:          DefaultDispersionRate,
		ClockClass:              ClockClassDefault,
		ClockAccuracy:           ClockAccuracyUnknown,
		OffsetScaledLogVariance: VarianceNotComputed,
		TimeSource:              TimeSourceInternalOscillator,
		UTCOffset:               DefaultTAIOffset,
		Source:                  "none",
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
