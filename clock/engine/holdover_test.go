package engine

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// phase is one published step of the status machine, as a PTP and an NTP
// client see it.
type phase struct {
	Mode      Mode
	Class     clock.ClockClass
	Stratum   uint8
	Traceable [2]bool // time, frequency
}

func (w *world) phase() phase {
	st := w.e.State()
	return phase{w.e.Status().Mode, st.ClockClass, st.Stratum, [2]bool{st.TimeTraceable, st.FrequencyTraceable}}
}

// The status machine free-run → locking → locked → holdover (7) → out of
// specification → free-run (248), for each out-of-specification class
// and stratum rule, with the timing of each transition.
func TestStatusMachine(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	unsync := phase{ModeUnsynchronised, 248, 16, [2]bool{}}
	locking := phase{ModeLocking, 248, 2, [2]bool{}}
	locked := phase{ModeLocked, 6, 2, [2]bool{true, true}}
	inSpec := phase{ModeHoldover, 7, 2, [2]bool{true, true}}
	for _, tc := range []struct {
		class      clock.ClockClass
		add, floor uint8
		outOfSpec  phase
	}{
		{clock.ClockClassDegradedA, 0, 0, phase{ModeHoldover, 52, 2, [2]bool{}}},
		{clock.ClockClassDegradedB, 3, 0, phase{ModeHoldover, 187, 5, [2]bool{}}},
		{clock.ClockClassHoldoverCat1, 0, 10, phase{ModeHoldover, 140, 10, [2]bool{false, true}}},
		{clock.ClockClassHoldoverCat2, 14, 0, phase{ModeHoldover, 150, 15, [2]bool{false, true}}},
		{clock.ClockClassHoldoverCat3, 1, 2, phase{ModeHoldover, 160, 3, [2]bool{}}},
	} {
		t.Run(tc.class.String(), func(t *testing.T) {
			w := newWorld(t, start, sim.Oscillator{InitialError: 5 * time.Millisecond, FreqErrorPPB: 10_000}, func(c *Config) {
				c.Holdover.Duration = 10 * time.Minute
				c.Holdover.InSpec = 2 * time.Minute
				c.Holdover.OutOfSpecClass = tc.class
				c.Holdover.OutOfSpecStratumAdd = tc.add
				c.Holdover.OutOfSpecStratum = tc.floor
			})
			seq := []phase{w.phase()}
			at := map[Mode]time.Time{}
			var outAt time.Time
			step := func() {
				w.second()
				p := w.phase()
				if p != seq[len(seq)-1] {
					seq = append(seq, p)
					if p == tc.outOfSpec {
						outAt = w.clk.Now()
					} else if _, ok := at[p.Mode]; !ok {
						at[p.Mode] = w.clk.Now()
					}
				}
			}
			for range 60 {
				step()
			}
			if d := at[ModeLocked].Sub(at[ModeLocking]); d.Round(time.Millisecond) != 4*time.Second {
				t.Errorf("locked %v after locking, want 4 updates (4 s)", d)
			}
			w.silent = true
			w.src.rep.Usable = false
			lastUpdate := w.e.State().RefTime
			for range 11 * 60 {
				step()
			}
			want := []phase{unsync, locking, locked, inSpec, tc.outOfSpec, unsync}
			if d := cmp.Diff(want, seq); d != "" {
				t.Fatalf("sequence (-want +got):\n%s", d)
			}
			// Holdover begins 16 s (Holdover.After's floor) after the last
			// update; the specification ends 2 min later, free-run 10 min
			// later (each seen at the next 1 s tick).
			hs := lastUpdate.Add(16 * time.Second)
			for _, c := range []struct {
				name string
				got  time.Time
				want time.Time
			}{{"holdover", at[ModeHoldover], hs}, {"out of spec", outAt, hs.Add(2 * time.Minute)},
				{"free-run", at[ModeUnsynchronised], hs.Add(10 * time.Minute)}} {
				if d := c.got.Sub(c.want); d < 0 || d > time.Second {
					t.Errorf("%s at %v, want within 1 s after %v", c.name, c.got, c.want)
				}
			}
			s := w.e.Status()
			if s.HoldoverEntries != 1 || s.HoldoverOutOfSpecs != 1 || w.counter.HoldoverOutOfSpec.Load() != 1 ||
				w.counter.ModeEntries[ModeLocking].Load() != 1 {
				t.Errorf("holdover entries %d, out of spec %d (sink %d), locking entries %d", s.HoldoverEntries,
					s.HoldoverOutOfSpecs, w.counter.HoldoverOutOfSpec.Load(), w.counter.ModeEntries[ModeLocking].Load())
			}
		})
	}
}

