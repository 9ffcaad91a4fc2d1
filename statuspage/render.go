package statuspage

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"

	"github.com/gnomon-time/gnomon/report"
)

// Page is everything the status page shows; Render turns it into HTML.
type Page struct {
	// Version is gnomond's version.
	Version string
	// Now is the time the page is for, on the served clock: the chart's
	// right edge.
	Now time.Time
	// Served is what the servers send (ServedOK false while nothing is
	// published).
	Served   report.Served
	ServedOK bool
	// Disciplined: a discipline runs (clock.mode virtual, or system with
	// ntp sources). Without one, Tracking, Sources and History are not
	// shown.
	Disciplined bool
	// Tracking is the discipline's report (TrackingOK false before its
	// first snapshot); Sources its sources' rows.
	Tracking   report.Tracking
	TrackingOK bool
	Sources    []report.Source
	// History is the sampler's points, oldest first, one per Interval,
	// from a ring of HistorySize; the chart spans Window up to Now (less
	// while the history is shorter).
	History     []Point
	HistorySize int
	Interval    time.Duration
	Window      time.Duration
}

//go:embed page.html.tmpl
var pageSource string

// field is one labelled value; ID names it for tests and readers of the
// DOM.
type field struct {
	ID, Label, Value string
	// Class colours the value ("good", "warn", "bad", "" for none).
	Class string
}

// sourceRow is one row of the sources table.
type sourceRow struct {
	Char, ID, Mode, State, StateClass, Reason               string
	Stratum, Poll, Reach, LastRx, Offset, LastSample, Error string
	Delay, Jitter, Weight, Polls                            string
}

// view is what the template reads.
type view struct {
	Version, Now                string
	Mode, ModeClass, ModeNote   string
	Disciplined                 bool
	ServedOK, TrackingOK        bool
	Headline, Served, Tracking  []field
	Sources                     []sourceRow
	Chart                       chart
	Interval, Window, Retention string
}

