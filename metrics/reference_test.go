package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gnomon-time/gnomon/report"
)

type fakeGNSS []report.GNSSStats

func (f fakeGNSS) GNSSStats() []report.GNSSStats { return f }

// referenceFixture: the phc section's engine locked to its receiver
// (gnss:GPS, a refclock: stratum 0, no polls), after one PPS outage that
// was slewed back; the receiver's time of day through gpsd, which was
// restarted once. A gnss entry of sources (gnss:/dev/pps0) over NMEA has
// seen no report yet.
func referenceFixture() (*fakeDiscipline, fakeGNSS) {
	tr := &report.Tracking{
		Mode: report.SyncLocked, Synchronized: true, RefName: "gnss:GPS", FrequencyPPB: -10002, SkewPPB: 0.5,
		LastOffset: 40 * time.Nanosecond, RMSOffset: 120 * time.Nanosecond, ErrorBound: 2 * time.Microsecond,
		Steps: 1, Updates: 95, ClockClass: 6, HoldoverEntries: 1, RecoveriesSlewed: 1,
	}
	sources := []report.Source{{ID: "gnss:GPS", Mode: report.SourceRefClock, State: report.StateSelected,
		Reach: 0xff, Offset: 50 * time.Nanosecond, Jitter: 90 * time.Nanosecond}}
	d := &fakeDiscipline{tr: tr, sources: sources, stats: report.DriverStats{Samples: 97}}
	pairs := func(accepted, unconfirmed, noReport, paired, orphan uint64) []report.LabelCount {
		return []report.LabelCount{{Label: "accepted", Count: accepted}, {Label: "unconfirmed", Count: unconfirmed},
			{Label: "no_report", Count: noReport}, {Label: "paired", Count: paired}, {Label: "orphan", Count: orphan}}
	}
	g := fakeGNSS{
		{ID: "gnss:GPS", Pairs: pairs(97, 3, 20, 100, 2), TimeOfDay: report.TimeOfDayStats{Kind: "gpsd", Reports: 102,
			LastReport: time.Unix(1700000000, 250_000_000), Reconnects: 1, ReconnectsKnown: true}},
		{ID: "gnss:/dev/pps0", Pairs: pairs(0, 0, 4, 0, 0), TimeOfDay: report.TimeOfDayStats{Kind: "nmea"}},
	}
	return d, g
}

