package source

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
)

// sysClock is the host clock, read only.
type sysClock struct{}

func (sysClock) Now() time.Time { return time.Now().Round(0) }

// fixedSource is a source whose one reference always reports rep and that
// delivers nothing by itself.
type fixedSource struct {
	id  string
	rep engine.Report
}

func (f *fixedSource) Refs() []Ref {
	return []Ref{{Config: engine.SourceConfig{ID: f.id}, Reporter: f}}
}
func (f *fixedSource) Run(ctx context.Context, _ Sink) error { <-ctx.Done(); return nil }
func (f *fixedSource) Report(time.Time) engine.Report        { return f.rep }

// Without references to measure the Runner still runs the engine: the
// local reference (a source with no references) or unsynchronised, and Run
// ends cleanly with its context.
func TestRunnerNoSources(t *testing.T) {
	for _, local := range []bool{false, true} {
		ec := engine.DefaultConfig()
		var srcs []Source
		if local {
			srcs = append(srcs, &Local{Stratum: 10})
		}
		cell := new(clock.StateCell)
		d, err := New(Config{Engine: ec}, clock.NewVirtual(sysClock{}), cell, nil, srcs...)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.refs) != 0 || len(d.srcs) != len(srcs) {
			t.Errorf("%d references, %d sources; want none and %d", len(d.refs), len(d.srcs), len(srcs))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		if err := d.Run(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		st := cell.Load()
		if local && (!st.Synchronized || st.Stratum != 10) || !local && (st.Synchronized || st.Leap != clock.LeapUnsync) {
			t.Errorf("local=%v: state %+v", local, st)
		}
	}
}

// A source's Sink never blocks it: with nobody reading, a full queue drops
// and counts; a sample for a reference the source does not have is
// ignored.
func TestForwarderDropsWhenFull(t *testing.T) {
	ec := engine.DefaultConfig()
	d, err := New(Config{Engine: ec, Queue: 2}, clock.NewVirtual(sysClock{}), new(clock.StateCell), nil,
		&fixedSource{id: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	f := d.srcs[0]
	for range 10 {
		f.Sample(0, engine.Sample{Local: time.Now()})
	}
	f.Sample(1, engine.Sample{})
	f.Sample(-1, engine.Sample{})
	if got := d.Stats().Dropped; got != 8 {
		t.Errorf("dropped %d, want 8 (queue of 2)", got)
	}
}

// Samples produced before the restart that followed a step are discarded,
// and a source is unusable from the step until its first fresh sample.
func TestStraddlingSamplesDiscarded(t *testing.T) {
	now := time.Now()
	src := &fixedSource{id: "127.0.0.1:1", rep: engine.Report{Usable: true, Stratum: 1, SampleTime: now}}
	d, err := New(Config{Engine: engine.DefaultConfig()}, clock.NewVirtual(sysClock{}), new(clock.StateCell), nil, src)
	if err != nil {
		t.Fatal(err)
	}
	p := d.srcs[0]
	p.want = 1 // a step happened; the source's generation is still 0
	d.refs[0].ResetSamples()
	if d.refs[0].Report(now).Usable {
		t.Error("usable right after a step")
	}
	if err := d.sample(t.Context(), fwd{p: p, idx: 0, gen: 0, s: engine.Sample{Local: now}}); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Straddled != 1 || st.Samples != 0 {
		t.Errorf("stats %+v: want the old-generation sample discarded", st)
	}
	if d.refs[0].Report(now).Usable {
		t.Error("usable after an old-generation sample")
	}
	if err := d.sample(t.Context(), fwd{p: p, idx: 0, gen: 1, s: engine.Sample{Local: now, Delay: time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Samples != 1 || !d.refs[0].Report(now).Usable {
		t.Errorf("stats %+v usable %v: want the fresh sample used", st, d.refs[0].Report(now).Usable)
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(Config{Engine: engine.DefaultConfig()}, nil, new(clock.StateCell), nil); err == nil {
		t.Error("nil clock accepted")
	}
	bad := engine.DefaultConfig()
	bad.Servo = "nope"
	if _, err := New(Config{Engine: bad}, clock.NewVirtual(sysClock{}), new(clock.StateCell), nil); err == nil {
		t.Error("bad engine config accepted")
	}
	if _, err := New(Config{Engine: engine.DefaultConfig()}, clock.NewVirtual(sysClock{}), new(clock.StateCell), nil,
		&fixedSource{id: "a"}, &fixedSource{id: "a"}); err == nil {
		t.Error("duplicate references accepted")
	}
	if _, err := New(Config{Engine: engine.DefaultConfig()}, clock.NewVirtual(sysClock{}), new(clock.StateCell), nil,
		&Local{Stratum: 10}, &Local{Stratum: 11}); err == nil {
		t.Error("two local references accepted")
	}
}

// restarter is a fixedSource whose Restart fails fails times, then works.
type restarter struct {
	fixedSource
	fails, calls int
}

func (r *restarter) Restart(ctx context.Context) error {
	r.calls++
	if r.calls <= r.fails {
		return errors.New("control queue full")
	}
	return ctx.Err()
}

// A source that refuses to restart is asked again until it accepts; only
// then do its samples count again. One that never accepts is given up when
// the Runner stops.
func TestRestartRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &restarter{fixedSource: fixedSource{id: "a"}, fails: 2}
		d, err := New(Config{Engine: engine.DefaultConfig()}, clock.NewVirtual(sysClock{}), new(clock.StateCell), nil, src)
		if err != nil {
			t.Fatal(err)
		}
		p := d.srcs[0]
		p.want = 1
		d.restart(t.Context(), p, src, 1)
		if src.calls != 3 || p.gen.Load() != 1 {
			t.Errorf("%d calls, generation %d: want 3 calls, generation 1", src.calls, p.gen.Load())
		}
		never := &restarter{fixedSource: fixedSource{id: "b"}, fails: 1 << 30}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		d.restart(ctx, p, never, 2)
		if p.gen.Load() != 1 || never.calls < 5 || never.calls > 11 {
			t.Errorf("generation %d after %d refusals in 1 s: want 1, about 10 calls (100 ms apart)", p.gen.Load(), never.calls)
		}
	})
}

// Disrupt reaches the engine on the discipline goroutine (its state is
// marked disrupted and counted) and restarts every source as a step does:
// samples in flight from before it are discarded.
func TestRunnerDisrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &restarter{fixedSource: fixedSource{id: "a"}}
		cell := new(clock.StateCell)
		d, err := New(Config{Engine: engine.DefaultConfig()}, clock.NewVirtual(sysClock{}), cell, nil, src)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		if err := d.Disrupt(t.Context(), 100*time.Microsecond); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		s := d.Status()
		if !s.Disrupted || s.Disruptions != 1 || !cell.Load().Disrupted {
			t.Errorf("status disrupted %v ×%d, state disrupted %v: want disrupted once", s.Disrupted, s.Disruptions, cell.Load().Disrupted)
		}
		if st, p := d.Stats(), d.srcs[0]; st.Restarts != 1 || src.calls != 1 || p.gen.Load() != 1 {
			t.Errorf("stats %+v, %d Restart calls, generation %d: want the source restarted once", st, src.calls, p.gen.Load())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
