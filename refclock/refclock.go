package refclock

import (
	"context"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Edge is one PPS pulse as a device timestamped it.
type Edge struct {
	// At is the edge's timestamp on the device's timescale (see the
	// package doc), with any configured cable or antenna delay already
	// subtracted.
	At time.Time
	// Seq counts the device's edges (PPS_FETCH's assert sequence; an
	// EXTTS reader counts events itself): a gap means missed pulses.
	Seq uint64
}

// Fix is the receiver's fix quality, as far as the time is concerned.
type Fix uint8

const (
	FixUnknown Fix = iota // not reported
	FixNone               // no fix: the time is not trustworthy
	Fix2D
	Fix3D
	FixTimeOnly // a timing receiver in position-hold (surveyed) mode
)

func (f Fix) String() string {
	switch f {
	case FixNone:
		return "none"
	case Fix2D:
		return "2d"
	case Fix3D:
		return "3d"
	case FixTimeOnly:
		return "time"
	}
	return "unknown"
}

// TimeOfDay is one time-of-day report from a GNSS receiver.
type TimeOfDay struct {
	// UTC is the time the report names (RMC/ZDA time, gpsd TPV time),
	// exactly as given (fractions included, never rounded). During an
	// inserted leap second see Second60: UTC then holds 23:59:59.f.
	UTC time.Time
	// Second60: the label is 23:59:60.f, the inserted leap second.
	// time.Time cannot hold second 60 (time.Date normalises it into the
	// next minute), so UTC holds 23:59:59.f, which is what CLOCK_REALTIME
	// reads during the leap second (the kernel repeats 23:59:59); the
	// instant named is one second after UTC on a continuous scale (TAI =
	// UTC + 1 s + the TAI − UTC in force before the leap). The labels
	// 23:59:59, 23:59:60 and 00:00:00 thus stay distinct.
	Second60 bool
	// Received is CLOCK_REALTIME when the report arrived.
	Received time.Time
	// Valid: the receiver marks its time valid (RMC status A, a fix of
	// at least 2D or time-only).
	Valid bool
	Fix   Fix
	// Leap is a leap second the receiver announces for the end of the
	// current UTC month, clock.LeapNone when none or not reported.
	Leap clock.Leap
	// TAIOffset is TAI − UTC in seconds when TAIOffsetKnown (gpsd's
	// "leapseconds" is GPS − UTC; TAI − UTC = that + 19).
	TAIOffset      int
	TAIOffsetKnown bool
}

// PPSReport is a pulse as gpsd reports it (its PPS message): the GNSS
// time of the edge and CLOCK_REALTIME when the kernel saw it.
type PPSReport struct {
	Real, Clock time.Time
	// Precision is log2 seconds, as gpsd gives it.
	Precision int
}

// EdgeSource is a PPS input. Run delivers each edge to fn, in order, on
// one goroutine, until ctx ends (then it returns nil) or the device fails
// (it returns why).
type EdgeSource interface {
	Run(ctx context.Context, fn func(Edge)) error
}

// TimeOfDaySource is a receiver's time of day. Run delivers each report to
// fn, in order, on one goroutine, until ctx ends (then it returns nil) or
// the receiver fails beyond recovery (it returns why).
type TimeOfDaySource interface {
	Run(ctx context.Context, fn func(TimeOfDay)) error
}
