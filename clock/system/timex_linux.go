package system

import (
	"fmt"
	"math"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// adjtimer is the clock_adjtime(2) system call. The steering logic talks to
// the kernel only through it, so that tests run the logic against a fake
// kernel and never write to the host clock.
type adjtimer interface {
	// adjtime passes tx to clock_adjtime(clockid, tx) and returns the
	// kernel's clock state (TIME_OK…TIME_ERROR). The kernel overwrites tx
	// with its values after the call.
	adjtime(clockid int32, tx *unix.Timex) (state int, err error)
}

// kernel is the real system call.
type kernel struct{}

func (kernel) adjtime(clockid int32, tx *unix.Timex) (int, error) {
	return unix.ClockAdjtime(clockid, tx)
}

// Kernel limits and units (include/linux/timex.h, kernel/time/ntp.c).
const (
	// scaledPerPPB converts ppb to the timex "scaled ppm" unit (ppm with a
	// 16-bit fraction): 65536 / 1000.
	scaledPerPPB = 65.536
	// MaxFrequencyPPB is the kernel's limit on the ADJ_FREQUENCY correction
	// of CLOCK_REALTIME (MAXFREQ, 500 ppm). The kernel clamps silently;
	// Steered rejects larger values instead. Beyond it one would change
	// ADJ_TICK (±10 %), which gnomon does not do.
	MaxFrequencyPPB = 500_000
	// maxErrorLimit is NTP_PHASE_LIMIT: the kernel clamps maxerror and
	// esterror to 16 s (in µs) and sets STA_UNSYNC when maxerror, which
	// grows by 500 µs every second, passes it.
	maxErrorLimit = 16 * time.Second
	// maxTAIOffset is the kernel's MAX_TAI_OFFSET; ADJ_TAI with a value
	// outside [0, maxTAIOffset] is silently ignored.
	maxTAIOffset = 100_000
	// staRDOnly is STA_RONLY: status bits that ADJ_STATUS cannot change.
	staRDOnly = unix.STA_PPSSIGNAL | unix.STA_PPSJITTER | unix.STA_PPSWANDER |
		unix.STA_PPSERROR | unix.STA_CLOCKERR | unix.STA_NANO | unix.STA_MODE | unix.STA_CLK
)

// ppbToScaled converts a frequency in ppb to timex scaled ppm, rounded to
// the nearest unit (1/65.536 ppb ≈ 0.0153 ppb).
func ppbToScaled(ppb float64) int64 { return int64(math.Round(ppb * scaledPerPPB)) }

// scaledToPPB converts timex scaled ppm to ppb.
func scaledToPPB(scaled int64) float64 { return float64(scaled) / scaledPerPPB }

// splitNanos splits d into whole seconds and a non-negative nanosecond
// remainder in [0, 1e9), the form ADJ_SETOFFSET requires ("the value of the
// timeval is the sum of its fields, but tv_usec must always be
// non-negative"): −1.5 s is {−2 s, 500 000 000 ns}, not {−1, −500 000 000}.
// Integer arithmetic, so it is exact over the whole Duration range.
func splitNanos(d time.Duration) (sec, nsec int64) {
	sec, nsec = int64(d/time.Second), int64(d%time.Second)
	if nsec < 0 {
		sec--
		nsec += int64(time.Second)
	}
	return sec, nsec
}

// toMicros converts a non-negative error bound to the µs of maxerror and
// esterror, clamped to the kernel's 16 s. Rounding is upwards so that a
// bound is never reported smaller than it is.
func toMicros(d time.Duration) int64 {
	d = min(max(d, 0), maxErrorLimit)
	return int64((d + time.Microsecond - 1) / time.Microsecond)
}

// Status holds the kernel's clock status bits (timex.status, STA_*).
type Status int32

// Status bits, equal to the kernel's STA_* values.
const (
	StaPLL       Status = unix.STA_PLL
	StaPPSFreq   Status = unix.STA_PPSFREQ
	StaPPSTime   Status = unix.STA_PPSTIME
	StaFLL       Status = unix.STA_FLL
	StaINS       Status = unix.STA_INS
	StaDEL       Status = unix.STA_DEL
	StaUnsync    Status = unix.STA_UNSYNC
	StaFreqHold  Status = unix.STA_FREQHOLD
	StaPPSSignal Status = unix.STA_PPSSIGNAL
	StaPPSJitter Status = unix.STA_PPSJITTER
	StaPPSWander Status = unix.STA_PPSWANDER
	StaPPSError  Status = unix.STA_PPSERROR
	StaClockErr  Status = unix.STA_CLOCKERR
	StaNano      Status = unix.STA_NANO
	StaMode      Status = unix.STA_MODE
	StaClk       Status = unix.STA_CLK
)

var statusNames = [...]struct {
	bit  Status
	name string
}{
	{StaPLL, "PLL"}, {StaPPSFreq, "PPSFREQ"}, {StaPPSTime, "PPSTIME"}, {StaFLL, "FLL"},
	{StaINS, "INS"}, {StaDEL, "DEL"}, {StaUnsync, "UNSYNC"}, {StaFreqHold, "FREQHOLD"},
	{StaPPSSignal, "PPSSIGNAL"}, {StaPPSJitter, "PPSJITTER"}, {StaPPSWander, "PPSWANDER"},
	{StaPPSError, "PPSERROR"}, {StaClockErr, "CLOCKERR"}, {StaNano, "NANO"}, {StaMode, "MODE"},
	{StaClk, "CLK"},
}

// String lists the set bits as "UNSYNC|NANO" (adjtimex(8) names without the
// STA_ prefix), or "0".
func (s Status) String() string {
	var b strings.Builder
	rest := s
	for _, n := range statusNames {
		if s&n.bit != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n.name)
			rest &^= n.bit
		}
	}
	if rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		fmt.Fprintf(&b, "%#x", int32(rest))
	}
	if b.Len() == 0 {
		return "0"
	}
	return b.String()
}

// TimeState is the clock state clock_adjtime returns (TIME_OK…TIME_ERROR).
type TimeState int

// Kernel clock states.
const (
	TimeOK    TimeState = unix.TIME_OK
	TimeIns   TimeState = unix.TIME_INS   // leap second insertion armed for midnight
	TimeDel   TimeState = unix.TIME_DEL   // leap second deletion armed for midnight
	TimeOOP   TimeState = unix.TIME_OOP   // inside the inserted second 23:59:60
	TimeWait  TimeState = unix.TIME_WAIT  // leap done, INS/DEL still set
	TimeError TimeState = unix.TIME_ERROR // unsynchronised (STA_UNSYNC and friends)
)

func (s TimeState) String() string {
	switch s {
	case TimeOK:
		return "ok"
	case TimeIns:
		return "insert"
	case TimeDel:
		return "delete"
	case TimeOOP:
		return "leap_in_progress"
	case TimeWait:
		return "leap_wait"
	case TimeError:
		return "error"
	}
	return fmt.Sprintf("time_state(%d)", int(s))
}
