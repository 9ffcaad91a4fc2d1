package engine

import (
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/selection"
	"github.com/gnomon-time/gnomon/clock/servo"
	"github.com/gnomon-time/gnomon/report"
)

// This file fills package report's structs from the published snapshots
// (Status, clock.SyncState). It reads nothing but a snapshot, so every
// function here is safe from any goroutine. Times passed as now are on the
// served clock (Engine.Served().Now(), what servers read).

// ServedReport is what st promises at now: its root dispersion and error
// bound grown to now (ErrorBoundAt). ok is false for a nil st (nothing
// published yet).
func ServedReport(st *clock.SyncState, now time.Time) (r report.Served, ok bool) {
	if st == nil {
		return report.Served{}, false
	}
	return report.Served{
		At: now, Synchronized: st.Synchronized, Leap: st.Leap, Stratum: st.Stratum,
		RefID: st.RefID, RefTime: st.RefTime,
		RootDelay: st.RootDelay, RootDispersion: st.RootDispersionAt(now),
		ErrorBound: ErrorBoundAt(st, now), Precision: st.Precision, Source: st.Source,
		Disrupted: st.Disrupted,
	}, true
}

// syncState is the part of the published SyncState that s carries, for
// growing dispersion and error bound with the clock package's and
// ErrorBoundAt's formulas.
func (s *Status) syncState() clock.SyncState {
	return clock.SyncState{
		Synchronized: s.Mode != ModeUnsynchronised, RefTime: s.RefTime,
		RootDispersion: s.RootDispersion, DispersionRate: s.DispersionRate, ErrorBound: s.ErrorBound,
	}
}

// TrackingReport returns chronyc tracking's report: s with its root dispersion
// and error bound grown to now.
func (s *Status) TrackingReport(now time.Time) report.Tracking {
	ss := s.syncState()
	t := report.Tracking{
		At: now, Mode: syncMode(s.Mode), Synchronized: ss.Synchronized,
		RefID: s.RefID, RefName: s.Peer, Stratum: s.Stratum, RefTime: s.RefTime,
		LastOffset: s.LastOffset, RMSOffset: s.RMSOffset,
		SystemTimeOffset: systemTimeOffset(s.LastOffset, ss.Synchronized),
		FrequencyPPB:     s.FrequencyPPB, FreqEstimatePPB: s.FreqEstimatePPB, SkewPPB: s.SkewPPB,
		RootDelay: s.RootDelay, RootDispersion: ss.RootDispersionAt(now),
		UpdateInterval: s.UpdateInterval, Leap: s.Leap,
		ErrorBound: ErrorBoundAt(&ss, now), DispersionRate: s.DispersionRate,
		Servo: s.Servo, ServoLocked: s.ServoState == servo.StateLocked,
		Updates: s.Updates, Steps: s.Steps, LastStep: s.LastStep, LeapSteps: s.LeapSteps, Discarded: s.Discarded,
		ClockClass: s.ClockClass, HoldoverOutOfSpec: s.HoldoverOutOfSpec,
		HoldoverEntries: s.HoldoverEntries, HoldoverOutOfSpecs: s.HoldoverOutOfSpecs,
		RecoveriesSlewed: s.RecoveriesSlewed, RecoveriesStepped: s.RecoveriesStepped,
		Disrupted: s.Disrupted, Disruptions: s.Disruptions,
	}
	for i := range s.Sources {
		if p := &s.Sources[i]; s.Peer != "" && p.ID == s.Peer {
			t.RefAddr = p.Addr
			if p.NP >= minRegressionSamples {
				t.ResidualFreqPPB = p.ResidFreqPPB
			}
			break
		}
	}
	return t
}

// minRegressionSamples is the history sampleHist.regression needs.
const minRegressionSamples = 3

