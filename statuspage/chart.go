package statuspage

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Chart geometry (SVG user units; the SVG scales to the page width).
const (
	chartW      = 1100.0
	chartH      = 340.0
	plotLeft    = 78.0
	plotRight   = chartW - 16
	plotTop     = 16.0
	plotBottom  = chartH - 44
	unsyncBandH = 8.0 // height of the unsynchronised marks under the plot
)

// chart is the SVG chart of a history, ready for the template: every
// coordinate is formatted here, so the template only places strings.
type chart struct {
	W, H                 string
	Left, Right          string
	Top, Bottom, Mid     string
	PlotW, PlotH         string
	CenterX              string
	LabelX, LabelY       string
	UnsyncY, UnsyncH     string
	Bands                []string // polygon points, one per synchronised run
	Upper, Lower, Offset []string // path data, one per synchronised run
	Unsync               []string // x of each unsynchronised sample
	YTicks, XTicks       []tick
	// Samples are the points drawn (Synced of them synchronised); Skipped
	// the points of the history outside the window.
	Samples, Synced, Skipped int
	// Scale is the y axis' half range, formatted; Span the time axis'.
	Scale, Span string
}

// tick is one axis label at a position (x or y, formatted).
type tick struct {
	Pos   string
	Label string
}

// num formats a coordinate with 0.1 unit resolution.
func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// niceCeil returns the smallest of 1, 2, 5 × 10^k not below v (v > 0).
func niceCeil(v float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v*(1-1e-12) {
			return m * e
		}
	}
	return 10 * e
}

// newChart lays out pts (oldest first) over the window ending at now.
// Points older than the window, or more than slack after now, are skipped.
func newChart(pts []Point, now time.Time, window, slack time.Duration) chart {
	c := chart{W: num(chartW), H: num(chartH), Left: num(plotLeft), Right: num(plotRight), Top: num(plotTop),
		Bottom: num(plotBottom), Mid: num((plotTop + plotBottom) / 2),
		PlotW: num(plotRight - plotLeft), PlotH: num(plotBottom - plotTop), CenterX: num((plotLeft + plotRight) / 2),
		LabelX: num(plotLeft - 8), LabelY: num(chartH - 14),
		UnsyncY: num(plotBottom + 2), UnsyncH: num(unsyncBandH)}
	var in []Point
	for _, p := range pts {
		if p.At.Before(now.Add(-window)) || p.At.After(now.Add(slack)) {
			c.Skipped++
			continue
		}
		in = append(in, p)
	}
	c.Samples = len(in)
	// A history shorter than the window is drawn over the shortest of
	// spanSteps that holds it, so the first minutes are not a sliver.
	span := window
	if len(in) > 0 {
		for _, s := range []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
			15 * time.Minute, 30 * time.Minute} {
			if s < window && !in[0].At.Before(now.Add(-s)) {
				span = s
				break
			}
		}
	}
	c.Span = fmtAgo(span)
	start := now.Add(-span)
	window = span
	// The y scale: symmetric, covering every offset and bound drawn.
	peak := 0.0
	for _, p := range in {
		if p.Synchronized {
			c.Synced++
			peak = max(peak, math.Abs(p.Offset.Seconds()), p.ErrorBound.Seconds())
		}
	}
	if peak <= 0 {
		peak = 1e-6
	}
	scale := niceCeil(peak * 1.05)
	c.Scale = fmtSeconds(scale, false)
	plotH := plotBottom - plotTop
	y := func(s float64) float64 {
		return (plotTop+plotBottom)/2 - math.Max(-1, math.Min(1, s/scale))*plotH/2
	}
	x := func(t time.Time) float64 {
		f := float64(t.Sub(start)) / float64(window)
		return plotLeft + math.Max(0, math.Min(1, f))*(plotRight-plotLeft)
	}
	for _, f := range []float64{1, 0.5, 0, -0.5, -1} {
		c.YTicks = append(c.YTicks, tick{Pos: num(y(f * scale)), Label: fmtSeconds(f*scale, true)})
	}
	for i := 0; i <= 4; i++ {
		ago := window * time.Duration(4-i) / 4
		label := "now"
		if ago > 0 {
			label = "−" + fmtAgo(ago)
		}
		c.XTicks = append(c.XTicks, tick{Pos: num(x(now.Add(-ago))), Label: label})
	}
	// Synchronised runs: a band ±bound, the bound's edges and the offset.
	var run []Point
	flush := func() {
		if len(run) == 0 {
			return
		}
		var up, lo, off, band strings.Builder
		path := func(b *strings.Builder, i int, xv, yv float64) {
			if i == 0 {
				b.WriteString("M")
			} else {
				b.WriteString("L")
			}
			b.WriteString(num(xv) + " " + num(yv))
		}
		for i, p := range run {
			xv := x(p.At)
			eb := p.ErrorBound.Seconds()
			path(&up, i, xv, y(eb))
			path(&lo, i, xv, y(-eb))
			path(&off, i, xv, y(p.Offset.Seconds()))
			band.WriteString(num(xv) + "," + num(y(eb)) + " ")
		}
		for i := len(run) - 1; i >= 0; i-- {
			band.WriteString(num(x(run[i].At)) + "," + num(y(-run[i].ErrorBound.Seconds())))
			if i > 0 {
				band.WriteString(" ")
			}
		}
		// A run of one point is drawn as a dot (round caps on a
		// zero-length segment).
		dot := ""
		if len(run) == 1 {
			dot = "h0"
		}
		c.Upper = append(c.Upper, up.String()+dot)
		c.Lower = append(c.Lower, lo.String()+dot)
		c.Offset = append(c.Offset, off.String()+dot)
		c.Bands = append(c.Bands, band.String())
		run = run[:0]
	}
	for _, p := range in {
		if !p.Synchronized {
			flush()
			c.Unsync = append(c.Unsync, num(x(p.At)))
			continue
		}
		run = append(run, p)
	}
	flush()
	return c
}

// fmtAgo formats a whole-minute (or whole-second) span for the time axis.
func fmtAgo(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " s"
}
