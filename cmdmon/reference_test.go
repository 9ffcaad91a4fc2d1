package cmdmon

import (
	"context"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
	"github.com/gnomon-time/gnomon/report"
)

// fakeReference is the phc section's engine: one GNSS reference.
type fakeReference struct {
	sources    []report.Source
	stats      []report.SourceStats
	selectData []report.SelectData
}

func (f *fakeReference) Sources(context.Context) []report.Source { return f.sources }
func (f *fakeReference) SourceStats() []report.SourceStats       { return f.stats }
func (f *fakeReference) SelectData() []report.SelectData         { return f.selectData }

// With a phc section the served clock's sources come first (their
// indexes and ID#N names unchanged), then the PHC engine's GNSS reference
// as a refclock named by its refid; commands still reach the served
// clock's discipline only.
func TestReferenceSourcesFollow(t *testing.T) {
	_, d := newFixture()
	const gps = 0x47505300 // "GPS"
	ref := &fakeReference{
		sources: []report.Source{{ID: "gnss:GPS", Mode: report.SourceRefClock, State: report.StateSelected, RefID: gps,
			Reach: 0o377, Sampled: true, LastRxAgo: time.Second, Offset: 50 * time.Nanosecond}},
		stats:      []report.SourceStats{{ID: "gnss:GPS", Samples: 16, Fitted: true, Offset: 50 * time.Nanosecond}},
		selectData: []report.SelectData{{ID: "gnss:GPS", StateChar: '*', State: report.StateSelected}},
	}
	h := New(Config{Discipline: d, Reference: ref})
	ctx := context.Background()
	out, _ := h.Handle(ctx, request(t, wire.CmdNSources, nil, 0), AccessNetwork)
	if n, err := wire.ParseNSources(out); err != nil || n.N != 4 {
		t.Fatalf("n_sources %+v %v, want 4 (3 served + 1 reference)", n, err)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdSourceData, &wire.IndexRequest{Index: 2}, 0), AccessNetwork)
	if sd, _ := wire.ParseSourceData(out); sd.Addr.Family != wire.FamilyID || sd.Addr.ID != 3 {
		t.Errorf("served source 2 %+v, want ID#3 as without a reference", sd.Addr)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdSourceData, &wire.IndexRequest{Index: 3}, 0), AccessNetwork)
	sd, err := wire.ParseSourceData(out)
	if err != nil || sd.Mode != uint16(report.SourceRefClock) || sd.State != sdSelected || sd.Reachability != 0o377 ||
		sd.Addr.Family != wire.FamilyInet4 || sd.Addr.Addr.As4() != [4]byte{'G', 'P', 'S', 0} {
		t.Errorf("reference source %+v %v, want refclock GPS selected", sd, err)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdSourceStats, &wire.IndexRequest{Index: 3}, 0), AccessNetwork)
	if st, err := wire.ParseSourceStats(out); err != nil || st.RefID != gps || st.NSamples != 16 {
		t.Errorf("reference sourcestats %+v %v", st, err)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdSelectData, &wire.IndexRequest{Index: 3}, 0), AccessSocket)
	if sel, err := wire.ParseSelectData(out); err != nil || sel.StateChar != '*' || sel.RefID != gps {
		t.Errorf("reference selectdata %+v %v", sel, err)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdSourceData, &wire.IndexRequest{Index: 4}, 0), AccessNetwork)
	if hdr, _ := status(t, out); hdr.Status != wire.StatusNoSuchSource {
		t.Errorf("index past the reference: %v", hdr.Status)
	}
	out, _ = h.Handle(ctx, request(t, wire.CmdActivity, nil, 0), AccessNetwork)
	if a, _ := wire.ParseActivity(out); a.Online != 2 || a.Unresolved != 1 {
		t.Errorf("activity %+v: refclocks are not counted", a)
	}
	h.Handle(ctx, request(t, wire.CmdResetSources, nil, 0), AccessSocket)
	if d.resets != 1 {
		t.Errorf("reset sources reached the served discipline %d times, want 1", d.resets)
	}
}