// Render writes the page for p to w. It is a pure function of p.
func Render(w io.Writer, p Page) error {
	t, err := template.New("page").Parse(pageSource)
	if err != nil {
		return fmt.Errorf("statuspage: template: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, newView(p)); err != nil {
		return fmt.Errorf("statuspage: render: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// modeClass colours a sync mode.
func modeClass(m report.SyncMode) string {
	switch m {
	case report.SyncLocked:
		return "good"
	case report.SyncLocking, report.SyncHoldover, report.SyncLocal:
		return "warn"
	}
	return "bad"
}

func newView(p Page) view {
	v := view{Version: p.Version, Now: fmtTime(p.Now), Disciplined: p.Disciplined, ServedOK: p.ServedOK,
		TrackingOK: p.TrackingOK, Interval: fmtAgo(p.Interval), Window: fmtAgo(p.Window)}
	s, t := p.Served, p.Tracking
	switch {
	case !p.Disciplined:
		v.Mode, v.ModeClass = "no discipline", "warn"
		v.ModeNote = "No discipline runs (clock.mode none, or system without ntp sources): the host clock is served as it is, never steered."
	case !p.TrackingOK:
		v.Mode, v.ModeClass = "starting", "warn"
		v.ModeNote = "The discipline has not taken its first snapshot yet."
	default:
		v.Mode, v.ModeClass = t.Mode.String(), modeClass(t.Mode)
	}
	if p.ServedOK {
		v.Served = servedFields(s)
	}
	if p.Disciplined && p.TrackingOK {
		v.Tracking = trackingFields(t)
		v.Headline = []field{
			{ID: "h-offset", Label: "Offset", Value: fmtDur(t.LastOffset, true)},
			{ID: "h-error-bound", Label: "Error bound", Value: boundOf(t.Synchronized, t.ErrorBound)},
			{ID: "h-frequency", Label: "Frequency", Value: fmtPPM(t.FrequencyPPB, true)},
			{ID: "h-stratum", Label: "Stratum", Value: strconv.Itoa(int(t.Stratum))},
			{ID: "h-reference", Label: "Reference", Value: shortRefName(t), Class: "long"},
		}
	} else if p.ServedOK {
		v.Headline = []field{
			{ID: "h-error-bound", Label: "Error bound", Value: boundOf(s.Synchronized, s.ErrorBound)},
			{ID: "h-stratum", Label: "Stratum", Value: strconv.Itoa(int(s.Stratum))},
			{ID: "h-reference", Label: "Reference", Value: s.Source, Class: "long"},
		}
	}
	for _, r := range p.Sources {
		v.Sources = append(v.Sources, sourceRowOf(r))
	}
	if p.Disciplined {
		v.Chart = newChart(p.History, p.Now, p.Window, p.Interval)
		v.Retention = strconv.Itoa(p.HistorySize)
	}
	return v
}

// boundOf formats an error bound, "unknown" when unsynchronised.
func boundOf(sync bool, d time.Duration) string {
	if !sync {
		return "unknown (unsynchronised)"
	}
	return "±" + fmtDur(d, false)
}

// refName names the system peer: its name, with its address if that
// differs, or "none".
func refName(t report.Tracking) string {
	switch {
	case t.RefName == "" && t.Mode == report.SyncLocal:
		return "local"
	case t.RefName == "":
		return "none"
	case t.RefAddr.IsValid() && t.RefAddr.String() != t.RefName:
		return t.RefName + " (" + t.RefAddr.String() + ")"
	}
	return t.RefName
}

// shortRefName is refName without the address (for the headline card).
func shortRefName(t report.Tracking) string {
	if t.RefName != "" {
		return t.RefName
	}
	return refName(t)
}

func servedFields(s report.Served) []field {
	syncClass := "good"
	if !s.Synchronized {
		syncClass = "bad"
	}
	return []field{
		{ID: "served-synchronized", Label: "Synchronised", Value: fmtBool(s.Synchronized), Class: syncClass},
		{ID: "served-stratum", Label: "Stratum", Value: strconv.Itoa(int(s.Stratum))},
		{ID: "served-source", Label: "Source", Value: s.Source},
		{ID: "served-refid", Label: "Reference ID", Value: fmtRefID(s.RefID, s.Stratum)},
		{ID: "served-reftime", Label: "Reference time", Value: fmtTime(s.RefTime)},
		{ID: "served-root-delay", Label: "Root delay", Value: fmtDur(s.RootDelay, false)},
		{ID: "served-root-dispersion", Label: "Root dispersion", Value: fmtDur(s.RootDispersion, false)},
		{ID: "served-error-bound", Label: "Error bound", Value: boundOf(s.Synchronized, s.ErrorBound)},
		{ID: "served-leap", Label: "Leap", Value: s.Leap.String()},
		{ID: "served-precision", Label: "Precision", Value: fmt.Sprintf("2^%d s (%s)", s.Precision,
			fmtSeconds(pow2(s.Precision), false))},
	}
}

func pow2(e int8) float64 {
	v := 1.0
	for ; e < 0; e++ {
		v /= 2
	}
	for ; e > 0; e-- {
		v *= 2
	}
	return v
}

func trackingFields(t report.Tracking) []field {
	servo := t.Servo
	if t.ServoLocked {
		servo += " (locked)"
	} else {
		servo += " (not locked)"
	}
	steps := strconv.FormatUint(t.Steps, 10)
	if t.Steps > 0 {
		steps += " (last " + fmtDur(t.LastStep, true) + ")"
	}
	return []field{
		{ID: "sync-mode", Label: "Sync mode", Value: t.Mode.String(), Class: modeClass(t.Mode)},
		{ID: "stratum", Label: "Stratum", Value: strconv.Itoa(int(t.Stratum))},
		{ID: "reference", Label: "Reference", Value: refName(t)},
		{ID: "refid", Label: "Reference ID", Value: fmtRefID(t.RefID, t.Stratum)},
		{ID: "reftime", Label: "Reference time", Value: fmtTime(t.RefTime)},
		{ID: "offset", Label: "Last offset", Value: fmtDur(t.LastOffset, true)},
		{ID: "rms-offset", Label: "RMS offset", Value: fmtDur(t.RMSOffset, false)},
		{ID: "frequency", Label: "Frequency correction", Value: fmtPPM(t.FrequencyPPB, true)},
		{ID: "freq-estimate", Label: "Oscillator estimate", Value: fmtPPM(t.FreqEstimatePPB, true) +
			" ± " + fmtPPM(t.SkewPPB, false)},
		{ID: "error-bound", Label: "Error bound", Value: boundOf(t.Synchronized, t.ErrorBound)},
		{ID: "dispersion-rate", Label: "Bound growth", Value: fmtPPM(t.DispersionRate*1e9, false)},
		{ID: "root-delay", Label: "Root delay", Value: fmtDur(t.RootDelay, false)},
		{ID: "root-dispersion", Label: "Root dispersion", Value: fmtDur(t.RootDispersion, false)},
		{ID: "update-interval", Label: "Update interval", Value: fmtDur(t.UpdateInterval, false)},
		{ID: "leap", Label: "Leap", Value: t.Leap.String()},
		{ID: "servo", Label: "Servo", Value: servo},
		{ID: "updates", Label: "Clock updates", Value: strconv.FormatUint(t.Updates, 10)},
		{ID: "steps", Label: "Steps", Value: steps},
	}
}

// stateClass colours a source state.
func stateClass(s report.SourceState) string {
	switch s {
	case report.StateSelected, report.StateCombined:
		return "good"
	case report.StateSelectable:
		return ""
	case report.StateJittery:
		return "warn"
	}
	return "bad"
}

func sourceRowOf(s report.Source) sourceRow {
	r := sourceRow{Char: string([]byte{s.Mode.Char(), s.State.Char()}), ID: s.ID, Mode: s.Mode.String(),
		State: s.State.String(), StateClass: stateClass(s.State), Reason: s.Reason,
		Stratum: strconv.Itoa(int(s.Stratum)), Poll: strconv.Itoa(int(s.Poll)),
		Reach: strconv.FormatUint(uint64(s.Reach), 8), LastRx: "never",
		Offset: "–", Error: "–", Delay: "–", Jitter: "–",
		Weight: strconv.FormatFloat(s.Weight, 'f', 2, 64), Polls: "–"}
	if s.Addr.IsValid() && s.Addr.String() != s.ID {
		r.ID += " (" + s.Addr.String() + ")"
	}
	if s.Sampled {
		r.LastRx = fmtDur(s.LastRxAgo, false) + " ago"
	}
	if s.Usable {
		r.Offset = fmtDur(s.Offset, true)
		r.Error = "±" + fmtDur(s.Error, false)
		r.Delay = fmtDur(s.Delay, false)
		r.Jitter = fmtDur(s.Jitter, false)
	}
	if s.PollsKnown {
		r.Polls = strconv.FormatUint(s.Polls, 10) + " / " + strconv.FormatUint(s.Timeouts, 10)
	}
	return r
}
