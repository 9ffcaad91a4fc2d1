package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gnomon-time/gnomon/cmdmon/chronyfmt"
	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// watchState is what one frame of gnomonctl watch shows: the latest
// replies (or the error that replaced them) and the history of offset and
// error bound, oldest first.
type watchState struct {
	host     string
	interval time.Duration
	at       time.Time
	err      error
	tracking wire.Tracking
	sources  []wire.SourceData
	offsets  []float64 // tracking's last offset, seconds (local − reference)
	bounds   []float64 // |last offset| + root dispersion + root delay / 2, seconds
}

// errorBound is the bound ClockBound derives from chronyd's tracking report:
// |last offset| + root dispersion + root delay / 2 (gnomond's own error
// bound is the same quantity, grown to the report's time).
func errorBound(t wire.Tracking) float64 {
	return math.Abs(t.LastOffset) + t.RootDispersion + t.RootDelay/2
}

// push appends a sample, keeping at most n.
func push(h []float64, v float64, n int) []float64 {
	h = append(h, v)
	if len(h) > n {
		h = h[len(h)-n:]
	}
	return h
}

var sparks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws v scaled to the min … max of its finite values (a
// constant series is a flat line at the bottom; a NaN or infinity is a
// space).
func sparkline(v []float64) string {
	lo, hi := minMax(v)
	var b strings.Builder
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			b.WriteRune(' ')
			continue
		}
		i := 0
		if hi > lo {
			i = int(math.Round((x - lo) / (hi - lo) * float64(len(sparks)-1)))
			i = min(max(i, 0), len(sparks)-1)
		}
		b.WriteRune(sparks[i])
	}
	return b.String()
}

// minMax is the range of v's finite values (+Inf, -Inf when there are
// none).
func minMax(v []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	return lo, hi
}

// sparkLabels is the width of a sparkline row without its sparkline:
// "Last offset  " before it, "  -3000ns … -1000ns" after it.
const sparkLabels = 13 + 2 + 7 + 3 + 7

// renderWatch draws one frame: a header, chronyc's tracking block and
// sources table, and the two sparklines with their ranges in chronyc's
// units.
func renderWatch(s *watchState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gnomonctl watch %s — every %v — %s\n\n", s.host, s.interval, s.at.UTC().Format("2006-01-02 15:04:05 UTC"))
	if s.err != nil {
		fmt.Fprintf(&b, "%v (retrying; history kept)\n\n", s.err)
	} else {
		_ = chronyfmt.WriteTracking(&b, s.tracking)
		b.WriteString("\n" + chronyfmt.SourcesHeader)
		for _, d := range s.sources {
			if !chronyfmt.SkipUnresolved(d.Addr, false) {
				b.WriteString(chronyfmt.SourceRow(d))
			}
		}
		b.WriteString("\n")
	}
	if len(s.offsets) > 0 {
		lo, hi := minMax(s.offsets)
		fmt.Fprintf(&b, "Last offset  %s  %s … %s\n", sparkline(s.offsets), chronyfmt.SignedOffset(lo), chronyfmt.SignedOffset(hi))
		lo, hi = minMax(s.bounds)
		fmt.Fprintf(&b, "Error bound  %s  %s … %s\n", sparkline(s.bounds), chronyfmt.Offset(lo), chronyfmt.Offset(hi))
		fmt.Fprintf(&b, "(%d samples; offset: local − reference; error bound: |offset| + root dispersion + root delay/2)\n", len(s.offsets))
	}
	return b.String()
}
