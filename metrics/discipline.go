package metrics

import (
	"context"
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gnomon-time/gnomon/report"
)

// engineNames name one discipline's metric families: the served clock's
// (gnomon_clock_*, gnomon_source_*, gnomon_discipline_*, and the holdover
// and clockClass gauges) or the disciplined PHC's (gnomon_phc_*).
//
// The PHC's engine gets families of its own rather than a `clock` label on
// the served clock's: every existing series, dashboard and alert keeps its
// meaning (sum(gnomon_source_state{state="selected"}) still counts the
// served clock's system peers, gnomon_clock_offset_seconds is still the
// one offset NTP and PTP clients see), and nothing averages a PHC's
// figures with the served clock's.
type engineNames struct {
	clock, source, discipline string // name prefixes
	class                     string // the clockClass gauge
	help                      string // prepended to every help text
	// polls: the discipline may have polled sources (the PHC's engine has
	// one GNSS reference and nothing to poll).
	polls bool
}

var (
	servedNames = engineNames{clock: "gnomon_clock_", source: "gnomon_source_", discipline: "gnomon_discipline_",
		class: "gnomon_clock_class", polls: true}
	phcNames = engineNames{clock: "gnomon_phc_", source: "gnomon_phc_source_", discipline: "gnomon_phc_discipline_",
		class: "gnomon_phc_clock_class", help: "Disciplined PHC (phc section): "}
)

// engineDescs are one discipline's metrics.
type engineDescs struct {
	srcReachable, srcReach, srcOffset, srcDelay, srcJitter, srcStratum, srcSelected, srcState *prometheus.Desc
	srcPolls, srcTimeouts, srcReplies                                                         *prometheus.Desc
	clkFreq, clkOffset, clkRMS, clkErrBound, clkSteps, clkLeapSteps, clkUpdates, clkMode      *prometheus.Desc
	clkSkew, class, hoEntries, hoOutOfSpec, hoRecoveries                                      *prometheus.Desc
	discSamples, discDropped, discStraddled                                                   *prometheus.Desc
}

func newEngineDescs(n engineNames) engineDescs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, n.help+help, labels, nil)
	}
	src, clk, disc := n.source, n.clock, n.discipline
	e := engineDescs{
		srcReachable: d(src+"reachable",
			"1 if the source answered at least one of its last 8 polls (reachability register ≠ 0), else 0.", "source"),
		srcReach: d(src+"reach_register",
			"The source's reachability register (0-255; 255 = the last 8 polls answered).", "source"),
		srcOffset: d(src+"offset_seconds",
			"The source's clock-filter offset referred to now (reference − local clock).", "source"),
		srcDelay:   d(src+"delay_seconds", "Round-trip delay of the source's chosen sample.", "source"),
		srcJitter:  d(src+"jitter_seconds", "The source's clock-filter jitter.", "source"),
		srcStratum: d(src+"stratum", "Stratum of the source's last reply (0 if none).", "source"),
		srcSelected: d(src+"selected",
			"1 if the source is the system peer (chronyc '*'), else 0.", "source"),
		srcState: d(src+"state",
			"1 for the source's selection state (selected, combined, falseticker, ...), 0 for the others.", "source", "state"),

		clkFreq: d(clk+"frequency_adjustment_ratio",
			"Frequency correction applied to the disciplined clock (positive: faster), as a ratio (1e-6 = 1 ppm)."),
		clkOffset: d(clk+"offset_seconds",
			"Combined offset of the selected sources at the last clock update (reference − local, before the correction)."),
		clkRMS: d(clk+"rms_offset_seconds", "RMS of the offsets at the last 16 clock updates."),
		clkSkew: d(clk+"skew_ratio",
			"Estimated uncertainty of the clock's frequency estimate (chronyc tracking's skew), as a ratio."),
		clkErrBound: d(clk+"error_bound_seconds",
			"Bound on |disciplined clock − true time| at the scrape (+Inf when unsynchronised)."),
		clkSteps:     d(clk+"steps_total", "Steps of the disciplined clock by the makestep policy."),
		clkLeapSteps: d(clk+"leap_steps_total", "Leap seconds carried out on the disciplined clock."),
		clkUpdates:   d(clk+"updates_total", "Clock updates (servo decisions applied)."),
		clkMode: d(clk+"sync_mode",
			"1 for the discipline's current mode (unsynchronised, locking, locked, holdover, local), 0 for the others.", "mode"),
		class: d(n.class,
			"PTP clockClass of the discipline: 6 locked, 7 holdover within specification, the configured degraded class (52 by default) out of it, 248 locking or free-running."),
		hoEntries: d(clk+"holdover_entries_total", "Entries into holdover (no source selectable after lock)."),
		hoOutOfSpec: d(clk+"holdover_out_of_spec_total",
			"Holdovers that left their specification (clockClass 7 → the degraded class)."),
		hoRecoveries: d(clk+"holdover_recoveries_total",
			"Sources returning during holdover, by how the clock was brought back: slewed, or stepped (also counted in steps).", "recovery"),

		discSamples: d(disc+"samples_total", "Source samples handed to the discipline engine."),
		discDropped: d(disc+"samples_dropped_total",
			"Source samples dropped because the discipline goroutine's queue was full."),
		discStraddled: d(disc+"samples_straddled_total",
			"Source samples discarded because they were taken across a step of the clock."),
	}
	if n.polls {
		e.srcPolls = d(src+"polls_total", "Requests sent to the source.", "source")
		e.srcTimeouts = d(src+"timeouts_total", "Requests to the source still unanswered at the next poll.", "source")
		e.srcReplies = d(src+"replies_total",
			"Replies from the source by what the client did with them: accepted, or why not (malformed, bad_version, bad_mode, "+
				"bogus_origin, kod_rate, kod_deny, kod_other, bad_timestamps, unsynchronised, bad_header, duplicate, not_expected, demobilised).",
			"source", "verdict")
	}
	return e
}

