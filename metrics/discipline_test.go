package metrics

import (
	"context"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gnomon-time/gnomon/report"
)

type fakeDiscipline struct {
	tr      *report.Tracking // nil: before the engine's first snapshot
	sources []report.Source
	stats   report.DriverStats
}

func (f *fakeDiscipline) Tracking() (report.Tracking, bool) {
	if f.tr == nil {
		return report.Tracking{}, false
	}
	return *f.tr, true
}
func (f *fakeDiscipline) Sources(context.Context) []report.Source { return f.sources }
func (f *fakeDiscipline) DriverStats() report.DriverStats         { return f.stats }

// disciplineFixture: locked to "a" (selected) with "b" a falseticker that
// stopped answering; the scrape 10 s after the last update, whose error
// bound of 20 µs has grown at 1 ppm (+10 µs).
func disciplineFixture() *fakeDiscipline {
	tr := &report.Tracking{
		Mode: report.SyncLocked, Synchronized: true, RefName: "a", FrequencyPPB: -12500, SkewPPB: 40,
		LastOffset: -1500 * time.Nanosecond, RMSOffset: 2 * time.Microsecond, ErrorBound: 30 * time.Microsecond,
		Steps: 1, LeapSteps: 0, Updates: 420,
		ClockClass: 6, HoldoverEntries: 3, HoldoverOutOfSpecs: 1, RecoveriesSlewed: 2, RecoveriesStepped: 1,
	}
	sources := []report.Source{
		{ID: "a", Addr: netip.MustParseAddr("192.0.2.1"), State: report.StateSelected, Reach: 0xff, Stratum: 1,
			Offset: 3 * time.Microsecond, Delay: 80 * time.Microsecond, Jitter: time.Microsecond,
			Polls: 1000, Timeouts: 4, PollsKnown: true, Replies: []report.ReplyCount{{Verdict: "accepted", Count: 996}, {Verdict: "bogus_origin", Count: 0}}},
		{ID: "b", Addr: netip.MustParseAddr("192.0.2.2"), State: report.StateFalseticker, Reach: 0, Stratum: 1,
			Offset: -50 * time.Millisecond, Delay: 90 * time.Microsecond, Jitter: 2 * time.Microsecond,
			Polls: 990, Timeouts: 80, PollsKnown: true, Replies: []report.ReplyCount{{Verdict: "accepted", Count: 900}, {Verdict: "bogus_origin", Count: 10}}},
	}
	return &fakeDiscipline{tr: tr, sources: sources,
		stats: report.DriverStats{Samples: 900, Dropped: 2, Straddled: 3, Restarts: 1}}
}