// The error bound ends the specification before InSpec when it grows past
// InSpecErrorBound; Status and the tracking report say so.
func TestHoldoverSpecByBound(t *testing.T) {
	const limit = 200 * time.Microsecond
	w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), sim.Oscillator{FreqErrorPPB: 10_000}, func(c *Config) {
		c.Holdover.InSpecErrorBound = limit
	})
	for range 60 {
		w.second()
	}
	w.silent = true
	w.src.rep.Usable = false
	var lastIn, firstOut time.Duration
	for range 30 * 60 {
		w.second()
		st, s := w.e.State(), w.e.Status()
		if s.Mode != ModeHoldover {
			continue
		}
		b := ErrorBoundAt(st, w.clk.Now())
		if st.ClockClass == 7 {
			lastIn = b
		} else if firstOut == 0 {
			firstOut = b
			if st.ClockClass != 52 || !s.HoldoverOutOfSpec {
				t.Errorf("out of spec: class %d, status out of spec %v", st.ClockClass, s.HoldoverOutOfSpec)
			}
			if tr := s.TrackingReport(w.clk.Now()); tr.ClockClass != 52 || !tr.HoldoverOutOfSpec || tr.HoldoverOutOfSpecs != 1 {
				t.Errorf("tracking class %d out of spec %v (%d)", tr.ClockClass, tr.HoldoverOutOfSpec, tr.HoldoverOutOfSpecs)
			}
		}
	}
	// At 1 ppm the bound grows 1 µs per 1 s tick.
	if lastIn == 0 || lastIn > limit || firstOut <= limit || firstOut > limit+2*time.Microsecond {
		t.Errorf("last bound in spec %v, first out %v; limit %v", lastIn, firstOut, limit)
	}
}

// In holdover, root dispersion and error bound grow at StabilityPPB plus
// the frequency estimate's uncertainty, continuous with the locked bound
// at the entry, and a wander term adds ½·w·t².
func TestHoldoverGrowth(t *testing.T) {
	for _, tc := range []struct {
		stability, wander float64 // ppb, ppb/h
	}{{50, 0}, {50, 3600}, {0, 0}} {
		t.Run(fmt.Sprintf("%g ppb %g ppb/h", tc.stability, tc.wander), func(t *testing.T) {
			w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), sim.Oscillator{FreqErrorPPB: 10_000}, func(c *Config) {
				c.Holdover.StabilityPPB = tc.stability
				c.Holdover.WanderPPBPerHour = tc.wander
			})
			for range 120 {
				w.second()
			}
			w.silent = true
			w.src.rep.Usable = false
			var prev *clock.SyncState
			for w.e.Status().Mode != ModeHoldover {
				prev = w.e.State()
				w.second()
			}
			st, s, now := w.e.State(), w.e.Status(), w.clk.Now()
			// Continuous, but for the wander since the last update (age a):
			// ½·w·a·(a + tick) at once.
			wr := tc.wander * 1e-9 / 3600 // s/s²
			a := now.Sub(st.RefTime).Seconds()
			if d := (ErrorBoundAt(st, now) - ErrorBoundAt(prev, now)).Seconds() - 0.5*wr*a*(a+1); math.Abs(d) > 10e-9 {
				t.Errorf("bound jumps by %.3g s more than the wander at the holdover entry", d)
			}
			stab := tc.stability
			if stab == 0 {
				stab = 1000 // MaxClockErrorPPB
			}
			lin := (stab + s.SkewPPB) * 1e-9 // s/s
			if s.SkewPPB > 1 {
				t.Errorf("skew %v ppb: the test wants the stability to dominate", s.SkewPPB)
			}
			for range 600 {
				w.second()
				st, now := w.e.State(), w.clk.Now()
				age := now.Sub(st.RefTime).Seconds()
				if wr == 0 {
					// Linear: the published rate, over the next 100 s.
					if math.Abs(st.DispersionRate-lin) > 1e-15 {
						t.Fatalf("dispersion rate %v, want %v", st.DispersionRate, lin)
					}
					grow := ErrorBoundAt(st, now.Add(100*time.Second)) - ErrorBoundAt(st, now)
					rd := st.RootDispersionAt(now.Add(100*time.Second)) - st.RootDispersionAt(now)
					if math.Abs(grow.Seconds()-100*lin) > 2e-9 || rd != grow {
						t.Fatalf("at age %.0f s: bound grows %v and root dispersion %v in 100 s, want %.4g s", age, grow, rd, 100*lin)
					}
					continue
				}
				// Quadratic: the published (linear) state covers the model
				// EB + lin·a + ½·w·a² from now to the next tick, by at
				// most ½·w·a·tick.
				model := func(a float64) float64 { return st.ErrorBound.Seconds() + lin*a + 0.5*wr*a*a }
				if d := ErrorBoundAt(st, now).Seconds() - model(age); d < -1e-9 || d > 0.5*wr*age+1e-9 {
					t.Fatalf("at age %.0f s: bound − model = %.3g s", age, d)
				}
				if d := ErrorBoundAt(st, now.Add(time.Second)).Seconds() - model(age+1); math.Abs(d) > 1e-9 {
					t.Fatalf("at age %.0f s + 1 tick: bound − model = %.3g s", age, d)
				}
			}
			if wr != 0 {
				// 616 s after the last update: ½·1e-9·616² ≈ 190 µs of wander.
				st, now := w.e.State(), w.clk.Now()
				age := now.Sub(st.RefTime).Seconds()
				if b, model := ErrorBoundAt(st, now).Seconds(), st.ErrorBound.Seconds()+lin*age+0.5*wr*age*age; b < model || b > model+0.5*wr*age+1e-9 {
					t.Errorf("bound %.6g s at age %.0f s, model %.6g s", b, age, model)
				}
			}
		})
	}
}

