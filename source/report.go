package source

import (
	"context"

	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/report"
)

// Counters are one reference's poll counters.
type Counters struct {
	ID       string
	Polls    uint64 // requests sent
	Timeouts uint64 // requests unanswered at the next poll
	// Replies counts replies by verdict (report.Source.Replies).
	Replies []report.ReplyCount
}

// Counted is a source that counts its polls (the NTP poller). Counters
// answers within ctx, or returns nil.
type Counted interface {
	Counters(ctx context.Context) []Counters
}

// The Runner fills package report's discipline structs on request, for the
// metrics collector and the control socket: the engine's reports from its
// published snapshot at the served clock's now, merged with what the
// sources count. Every method is safe from any goroutine.

// Served reports the published SyncState grown to now; ok is false while
// nothing is published.
func (r *Runner) Served() (report.Served, bool) {
	return engine.ServedReport(r.e.State(), r.e.Served().Now())
}

// Tracking is chronyc tracking's report; ok is false before the engine's
// first snapshot.
func (r *Runner) Tracking() (report.Tracking, bool) {
	st := r.e.Status()
	if st == nil {
		return report.Tracking{}, false
	}
	return st.TrackingReport(r.e.Served().Now()), true
}

// Sources are chronyc sources' rows, with the poll counters of every
// Counted source that answers before ctx ends (Source.PollsKnown).
func (r *Runner) Sources(ctx context.Context) []report.Source {
	st := r.e.Status()
	if st == nil {
		return nil
	}
	rows := st.SourcesReport(r.e.Served().Now())
	for _, p := range r.srcs {
		if c, ok := p.src.(Counted); ok {
			mergeCounters(rows, c.Counters(ctx))
		}
	}
	return rows
}

// mergeCounters copies each reference's poll counters into its row (by ID).
func mergeCounters(rows []report.Source, counters []Counters) {
	for _, c := range counters {
		for i := range rows {
			if rows[i].ID == c.ID {
				rows[i].Polls, rows[i].Timeouts, rows[i].PollsKnown = c.Polls, c.Timeouts, true
				rows[i].Replies = c.Replies
				break
			}
		}
	}
}

// SourceStats are chronyc sourcestats' rows.
func (r *Runner) SourceStats() []report.SourceStats {
	st := r.e.Status()
	if st == nil {
		return nil
	}
	return st.SourceStatsReport()
}

// SelectData are chronyc selectdata's rows.
func (r *Runner) SelectData() []report.SelectData {
	st := r.e.Status()
	if st == nil {
		return nil
	}
	return st.SelectDataReport(r.e.Served().Now())
}

// DriverStats are the Runner's own counters as a report.
func (r *Runner) DriverStats() report.DriverStats {
	s := r.Stats()
	return report.DriverStats{Samples: s.Samples, Dropped: s.Dropped, Straddled: s.Straddled, Restarts: s.Restarts}
}
