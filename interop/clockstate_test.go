package interop

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// clockState is the kernel's NTP clock state, read with adjtimex(2) and
// modes = 0 (read-only), plus CLOCK_REALTIME − CLOCK_MONOTONIC, which only
// changes when the clock is stepped (both clocks are slewed alike).
type clockState struct {
	state         int   // TIME_OK, TIME_INS, ..., TIME_ERROR
	status        int32 // STA_* bits
	freq          int64 // scaled ppm (ppm × 2^16)
	offset        int64 // PLL offset (µs or ns with STA_NANO)
	maxerror      int64 // µs; the kernel grows it by 500 µs/s unless someone sets it
	esterror      int64
	constant      int64
	tick          int64
	tai           int32
	rtMinusMonoNS int64
}

func readClockState() (clockState, error) {
	var tx unix.Timex // Modes == 0: adjtimex only reads
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return clockState{}, fmt.Errorf("adjtimex(modes=0): %w", err)
	}
	var rt, mono unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		return clockState{}, fmt.Errorf("clock_gettime(MONOTONIC): %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &rt); err != nil {
		return clockState{}, fmt.Errorf("clock_gettime(REALTIME): %w", err)
	}
	return clockState{
		state: state, status: tx.Status, freq: tx.Freq, offset: tx.Offset,
		maxerror: tx.Maxerror, esterror: tx.Esterror, constant: tx.Constant,
		tick: tx.Tick, tai: tx.Tai,
		rtMinusMonoNS: rt.Nano() - mono.Nano(),
	}, nil
}

func (c clockState) String() string {
	return fmt.Sprintf("state=%d status=%#04x freq=%+.3fppm offset=%d maxerror=%dus esterror=%dus constant=%d tick=%d tai=%d",
		c.state, c.status, float64(c.freq)/65536, c.offset, c.maxerror, c.esterror, c.constant, c.tick, c.tai)
}

// stepTolerance bounds the change of REALTIME − MONOTONIC that is put down to
// reading the two clocks at slightly different instants.
const stepTolerance = time.Millisecond

// unchanged reports every difference between c (before) and d (after) that
// someone other than the kernel's own bookkeeping must have made.
// maxerror may grow (the kernel adds 500 ppm of elapsed time) but never
// shrink; everything else must be equal.
func (c clockState) unchanged(d clockState) error {
	var errs []error
	diff := func(name string, a, b int64) {
		if a != b {
			errs = append(errs, fmt.Errorf("%s changed: %d -> %d", name, a, b))
		}
	}
	diff("state", int64(c.state), int64(d.state))
	diff("status", int64(c.status), int64(d.status))
	diff("freq", c.freq, d.freq)
	diff("offset", c.offset, d.offset)
	diff("esterror", c.esterror, d.esterror)
	diff("constant", c.constant, d.constant)
	diff("tick", c.tick, d.tick)
	diff("tai", int64(c.tai), int64(d.tai))
	if d.maxerror < c.maxerror {
		errs = append(errs, fmt.Errorf("maxerror shrank: %d -> %d us (someone set it)", c.maxerror, d.maxerror))
	}
	if step := time.Duration(d.rtMinusMonoNS - c.rtMinusMonoNS); step > stepTolerance || step < -stepTolerance {
		errs = append(errs, fmt.Errorf("CLOCK_REALTIME was stepped by %v relative to CLOCK_MONOTONIC", step))
	}
	return errors.Join(errs...)
}
