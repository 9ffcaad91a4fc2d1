package pair

import "strconv"

// Verdict says what the Pairer decided about one input: every edge and
// every report gets exactly one. The String values are snake_case and
// serve as metric labels and log attributes. Edge verdicts come first;
// Verdict.Edge tells them apart from report verdicts.
type Verdict uint8

const (
	// VerdictAccepted: the edge has a label that its chain corroborates;
	// Outcome.Offset is valid. The only verdict that yields a sample.
	VerdictAccepted Verdict = iota
	// VerdictUnconfirmed: the edge's label is plausible but its chain of
	// consecutive consistent labels is shorter than Config.Confirm (a
	// start, a restart after a break, or a chain that may not start next
	// to an announced leap).
	VerdictUnconfirmed
	// VerdictLeapSecond: the edge began the inserted second 23:59:60 and
	// the offset is on the UTC timescale, where no reading names that
	// second unambiguously (a kernel clock repeats 23:59:59 only if it
	// inserted the leap itself). The label keeps the chain; no sample.
	VerdictLeapSecond
	// VerdictNoReport: no report arrived in the edge's window.
	VerdictNoReport
	// VerdictAmbiguous: two or more reports with different times (or
	// validity) arrived in the edge's window.
	VerdictAmbiguous
	// VerdictInvalidFix: the one report in the window has no valid time
	// (Valid false, fix none, or no time at all).
	VerdictInvalidFix
	// VerdictFractionalLabel: the report's UTC is not a whole second. It
	// is never rounded.
	VerdictFractionalLabel
	// VerdictLabelJump: the label does not follow the chain's last label
	// by the number of seconds elapsed (one for consecutive edges, leap
	// seconds counted); the chain restarts at this edge.
	VerdictLabelJump
	// VerdictIntervalMismatch: the edge's Seq went back since the chain's
	// last label, or advanced by n while its realtime advanced by a
	// different number of seconds (pulses the device missed without
	// counting them, a device reset, a step of the realtime clock); a new
	// chain starts here.
	VerdictIntervalMismatch
	// VerdictNoTAIOffset: the offset is on TAI but neither the
	// configuration nor the receiver has given TAI − UTC yet.
	VerdictNoTAIOffset
	// VerdictStaleEdge: the edge arrived out of order (not after the
	// previous edge) or so late that reports of its window were already
	// settled.
	VerdictStaleEdge

	// VerdictPaired: the report was the one report of an edge's window,
	// or the first of several (the edge's verdict says what became of
	// it).
	VerdictPaired
	// VerdictDuplicate: a further report in an edge's window with the same
	// time and validity as the first (two sentences of one epoch); it
	// adds nothing and is not an ambiguity.
	VerdictDuplicate
	// VerdictOrphan: the report fell in no edge's window (no pulse, a
	// pulled PPS cable, or a report before the first edge).
	VerdictOrphan
	// VerdictStaleReport: the report is older than the settled windows
	// (it arrived more than Config.Grace after it was received) or older
	// than the previous report.
	VerdictStaleReport

	// VerdictOverflow: the edge or report found the pending buffer full
	// (a flood of edges or reports) and was dropped.
	VerdictOverflow

	// NumVerdicts is the number of verdicts, for counter arrays indexed by
	// Verdict.
	NumVerdicts int = iota
)

// String returns the snake_case name of v.
func (v Verdict) String() string {
	switch v {
	case VerdictAccepted:
		return "accepted"
	case VerdictUnconfirmed:
		return "unconfirmed"
	case VerdictLeapSecond:
		return "leap_second"
	case VerdictNoReport:
		return "no_report"
	case VerdictAmbiguous:
		return "ambiguous"
	case VerdictInvalidFix:
		return "invalid_fix"
	case VerdictFractionalLabel:
		return "fractional_label"
	case VerdictLabelJump:
		return "label_jump"
	case VerdictIntervalMismatch:
		return "interval_mismatch"
	case VerdictNoTAIOffset:
		return "no_tai_offset"
	case VerdictStaleEdge:
		return "stale_edge"
	case VerdictPaired:
		return "paired"
	case VerdictDuplicate:
		return "duplicate"
	case VerdictOrphan:
		return "orphan"
	case VerdictStaleReport:
		return "stale_report"
	case VerdictOverflow:
		return "overflow"
	}
	return "verdict_" + strconv.Itoa(int(v))
}

// Edge reports whether v is a verdict about an edge (VerdictOverflow
// concerns either kind and counts as neither).
func (v Verdict) Edge() bool { return v <= VerdictStaleEdge }

// Report reports whether v is a verdict about a time-of-day report.
func (v Verdict) Report() bool { return v >= VerdictPaired && v <= VerdictStaleReport }

// Counts are the number of outcomes per verdict since New, indexed by
// Verdict.
type Counts [NumVerdicts]uint64

// String lists the nonzero counts as "verdict=n", for logs and tests.
func (c Counts) String() string {
	var b []byte
	for v, n := range c {
		if n == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, Verdict(v).String()...)
		b = append(b, '=')
		b = strconv.AppendUint(b, n, 10)
	}
	return string(b)
}
