package engine

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/clock/servo"
	"github.com/gnomon-time/gnomon/clock/sim"
	"github.com/gnomon-time/gnomon/report"
)

var reportRef = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// addrs compares netip.Addr values (unexported fields) by value.
var addrs = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestServedReport(t *testing.T) {
	if _, ok := ServedReport(nil, reportRef); ok {
		t.Error("report from a nil state")
	}
	st := &clock.SyncState{Synchronized: true, Leap: clock.LeapInsert, Stratum: 3, RefID: 0xC0000201,
		RefTime: reportRef, RootDelay: 250 * time.Microsecond, RootDispersion: 100 * time.Microsecond,
		DispersionRate: 15e-6, Precision: -24, ErrorBound: 300 * time.Microsecond, Source: "a"}
	now := reportRef.Add(100 * time.Second) // dispersion and bound grow by 1.5 ms
	got, ok := ServedReport(st, now)
	want := report.Served{At: now, Synchronized: true, Leap: clock.LeapInsert, Stratum: 3, RefID: 0xC0000201,
		RefTime: reportRef, RootDelay: 250 * time.Microsecond, RootDispersion: 1600 * time.Microsecond,
		ErrorBound: 1800 * time.Microsecond, Precision: -24, Source: "a"}
	if d := cmp.Diff(want, got); !ok || d != "" {
		t.Errorf("served report (-want +got), ok %v:\n%s", ok, d)
	}
	got, _ = ServedReport(clock.Unsynchronised(-20), now)
	if got.Synchronized || got.Stratum != 16 || got.Leap != clock.LeapUnsync || got.ErrorBound != math.MaxInt64 {
		t.Errorf("unsynchronised served report %+v", got)
	}
}

// reportStatus: locked to "a" with "b" a falseticker that was never
// sampled (the metrics fixture's picture).
func reportStatus() *Status {
	return &Status{
		Now: reportRef, Mode: ModeLocked, Servo: "pi", ServoState: servo.StateLocked, Peer: "a",
		Stratum: 2, RefID: 0xC0000201, RefTime: reportRef, RootDelay: 40 * time.Microsecond,
		RootDispersion: 5 * time.Microsecond, ErrorBound: 20 * time.Microsecond, DispersionRate: 1e-6,
		LastOffset: -1500 * time.Nanosecond, RMSOffset: 2 * time.Microsecond,
		FrequencyPPB: -12500, FreqEstimatePPB: -12400, SkewPPB: 3, UpdateInterval: 16 * time.Second,
		Leap: clock.LeapNone, Updates: 420, Steps: 1, LastStep: 3 * time.Millisecond, Discarded: 5, LeapSteps: 0,
		Sources: []SourceStatus{
			{ID: "a", Addr: netip.MustParseAddr("192.0.2.1"), State: selection.Selected, Reason: selection.ReasonNone,
				Weight: 1, Usable: true, Stratum: 1, RefID: 0x47505300, Poll: 4, Reach: 0xff,
				RootDelay: time.Microsecond, RootDispersion: 2 * time.Microsecond,
				Offset: 3 * time.Microsecond, Delay: 80 * time.Microsecond, Dispersion: 4 * time.Microsecond,
				Jitter: time.Microsecond, Distance: 50 * time.Microsecond,
				NP: 16, ResidFreqPPB: 0.5, SkewPPB: 0.25, EstOffset: 2 * time.Microsecond, StdDev: 700 * time.Nanosecond,
				LastSample: Sample{Local: reportRef.Add(-7 * time.Second), Offset: 4 * time.Microsecond}},
			{ID: "b", Addr: netip.MustParseAddr("192.0.2.2"), State: selection.Falseticker, Reason: selection.ReasonFalseticker,
				Stratum: 1, Leap: clock.LeapInsert, Offset: -50 * time.Millisecond, Distance: time.Millisecond, NP: 2},
		},
	}
}

