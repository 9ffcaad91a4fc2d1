package nmea

import (
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

// Decoder turns the sentences of a receiver's epochs into one
// refclock.TimeOfDay per epoch. It is sans-IO: the caller feeds lines and
// their arrival times. The zero value is ready; a Decoder is not safe for
// concurrent use.
//
// An epoch is the burst of sentences a receiver sends for one time label.
// The Decoder groups the time-bearing sentences (RMC, ZDA, GGA) by their
// time-of-day label; others are checked and otherwise ignored. It reports
// an epoch as soon as it holds every kind of time-bearing sentence the
// previous epoch held (the receiver's cycle, learnt as gpsd learns it), or
// else when a sentence with another label arrives, or when the caller calls
// Flush (the serial reader does after a quiet gap in the byte stream). A
// sentence carrying the label of the epoch just reported is a straggler: it
// joins the learnt cycle and is otherwise dropped. The first epoch after a
// start is reported only at the next label or a Flush.
//
// An epoch needs a date (RMC or ZDA) to be reported; one without (a
// GGA-only receiver, an RMC before the receiver knows the date) is dropped
// and counted in Counts().NoDate.
type Decoder struct {
	cur     pending
	last    Time // label of the epoch last closed
	hasLast bool
	cycle   uint8 // kinds (bit 1<<Kind) of the epoch last closed
	counts  DecoderCounts
}

// DecoderCounts are what a Decoder did since it was made.
type DecoderCounts struct {
	Sentences  uint64 // lines that parsed
	Rejected   [NumReasons]uint64
	Epochs     uint64 // epochs closed
	Reports    uint64 // epochs reported
	NoDate     uint64 // epochs dropped for lack of a date
	Stragglers uint64 // sentences of an epoch already closed
}

type pending struct {
	open     bool
	label    Time
	received time.Time
	kinds    uint8
	date     Date
	hasDate  bool
	dateZDA  bool
	rmc      Sentence
	gga      Sentence
}

// same: a and b name the same instant ("123456.5" and "123456.50" do).
func (a Time) same(b Time) bool {
	return a.Hour == b.Hour && a.Minute == b.Minute && a.Second == b.Second && a.Nanosecond == b.Nanosecond
}

// Counts returns the Decoder's counters.
func (d *Decoder) Counts() DecoderCounts { return d.counts }

// Feed parses line, which arrived at rx (CLOCK_REALTIME when its first byte
// was read), and appends to dst the reports it completes: none, one, or two
// (the previous epoch, closed by a new label, and the new one when the
// learnt cycle is a single sentence). A line that does not parse is counted
// and returned as the error; it changes nothing else.
func (d *Decoder) Feed(dst []refclock.TimeOfDay, line []byte, rx time.Time) ([]refclock.TimeOfDay, error) {
	s, err := Parse(line)
	if err != nil {
		if e, ok := err.(*Error); ok && int(e.Reason) < NumReasons {
			d.counts.Rejected[e.Reason]++
		}
		return dst, err
	}
	d.counts.Sentences++
	return d.Add(dst, s, rx), nil
}

// Add is Feed for a sentence already parsed.
func (d *Decoder) Add(dst []refclock.TimeOfDay, s Sentence, rx time.Time) []refclock.TimeOfDay {
	if s.Kind == KindOther || !s.HasTime {
		return dst
	}
	bit := uint8(1) << s.Kind
	switch {
	case d.cur.open && s.Time.same(d.cur.label):
	case !d.cur.open && d.hasLast && s.Time.same(d.last):
		d.cycle |= bit
		d.counts.Stragglers++
		return dst
	default:
		dst = d.close(dst)
		d.cur = pending{open: true, label: s.Time, received: rx}
	}
	e := &d.cur
	e.kinds |= bit
	if s.HasDate && (!e.hasDate || (s.Kind == KindZDA && !e.dateZDA)) {
		e.date, e.hasDate, e.dateZDA = s.Date, true, s.Kind == KindZDA
	}
	switch s.Kind {
	case KindRMC:
		e.rmc = s
	case KindGGA:
		e.gga = s
	}
	if d.cycle != 0 && e.kinds&d.cycle == d.cycle && e.hasDate {
		dst = d.close(dst)
	}
	return dst
}

// Flush closes the open epoch, if any, appending its report to dst.
func (d *Decoder) Flush(dst []refclock.TimeOfDay) []refclock.TimeOfDay {
	return d.close(dst)
}

// Pending says whether an epoch is open (sentences seen, not reported).
func (d *Decoder) Pending() bool { return d.cur.open }

func (d *Decoder) close(dst []refclock.TimeOfDay) []refclock.TimeOfDay {
	e := d.cur
	if !e.open {
		return dst
	}
	d.cur = pending{}
	d.last, d.hasLast, d.cycle = e.label, true, e.kinds
	d.counts.Epochs++
	if !e.hasDate {
		d.counts.NoDate++
		return dst
	}
	d.counts.Reports++
	return append(dst, e.report())
}

func (e *pending) report() refclock.TimeOfDay {
	t := e.label
	sec, second60 := t.Second, false
	if sec == 60 {
		sec, second60 = 59, true
	}
	tod := refclock.TimeOfDay{
		UTC:      time.Date(e.date.Year, time.Month(e.date.Month), e.date.Day, t.Hour, t.Minute, sec, t.Nanosecond, time.UTC),
		Second60: second60,
		Received: e.received,
	}
	var hasRMC, hasGGA = e.kinds&(1<<KindRMC) != 0, e.kinds&(1<<KindGGA) != 0
	tod.Valid, tod.Fix = judge(hasRMC, e.rmc, hasGGA, e.gga)
	return tod
}

// judge decides validity and fix from an epoch's RMC and GGA. Valid needs
// at least one of them to say the time is good (RMC status A, GGA quality
// 1–5 or 7) and neither to say it is not (status V; mode N not valid,
// E estimated, S simulator; navigational status V; quality 0, 6, 8). A ZDA
// alone says nothing about validity: such an epoch is reported not Valid.
//
// Fix comes from GGA when there is one: quality 1–5 is a position fix, 3D
// when the altitude field is filled and 2D when it is empty (GGA does not
// say; an empty altitude is how receivers show a 2D fix); 7 (manual input:
// a fixed, surveyed position) is FixTimeOnly; 0, 6 and 8 are FixNone. From
// RMC alone: FixNone when it says not valid, FixTimeOnly for mode M,
// FixUnknown otherwise (RMC has no dimension).
func judge(hasRMC bool, rmc Sentence, hasGGA bool, gga Sentence) (bool, refclock.Fix) {
	good, bad := false, false
	fix := refclock.FixUnknown
	if hasRMC {
		switch rmc.Status {
		case 'A':
			good = true
		case 'V':
			bad = true
		}
		switch rmc.Mode {
		case 'N', 'E', 'S':
			bad = true
		}
		if rmc.NavStatus == 'V' {
			bad = true
		}
		switch {
		case bad:
			fix = refclock.FixNone
		case rmc.Mode == 'M':
			fix = refclock.FixTimeOnly
		}
	}
	if hasGGA && gga.Quality >= 0 {
		switch q := gga.Quality; {
		case q >= 1 && q <= 5:
			good = true
			fix = refclock.Fix2D
			if gga.HasAltitude {
				fix = refclock.Fix3D
			}
		case q == 7:
			good = true
			fix = refclock.FixTimeOnly
		default:
			bad = true
			fix = refclock.FixNone
		}
	}
	return good && !bad, fix
}
