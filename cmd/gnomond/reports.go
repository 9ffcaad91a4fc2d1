package main

import (
	"context"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/clock/engine/driver"
	"github.com/gnomon-time/gnomon/ntp/upstream"
	"github.com/gnomon-time/gnomon/report"
)

// This file composes package report's structs from the parts that fill
// them, for the metrics collector now and the control socket next. The NTP
// shell and the client log fill theirs themselves (serve.Service.
// ServerStats, clientlog.Log.ClientLogStats and Clients); the discipline's
// reports need the driver (the engine's snapshot, the poller's counters)
// and the configuration (selection options), which only gnomond holds.

// servedReports reports the published SyncState at the served clock's now.
// It serves with or without a discipline driver (a local reference, or an
// unsynchronised clock.mode none).
type servedReports struct {
	cell *clock.StateCell
	clk  clock.Clock // the served clock
}

// Served implements metrics.Served.
func (s servedReports) Served() (report.Served, bool) {
	return engine.ServedReport(s.cell.Load(), s.clk.Now())
}

// disciplineReports adapts the discipline driver to report: the engine's
// reports from the driver's Status snapshot at the served clock's now,
// merged with the poller's counters and the configured selection options.
type disciplineReports struct {
	d    *driver.Driver
	clk  clock.Clock // the served clock
	opts map[string]report.SelectOptions
}

// newDisciplineReports returns the adapter over d, with the selection
// options of the servers in uc (the configuration d was built from).
func newDisciplineReports(d *driver.Driver, served clock.Clock, uc upstream.Config) *disciplineReports {
	r := &disciplineReports{d: d, clk: served, opts: make(map[string]report.SelectOptions, len(uc.Servers))}
	for i := range uc.Servers {
		sc := &uc.Servers[i]
		r.opts[sc.ID()] = report.SelectOptions{NoSelect: sc.NoSelect, Prefer: sc.Prefer, Trust: sc.Trust, Require: sc.Require}
	}
	return r
}

// Tracking implements metrics.Discipline: chronyc tracking's report; ok is
// false before the engine's first snapshot.
func (r *disciplineReports) Tracking() (report.Tracking, bool) {
	st := r.d.Status()
	if st == nil {
		return report.Tracking{}, false
	}
	return st.TrackingReport(r.clk.Now()), true
}

// Sources implements metrics.Discipline: chronyc sources' rows with the
// poller's counters when it answers before ctx ends.
func (r *disciplineReports) Sources(ctx context.Context) []report.Source {
	st := r.d.Status()
	if st == nil {
		return nil
	}
	srcs := st.SourcesReport(r.clk.Now())
	mergeCounters(srcs, r.d.SourceCounters(ctx))
	return srcs
}

// mergeCounters copies each source's poll counters into its row (by ID).
func mergeCounters(srcs []report.Source, counters []driver.SourceCounters) {
	for _, c := range counters {
		for i := range srcs {
			if srcs[i].ID == c.ID {
				srcs[i].Polls, srcs[i].Timeouts, srcs[i].PollsKnown = c.Polls, c.Timeouts, true
				break
			}
		}
	}
}

// SourceStats returns chronyc sourcestats' rows.
func (r *disciplineReports) SourceStats() []report.SourceStats {
	st := r.d.Status()
	if st == nil {
		return nil
	}
	return st.SourceStatsReport()
}

// SelectData returns chronyc selectdata's rows with the configured
// options (also the effective ones: nothing changes them at run time).
func (r *disciplineReports) SelectData() []report.SelectData {
	st := r.d.Status()
	if st == nil {
		return nil
	}
	rows := st.SelectDataReport(r.clk.Now())
	for i := range rows {
		o := r.opts[rows[i].ID]
		rows[i].Options, rows[i].EffectiveOptions = o, o
	}
	return rows
}

// DriverStats implements metrics.Discipline.
func (r *disciplineReports) DriverStats() report.DriverStats {
	s := r.d.Stats()
	return report.DriverStats{Samples: s.Samples, Dropped: s.Dropped, Straddled: s.Straddled, Restarts: s.Restarts}
}
