package leap

import (
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Vote decides the leap indicator gnomon announces at now from the leap
// indicators of its sources and an optional leap table.
//
// sourceLeaps are the indicators of the sources that may vote: the
// truechimers of the last selection (or just the selection's own majority,
// selection.Result.Leap, as a one-element slice). LeapUnsync entries do
// not vote.
//
// Rules, in order:
//
//  1. Nothing is announced outside the last UTC day of June or December
//     (now in [At − 24 h, At) for At = July 1 or January 1). Sources that
//     announce on other days, or for other months, are ignored: gpsd does
//     the same with receiver announcements (timehint.c), chrony with
//     everything (is_leap_second_day), and RFC 5905 defines LI for the
//     current day only.
//  2. A table with a known expiry that has not expired is authoritative:
//     its answer (LeapAt) is returned even against a source majority, in
//     both directions. Reasoning: the IERS list is the primary statement of
//     Bulletin C, its expiry is chosen so that it covers only dates on which
//     IERS has already decided, and its hash has been verified; whereas
//     wrong LI from upstream servers and GPS receivers is a recorded
//     failure mode. chrony lets the table only add a leap the sources miss
//     (`leapsectz`/`leapseclist`), which protects against late announcers
//     but not against false ones; a verified unexpired table does both.
//  3. Otherwise the sources decide by strict majority of the voters (more
//     than half announce insert, or more than half announce delete), as in
//     chrony's source selection.
//  4. A table without a known expiry (TZif versions 1–3) cannot tell an
//     unannounced leap from an outdated file, so it may only add a leap when
//     the sources announce none (chrony's rule for leapsectz). An expired
//     table is ignored.
//
// The result is LeapNone, LeapInsert or LeapDelete; whether the clock is
// synchronised (LeapUnsync) is the engine's business, not this function's.
func Vote(sourceLeaps []clock.Leap, table *Table, now time.Time) clock.Leap {
	if !leapDay(now) {
		return clock.LeapNone
	}
	if table != nil && !table.Expires().IsZero() && !table.Expired(now) {
		l, _ := table.LeapAt(now)
		return l
	}
	var voters, ins, del int
	for _, l := range sourceLeaps {
		switch l {
		case clock.LeapNone:
			voters++
		case clock.LeapInsert:
			voters++
			ins++
		case clock.LeapDelete:
			voters++
			del++
		}
	}
	switch {
	case 2*ins > voters:
		return clock.LeapInsert
	case 2*del > voters:
		return clock.LeapDelete
	}
	if table != nil && table.Expires().IsZero() {
		l, _ := table.LeapAt(now)
		return l
	}
	return clock.LeapNone
}

// leapDay reports whether t (UTC) is on June 30 or December 31.
func leapDay(t time.Time) bool {
	u := t.UTC()
	return (u.Month() == time.June && u.Day() == 30) || (u.Month() == time.December && u.Day() == 31)
}

// Linux adjtimex status bits for leap seconds (include/uapi/linux/timex.h;
// golang.org/x/sys/unix.STA_INS and STA_DEL).
const (
	StaINS = 0x0010 // insert a leap second at the end of the current UTC day
	StaDEL = 0x0020 // delete a leap second at the end of the current UTC day
)

// KernelStatus returns the adjtimex status bits (StaINS or StaDEL, or 0)
// that arm the kernel for leap. It performs no system call.
//
// Only the system-clock steering may use it, and only when gnomond steers
// CLOCK_REALTIME and is not smearing: the kernel then inserts 23:59:60 (or
// skips 23:59:59) at the next UTC midnight of CLOCK_REALTIME, so the bits
// must be set only on the last day (what Vote returns guarantees that) and
// cleared (status &^ (StaINS|StaDEL)) as soon as the announcement goes
// away, or the kernel leaps at the wrong midnight. Write the status with
// ADJ_STATUS preserving the other bits: facebook/time's clock.SetSync
// zeroes the whole status and so clears an armed leap.
func KernelStatus(l clock.Leap) int {
	switch l {
	case clock.LeapInsert:
		return StaINS
	case clock.LeapDelete:
		return StaDEL
	}
	return 0
}