const goldenReference = `
# HELP gnomon_gnss_pairs_total Pairing of PPS edges with the receiver's time of day: every edge and every report gets one verdict (accepted edges are the samples).
# TYPE gnomon_gnss_pairs_total counter
gnomon_gnss_pairs_total{source="gnss:/dev/pps0",verdict="accepted"} 0
gnomon_gnss_pairs_total{source="gnss:/dev/pps0",verdict="no_report"} 4
gnomon_gnss_pairs_total{source="gnss:/dev/pps0",verdict="orphan"} 0
gnomon_gnss_pairs_total{source="gnss:/dev/pps0",verdict="paired"} 0
gnomon_gnss_pairs_total{source="gnss:/dev/pps0",verdict="unconfirmed"} 0
gnomon_gnss_pairs_total{source="gnss:GPS",verdict="accepted"} 97
gnomon_gnss_pairs_total{source="gnss:GPS",verdict="no_report"} 20
gnomon_gnss_pairs_total{source="gnss:GPS",verdict="orphan"} 2
gnomon_gnss_pairs_total{source="gnss:GPS",verdict="paired"} 100
gnomon_gnss_pairs_total{source="gnss:GPS",verdict="unconfirmed"} 3
# HELP gnomon_gnss_time_of_day_last_report_timestamp_seconds When the latest time-of-day report was received (Unix time, CLOCK_REALTIME); absent before the first.
# TYPE gnomon_gnss_time_of_day_last_report_timestamp_seconds gauge
gnomon_gnss_time_of_day_last_report_timestamp_seconds{source="gnss:GPS"} 1.70000000025e+09
# HELP gnomon_gnss_time_of_day_reconnects_total Connection attempts to gpsd after the first.
# TYPE gnomon_gnss_time_of_day_reconnects_total counter
gnomon_gnss_time_of_day_reconnects_total{source="gnss:GPS"} 1
# HELP gnomon_gnss_time_of_day_reports_total Time-of-day reports the receiver's input (gpsd, nmea, sim) delivered.
# TYPE gnomon_gnss_time_of_day_reports_total counter
gnomon_gnss_time_of_day_reports_total{source="gnss:/dev/pps0"} 0
gnomon_gnss_time_of_day_reports_total{source="gnss:GPS"} 102
# HELP gnomon_phc_clock_class Disciplined PHC (phc section): PTP clockClass of the discipline: 6 locked, 7 holdover within specification, the configured degraded class (52 by default) out of it, 248 locking or free-running.
# TYPE gnomon_phc_clock_class gauge
gnomon_phc_clock_class 6
# HELP gnomon_phc_discipline_samples_dropped_total Disciplined PHC (phc section): Source samples dropped because the discipline goroutine's queue was full.
# TYPE gnomon_phc_discipline_samples_dropped_total counter
gnomon_phc_discipline_samples_dropped_total 0
# HELP gnomon_phc_discipline_samples_straddled_total Disciplined PHC (phc section): Source samples discarded because they were taken across a step of the clock.
# TYPE gnomon_phc_discipline_samples_straddled_total counter
gnomon_phc_discipline_samples_straddled_total 0
# HELP gnomon_phc_discipline_samples_total Disciplined PHC (phc section): Source samples handed to the discipline engine.
# TYPE gnomon_phc_discipline_samples_total counter
gnomon_phc_discipline_samples_total 97
# HELP gnomon_phc_error_bound_seconds Disciplined PHC (phc section): Bound on |disciplined clock − true time| at the scrape (+Inf when unsynchronised).
# TYPE gnomon_phc_error_bound_seconds gauge
gnomon_phc_error_bound_seconds 2e-06
# HELP gnomon_phc_frequency_adjustment_ratio Disciplined PHC (phc section): Frequency correction applied to the disciplined clock (positive: faster), as a ratio (1e-6 = 1 ppm).
# TYPE gnomon_phc_frequency_adjustment_ratio gauge
gnomon_phc_frequency_adjustment_ratio -1.0002e-05
# HELP gnomon_phc_holdover_entries_total Disciplined PHC (phc section): Entries into holdover (no source selectable after lock).
# TYPE gnomon_phc_holdover_entries_total counter
gnomon_phc_holdover_entries_total 1
# HELP gnomon_phc_holdover_out_of_spec_total Disciplined PHC (phc section): Holdovers that left their specification (clockClass 7 → the degraded class).
# TYPE gnomon_phc_holdover_out_of_spec_total counter
gnomon_phc_holdover_out_of_spec_total 0
# HELP gnomon_phc_holdover_recoveries_total Disciplined PHC (phc section): Sources returning during holdover, by how the clock was brought back: slewed, or stepped (also counted in steps).
# TYPE gnomon_phc_holdover_recoveries_total counter
gnomon_phc_holdover_recoveries_total{recovery="slew"} 1
gnomon_phc_holdover_recoveries_total{recovery="step"} 0
# HELP gnomon_phc_leap_steps_total Disciplined PHC (phc section): Leap seconds carried out on the disciplined clock.
# TYPE gnomon_phc_leap_steps_total counter
gnomon_phc_leap_steps_total 0
# HELP gnomon_phc_offset_seconds Disciplined PHC (phc section): Combined offset of the selected sources at the last clock update (reference − local, before the correction).
# TYPE gnomon_phc_offset_seconds gauge
gnomon_phc_offset_seconds 4e-08
# HELP gnomon_phc_rms_offset_seconds Disciplined PHC (phc section): RMS of the offsets at the last 16 clock updates.
# TYPE gnomon_phc_rms_offset_seconds gauge
gnomon_phc_rms_offset_seconds 1.2e-07
# HELP gnomon_phc_skew_ratio Disciplined PHC (phc section): Estimated uncertainty of the clock's frequency estimate (chronyc tracking's skew), as a ratio.
# TYPE gnomon_phc_skew_ratio gauge
gnomon_phc_skew_ratio 5e-10
# HELP gnomon_phc_source_delay_seconds Disciplined PHC (phc section): Round-trip delay of the source's chosen sample.
# TYPE gnomon_phc_source_delay_seconds gauge
gnomon_phc_source_delay_seconds{source="gnss:GPS"} 0
# HELP gnomon_phc_source_jitter_seconds Disciplined PHC (phc section): The source's clock-filter jitter.
# TYPE gnomon_phc_source_jitter_seconds gauge
gnomon_phc_source_jitter_seconds{source="gnss:GPS"} 9e-08
# HELP gnomon_phc_source_offset_seconds Disciplined PHC (phc section): The source's clock-filter offset referred to now (reference − local clock).
# TYPE gnomon_phc_source_offset_seconds gauge
gnomon_phc_source_offset_seconds{source="gnss:GPS"} 5e-08
# HELP gnomon_phc_source_reach_register Disciplined PHC (phc section): The source's reachability register (0-255; 255 = the last 8 polls answered).
# TYPE gnomon_phc_source_reach_register gauge
gnomon_phc_source_reach_register{source="gnss:GPS"} 255
# HELP gnomon_phc_source_reachable Disciplined PHC (phc section): 1 if the source answered at least one of its last 8 polls (reachability register ≠ 0), else 0.
# TYPE gnomon_phc_source_reachable gauge
gnomon_phc_source_reachable{source="gnss:GPS"} 1
# HELP gnomon_phc_source_selected Disciplined PHC (phc section): 1 if the source is the system peer (chronyc '*'), else 0.
# TYPE gnomon_phc_source_selected gauge
gnomon_phc_source_selected{source="gnss:GPS"} 1
# HELP gnomon_phc_source_state Disciplined PHC (phc section): 1 for the source's selection state (selected, combined, falseticker, ...), 0 for the others.
# TYPE gnomon_phc_source_state gauge
gnomon_phc_source_state{source="gnss:GPS",state="combined"} 0
gnomon_phc_source_state{source="gnss:GPS",state="falseticker"} 0
gnomon_phc_source_state{source="gnss:GPS",state="jittery"} 0
gnomon_phc_source_state{source="gnss:GPS",state="selectable"} 0
gnomon_phc_source_state{source="gnss:GPS",state="selected"} 1
gnomon_phc_source_state{source="gnss:GPS",state="unusable"} 0
# HELP gnomon_phc_source_stratum Disciplined PHC (phc section): Stratum of the source's last reply (0 if none).
# TYPE gnomon_phc_source_stratum gauge
gnomon_phc_source_stratum{source="gnss:GPS"} 0
# HELP gnomon_phc_steps_total Disciplined PHC (phc section): Steps of the disciplined clock by the makestep policy.
# TYPE gnomon_phc_steps_total counter
gnomon_phc_steps_total 1
# HELP gnomon_phc_sync_mode Disciplined PHC (phc section): 1 for the discipline's current mode (unsynchronised, locking, locked, holdover, local), 0 for the others.
# TYPE gnomon_phc_sync_mode gauge
gnomon_phc_sync_mode{mode="holdover"} 0
gnomon_phc_sync_mode{mode="local"} 0
gnomon_phc_sync_mode{mode="locked"} 1
gnomon_phc_sync_mode{mode="locking"} 0
gnomon_phc_sync_mode{mode="unsynchronised"} 0
# HELP gnomon_phc_updates_total Disciplined PHC (phc section): Clock updates (servo decisions applied).
# TYPE gnomon_phc_updates_total counter
gnomon_phc_updates_total 95
`

func referenceNames() []string {
	var names []string
	for _, l := range strings.Split(goldenReference, "\n") {
		if n, ok := strings.CutPrefix(l, "# TYPE "); ok {
			names = append(names, strings.Fields(n)[0])
		}
	}
	return names
}

// The phc section's engine as gnomon_phc_*, its receiver as gnomon_gnss_*;
// the served clock's families are untouched (Discipline is nil here).
func TestGoldenReference(t *testing.T) {
	d, g := referenceFixture()
	c := NewCollector(Sources{Reference: d, GNSS: g, Version: "v"})
	if err := testutil.CollectAndCompare(c, strings.NewReader(goldenReference), referenceNames()...); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(c, "gnomon_clock_offset_seconds", "gnomon_source_reachable",
		"gnomon_clock_class"); got != 0 {
		t.Errorf("%d served-clock series from the PHC's engine, want 0", got)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}
