package pps

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Errors callers can branch on.
var (
	// ErrInvalid: a bad configuration value; nothing was opened.
	ErrInvalid = errors.New("invalid configuration")
	// ErrNotPPS: the path opened is not a PPS device (its PPS ioctls
	// answer ENOTTY).
	ErrNotPPS = errors.New("not a PPS device")
	// ErrNotPHC: the path opened is not a PTP hardware clock (its PTP
	// ioctls answer ENOTTY).
	ErrNotPHC = errors.New("not a PHC")
	// ErrCapability: the device lacks what the configuration asks for (a
	// channel, a pin, an edge, waiting for an event).
	ErrCapability = errors.New("device lacks the capability")
	// ErrUnsupported: this platform has no implementation of the device
	// (kernel PPS needs Linux on a 64-bit architecture with the generic
	// ioctl encoding; EXTTS needs Linux).
	ErrUnsupported = errors.New("not supported on this platform")
)

// Polarity is the edge of the pulse that marks the second.
type Polarity uint8

const (
	Rising  Polarity = iota // the leading edge of a positive pulse (most receivers)
	Falling                 // the trailing edge, or the leading one of an inverted pulse
	Both                    // EXTTS only: both edges (the pairing must tell them apart)
)

func (p Polarity) String() string {
	switch p {
	case Rising:
		return "rising"
	case Falling:
		return "falling"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Polarity(%d)", uint8(p))
}

// ParsePolarity reads "rising", "falling" or "both" (any case).
func ParsePolarity(s string) (Polarity, error) {
	switch strings.ToLower(s) {
	case "rising":
		return Rising, nil
	case "falling":
		return Falling, nil
	case "both":
		return Both, nil
	}
	return 0, fmt.Errorf("polarity %q, want rising, falling or both: %w", s, ErrInvalid)
}

// MaxDelay bounds the delay compensation: a cable or antenna delay is
// nanoseconds to microseconds; anything near half a second would move an
// edge into the neighbouring second.
const MaxDelay = 100 * time.Millisecond

// compensate removes the signal's delay from a device timestamp: the
// pulse left the receiver (or the antenna) delay earlier than the device
// saw it, so a positive delay moves the edge earlier.
//
//	At = stamp − delay
func compensate(stamp time.Time, delay time.Duration) time.Time {
	return stamp.Add(-delay)
}

func checkDelay(key string, d time.Duration) error {
	if d < -MaxDelay || d > MaxDelay {
		return fmt.Errorf("%s %v: want within ±%v: %w", key, d, MaxDelay, ErrInvalid)
	}
	return nil
}

// Stats counts what a PPS input saw. Read it at any time (the counters
// are atomics the Run goroutine updates).
type Stats struct {
	// Edges delivered to Run's callback.
	Edges uint64
	// Missed pulses: the device counted them but they were not delivered
	// (kernel PPS: gaps in the device's sequence, when events came faster
	// than Run fetched them; Sim: simulated misses). A pulse the device
	// never saw (no signal) is not counted: see Stale in the pairing.
	Missed uint64
	// Dropped events: EXTTS events of other channels on the same device
	// (another reader enabled them).
	Dropped uint64
}

// counters is Stats as atomics.
type counters struct {
	edges, missed, dropped atomic.Uint64
}

func (c *counters) stats() Stats {
	return Stats{Edges: c.edges.Load(), Missed: c.missed.Load(), Dropped: c.dropped.Load()}
}

// seqTracker turns a device's 32-bit event sequence into refclock.Edge's
// 64-bit Seq and counts the gaps. The zero value has seen nothing.
type seqTracker struct {
	started bool
	last    uint64 // the latest unwrapped sequence
}

// baseline records the device's sequence before the first edge Run
// delivers (the event PPS_FETCH returns at once is an old one).
func (s *seqTracker) baseline(seq uint32) {
	s.started, s.last = true, uint64(seq)
}

// next takes the device's current sequence. It returns the unwrapped
// sequence, whether it is new (advanced since the last call) and how many
// events were skipped in between (0 when none). The 32-bit counter wraps
// (after 136 years at 1 Hz, or sooner if the device started high); a
// difference of more than 2³¹ is taken as a wrap backwards, i.e. the
// device was reset, and not as new.
func (s *seqTracker) next(seq uint32) (full uint64, isNew bool, missed uint64) {
	if !s.started {
		s.started, s.last = true, uint64(seq)
		return s.last, true, 0
	}
	d := seq - uint32(s.last) // modulo 2³²
	if d == 0 || d > 1<<31 {
		return s.last, false, 0
	}
	s.last += uint64(d)
	return s.last, true, uint64(d - 1)
}
