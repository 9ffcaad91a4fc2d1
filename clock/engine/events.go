package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Mode is the engine's synchronisation mode (see the package doc).
type Mode uint8

const (
	ModeUnsynchronised Mode = iota
	ModeLocked
	ModeHoldover
	ModeLocal
	NumModes // number of modes, for counter arrays
)

var modeNames = [NumModes]string{"unsynchronised", "locked", "holdover", "local"}

// String returns a stable snake_case name (logs, metric labels, JSON).
func (m Mode) String() string {
	if m < NumModes {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// MarshalText makes modes readable in JSON.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// StepReason says why the clock was stepped.
type StepReason uint8

const (
	StepMakestep StepReason = iota // the servo's step policy (makestep)
	StepLeap                       // a leap second
)

func (r StepReason) String() string {
	switch r {
	case StepMakestep:
		return "makestep"
	case StepLeap:
		return "leap"
	}
	return fmt.Sprintf("step_reason(%d)", uint8(r))
}

// MarshalText makes step reasons readable in JSON.
func (r StepReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// EventSink receives the engine's state changes: the things worth a log
// line and a counter. It is called on the engine's goroutine and must not
// block; nothing is reported per sample.
type EventSink interface {
	// Stepped: the clock was stepped by `by` (positive = forward) at local
	// time now.
	Stepped(now time.Time, by time.Duration, why StepReason)
	// SourceSelected: the system peer changed from previous to source
	// ("" = none).
	SourceSelected(now time.Time, source, previous string)
	// ModeChanged: the engine went from one mode to another; source is the
	// system peer ("local", or "" when there is none).
	ModeChanged(now time.Time, from, to Mode, source string)
	// LeapScheduled: a leap second was armed to happen at local time at,
	// or (leap = LeapNone) an armed leap was cancelled.
	LeapScheduled(now time.Time, leap clock.Leap, at time.Time)
}

// NopSink discards events.
type NopSink struct{}

func (NopSink) Stepped(time.Time, time.Duration, StepReason)   {}
func (NopSink) SourceSelected(time.Time, string, string)       {}
func (NopSink) ModeChanged(time.Time, Mode, Mode, string)      {}
func (NopSink) LeapScheduled(time.Time, clock.Leap, time.Time) {}

// Counters counts events; the metrics layer reads them at scrape time.
type Counters struct {
	Steps         atomic.Uint64 // makestep steps
	LeapSteps     atomic.Uint64 // leap seconds carried out on the clock
	SourceChanges atomic.Uint64 // system peer changes (including to none)
	// ModeEntries counts entries into each mode.
	ModeEntries [NumModes]atomic.Uint64
	LeapsArmed  atomic.Uint64
}

// LogSink logs events with slog (Info for state changes, as STYLE.md asks)
// and counts them.
type LogSink struct {
	log *slog.Logger
	c   *Counters
}

// NewLogSink returns a sink logging to log (nil: slog.Default()) and
// counting into c (nil: a new Counters, see LogSink.Counters).
func NewLogSink(log *slog.Logger, c *Counters) *LogSink {
	if log == nil {
		log = slog.Default()
	}
	if c == nil {
		c = &Counters{}
	}
	return &LogSink{log: log, c: c}
}

// Counters returns the sink's counters.
func (s *LogSink) Counters() *Counters { return s.c }

func (s *LogSink) info(msg string, attrs ...slog.Attr) {
	s.log.LogAttrs(context.Background(), slog.LevelInfo, msg, attrs...)
}

// Stepped implements EventSink.
func (s *LogSink) Stepped(now time.Time, by time.Duration, why StepReason) {
	if why == StepLeap {
		s.c.LeapSteps.Add(1)
	} else {
		s.c.Steps.Add(1)
	}
	s.info("clock stepped", slog.Duration("step", by), slog.String("reason", why.String()), slog.Time("local_time", now))
}

// SourceSelected implements EventSink.
func (s *LogSink) SourceSelected(now time.Time, source, previous string) {
	s.c.SourceChanges.Add(1)
	s.info("source selected", slog.String("source", source), slog.String("previous", previous))
}

// ModeChanged implements EventSink.
func (s *LogSink) ModeChanged(now time.Time, from, to Mode, source string) {
	if to < NumModes {
		s.c.ModeEntries[to].Add(1)
	}
	lvl := slog.LevelInfo
	if to == ModeUnsynchronised || to == ModeHoldover {
		lvl = slog.LevelWarn
	}
	s.log.LogAttrs(context.Background(), lvl, "sync mode changed",
		slog.String("from", from.String()), slog.String("to", to.String()), slog.String("source", source))
}

// LeapScheduled implements EventSink.
func (s *LogSink) LeapScheduled(now time.Time, leap clock.Leap, at time.Time) {
	if leap == clock.LeapNone {
		s.info("leap second cancelled")
		return
	}
	s.c.LeapsArmed.Add(1)
	s.info("leap second armed", slog.String("leap", leap.String()), slog.Time("at", at))
}
