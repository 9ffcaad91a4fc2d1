package engine

import (
	"bytes"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// fakeSrc is a source whose report the test writes.
type fakeSrc struct {
	rep    Report
	resets int
}

func (f *fakeSrc) Report(time.Time) Report { return f.rep }
func (f *fakeSrc) ResetSamples()           { f.resets++; f.rep = Report{} }

// world is a simulated clock with one perfect server that serves UTC
// (true time minus leapShift after leapAt).
type world struct {
	t       *testing.T
	tl      *sim.Timeline
	clk     *sim.Clock
	cell    *clock.StateCell
	e       *Engine
	src     *fakeSrc
	id      int
	leap    clock.Leap    // LI the server announces
	leapAt  time.Time     // true time of an inserted leap (zero: none)
	silent  bool          // the server stopped answering
	shift   time.Duration // added to the server's time (a phase error of the clock's own)
	counter *Counters
	rd      clock.Clock // what the engine reads (clk, or a wrapper of it)
}

func newWorld(t *testing.T, start time.Time, osc sim.Oscillator, mod func(*Config)) *world {
	t.Helper()
	return newWorldClock(t, start, osc, mod, nil)
}

// newWorldClock is newWorld with the engine steering wrap(clk) instead of
// the simulated clock itself (nil wrap: clk).
func newWorldClock(t *testing.T, start time.Time, osc sim.Oscillator, mod func(*Config), wrap func(*sim.Clock) clock.Steerable) *world {
	t.Helper()
	w := &world{t: t, tl: sim.NewTimeline(start), cell: &clock.StateCell{}, src: &fakeSrc{}}
	var err error
	if w.clk, err = sim.NewClock(w.tl, osc, 1); err != nil {
		t.Fatal(err)
	}
	var steered clock.Steerable = w.clk
	if wrap != nil {
		steered = wrap(w.clk)
	}
	w.rd = steered
	cfg := DefaultConfig()
	w.counter = &Counters{}
	cfg.Sink = NewLogSink(slog.New(slog.DiscardHandler), w.counter)
	if mod != nil {
		mod(&cfg)
	}
	if w.e, err = New(cfg, steered, w.cell); err != nil {
		t.Fatal(err)
	}
	if w.id, err = w.e.AddSource(SourceConfig{ID: "srv", Addr: netip.MustParseAddr("192.0.2.1")}, w.src); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) utc(t time.Time) time.Time {
	if !w.leapAt.IsZero() && !t.Before(w.leapAt) {
		return t.Add(-time.Second)
	}
	return t
}

// second advances one second, takes a sample (unless silent) and ticks.
func (w *world) second() {
	w.t.Helper()
	if err := w.tl.Advance(time.Second); err != nil {
		w.t.Fatal(err)
	}
	if !w.silent {
		local := w.rd.Now()
		off := w.utc(w.tl.Now()).Add(w.shift).Sub(local)
		li := w.leap
		if !w.leapAt.IsZero() && !w.tl.Now().Before(w.leapAt) {
			li = clock.LeapNone // servers stop announcing at the leap
		}
		w.src.rep = Report{Usable: true, Offset: off, SampleTime: local, Delay: 100 * time.Microsecond,
			Dispersion: 10 * time.Microsecond, Jitter: time.Microsecond, Stratum: 1, RefID: 0x47505300,
			Leap: li, Poll: 0, Reach: 0xff, Samples: 8}
		if err := w.e.Sample(w.id, Sample{Local: local, Offset: off, Delay: 100 * time.Microsecond}); err != nil {
			w.t.Fatal(err)
		}
	}
	if _, err := w.e.Tick(); err != nil {
		w.t.Fatal(err)
	}
}

func TestInitialState(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	w := newWorld(t, start, sim.Oscillator{}, nil)
	st := w.e.State()
	if st.Synchronized || st.Leap != clock.LeapUnsync || st.Stratum != 16 || st.ClockClass != 248 {
		t.Errorf("initial state %+v, want unsynchronised LI=3 stratum 16 class 248", st)
	}
	if m := w.e.Status().Mode; m != ModeUnsynchronised {
		t.Errorf("mode %v", m)
	}
	w = newWorld(t, start, sim.Oscillator{}, func(c *Config) { c.Local = &Local{Stratum: 10} })
	st = w.e.State()
	if !st.Synchronized || st.Stratum != 10 || st.RefID != clock.RefIDLocal || st.Source != "local" || st.Leap != clock.LeapNone {
		t.Errorf("local state %+v", st)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"servo":      func(c *Config) { c.Servo = "pid" },
		"precision":  func(c *Config) { c.Precision = 3 },
		"clockerr":   func(c *Config) { c.MaxClockErrorPPB = math.NaN() },
		"tick":       func(c *Config) { c.TickInterval = 0 },
		"local":      func(c *Config) { c.Local = &Local{Stratum: 16} },
		"policy":     func(c *Config) { c.Policy.MaxFreqPPB = 0 },
		"selection":  func(c *Config) { c.Selection.MinSources = 0 },
		"leap mode":  func(c *Config) { c.LeapMode = 9 },
		"holdover":   func(c *Config) { c.Holdover.After = -1 },
		"tai offset": func(c *Config) { c.TAIOffset = -1 },
	} {
		cfg := DefaultConfig()
		mod(&cfg)
		clk, err := sim.NewClock(sim.NewTimeline(time.Unix(0, 0)), sim.Oscillator{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(cfg, clk, &clock.StateCell{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(DefaultConfig(), nil, &clock.StateCell{}); err == nil {
		t.Error("nil clock accepted")
	}
	w := newWorld(t, time.Unix(0, 0), sim.Oscillator{}, nil)
	if _, err := w.e.AddSource(SourceConfig{ID: "srv"}, &fakeSrc{}); err == nil {
		t.Error("duplicate source accepted")
	}
	if _, err := w.e.AddSource(SourceConfig{}, &fakeSrc{}); err == nil {
		t.Error("empty ID accepted")
	}
	if err := w.e.Sample(5, Sample{}); err == nil {
		t.Error("unknown source accepted")
	}
}

// Locks, publishes stratum peer+1, the peer's reference ID, class 6 and an
// honest error bound; a large initial offset is stepped once and counted.
func TestLockAndPublish(t *testing.T) {
	w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		sim.Oscillator{InitialError: 5 * time.Millisecond, FreqErrorPPB: 10_000}, nil)
	for range 60 {
		w.second()
		if st := w.e.State(); st.Synchronized {
			if b := ErrorBoundAt(st, w.clk.Now()); w.clk.TimeError().Abs() > b {
				t.Fatalf("|TE| %v > bound %v", w.clk.TimeError(), b)
			}
		}
	}
	st := w.e.State()
	if !st.Synchronized || st.Stratum != 2 || st.RefID != 0xC0000201 || st.ClockClass != 6 || st.Source != "srv" {
		t.Errorf("state %+v", st)
	}
	if te := w.clk.TimeError(); te.Abs() > 5*time.Microsecond {
		t.Errorf("TE %v after 60 s", te)
	}
	s := w.e.Status()
	if s.Mode != ModeLocked || s.Steps != 1 || w.counter.Steps.Load() != 1 || s.Peer != "srv" || s.Sources[0].NP == 0 {
		t.Errorf("status %+v, counters steps %d", s, w.counter.Steps.Load())
	}
	if f := s.FreqEstimatePPB; math.Abs(f+10_000) > 100 {
		t.Errorf("frequency estimate %.1f ppb, want ≈ −10000", f)
	}
}

// Holdover: the source goes silent; after 16 s (three polls, at least 16 s)
// the engine holds the
// frequency estimate, publishes class 7 with the old reference time and a
// bound that keeps growing, and after Holdover.Duration falls back to local.
func TestHoldoverThenLocal(t *testing.T) {
	w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		sim.Oscillator{FreqErrorPPB: 10_000, RandomWalkPPB: 0.1}, func(c *Config) {
			c.Holdover.Duration = 10 * time.Minute
			c.Local = &Local{Stratum: 10}
		})
	for range 120 {
		w.second()
	}
	ref := w.e.State().RefTime
	w.silent = true
	w.src.rep.Usable = false
	var sawHoldover bool
	for i := range 15 * 60 {
		w.second()
		st := w.e.State()
		m := w.e.Status().Mode
		if m == ModeHoldover {
			sawHoldover = true
			if st.ClockClass != 7 || !st.RefTime.Equal(ref) || !st.Synchronized {
				t.Fatalf("holdover state %+v", st)
			}
			if b := ErrorBoundAt(st, w.clk.Now()); w.clk.TimeError().Abs() > b {
				t.Fatalf("holdover |TE| %v > bound %v", w.clk.TimeError(), b)
			}
		}
		if i < 14 && m != ModeLocked || i == 17 && m != ModeHoldover {
			t.Fatalf("second %d: mode %v", i, m)
		}
	}
	if !sawHoldover {
		t.Fatal("no holdover")
	}
	st := w.e.State()
	if w.e.Status().Mode != ModeLocal || st.Stratum != 10 || st.RefID != clock.RefIDLocal {
		t.Errorf("after holdover: mode %v state %+v", w.e.Status().Mode, st)
	}
	if n := w.counter.ModeEntries[ModeHoldover].Load(); n != 1 {
		t.Errorf("holdover entered %d times", n)
	}
	if te := w.clk.TimeError(); te.Abs() > 100*time.Microsecond {
		t.Errorf("TE %v after 15 min of holdover with 0.1 ppb/√s wander", te)
	}
}

// leapTable is a LeapSource with one insertion at 2017-01-01.
type leapTable struct{}

func (leapTable) LeapAt(t time.Time) (clock.Leap, int) {
	at := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	switch {
	case !t.Before(at):
		return clock.LeapNone, 37
	case !t.Before(at.Add(-24 * time.Hour)):
		return clock.LeapInsert, 36
	}
	return clock.LeapNone, 36
}

// Leaps from a table (the source announces nothing) and from the sources'
// majority (no table), with the step carried out or not.
func TestLeap(t *testing.T) {
	at := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		table     bool
		mode      LeapMode
		wantTAI   [2]int // before, after
		wantSteps uint64
		wantValid [2]bool // UTCOffsetValid before, after: a table, or a leap counted
	}{
		{"table/step", true, LeapModeStep, [2]int{36, 37}, 1, [2]bool{true, true}},
		{"sources/step", false, LeapModeStep, [2]int{37, 38}, 1, [2]bool{false, true}},
		{"sources/none", false, LeapModeNone, [2]int{37, 38}, 0, [2]bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, at.Add(-2*time.Minute), sim.Oscillator{}, func(c *Config) {
				if tc.table {
					c.LeapSource = leapTable{}
				}
				c.LeapMode = tc.mode
			})
			w.leapAt = at
			if !tc.table {
				w.leap = clock.LeapInsert
			}
			for range 110 {
				w.second()
			}
			st, s := w.e.State(), w.e.Status()
			if st.Leap != clock.LeapInsert || !s.LeapAt.Equal(at) || st.UTCOffset != tc.wantTAI[0] {
				t.Fatalf("before: leap %v at %v TAI %d", st.Leap, s.LeapAt, st.UTCOffset)
			}
			if st.UTCOffsetValid != tc.wantValid[0] || s.TAIOffsetValid != tc.wantValid[0] {
				t.Errorf("before: TAI valid %v (status %v), want %v", st.UTCOffsetValid, s.TAIOffsetValid, tc.wantValid[0])
			}
			for range 20 {
				w.second()
			}
			st, s = w.e.State(), w.e.Status()
			if st.Leap != clock.LeapNone || st.UTCOffset != tc.wantTAI[1] || s.LeapSteps != tc.wantSteps || w.counter.LeapSteps.Load() != tc.wantSteps {
				t.Errorf("after: leap %v TAI %d leap steps %d", st.Leap, st.UTCOffset, s.LeapSteps)
			}
			if st.UTCOffsetValid != tc.wantValid[1] || s.TAIOffsetValid != tc.wantValid[1] {
				t.Errorf("after: TAI valid %v (status %v), want %v", st.UTCOffsetValid, s.TAIOffsetValid, tc.wantValid[1])
			}
			// Against UTC the clock is right only when stepped.
			te := w.clk.Now().Sub(w.utc(w.tl.Now()))
			if tc.mode == LeapModeNone {
				// Nothing followed the leap: the servo now sees −1 s and
				// can only slew (its step limit is spent).
				if te < 900*time.Millisecond {
					t.Errorf("TE vs UTC %v, want ≈ 1 s (clock left alone)", te)
				}
			} else if te.Abs() > 10*time.Microsecond {
				t.Errorf("TE vs UTC %v after the leap", te)
			}
			if tc.mode == LeapModeStep && w.src.resets != 1 {
				t.Errorf("source reset %d times, want 1", w.src.resets)
			}
		})
	}
}

func TestSteerLogRefer(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var l steerLog
	l.reset(t0, 0)
	l.step(t0.Add(10*time.Second), -time.Millisecond)
	l.setFreq(t0.Add(10*time.Second), 1000) // +1 ppm from 10 s
	// K(20 s) = −1 ms + 1000 ppb × 10 s = −1 ms + 10 µs.
	if k := l.k(t0.Add(20 * time.Second)); math.Abs(k-(-990_000)) > 1e-6 {
		t.Errorf("K(20 s) = %v ns", k)
	}
	// A +2 ms offset measured at 5 s, referred to 20 s with f̂ = 1000 ppb:
	// 2 ms − (K(20) − K(5)) + 1000 ppb × 15 s = 2 ms + 990 µs + 15 µs.
	got := l.refer(2*time.Millisecond, t0.Add(5*time.Second), t0.Add(20*time.Second), 1000)
	if want := 3005 * time.Microsecond; got != want {
		t.Errorf("refer = %v, want %v", got, want)
	}
	for i := range 2 * maxSteerEnts {
		l.setFreq(t0.Add(time.Duration(30+i)*time.Second), 0)
	}
	if len(l.ents) > maxSteerEnts {
		t.Errorf("log grew to %d", len(l.ents))
	}
}

func TestRegression(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var h sampleHist
	if _, _, _, _, ok := h.regression(now); ok {
		t.Error("regression on empty history")
	}
	for i := range 20 { // y = 500 − 30·(t − now)
		ti := now.Add(time.Duration(i-19) * time.Second)
		h.add(ti, 500-30*ti.Sub(now).Seconds())
	}
	a, b, bErr, sd, ok := h.regression(now)
	if !ok || math.Abs(a-500) > 1e-6 || math.Abs(b+30) > 1e-9 || bErr > 1e-9 || sd > 1e-6 {
		t.Errorf("a %v b %v bErr %v sd %v ok %v", a, b, bErr, sd, ok)
	}
}

func TestErrorBoundAt(t *testing.T) {
	ref := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &clock.SyncState{Synchronized: true, RefTime: ref, ErrorBound: 100 * time.Microsecond,
		RootDispersion: 50 * time.Microsecond, DispersionRate: 1e-6}
	if got := ErrorBoundAt(st, ref.Add(100*time.Second)); got != 200*time.Microsecond {
		t.Errorf("bound after 100 s at 1 ppm = %v, want 200 µs", got)
	}
	if got := ErrorBoundAt(clock.Unsynchronised(-20), ref); got != math.MaxInt64 {
		t.Errorf("unsynchronised bound %v", got)
	}
}

func TestLogSink(t *testing.T) {
	var buf bytes.Buffer
	s := NewLogSink(slog.New(slog.NewJSONHandler(&buf, nil)), nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Stepped(now, -time.Millisecond, StepMakestep)
	s.Stepped(now, -time.Second, StepLeap)
	s.SourceSelected(now, "a", "")
	s.ModeChanged(now, ModeLocked, ModeHoldover, "a")
	s.LeapScheduled(now, clock.LeapInsert, now.Add(time.Hour))
	c := s.Counters()
	if c.Steps.Load() != 1 || c.LeapSteps.Load() != 1 || c.SourceChanges.Load() != 1 ||
		c.ModeEntries[ModeHoldover].Load() != 1 || c.LeapsArmed.Load() != 1 {
		t.Errorf("counters %+v", c)
	}
	out := buf.String()
	for _, want := range []string{`"msg":"clock stepped"`, `"reason":"leap"`, `"source":"a"`,
		`"to":"holdover"`, `"level":"WARN"`, `"msg":"leap second armed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

// A falseticker that answers first is not a majority of one: nothing is
// selected until every source has a sample (or StartupWait has passed).
func TestStartupWait(t *testing.T) {
	clk, err := sim.NewClock(sim.NewTimeline(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)), sim.Oscillator{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	cell := &clock.StateCell{}
	e, err := New(DefaultConfig(), clk, cell)
	if err != nil {
		t.Fatal(err)
	}
	srcs := []*fakeSrc{{}, {}, {}}
	for i, s := range srcs {
		if _, err := e.AddSource(SourceConfig{ID: string(rune('a' + i))}, s); err != nil {
			t.Fatal(err)
		}
	}
	report := func(i int, off time.Duration) {
		now := clk.Now()
		srcs[i].rep = Report{Usable: true, Offset: off, SampleTime: now, Delay: 100 * time.Microsecond,
			Dispersion: 10 * time.Microsecond, Jitter: time.Microsecond, Stratum: 1}
		if err := e.Sample(i, Sample{Local: now, Offset: off, Delay: 100 * time.Microsecond}); err != nil {
			t.Fatal(err)
		}
	}
	report(0, 100*time.Millisecond) // the falseticker first
	if st := cell.Load(); st.Synchronized || clk.TimeError() != 0 {
		t.Fatalf("selected a lone falseticker: %+v, TE %v", st, clk.TimeError())
	}
	report(1, 0)
	report(2, 0)
	report(1, 0)
	if s := e.Status(); s.Peer != "b" || s.Sources[0].State.Char() != 'x' || clk.TimeError().Abs() > time.Microsecond {
		t.Errorf("peer %q, falseticker state %c, TE %v", s.Peer, s.Sources[0].State.Char(), clk.TimeError())
	}
}
