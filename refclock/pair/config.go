package pair

import (
	"errors"
	"fmt"
	"time"
)

// Timescale is the timescale of the clock an Offset is against: the
// device's when the caller compares with Edge.At directly.
type Timescale uint8

const (
	// UTC: POSIX seconds (kernel PPS on CLOCK_REALTIME, a PHC kept on
	// UTC).
	UTC Timescale = iota
	// TAI: POSIX seconds + TAI − UTC (a PHC serving PTP).
	TAI
)

func (t Timescale) String() string {
	switch t {
	case UTC:
		return "utc"
	case TAI:
		return "tai"
	}
	return fmt.Sprintf("timescale_%d", uint8(t))
}

// Config configures a Pairer. Start from DefaultConfig.
type Config struct {
	// MinDelay and MaxDelay bound the window, on CLOCK_REALTIME, in which
	// an edge's report must be received: [edge + MinDelay, edge +
	// MaxDelay). The report must follow its edge: a receiver computes the
	// time of second N after edge N, and a serial line or gpsd adds
	// 10–700 ms (reference ptp-gnss §8), so the defaults 0 and 950 ms
	// suit NMEA through gpsd or a serial port at 9600 baud. MaxDelay ≤ 1 s
	// keeps windows of consecutive edges apart; a report later than that
	// cannot be paired by any window (ts2phc's nearest-second rounding
	// mislabelled past 500 ms; here such a report lands in the next
	// window, where the chain rejects its label).
	MinDelay, MaxDelay time.Duration
	// Grace is how long after a report's reception (or the end of an
	// edge's window) the Pairer waits for inputs still in transit before
	// it settles them: the delivery latency allowed between the device's
	// goroutine and the pairing. Inputs later than that are stale.
	Grace time.Duration
	// LabelOffset (seconds, −1…+1) is added to the time a report names to
	// get the label of the edge it follows. 0 is the NMEA convention
	// (RMC/ZDA after edge N name second N); +1 suits receivers that report
	// the previous epoch after the edge; −1 those that, after edge N,
	// already name the time of edge N+1.
	LabelOffset int
	// Confirm is the number of consecutive consistent labels (this edge's
	// included) before an edge is accepted: 1 believes a lone pair, the
	// default 3 follows gpsd's advice to trust three consecutive fixes.
	Confirm int
	// Timescale of the Offset. With TAI, TAIOffset (TAI − UTC, seconds)
	// is the starting value; 0 takes it from the first report that knows
	// it (TimeOfDay.TAIOffsetKnown). After that the Pairer carries it
	// across leap seconds itself and ignores the receivers' values
	// (receivers change theirs at different moments around a leap).
	Timescale Timescale
	TAIOffset int
}

// DefaultConfig returns the NMEA defaults: window [0, 950 ms), 100 ms of
// grace, label offset 0, three confirmations, UTC.
func DefaultConfig() Config {
	return Config{
		MaxDelay: 950 * time.Millisecond,
		Grace:    100 * time.Millisecond,
		Confirm:  3,
	}
}

// maxConfirm bounds Config.Confirm (and the chain's length counter).
const maxConfirm = 60

// Validate reports every problem in c, each naming the field and its value.
func (c Config) Validate() error {
	var errs []error
	if c.MinDelay < 0 {
		errs = append(errs, fmt.Errorf("pair: min_delay = %v: want ≥ 0", c.MinDelay))
	}
	if c.MaxDelay <= c.MinDelay || c.MaxDelay > time.Second {
		errs = append(errs, fmt.Errorf("pair: max_delay = %v: want in (min_delay %v, 1s]", c.MaxDelay, c.MinDelay))
	}
	if c.Grace < 0 || c.Grace > 10*time.Second {
		errs = append(errs, fmt.Errorf("pair: grace = %v: want in [0, 10s]", c.Grace))
	}
	if c.LabelOffset < -1 || c.LabelOffset > 1 {
		errs = append(errs, fmt.Errorf("pair: label_offset = %d: want -1, 0 or 1", c.LabelOffset))
	}
	if c.Confirm < 1 || c.Confirm > maxConfirm {
		errs = append(errs, fmt.Errorf("pair: confirm = %d: want in [1, %d]", c.Confirm, maxConfirm))
	}
	if c.Timescale > TAI {
		errs = append(errs, fmt.Errorf("pair: timescale = %v: want utc or tai", c.Timescale))
	}
	if c.TAIOffset < 0 || c.TAIOffset > 1000 {
		errs = append(errs, fmt.Errorf("pair: tai_offset = %d: want seconds in [0, 1000], 0 = from the receiver", c.TAIOffset))
	}
	return errors.Join(errs...)
}