const goldenDiscipline = `
# HELP gnomon_clock_class PTP clockClass of the discipline: 6 locked, 7 holdover within specification, the configured degraded class (52 by default) out of it, 248 locking or free-running.
# TYPE gnomon_clock_class gauge
gnomon_clock_class 6
# HELP gnomon_clock_error_bound_seconds Bound on |disciplined clock − true time| at the scrape (+Inf when unsynchronised).
# TYPE gnomon_clock_error_bound_seconds gauge
gnomon_clock_error_bound_seconds 3e-05
# HELP gnomon_clock_frequency_adjustment_ratio Frequency correction applied to the disciplined clock (positive: faster), as a ratio (1e-6 = 1 ppm).
# TYPE gnomon_clock_frequency_adjustment_ratio gauge
gnomon_clock_frequency_adjustment_ratio -1.25e-05
# HELP gnomon_clock_holdover_entries_total Entries into holdover (no source selectable after lock).
# TYPE gnomon_clock_holdover_entries_total counter
gnomon_clock_holdover_entries_total 3
# HELP gnomon_clock_holdover_out_of_spec_total Holdovers that left their specification (clockClass 7 → the degraded class).
# TYPE gnomon_clock_holdover_out_of_spec_total counter
gnomon_clock_holdover_out_of_spec_total 1
# HELP gnomon_clock_holdover_recoveries_total Sources returning during holdover, by how the clock was brought back: slewed, or stepped (also counted in steps).
# TYPE gnomon_clock_holdover_recoveries_total counter
gnomon_clock_holdover_recoveries_total{recovery="slew"} 2
gnomon_clock_holdover_recoveries_total{recovery="step"} 1
# HELP gnomon_clock_leap_steps_total Leap seconds carried out on the disciplined clock.
# TYPE gnomon_clock_leap_steps_total counter
gnomon_clock_leap_steps_total 0
# HELP gnomon_clock_offset_seconds Combined offset of the selected sources at the last clock update (reference − local, before the correction).
# TYPE gnomon_clock_offset_seconds gauge
gnomon_clock_offset_seconds -1.5e-06
# HELP gnomon_clock_rms_offset_seconds RMS of the offsets at the last 16 clock updates.
# TYPE gnomon_clock_rms_offset_seconds gauge
gnomon_clock_rms_offset_seconds 2e-06
# HELP gnomon_clock_skew_ratio Estimated uncertainty of the clock's frequency estimate (chronyc tracking's skew), as a ratio.
# TYPE gnomon_clock_skew_ratio gauge
gnomon_clock_skew_ratio 4e-08
# HELP gnomon_clock_steps_total Steps of the disciplined clock by the makestep policy.
# TYPE gnomon_clock_steps_total counter
gnomon_clock_steps_total 1
# HELP gnomon_clock_sync_mode 1 for the discipline's current mode (unsynchronised, locking, locked, holdover, local), 0 for the others.
# TYPE gnomon_clock_sync_mode gauge
gnomon_clock_sync_mode{mode="holdover"} 0
gnomon_clock_sync_mode{mode="local"} 0
gnomon_clock_sync_mode{mode="locked"} 1
gnomon_clock_sync_mode{mode="locking"} 0
gnomon_clock_sync_mode{mode="unsynchronised"} 0
# HELP gnomon_clock_updates_total Clock updates (servo decisions applied).
# TYPE gnomon_clock_updates_total counter
gnomon_clock_updates_total 420
# HELP gnomon_discipline_samples_dropped_total Source samples dropped because the discipline goroutine's queue was full.
# TYPE gnomon_discipline_samples_dropped_total counter
gnomon_discipline_samples_dropped_total 2
# HELP gnomon_discipline_samples_straddled_total Source samples discarded because they were taken across a step of the clock.
# TYPE gnomon_discipline_samples_straddled_total counter
gnomon_discipline_samples_straddled_total 3
# HELP gnomon_discipline_samples_total Source samples handed to the discipline engine.
# TYPE gnomon_discipline_samples_total counter
gnomon_discipline_samples_total 900
# HELP gnomon_source_delay_seconds Round-trip delay of the source's chosen sample.
# TYPE gnomon_source_delay_seconds gauge
gnomon_source_delay_seconds{source="a"} 8e-05
gnomon_source_delay_seconds{source="b"} 9e-05
# HELP gnomon_source_jitter_seconds The source's clock-filter jitter.
# TYPE gnomon_source_jitter_seconds gauge
gnomon_source_jitter_seconds{source="a"} 1e-06
gnomon_source_jitter_seconds{source="b"} 2e-06
# HELP gnomon_source_offset_seconds The source's clock-filter offset referred to now (reference − local clock).
# TYPE gnomon_source_offset_seconds gauge
gnomon_source_offset_seconds{source="a"} 3e-06
gnomon_source_offset_seconds{source="b"} -0.05
# HELP gnomon_source_polls_total Requests sent to the source.
# TYPE gnomon_source_polls_total counter
gnomon_source_polls_total{source="a"} 1000
gnomon_source_polls_total{source="b"} 990
# HELP gnomon_source_reach_register The source's reachability register (0-255; 255 = the last 8 polls answered).
# TYPE gnomon_source_reach_register gauge
gnomon_source_reach_register{source="a"} 255
gnomon_source_reach_register{source="b"} 0
# HELP gnomon_source_reachable 1 if the source answered at least one of its last 8 polls (reachability register ≠ 0), else 0.
# TYPE gnomon_source_reachable gauge
gnomon_source_reachable{source="a"} 1
gnomon_source_reachable{source="b"} 0
# HELP gnomon_source_selected 1 if the source is the system peer (chronyc '*'), else 0.
# TYPE gnomon_source_selected gauge
gnomon_source_selected{source="a"} 1
gnomon_source_selected{source="b"} 0
# HELP gnomon_source_state 1 for the source's selection state (selected, combined, falseticker, ...), 0 for the others.
# TYPE gnomon_source_state gauge
gnomon_source_state{source="a",state="combined"} 0
gnomon_source_state{source="a",state="falseticker"} 0
gnomon_source_state{source="a",state="jittery"} 0
gnomon_source_state{source="a",state="selectable"} 0
gnomon_source_state{source="a",state="selected"} 1
gnomon_source_state{source="a",state="unusable"} 0
gnomon_source_state{source="b",state="combined"} 0
gnomon_source_state{source="b",state="falseticker"} 1
gnomon_source_state{source="b",state="jittery"} 0
gnomon_source_state{source="b",state="selectable"} 0
gnomon_source_state{source="b",state="selected"} 0
gnomon_source_state{source="b",state="unusable"} 0
# HELP gnomon_source_replies_total Replies from the source by what the client did with them: accepted, or why not (malformed, bad_version, bad_mode, bogus_origin, kod_rate, kod_deny, kod_other, bad_timestamps, unsynchronised, bad_header, duplicate, not_expected, demobilised).
# TYPE gnomon_source_replies_total counter
gnomon_source_replies_total{source="a",verdict="accepted"} 996
gnomon_source_replies_total{source="a",verdict="bogus_origin"} 0
gnomon_source_replies_total{source="b",verdict="accepted"} 900
gnomon_source_replies_total{source="b",verdict="bogus_origin"} 10
# HELP gnomon_source_stratum Stratum of the source's last reply (0 if none).
# TYPE gnomon_source_stratum gauge
gnomon_source_stratum{source="a"} 1
gnomon_source_stratum{source="b"} 1
# HELP gnomon_source_timeouts_total Requests to the source still unanswered at the next poll.
# TYPE gnomon_source_timeouts_total counter
gnomon_source_timeouts_total{source="a"} 4
gnomon_source_timeouts_total{source="b"} 80
`