// A source back during holdover: within RecoverySlewLimit the clock is
// slewed (locked at once within the lock threshold, else locking), beyond
// it stepped; without steps it is slewed. Each counted and reported.
func TestHoldoverRecovery(t *testing.T) {
	for _, tc := range []struct {
		name     string
		shift    time.Duration
		noSteps  bool
		how      Recovery
		mode     Mode // right after the recovery
		steps    uint64
		finalTE  time.Duration
		lockedBy int // seconds after the recovery
	}{
		{"slew locked", 0, false, RecoverySlew, ModeLocked, 1, 10 * time.Microsecond, 0},
		{"slew locking", 500 * time.Microsecond, false, RecoverySlew, ModeLocking, 1, 20 * time.Microsecond, 240},
		{"step", 5 * time.Millisecond, false, RecoveryStep, ModeLocking, 2, 10 * time.Microsecond, 30},
		{"no steps", 5 * time.Millisecond, true, RecoverySlew, ModeLocking, 0, 50 * time.Microsecond, 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
				sim.Oscillator{InitialError: 5 * time.Millisecond, FreqErrorPPB: 10_000}, func(c *Config) {
					if tc.noSteps {
						// No steps at all: the initial 5 ms is slewed too
						// (RecoverySlewLimit then defaults to 0).
						c.Policy.StepThreshold = 0
					}
				})
			for range 120 {
				w.second()
			}
			w.silent = true
			w.src.rep.Usable = false
			for range 5 * 60 {
				w.second()
			}
			if m := w.e.Status().Mode; m != ModeHoldover {
				t.Fatalf("mode %v before the recovery", m)
			}
			w.shift = tc.shift
			w.silent = false
			w.second()
			s := w.e.Status()
			if s.Mode != tc.mode || s.Steps != tc.steps {
				t.Errorf("after the recovery: mode %v steps %d, want %v %d", s.Mode, s.Steps, tc.mode, tc.steps)
			}
			slewed, stepped := uint64(0), uint64(0)
			if tc.how == RecoveryStep {
				stepped = 1
			} else {
				slewed = 1
			}
			if s.RecoveriesSlewed != slewed || s.RecoveriesStepped != stepped ||
				w.counter.Recoveries[RecoverySlew].Load() != slewed || w.counter.Recoveries[RecoveryStep].Load() != stepped {
				t.Errorf("recoveries slewed %d stepped %d (sink %d %d), want %d %d", s.RecoveriesSlewed, s.RecoveriesStepped,
					w.counter.Recoveries[RecoverySlew].Load(), w.counter.Recoveries[RecoveryStep].Load(), slewed, stepped)
			}
			if tr := s.TrackingReport(w.clk.Now()); tr.RecoveriesSlewed != slewed || tr.RecoveriesStepped != stepped || tr.HoldoverEntries != 1 {
				t.Errorf("tracking report %+v", tr)
			}
			lockedAt := -1
			for i := range 600 {
				if lockedAt < 0 && w.e.Status().Mode == ModeLocked {
					lockedAt = i
				}
				w.second()
			}
			if lockedAt < 0 || lockedAt > tc.lockedBy {
				t.Errorf("locked %d s after the recovery, want within %d s", lockedAt, tc.lockedBy)
			}
			t.Logf("locked %d s after the recovery, TE %v", lockedAt, w.clk.TimeError()-tc.shift)
			// TE against the shifted server.
			if te := w.clk.TimeError() - tc.shift; te.Abs() > tc.finalTE {
				t.Errorf("TE %v 10 min after the recovery, want within %v", te, tc.finalTE)
			}
			if s := w.e.Status(); s.Steps != tc.steps || s.HoldoverEntries != 1 {
				t.Errorf("steps %d holdovers %d at the end", s.Steps, s.HoldoverEntries)
			}
		})
	}
}

