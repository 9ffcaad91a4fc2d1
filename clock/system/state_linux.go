package system

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gnomon-time/gnomon/clock"
)

// State is a read-only snapshot of a clock's kernel timekeeping variables,
// taken with clock_adjtime(modes = 0), for status output, metrics and tests.
// On a PHC clockid only FreqPPB and Time are meaningful: the PTP clock
// driver fills in nothing else.
type State struct {
	// TimeState is the kernel clock state the call returned.
	TimeState TimeState
	Status    Status
	// FreqPPB is the frequency correction (positive = faster), quantised to
	// the kernel's 1/65.536 ppb. It does not include a changed tick length.
	FreqPPB float64
	// MaxError and EstError are the kernel's maximum and estimated error
	// (µs resolution). MaxError grows by 500 µs per second between writes.
	MaxError time.Duration
	EstError time.Duration
	// Offset is the remaining offset of the kernel PLL (ADJ_OFFSET), in the
	// unit STA_NANO selects; gnomon never uses the kernel PLL.
	Offset time.Duration
	// Constant is the PLL time constant.
	Constant int64
	// Precision is the clock's reading precision as the kernel reports it.
	Precision time.Duration
	// TolerancePPB is the largest frequency correction the kernel accepts.
	TolerancePPB float64
	// Tick is the length of a clock tick (10 ms at USER_HZ 100 unless
	// someone, e.g. chronyd, changed it with ADJ_TICK).
	Tick time.Duration
	// TAIOffset is the kernel's TAI − UTC in seconds (0 if never set).
	TAIOffset int
	// Time is the clock's reading inside the call, in the kernel's view
	// during a leap second (23:59:60 shows as 23:59:59 again).
	Time time.Time
}

// Synchronized reports whether the kernel considers the clock synchronised:
// STA_UNSYNC clear and the state not TIME_ERROR.
func (s State) Synchronized() bool {
	return s.Status&StaUnsync == 0 && s.TimeState != TimeError
}

// Leap returns the leap second the kernel is armed for (STA_INS or STA_DEL).
func (s State) Leap() clock.Leap {
	switch {
	case s.Status&StaINS != 0:
		return clock.LeapInsert
	case s.Status&StaDEL != 0:
		return clock.LeapDelete
	}
	return clock.LeapNone
}

// readState reads clockid's state with modes = 0. It is the only read path,
// shared by Clock.State and Steered, and never writes.
func readState(k adjtimer, clockid int32) (State, error) {
	var tx unix.Timex
	st, err := k.adjtime(clockid, &tx)
	if err != nil {
		return State{}, fmt.Errorf("clock_adjtime(%s, read): %w", clockName(clockid), err)
	}
	return decode(&tx, st), nil
}

// decode turns a timex filled in by the kernel into a State.
func decode(tx *unix.Timex, st int) State {
	nano := Status(tx.Status)&StaNano != 0
	unit := time.Microsecond
	if nano {
		unit = time.Nanosecond
	}
	return State{
		TimeState:    TimeState(st),
		Status:       Status(tx.Status),
		FreqPPB:      scaledToPPB(int64(tx.Freq)),
		MaxError:     time.Duration(int64(tx.Maxerror)) * time.Microsecond,
		EstError:     time.Duration(int64(tx.Esterror)) * time.Microsecond,
		Offset:       time.Duration(int64(tx.Offset)) * unit,
		Constant:     int64(tx.Constant),
		Precision:    time.Duration(int64(tx.Precision)) * time.Microsecond,
		TolerancePPB: scaledToPPB(int64(tx.Tolerance)),
		Tick:         time.Duration(int64(tx.Tick)) * time.Microsecond,
		TAIOffset:    int(tx.Tai),
		Time:         time.Unix(int64(tx.Time.Sec), int64(tx.Time.Usec)*int64(unit)),
	}
}

// State reads the kernel's CLOCK_REALTIME variables (clock_adjtime with
// modes = 0: it never changes anything and needs no privilege).
func (Clock) State() (State, error) { return readState(kernel{}, unix.CLOCK_REALTIME) }

func clockName(clockid int32) string {
	if clockid == unix.CLOCK_REALTIME {
		return "CLOCK_REALTIME"
	}
	return fmt.Sprintf("clockid %d", clockid)
}

// long is the type of the C long fields of struct timex (int64 on 64-bit
// platforms, int32 on 32-bit ones).
type long interface{ ~int32 | ~int64 }

// setLong stores v into a timex long field. Callers keep v within the
// field's range (all values gnomon writes fit in 32 bits except the seconds
// of a step, which only a 64-bit platform can take beyond 68 years).
func setLong[T long](p *T, v int64) { *p = T(v) }
