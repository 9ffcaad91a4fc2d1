package engine

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// quality is the PTP part of a SyncState (and the TAI offset of Status).
type quality struct {
	Synchronized       bool
	Class              clock.ClockClass
	Accuracy           clock.ClockAccuracy
	Variance           uint16
	TimeSource         clock.TimeSource
	TimeTraceable      bool
	FrequencyTraceable bool
	UTCOffset          int
	UTCOffsetValid     bool
	StatusTAI          int
	StatusTAIValid     bool
}

func qualityOf(st *clock.SyncState, s *Status) quality {
	return quality{
		Synchronized: st.Synchronized, Class: st.ClockClass, Accuracy: st.ClockAccuracy,
		Variance: st.OffsetScaledLogVariance, TimeSource: st.TimeSource,
		TimeTraceable: st.TimeTraceable, FrequencyTraceable: st.FrequencyTraceable,
		UTCOffset: st.UTCOffset, UTCOffsetValid: st.UTCOffsetValid,
		StatusTAI: s.TAIOffset, StatusTAIValid: s.TAIOffsetValid,
	}
}

// expiredTable is leapTable past its expiry.
type expiredTable struct{ leapTable }

func (expiredTable) Expired(time.Time) bool { return true }

// What the engine publishes for PTP in each mode, with and without a leap
// table (TAI − UTC 37 either way in 2026; valid only from a table that has
// not expired).
func TestPublishedQuality(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	free := func(valid bool) quality {
		return quality{Class: clock.ClockClassDefault, Accuracy: clock.ClockAccuracyUnknown,
			Variance: clock.VarianceNotComputed, TimeSource: clock.TimeSourceInternalOscillator,
			UTCOffset: 37, UTCOffsetValid: valid, StatusTAI: 37, StatusTAIValid: valid}
	}
	traced := func(class clock.ClockClass, ts clock.TimeSource, valid bool) quality {
		return quality{Synchronized: true, Class: class, Variance: clock.VarianceNotComputed,
			TimeSource: ts, TimeTraceable: true, FrequencyTraceable: true,
			UTCOffset: 37, UTCOffsetValid: valid, StatusTAI: 37, StatusTAIValid: valid}
	}
	local := func(valid bool) quality { q := free(valid); q.Synchronized = true; return q }
	for _, tc := range []struct {
		name       string
		table      LeapSource
		local      bool
		timeSource clock.TimeSource // of the source ("srv")
		locked     time.Duration    // seconds the source answers
		silent     time.Duration    // then seconds it is silent
		want       quality          // Accuracy filled in from the bound when synchronised
	}{
		{name: "unsynchronised", want: free(false)},
		{name: "unsynchronised/table", table: leapTable{}, want: free(true)},
		{name: "unsynchronised/expired table", table: expiredTable{}, want: free(false)},
		{name: "local", local: true, want: local(false)},
		{name: "local/table", local: true, table: leapTable{}, want: local(true)},
		{name: "locked/gnss", timeSource: clock.TimeSourceGNSS, locked: time.Minute,
			want: traced(clock.ClockClassLocked, clock.TimeSourceGNSS, false)},
		{name: "locked/unnamed source", locked: time.Minute,
			want: traced(clock.ClockClassLocked, clock.TimeSourceOther, false)},
		{name: "locked/ntp/table", timeSource: clock.TimeSourceNTP, table: leapTable{}, locked: time.Minute,
			want: traced(clock.ClockClassLocked, clock.TimeSourceNTP, true)},
		{name: "holdover/gnss", timeSource: clock.TimeSourceGNSS, locked: time.Minute, silent: 30 * time.Second,
			want: traced(clock.ClockClassHoldover, clock.TimeSourceGNSS, false)},
		{name: "holdover/gnss/table", timeSource: clock.TimeSourceGNSS, table: leapTable{}, local: true,
			locked: time.Minute, silent: 30 * time.Second, want: traced(clock.ClockClassHoldover, clock.TimeSourceGNSS, true)},
		{name: "holdover expired to local", timeSource: clock.TimeSourceGNSS, local: true,
			locked: time.Minute, silent: 3 * time.Minute, want: local(false)},
		{name: "holdover expired to unsynchronised", timeSource: clock.TimeSourceGNSS,
			locked: time.Minute, silent: 3 * time.Minute, want: free(false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, start, sim.Oscillator{}, func(c *Config) {
				c.LeapSource = tc.table
				c.Holdover.Duration = time.Minute
				if tc.local {
					c.Local = &Local{Stratum: 10}
				}
			})
			// As AddSource with SourceConfig.TimeSource would have.
			w.e.srcs[w.id].cfg.TimeSource = tc.timeSource
			for range int(tc.locked / time.Second) {
				w.second()
			}
			w.silent = true
			w.src.rep.Usable = false
			for range int(tc.silent / time.Second) {
				w.second()
			}
			st := w.e.State()
			want := tc.want
			if want.TimeTraceable {
				want.Accuracy = clock.ClockAccuracyFor(ErrorBoundAt(st, w.rd.Now()))
				// The simulated server at 100 µs delay: between 1 µs and 1 ms.
				if want.Accuracy < clock.ClockAccuracy1us || want.Accuracy > clock.ClockAccuracy1ms {
					t.Errorf("accuracy %v for bound %v", want.Accuracy, ErrorBoundAt(st, w.rd.Now()))
				}
			}
			if d := cmp.Diff(want, qualityOf(st, w.e.Status())); d != "" {
				t.Errorf("mode %v (-want +got):\n%s", w.e.Status().Mode, d)
			}
		})
	}
}

// In holdover the published accuracy follows the error bound as it grows.
func TestHoldoverAccuracyWorsens(t *testing.T) {
	w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), sim.Oscillator{}, func(c *Config) {
		c.Holdover.Duration = time.Hour
		c.MaxClockErrorPPB = 10_000 // 10 ppm: 36 ms in the hour
	})
	for range 60 {
		w.second()
	}
	w.silent = true
	w.src.rep.Usable = false
	var first, last clock.ClockAccuracy
	for range 3600 {
		w.second()
		st := w.e.State()
		if w.e.Status().Mode != ModeHoldover {
			continue
		}
		if st.ClockAccuracy < last {
			t.Fatalf("accuracy improved in holdover: %v after %v", st.ClockAccuracy, last)
		}
		if first == 0 {
			first = st.ClockAccuracy
		}
		last = st.ClockAccuracy
	}
	if first == 0 || last < first+3 {
		t.Errorf("holdover accuracy %v → %v, want at least three codes worse", first, last)
	}
}