func (e *engineDescs) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		e.srcReachable, e.srcReach, e.srcOffset, e.srcDelay, e.srcJitter, e.srcStratum, e.srcSelected, e.srcState,
		e.srcPolls, e.srcTimeouts, e.srcReplies,
		e.clkFreq, e.clkOffset, e.clkRMS, e.clkSkew, e.clkErrBound, e.clkSteps, e.clkLeapSteps, e.clkUpdates, e.clkMode,
		e.class, e.hoEntries, e.hoOutOfSpec, e.hoRecoveries,
		e.discSamples, e.discDropped, e.discStraddled,
	} {
		if d != nil {
			ch <- d
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// collect exports one discipline: its driver counters always, the rest
// once its engine has a snapshot.
func (e *engineDescs) collect(src Discipline, gauge func(*prometheus.Desc, float64, ...string),
	counter func(*prometheus.Desc, uint64, ...string)) {
	dst := src.DriverStats()
	counter(e.discSamples, dst.Samples)
	counter(e.discDropped, dst.Dropped)
	counter(e.discStraddled, dst.Straddled)
	tr, ok := src.Tracking()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sourceCountersTimeout)
	defer cancel()
	for _, s := range src.Sources(ctx) {
		gauge(e.srcReachable, b2f(s.Reach != 0), s.ID)
		gauge(e.srcReach, float64(s.Reach), s.ID)
		gauge(e.srcOffset, s.Offset.Seconds(), s.ID)
		gauge(e.srcDelay, s.Delay.Seconds(), s.ID)
		gauge(e.srcJitter, s.Jitter.Seconds(), s.ID)
		gauge(e.srcStratum, float64(s.Stratum), s.ID)
		gauge(e.srcSelected, b2f(s.State == report.StateSelected), s.ID)
		for k := range report.NumSourceStates {
			gauge(e.srcState, b2f(s.State == k), s.ID, k.String())
		}
		if s.PollsKnown && e.srcPolls != nil {
			counter(e.srcPolls, s.Polls, s.ID)
			counter(e.srcTimeouts, s.Timeouts, s.ID)
			for _, r := range s.Replies {
				counter(e.srcReplies, r.Count, s.ID, r.Verdict)
			}
		}
	}
	gauge(e.clkFreq, tr.FrequencyPPB*1e-9)
	gauge(e.clkOffset, tr.LastOffset.Seconds())
	gauge(e.clkRMS, tr.RMSOffset.Seconds())
	gauge(e.clkSkew, tr.SkewPPB*1e-9)
	eb := math.Inf(1)
	if tr.Synchronized {
		eb = tr.ErrorBound.Seconds()
	}
	gauge(e.clkErrBound, eb)
	counter(e.clkSteps, tr.Steps)
	counter(e.clkLeapSteps, tr.LeapSteps)
	counter(e.clkUpdates, tr.Updates)
	for m := range report.NumSyncModes {
		gauge(e.clkMode, b2f(tr.Mode == m), m.String())
	}
	gauge(e.class, float64(tr.ClockClass))
	counter(e.hoEntries, tr.HoldoverEntries)
	counter(e.hoOutOfSpec, tr.HoldoverOutOfSpecs)
	counter(e.hoRecoveries, tr.RecoveriesSlewed, "slew")
	counter(e.hoRecoveries, tr.RecoveriesStepped, "step")
}