func TestStatusReports(t *testing.T) {
	s := reportStatus()
	now := reportRef.Add(10 * time.Second)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")

	wantTracking := report.Tracking{
		At: now, Mode: report.SyncLocked, Synchronized: true, RefID: 0xC0000201, RefName: "a", RefAddr: a,
		Stratum: 2, RefTime: reportRef, LastOffset: -1500 * time.Nanosecond, RMSOffset: 2 * time.Microsecond, SystemTimeOffset: -1500 * time.Nanosecond,
		FrequencyPPB: -12500, FreqEstimatePPB: -12400, SkewPPB: 3, ResidualFreqPPB: 0.5,
		RootDelay: 40 * time.Microsecond, RootDispersion: 15 * time.Microsecond, UpdateInterval: 16 * time.Second,
		Leap: clock.LeapNone, ErrorBound: 30 * time.Microsecond, DispersionRate: 1e-6,
		Servo: "pi", ServoLocked: true, Updates: 420, Steps: 1, LastStep: 3 * time.Millisecond, Discarded: 5,
	}
	if d := cmp.Diff(wantTracking, s.TrackingReport(now), addrs); d != "" {
		t.Errorf("tracking (-want +got):\n%s", d)
	}

	wantSources := []report.Source{
		{ID: "a", Addr: a, Mode: report.SourceServer, State: report.StateSelected, Reason: "none", Usable: true,
			Stratum: 1, RefID: 0x47505300, RootDelay: time.Microsecond, RootDispersion: 2 * time.Microsecond,
			Poll: 4, Reach: 0xff, LastRxAgo: 17 * time.Second, Sampled: true,
			Offset: 3 * time.Microsecond, LastSampleOffset: 4 * time.Microsecond, Error: 50 * time.Microsecond,
			Delay: 80 * time.Microsecond, Dispersion: 4 * time.Microsecond, Jitter: time.Microsecond,
			Distance: 50 * time.Microsecond, Weight: 1},
		{ID: "b", Addr: b, Mode: report.SourceServer, State: report.StateFalseticker, Reason: "falseticker",
			Stratum: 1, Leap: clock.LeapInsert, Offset: -50 * time.Millisecond, Error: time.Millisecond,
			Distance: time.Millisecond},
	}
	if d := cmp.Diff(wantSources, s.SourcesReport(now), addrs); d != "" {
		t.Errorf("sources (-want +got):\n%s", d)
	}

	wantStats := []report.SourceStats{
		{ID: "a", Addr: a, Samples: 16, Fitted: true, ResidFreqPPB: 0.5, SkewPPB: 0.25,
			Offset: 2 * time.Microsecond, StdDev: 700 * time.Nanosecond},
		{ID: "b", Addr: b, Samples: 2},
	}
	if d := cmp.Diff(wantStats, s.SourceStatsReport(), addrs); d != "" {
		t.Errorf("sourcestats (-want +got):\n%s", d)
	}

	wantSelect := []report.SelectData{
		{ID: "a", Addr: a, StateChar: '*', State: report.StateSelected, Reason: "none",
			LastSampleAgo: 17 * time.Second, Sampled: true, Distance: 50 * time.Microsecond, Weight: 1,
			Lo: -47 * time.Microsecond, Hi: 53 * time.Microsecond},
		{ID: "b", Addr: b, StateChar: 'x', State: report.StateFalseticker, Reason: "falseticker",
			Leap: clock.LeapInsert, Distance: time.Millisecond,
			Lo: -51 * time.Millisecond, Hi: -49 * time.Millisecond},
	}
	if d := cmp.Diff(wantSelect, s.SelectDataReport(now), addrs); d != "" {
		t.Errorf("selectdata (-want +got):\n%s", d)
	}
}

func TestTrackingUnsynchronised(t *testing.T) {
	s := &Status{Now: reportRef, Mode: ModeUnsynchronised, Stratum: 16, Leap: clock.LeapUnsync}
	tr := s.TrackingReport(reportRef.Add(time.Hour))
	if tr.Synchronized || tr.Mode != report.SyncUnsynchronised || tr.ErrorBound != math.MaxInt64 ||
		tr.RefName != "" || tr.RefAddr.IsValid() || tr.Stratum != 16 {
		t.Errorf("unsynchronised tracking %+v", tr)
	}
}

// The report's vocabularies are the engine's and selection's, name for
// name and character for character, so labels and chronyc letters do not
// change when a report replaces the engine type.
func TestReportVocabulary(t *testing.T) {
	if int(NumModes) != int(report.NumSyncModes) {
		t.Errorf("%d engine modes, %d report modes", NumModes, report.NumSyncModes)
	}
	for m := range NumModes {
		if got := syncMode(m).String(); got != m.String() {
			t.Errorf("mode %v reported as %q", m, got)
		}
	}
	n := 0
	for st := selection.Unusable; st <= selection.Selected; st++ {
		n++
		if r := sourceState(st); r.String() != st.String() || r.Char() != st.Char() {
			t.Errorf("state %v reported as %v %c", st, r, r.Char())
		}
	}
	if n != int(report.NumSourceStates) {
		t.Errorf("%d selection states, %d report states", n, report.NumSourceStates)
	}
	if c := stateChar(selection.Combined, selection.ReasonNone); c != '+' {
		t.Errorf("combined letter %c", c)
	}
	if c := stateChar(selection.Unusable, selection.ReasonDistance); c != 'd' {
		t.Errorf("distance letter %c", c)
	}
}

// The engine's reports follow its published snapshots: after locking,
// Tracking's bound is ErrorBoundAt of the published state.
func TestEngineReports(t *testing.T) {
	w := newWorld(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		sim.Oscillator{InitialError: 5 * time.Millisecond, FreqErrorPPB: 10_000}, nil)
	if tr := w.e.Status().TrackingReport(w.clk.Now()); tr.Synchronized || tr.Mode != report.SyncUnsynchronised {
		t.Errorf("initial tracking %+v", tr)
	}
	for range 60 {
		w.second()
	}
	now := w.clk.Now().Add(5 * time.Second)
	tr := w.e.Status().TrackingReport(now)
	if !tr.Synchronized || tr.Mode != report.SyncLocked || tr.RefName != "srv" ||
		tr.RefAddr != netip.MustParseAddr("192.0.2.1") || tr.Steps != 1 || tr.Updates == 0 {
		t.Errorf("tracking %+v", tr)
	}
	if b := ErrorBoundAt(w.e.State(), now); tr.ErrorBound != b {
		t.Errorf("tracking bound %v, ErrorBoundAt %v", tr.ErrorBound, b)
	}
	if served, _ := ServedReport(w.e.State(), now); served.ErrorBound != tr.ErrorBound ||
		served.RootDispersion != tr.RootDispersion {
		t.Errorf("served %+v and tracking %+v disagree", served, tr)
	}
	srcs := w.e.Status().SourcesReport(now)
	if len(srcs) != 1 || srcs[0].State != report.StateSelected || !srcs[0].Sampled || srcs[0].PollsKnown {
		t.Errorf("sources %+v", srcs)
	}
	if st := w.e.Status().SourceStatsReport(); len(st) != 1 || !st[0].Fitted || st[0].Samples < minRegressionSamples {
		t.Errorf("sourcestats %+v", st)
	}
	if sd := w.e.Status().SelectDataReport(now); len(sd) != 1 || sd[0].StateChar != '*' || sd[0].Lo >= sd[0].Hi {
		t.Errorf("selectdata %+v", sd)
	}
}
