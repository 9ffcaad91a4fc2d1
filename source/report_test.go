package source

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/report"
)

// stoppedClock reads a fixed time.
type stoppedClock struct{ t time.Time }

func (c stoppedClock) Now() time.Time { return c.t }

func TestServedReports(t *testing.T) {
	ref := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cell := new(clock.StateCell)
	s, err := New(Config{Engine: engine.DefaultConfig()}, clock.NewVirtual(stoppedClock{ref.Add(100 * time.Second)}), cell, nil)
	if err != nil {
		t.Fatal(err)
	}
	cell.Store(nil) // as before anything is published
	if _, ok := s.Served(); ok {
		t.Error("a report before anything is published")
	}
	cell.Store(&clock.SyncState{Synchronized: true, Stratum: 3, RefTime: ref,
		RootDispersion: 100 * time.Microsecond, DispersionRate: 15e-6})
	r, ok := s.Served()
	if !ok || r.At != ref.Add(100*time.Second) || r.RootDispersion != 1600*time.Microsecond || r.Stratum != 3 {
		t.Errorf("served %+v, ok %v: want the state grown to the served clock's now", r, ok)
	}
}

// countedSource is a fixedSource that counts polls, and whose counters are
// unknown once ctx has ended (a poller that cannot answer).
type countedSource struct {
	fixedSource
	opts selection.Options
}

func (c *countedSource) Refs() []Ref {
	r := c.fixedSource.Refs()
	r[0].Config.Addr, r[0].Config.Options = netip.MustParseAddrPort(c.id).Addr(), c.opts
	return r
}

func (c *countedSource) Counters(ctx context.Context) []Counters {
	if ctx.Err() != nil {
		return nil
	}
	return []Counters{{ID: c.id, Polls: 7, Timeouts: 1}}
}

// The reports of a Runner that has not run: the engine's unsynchronised
// snapshot after one tick, no poller answer (PollsKnown false), then the
// counters of one that answers, the configured options.
func TestDisciplineReports(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	d, err := New(Config{Engine: engine.DefaultConfig()}, clock.NewVirtual(stoppedClock{now}), new(clock.StateCell), nil,
		&countedSource{fixedSource: fixedSource{id: "192.0.2.1:123"}, opts: selection.Options{Prefer: true, Trust: true}},
		&countedSource{fixedSource: fixedSource{id: "192.0.2.2:123"}, opts: selection.Options{NoSelect: true, Require: true}})
	if err != nil {
		t.Fatal(err)
	}
	// One tick publishes the sources (the Runner is not running, so this
	// goroutine may drive its engine).
	if _, err := d.Engine().Tick(); err != nil {
		t.Fatal(err)
	}
	r := d

	tr, ok := r.Tracking()
	if !ok || tr.At != now || tr.Synchronized || tr.Mode != report.SyncUnsynchronised {
		t.Errorf("tracking %+v, ok %v", tr, ok)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the poller is not running: it cannot answer
	srcs := r.Sources(ctx)
	if len(srcs) != 2 || srcs[0].ID != "192.0.2.1:123" || srcs[0].Addr != netip.MustParseAddr("192.0.2.1") ||
		srcs[0].PollsKnown || srcs[1].PollsKnown {
		t.Errorf("sources %+v", srcs)
	}
	if srcs = r.Sources(t.Context()); len(srcs) != 2 || !srcs[1].PollsKnown || srcs[1].Polls != 7 || srcs[1].Timeouts != 1 {
		t.Errorf("sources with counters %+v", srcs)
	}
	sd := r.SelectData()
	want := []report.SelectOptions{{Prefer: true, Trust: true}, {NoSelect: true, Require: true}}
	if len(sd) != 2 {
		t.Fatalf("selectdata %+v", sd)
	}
	for i, w := range want {
		if sd[i].Options != w || sd[i].EffectiveOptions != w {
			t.Errorf("selectdata %d options %+v / %+v, want %+v", i, sd[i].Options, sd[i].EffectiveOptions, w)
		}
	}
	if st := r.SourceStats(); len(st) != 2 || st[0].Fitted {
		t.Errorf("sourcestats %+v", st)
	}
	if ds := r.DriverStats(); ds != (report.DriverStats{}) {
		t.Errorf("driver stats %+v before running", ds)
	}
}

func TestMergeCounters(t *testing.T) {
	srcs := []report.Source{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	mergeCounters(srcs, []Counters{{ID: "c", Polls: 3, Timeouts: 1}, {ID: "a", Polls: 5}, {ID: "x", Polls: 9}})
	if s := srcs[0]; !s.PollsKnown || s.Polls != 5 || s.Timeouts != 0 {
		t.Errorf("a: %+v", s)
	}
	if s := srcs[1]; s.PollsKnown {
		t.Errorf("b (no counters): %+v", s)
	}
	if s := srcs[2]; !s.PollsKnown || s.Polls != 3 || s.Timeouts != 1 {
		t.Errorf("c: %+v", s)
	}
}

// A control command for a Runner whose Run has returned fails at once with
// ErrNotRunning, whatever the caller's deadline; while it runs, commands
// are carried out.
func TestControlAfterRunStopped(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r, err := New(Config{Engine: engine.DefaultConfig()}, clock.NewVirtual(stoppedClock{now}), new(clock.StateCell), nil,
		&fixedSource{id: "192.0.2.1:123"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	if err := r.ResetSources(cctx); err != nil {
		t.Fatalf("ResetSources while running: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := r.MakeStep(cctx); !errors.Is(err, ErrNotRunning) || time.Since(start) > time.Second {
		t.Errorf("MakeStep after Run: %v after %v, want ErrNotRunning at once", err, time.Since(start))
	}
}
