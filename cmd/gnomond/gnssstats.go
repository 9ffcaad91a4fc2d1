package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
	"github.com/gnomon-time/gnomon/refclock/gpsd"
	"github.com/gnomon-time/gnomon/refclock/pair"
	"github.com/gnomon-time/gnomon/report"
	"github.com/gnomon-time/gnomon/source/gnsssource"
)

// countedToD is a receiver's time-of-day input that counts what it
// delivers, the same way for every kind (gpsd, nmea, sim).
type countedToD struct {
	refclock.TimeOfDaySource
	kind    string
	reports atomic.Uint64
	last    atomic.Int64 // Received of the latest report, Unix ns; 0 before the first
}

func (c *countedToD) Run(ctx context.Context, fn func(refclock.TimeOfDay)) error {
	return c.TimeOfDaySource.Run(ctx, func(t refclock.TimeOfDay) {
		c.reports.Add(1)
		if !t.Received.IsZero() {
			c.last.Store(t.Received.UnixNano())
		}
		fn(t)
	})
}

func (c *countedToD) stats() report.TimeOfDayStats {
	st := report.TimeOfDayStats{Kind: c.kind, Reports: c.reports.Load()}
	if ns := c.last.Load(); ns != 0 {
		st.LastReport = time.Unix(0, ns)
	}
	if g, ok := c.TimeOfDaySource.(*gpsd.Client); ok {
		st.Reconnects, st.ReconnectsKnown = g.Status().Reconnects, true
	}
	return st
}

// gnssRef is one GNSS reference: its source and its time-of-day input.
type gnssRef struct {
	src *gnsssource.Source
	tod *countedToD
}

// gnssRefs are every GNSS reference gnomond runs (the phc section's
// receiver and the gnss entries of sources), as metrics.GNSSStats.
type gnssRefs []gnssRef

func (g gnssRefs) GNSSStats() []report.GNSSStats {
	out := make([]report.GNSSStats, 0, len(g))
	for _, r := range g {
		counts := r.src.Counts()
		pairs := make([]report.LabelCount, pair.NumVerdicts)
		for v := range pair.NumVerdicts {
			pairs[v] = report.LabelCount{Label: pair.Verdict(v).String(), Count: counts[v]}
		}
		out = append(out, report.GNSSStats{ID: r.src.Refs()[0].Config.ID, Pairs: pairs, TimeOfDay: r.tod.stats()})
	}
	return out
}
