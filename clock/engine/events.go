package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/selection"
)

// Mode is the engine's synchronisation mode (see the package doc).
type Mode uint8

// The values are stable (metric label sets iterate over them): a new mode
// is added at the end.
const (
	ModeUnsynchronised Mode = iota
	ModeLocked
	ModeHoldover
	ModeLocal
	ModeLocking // a source selected, the servo not yet converged (Config.Lock)
	NumModes    // number of modes, for counter arrays
)

var modeNames = [NumModes]string{"unsynchronised", "locked", "holdover", "local", "locking"}

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

// Recovery says how the clock was brought back when a source returned
// during holdover.
type Recovery uint8

const (
	// RecoverySlew: |offset| ≤ Holdover.RecoverySlewLimit (or steps are
	// not allowed): the servo slews it out.
	RecoverySlew Recovery = iota
	// RecoveryStep: beyond the limit, the clock was stepped.
	RecoveryStep
)

func (r Recovery) String() string {
	switch r {
	case RecoverySlew:
		return "slew"
	case RecoveryStep:
		return "step"
	}
	return fmt.Sprintf("recovery(%d)", uint8(r))
}

// MarshalText makes recoveries readable in JSON.
func (r Recovery) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

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
	// HoldoverOutOfSpec: holdover from source left its specification
	// (Holdover.InSpec or InSpecErrorBound), with the error bound then;
	// the published clockClass is now class.
	HoldoverOutOfSpec(now time.Time, source string, bound time.Duration, class clock.ClockClass)
	// Recovered: an update from source arrived during holdover (which had
	// lasted held) with combined offset `offset` (reference − local), and
	// the clock was slewed or stepped by how.
	Recovered(now time.Time, source string, how Recovery, offset, held time.Duration)
	// Falseticker: selection found source a falseticker (rejected = true;
	// reason selection.ReasonFalseticker: outside the majority's
	// intersection, or ReasonNoMajority: no majority agrees, so nothing
	// is selected; reported again when the reason changes), or no longer
	// one (rejected = false, reason its new one). offset is the source's
	// estimate then (reference − local).
	Falseticker(now time.Time, source string, rejected bool, reason selection.Reason, offset time.Duration)
	// ClockWrong: a clock update from source found the clock off by
	// offset (reference − local), more than 1 s (chronyd's logchange),
	// and the step policy did not step it: it is slewed. Reported once
	// until the offset is back within 1 s.
	ClockWrong(now time.Time, source string, offset time.Duration)
}

// NopSink discards events.
type NopSink struct{}

func (NopSink) Stepped(time.Time, time.Duration, StepReason)                         {}
func (NopSink) SourceSelected(time.Time, string, string)                             {}
func (NopSink) ModeChanged(time.Time, Mode, Mode, string)                            {}
func (NopSink) LeapScheduled(time.Time, clock.Leap, time.Time)                       {}
func (NopSink) HoldoverOutOfSpec(time.Time, string, time.Duration, clock.ClockClass) {}
func (NopSink) Recovered(time.Time, string, Recovery, time.Duration, time.Duration)  {}
func (NopSink) Falseticker(time.Time, string, bool, selection.Reason, time.Duration) {}
func (NopSink) ClockWrong(time.Time, string, time.Duration)                          {}

// Counters counts events; the metrics layer reads them at scrape time.
type Counters struct {
	Steps         atomic.Uint64 // makestep steps
	LeapSteps     atomic.Uint64 // leap seconds carried out on the clock
	SourceChanges atomic.Uint64 // system peer changes (including to none)
	// ModeEntries counts entries into each mode.
	ModeEntries [NumModes]atomic.Uint64
	LeapsArmed  atomic.Uint64
	// HoldoverOutOfSpec counts holdovers that left their specification;
	// Recoveries counts sources returning during holdover, by how the
	// clock was brought back (RecoverySlew, RecoveryStep).
	HoldoverOutOfSpec atomic.Uint64
	Recoveries        [2]atomic.Uint64
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

// HoldoverOutOfSpec implements EventSink.
func (s *LogSink) HoldoverOutOfSpec(now time.Time, source string, bound time.Duration, class clock.ClockClass) {
	s.c.HoldoverOutOfSpec.Add(1)
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "holdover out of specification",
		slog.String("source", source), slog.Duration("error_bound", bound), slog.Int("clock_class", int(class)))
}

// Recovered implements EventSink.
func (s *LogSink) Recovered(now time.Time, source string, how Recovery, offset, held time.Duration) {
	if int(how) < len(s.c.Recoveries) {
		s.c.Recoveries[how].Add(1)
	}
	s.info("holdover recovered", slog.String("source", source), slog.String("recovery", how.String()),
		slog.Duration("offset", offset), slog.Duration("holdover", held))
}

// Falseticker implements EventSink: Warn when a source is rejected, Info
// when it is accepted again.
func (s *LogSink) Falseticker(now time.Time, source string, rejected bool, reason selection.Reason, offset time.Duration) {
	if !rejected {
		s.info("source no longer a falseticker", slog.String("source", source), slog.String("reason", reason.String()))
		return
	}
	msg := "source rejected by selection: falseticker"
	if reason == selection.ReasonNoMajority {
		msg = "source rejected by selection: no majority of sources agrees"
	}
	s.log.LogAttrs(context.Background(), slog.LevelWarn, msg,
		slog.String("source", source), slog.String("reason", reason.String()), slog.Duration("offset", offset))
}

// ClockWrong implements EventSink.
func (s *LogSink) ClockWrong(now time.Time, source string, offset time.Duration) {
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "clock wrong by more than 1 s: slewing, the step policy allows no step",
		slog.String("source", source), slog.Duration("offset", offset))
}
