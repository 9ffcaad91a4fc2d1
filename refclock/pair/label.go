package pair

import (
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Label is the UTC second that began at an edge. time.Time cannot name an
// inserted leap second, so 23:59:60 is UTC = 23:59:59 of that day with
// Second60 set; every other label has Second60 false.
type Label struct {
	UTC      time.Time
	Second60 bool
}

// String formats l as RFC 3339 in UTC, 23:59:60 included.
func (l Label) String() string {
	if !l.Second60 {
		return l.UTC.UTC().Format(time.RFC3339)
	}
	return l.UTC.UTC().Format("2006-01-02T15:04:") + "60Z"
}

// label is a Label as arithmetic: unix is the POSIX second (for 23:59:60
// the second of 23:59:59, which the kernel repeats during an insertion).
type label struct {
	unix int64
	s60  bool
}

func (l label) export() Label { return Label{UTC: time.Unix(l.unix, 0).UTC(), Second60: l.s60} }

const secondsPerDay = 86400

// monthStart reports whether POSIX second u is 00:00:00 UTC on the first
// day of a month: the only instants a leap second precedes. Receivers
// announce a leap for the end of the current month (refclock.TimeOfDay);
// any month is honoured, not only June and December, because a leap that
// happened where we did not expect one would mislabel a second, while one
// expected in vain only costs a restart of the chain.
func monthStart(u int64) bool {
	if u%secondsPerDay != 0 {
		return false
	}
	return time.Unix(u, 0).UTC().Day() == 1
}

// next returns the label one second after l when leap is announced for the
// end of l's month, and the change of TAI − UTC on the way (+1 when l is
// 23:59:60, −1 across a deleted 23:59:59).
func next(l label, leap clock.Leap) (label, int) {
	switch {
	case l.s60:
		return label{unix: l.unix + 1}, 1
	case leap == clock.LeapInsert && monthStart(l.unix+1):
		return label{unix: l.unix, s60: true}, 0
	case leap == clock.LeapDelete && monthStart(l.unix+2):
		return label{unix: l.unix + 2}, -1
	}
	return label{unix: l.unix + 1}, 0
}

// prev is the inverse of next.
func prev(l label, leap clock.Leap) label {
	switch {
	case l.s60:
		return label{unix: l.unix}
	case leap == clock.LeapInsert && monthStart(l.unix):
		return label{unix: l.unix - 1, s60: true}
	case leap == clock.LeapDelete && monthStart(l.unix):
		return label{unix: l.unix - 2}
	}
	return label{unix: l.unix - 1}
}

// advance moves l by n seconds (n ≥ 0) and sums the changes of TAI − UTC.
func advance(l label, n int, leap clock.Leap) (label, int) {
	dtai := 0
	for range n {
		var d int
		l, d = next(l, leap)
		dtai += d
	}
	return l, dtai
}

// shift moves l by k ∈ {−1, 0, +1} seconds.
func shift(l label, k int, leap clock.Leap) label {
	switch {
	case k > 0:
		l, _ = next(l, leap)
	case k < 0:
		l = prev(l, leap)
	}
	return l
}

// reads reports whether a receiver's whole-second reading u (POSIX
// seconds of the UTC it printed) names l. 23:59:60 reaches us in one of
// two forms, both accepted: normalised to 00:00:00 of the next day (what
// time.Date does with second 60) or clamped to a repeated 23:59:59.
func reads(u int64, l label) bool {
	if l.s60 {
		return u == l.unix || u == l.unix+1
	}
	return u == l.unix
}

// nearLeap reports whether u is within two seconds of a month's start, where
// a reading alone cannot tell 23:59:60 from 00:00:00.
func nearLeap(u int64) bool {
	for d := int64(-2); d <= 2; d++ {
		if monthStart(u + d) {
			return true
		}
	}
	return false
}