// A reference clock (stratum 0 with "GPS", "PPS" or "PHC", in its
// SourceConfig or only in its reports) makes the engine stratum 1 with
// that reference ID, and shows as a reference clock in chronyc sources.
func TestRefClockStratum1(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfgRefID uint32 // SourceConfig.RefClockID
		repRefID uint32 // Report.RefID
		want     uint32
	}{
		{"GPS config", 0x47505300, 0x47505300, 0x47505300},
		{"PPS report only", 0, 0x50505300, 0x50505300},
		{"PHC config", 0x50484300, 0, 0x50484300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := sim.NewTimeline(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
			clk, err := sim.NewClock(tl, sim.Oscillator{FreqErrorPPB: 2000}, 1)
			if err != nil {
				t.Fatal(err)
			}
			e, err := New(DefaultConfig(), clk, &clock.StateCell{})
			if err != nil {
				t.Fatal(err)
			}
			src := &fakeSrc{}
			id, err := e.AddSource(SourceConfig{ID: "ref0", RefClockID: tc.cfgRefID, TimeSource: clock.TimeSourceGNSS}, src)
			if err != nil {
				t.Fatal(err)
			}
			for range 30 {
				if err := tl.Advance(time.Second); err != nil {
					t.Fatal(err)
				}
				local := clk.Now()
				off := tl.Now().Sub(local)
				src.rep = Report{Usable: true, Offset: off, SampleTime: local, Dispersion: time.Microsecond,
					Jitter: 100 * time.Nanosecond, Stratum: 0, RefID: tc.repRefID, Poll: 0, Reach: 0xff, Samples: 8}
				if err := e.Sample(id, Sample{Local: local, Offset: off}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.Tick(); err != nil {
					t.Fatal(err)
				}
			}
			st, s := e.State(), e.Status()
			if !st.Synchronized || st.Stratum != 1 || st.RefID != tc.want || st.TimeSource != clock.TimeSourceGNSS ||
				st.ClockClass != 6 || s.Mode != ModeLocked {
				t.Errorf("state %+v mode %v, want stratum 1 refid %#x class 6", st, s.Mode, tc.want)
			}
			if r := s.SourcesReport(clk.Now()); r[0].Mode.Char() != '#' || r[0].RefID != tc.want {
				t.Errorf("sources row mode %c refid %#x", r[0].Mode.Char(), r[0].RefID)
			}
			if tr := s.TrackingReport(clk.Now()); tr.Stratum != 1 || tr.RefID != tc.want {
				t.Errorf("tracking stratum %d refid %#x", tr.Stratum, tr.RefID)
			}
		})
	}
}

func TestHoldoverConfigValidate(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"class":      func(c *Config) { c.Holdover.OutOfSpecClass = 7 },
		"stability":  func(c *Config) { c.Holdover.StabilityPPB = -1 },
		"wander":     func(c *Config) { c.Holdover.WanderPPBPerHour = math.Inf(1) },
		"in spec":    func(c *Config) { c.Holdover.InSpec = -time.Second },
		"bound":      func(c *Config) { c.Holdover.InSpecErrorBound = -time.Second },
		"stratum":    func(c *Config) { c.Holdover.OutOfSpecStratum = 16 },
		"add":        func(c *Config) { c.Holdover.OutOfSpecStratumAdd = 16 },
		"recovery":   func(c *Config) { c.Holdover.RecoverySlewLimit = -1 },
		"lock count": func(c *Config) { c.Lock.Updates = -1 },
	} {
		cfg := DefaultConfig()
		mod(&cfg)
		if c := cfg.withDefaults(); c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cfg := DefaultConfig()
	cfg.Lock, cfg.Holdover = Lock{}, Holdover{}
	if got := cfg.withDefaults(); got.Lock.Threshold != DefaultLockThreshold || got.Lock.Updates != DefaultLockUpdates ||
		got.Holdover.Duration != time.Hour || got.Holdover.InSpec != time.Hour || got.Holdover.StabilityPPB != 1000 ||
		got.Holdover.OutOfSpecClass != 52 || got.Holdover.RecoverySlewLimit != time.Millisecond {
		t.Errorf("defaults %+v %+v", got.Lock, got.Holdover)
	}
}

// Lock.Threshold < 0 disables the gate: locked (class 6) at the first
// update, as before the locking state existed.
func TestLockGateDisabled(t *testing.T) {
	w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), sim.Oscillator{InitialError: 5 * time.Millisecond}, func(c *Config) {
		c.Lock.Threshold = -1
	})
	w.second()
	if p := w.phase(); p.Mode != ModeLocked || p.Class != 6 {
		t.Errorf("after the first update %+v", p)
	}
	if n := w.counter.ModeEntries[ModeLocking].Load(); n != 0 {
		t.Errorf("locking entered %d times", n)
	}
}
