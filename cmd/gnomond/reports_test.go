package main

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/engine/driver"
	"github.com/gnomon-time/gnomon/metrics"
	"github.com/gnomon-time/gnomon/ntp/upstream"
	"github.com/gnomon-time/gnomon/report"
)

// stoppedClock reads a fixed time.
type stoppedClock struct{ t time.Time }

func (c stoppedClock) Now() time.Time { return c.t }

var (
	_ metrics.Served     = servedReports{}
	_ metrics.Discipline = (*disciplineReports)(nil)
)

func TestServedReports(t *testing.T) {
	ref := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cell := new(clock.StateCell)
	s := servedReports{cell: cell, clk: stoppedClock{ref.Add(100 * time.Second)}}
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

// The adapter over a driver that has not run: the engine's unsynchronised
// snapshot after one tick, no poller answer (PollsKnown false), the configured options.
func TestDisciplineReports(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	uc := upstream.Config{Servers: []upstream.ServerConfig{
		{Address: "192.0.2.1:123", Prefer: true, Trust: true},
		{Address: "192.0.2.2:123", NoSelect: true, Require: true},
	}}
	d, err := driver.New(driver.Config{Engine: engine.DefaultConfig(), Upstream: uc},
		clock.NewVirtual(stoppedClock{now}), new(clock.StateCell), nil)
	if err != nil {
		t.Fatal(err)
	}
	// One tick publishes the sources (the driver is not running, so this
	// goroutine may drive its engine).
	if _, err := d.Engine().Tick(); err != nil {
		t.Fatal(err)
	}
	r := newDisciplineReports(d, stoppedClock{now}, uc)

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

// The collector over the real adapters: an unsynchronised engine with two
// sources, read through report only.
func TestMetricsOverAdapters(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	uc := upstream.Config{Servers: []upstream.ServerConfig{{Address: "192.0.2.1:123"}, {Address: "192.0.2.2:123"}}}
	cell := new(clock.StateCell)
	d, err := driver.New(driver.Config{Engine: engine.DefaultConfig(), Upstream: uc},
		clock.NewVirtual(stoppedClock{now}), cell, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Engine().Tick(); err != nil {
		t.Fatal(err)
	}
	c := metrics.NewCollector(metrics.Sources{Served: servedReports{cell: cell, clk: stoppedClock{now}},
		Discipline: newDisciplineReports(d, stoppedClock{now}, uc)})
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP gnomon_clock_sync_mode 1 for the discipline's current mode (unsynchronised, locked, holdover, local), 0 for the others.
# TYPE gnomon_clock_sync_mode gauge
gnomon_clock_sync_mode{mode="holdover"} 0
gnomon_clock_sync_mode{mode="local"} 0
gnomon_clock_sync_mode{mode="locked"} 0
gnomon_clock_sync_mode{mode="unsynchronised"} 1
# HELP gnomon_clock_error_bound_seconds Bound on |disciplined clock − true time| at the scrape (+Inf when unsynchronised).
# TYPE gnomon_clock_error_bound_seconds gauge
gnomon_clock_error_bound_seconds +Inf
# HELP gnomon_sync_stratum Stratum of the served clock (16 = unsynchronised).
# TYPE gnomon_sync_stratum gauge
gnomon_sync_stratum 16
# HELP gnomon_source_reach_register The source's reachability register (0-255; 255 = the last 8 polls answered).
# TYPE gnomon_source_reach_register gauge
gnomon_source_reach_register{source="192.0.2.1:123"} 0
gnomon_source_reach_register{source="192.0.2.2:123"} 0
`), "gnomon_clock_sync_mode", "gnomon_clock_error_bound_seconds", "gnomon_sync_stratum",
		"gnomon_source_reach_register"); err != nil {
		t.Error(err)
	}
}

func TestMergeCounters(t *testing.T) {
	srcs := []report.Source{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	mergeCounters(srcs, []driver.SourceCounters{{ID: "c", Polls: 3, Timeouts: 1}, {ID: "a", Polls: 5}, {ID: "x", Polls: 9}})
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
