package main

import (
	"context"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
	"github.com/gnomon-time/gnomon/refclock/pair"
	"github.com/gnomon-time/gnomon/source/gnsssource"
)

type twoReports struct{ at time.Time }

func (r twoReports) Run(_ context.Context, fn func(refclock.TimeOfDay)) error {
	fn(refclock.TimeOfDay{Received: r.at.Add(-time.Second)})
	fn(refclock.TimeOfDay{Received: r.at})
	return nil
}

type noEdges struct{}

func (noEdges) Run(ctx context.Context, fn func(refclock.Edge)) error { <-ctx.Done(); return nil }

// Every kind of time-of-day input is counted the same way, and every
// pairing verdict is exported (zero included).
func TestGNSSStats(t *testing.T) {
	at := time.Unix(1_800_000_000, 500_000_000)
	tod := &countedToD{TimeOfDaySource: twoReports{at}, kind: "nmea"}
	if err := tod.Run(t.Context(), func(refclock.TimeOfDay) {}); err != nil {
		t.Fatal(err)
	}
	gc := gnsssource.DefaultConfig()
	gc.ID, gc.RefID = "gnss:GPS", refclockRefID("GPS")
	src, err := gnsssource.New(gc, noEdges{}, tod, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := gnssRefs{{src: src, tod: tod}}.GNSSStats()
	if len(st) != 1 || st[0].ID != "gnss:GPS" || len(st[0].Pairs) != pair.NumVerdicts || st[0].Pairs[0].Label != "accepted" {
		t.Fatalf("stats %+v", st)
	}
	if d := st[0].TimeOfDay; d.Kind != "nmea" || d.Reports != 2 || !d.LastReport.Equal(at) || d.ReconnectsKnown {
		t.Errorf("time of day %+v, want 2 nmea reports, the last at %v, no reconnects", d, at)
	}
}