func disciplineNames() []string {
	var names []string
	for _, l := range strings.Split(goldenDiscipline, "\n") {
		if n, ok := strings.CutPrefix(l, "# TYPE "); ok {
			names = append(names, strings.Fields(n)[0])
		}
	}
	return names
}

func TestGoldenDiscipline(t *testing.T) {
	d := disciplineFixture()
	c := NewCollector(Sources{Discipline: d, Version: "v"})
	if err := testutil.CollectAndCompare(c, strings.NewReader(goldenDiscipline), disciplineNames()...); err != nil {
		t.Error(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

// Unsynchronised: the error bound is +Inf, not a huge number.
func TestDisciplineUnsynchronised(t *testing.T) {
	d := disciplineFixture()
	d.tr.Synchronized, d.tr.Mode, d.tr.ErrorBound = false, report.SyncUnsynchronised, math.MaxInt64
	c := NewCollector(Sources{Discipline: d})
	if v := testutil.ToFloat64(onlyMetric(c, "gnomon_clock_error_bound_seconds")); !math.IsInf(v, 1) {
		t.Errorf("error bound %v, want +Inf", v)
	}
	// Before the engine's first snapshot only the driver counters exist.
	d.tr = nil
	if got := testutil.CollectAndCount(c, "gnomon_source_reachable", "gnomon_clock_offset_seconds"); got != 0 {
		t.Errorf("%d source/clock series without a status", got)
	}
}

// onlyMetric wraps c so that it collects the named metric family only.
func onlyMetric(c *Collector, name string) prometheus.Collector {
	return filtered{c, name}
}

type filtered struct {
	c    *Collector
	name string
}

func (f filtered) Describe(ch chan<- *prometheus.Desc) { f.c.Describe(ch) }
func (f filtered) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric, 256)
	go func() { f.c.Collect(all); close(all) }()
	for m := range all {
		if strings.Contains(m.Desc().String(), `"`+f.name+`"`) {
			ch <- m
		}
	}
}