// SourcesReport returns one chronyc sources row per source: an NTP server
// (report.SourceServer), or a reference clock when it has a RefClockID. LastRxAgo is measured from
// the sample's local time, so a leap smear in progress (at most 1 s) is
// not taken out of it.
func (s *Status) SourcesReport(now time.Time) []report.Source {
	out := make([]report.Source, len(s.Sources))
	for i := range s.Sources {
		src := &s.Sources[i]
		ago, sampled := since(now, src.LastSample.Local)
		out[i] = report.Source{
			ID: src.ID, Addr: src.Addr, Mode: report.SourceServer,
			State: sourceState(src.State), Reason: src.Reason.String(), Usable: src.Usable,
			Stratum: src.Stratum, RefID: src.RefID, Leap: src.Leap,
			RootDelay: src.RootDelay, RootDispersion: src.RootDispersion,
			Poll: src.Poll, Reach: src.Reach, LastRxAgo: ago, Sampled: sampled,
			Offset: src.Offset, LastSampleOffset: src.LastSample.Offset, Error: src.Distance,
			Delay: src.Delay, Dispersion: src.Dispersion, Jitter: src.Jitter,
			Distance: src.Distance, Weight: src.Weight,
		}
		if src.RefClockID != 0 {
			// A reference clock (PHC, PPS, GNSS): chronyc's '#', named by
			// its reference ID.
			out[i].Mode, out[i].RefID = report.SourceRefClock, src.RefClockID
		}
	}
	return out
}

// SourceStatsReport returns one chronyc sourcestats row per source.
func (s *Status) SourceStatsReport() []report.SourceStats {
	out := make([]report.SourceStats, len(s.Sources))
	for i := range s.Sources {
		src := &s.Sources[i]
		r := report.SourceStats{ID: src.ID, Addr: src.Addr, Samples: src.NP}
		if src.NP >= minRegressionSamples {
			r.Fitted = true
			r.ResidFreqPPB, r.SkewPPB, r.Offset, r.StdDev = src.ResidFreqPPB, src.SkewPPB, src.EstOffset, src.StdDev
		}
		out[i] = r
	}
	return out
}

// SelectDataReport returns one chronyc selectdata row per source, with its
// selection options (configured and effective: the same, since nothing
// changes them at run time).
func (s *Status) SelectDataReport(now time.Time) []report.SelectData {
	out := make([]report.SelectData, len(s.Sources))
	for i := range s.Sources {
		src := &s.Sources[i]
		ago, sampled := since(now, src.LastSample.Local)
		out[i] = report.SelectData{
			ID: src.ID, Addr: src.Addr, StateChar: stateChar(src.State, src.Reason),
			State: sourceState(src.State), Reason: src.Reason.String(), Leap: src.Leap,
			LastSampleAgo: ago, Sampled: sampled, Distance: src.Distance, Weight: src.Weight,
			Lo: src.Offset - src.Distance, Hi: src.Offset + src.Distance,
		}
		o := report.SelectOptions{NoSelect: src.Options.NoSelect, Prefer: src.Options.Prefer,
			Trust: src.Options.Trust, Require: src.Options.Require}
		out[i].Options, out[i].EffectiveOptions = o, o
	}
	return out
}

// since returns now − t, never negative; ok is false for a zero t.
func since(now, t time.Time) (time.Duration, bool) {
	if t.IsZero() {
		return 0, false
	}
	return max(now.Sub(t), 0), true
}

// stateChar is chronyc selectdata's state letter.
func stateChar(st selection.State, r selection.Reason) byte {
	switch st {
	case selection.Selected, selection.Combined:
		return st.Char()
	}
	return r.Char()
}

// syncMode maps the engine's mode to the report's.
func syncMode(m Mode) report.SyncMode {
	switch m {
	case ModeLocked:
		return report.SyncLocked
	case ModeLocking:
		return report.SyncLocking
	case ModeHoldover:
		return report.SyncHoldover
	case ModeLocal:
		return report.SyncLocal
	}
	return report.SyncUnsynchronised
}

// sourceState maps a selection state to the report's.
func sourceState(s selection.State) report.SourceState {
	switch s {
	case selection.Falseticker:
		return report.StateFalseticker
	case selection.Jittery:
		return report.StateJittery
	case selection.Selectable:
		return report.StateSelectable
	case selection.Combined:
		return report.StateCombined
	case selection.Selected:
		return report.StateSelected
	}
	return report.StateUnusable
}

// systemTimeOffset is tracking's SystemTimeOffset for the served clock:
// the offset measured at the last update, all of it taken as still to be
// corrected (the engine steers by frequency and keeps no account of how
// much of it the slew has removed; the error bound counts it whole too).
func systemTimeOffset(last time.Duration, synced bool) time.Duration {
	if !synced {
		return 0
	}
	return last
}
