package system

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gnomon-time/gnomon/clock"
)

// Errors callers can branch on.
var (
	// ErrFrequencyRange: the requested correction exceeds the clock's
	// limit; nothing was changed. The same value as clock.ErrFrequencyRange.
	ErrFrequencyRange = clock.ErrFrequencyRange
	// ErrInvalid: an argument the kernel would reject or silently ignore.
	ErrInvalid = errors.New("invalid argument")
	// ErrNotApplied: the kernel accepted the call but reports a different
	// result than was written (another process writes the same clock, or
	// the kernel ignored the value).
	ErrNotApplied = errors.New("kernel did not apply the change")
)

// Steered steers CLOCK_REALTIME through clock_adjtime(2): frequency
// (ADJ_FREQUENCY), steps (ADJ_SETOFFSET), leap arming (STA_INS/STA_DEL),
// sync status with maxerror/esterror and the TAI offset. It changes the
// time of every process on the machine and needs CAP_SYS_TIME; gnomond
// builds one only when the configuration says `clock.mode: system`.
//
// Status changes are read-modify-write: Steered reads the status, changes
// only its bits and writes it back, holding a mutex so that its own calls
// do not interleave. It assumes it is the only writer of the clock (no
// chronyd, ntpd, ptp4l/phc2sys or timesyncd steering CLOCK_REALTIME).
//
// Methods are safe for concurrent use.
type Steered struct {
	mu      sync.Mutex // serialises read-modify-write sequences
	k       adjtimer
	clockid int32
	log     *slog.Logger
}

// NewSteeredRealtime returns a Steered for the machine's CLOCK_REALTIME.
// Every successful write through it changes the host clock. Only gnomond,
// and only with `clock.mode: system`, calls it; tests never do (a test
// fails the build if a _test.go file mentions it). log may be nil.
func NewSteeredRealtime(log *slog.Logger) *Steered {
	return newSteered(kernel{}, unix.CLOCK_REALTIME, log)
}

// newSteered builds a Steered on any clock through any adjtimer: the fake
// kernel in tests, or a PHC clockid in the gated device test.
func newSteered(k adjtimer, clockid int32, log *slog.Logger) *Steered {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Steered{k: k, clockid: clockid, log: log.With("clock", clockName(clockid))}
}

var (
	_ clock.Steerable       = (*Steered)(nil)
	_ clock.Served          = (*Steered)(nil)
	_ clock.LeapSetter      = (*Steered)(nil)
	_ clock.SyncSetter      = (*Steered)(nil)
	_ clock.TAISetter       = (*Steered)(nil)
	_ clock.FrequencyLimits = (*Steered)(nil)
)

// Now reads CLOCK_REALTIME without a monotonic reading.
func (s *Steered) Now() time.Time { return time.Now().Round(0) }

// FromRealtime is the identity: kernel timestamps are on this clock.
func (s *Steered) FromRealtime(t time.Time) time.Time { return t }

// MaxFrequency returns the largest |correction| AdjustFrequency accepts, in
// ppb (the kernel's 500 ppm).
func (s *Steered) MaxFrequency() float64 { return MaxFrequencyPPB }

// write issues one clock_adjtime with tx.Modes != 0.
func (s *Steered) write(what string, tx *unix.Timex) (int, error) {
	modes := tx.Modes
	st, err := s.k.adjtime(s.clockid, tx)
	if err != nil {
		return st, fmt.Errorf("clock_adjtime(%s, %s, modes %#x): %w", clockName(s.clockid), what, modes, err)
	}
	return st, nil
}

// read returns the current state (modes = 0).
func (s *Steered) read() (State, error) { return readState(s.k, s.clockid) }

// State returns a snapshot of the kernel's variables (modes = 0).
func (s *Steered) State() (State, error) { return s.read() }

// AdjustFrequency sets the frequency correction to ppb (positive = the
// clock runs faster), as timex scaled ppm rounded to 1/65.536 ppb. A value
// beyond ±MaxFrequencyPPB is rejected with ErrFrequencyRange and changes
// nothing (the kernel would clamp it silently, and the caller would believe
// a correction that is not in force).
func (s *Steered) AdjustFrequency(ppb float64) error {
	if math.IsNaN(ppb) || math.IsInf(ppb, 0) {
		return fmt.Errorf("adjust frequency %v ppb: %w", ppb, ErrInvalid)
	}
	if math.Abs(ppb) > MaxFrequencyPPB {
		return fmt.Errorf("adjust frequency %.3f ppb, limit ±%d: %w", ppb, MaxFrequencyPPB, ErrFrequencyRange)
	}
	tx := unix.Timex{Modes: unix.ADJ_FREQUENCY}
	setLong(&tx.Freq, ppbToScaled(ppb))
	_, err := s.write("frequency", &tx)
	return err
}

// Frequency reads the frequency correction back from the kernel, in ppb.
func (s *Steered) Frequency() (float64, error) {
	st, err := s.read()
	if err != nil {
		return 0, err
	}
	return st.FreqPPB, nil
}

// Step moves the clock by d (positive = forward) with ADJ_SETOFFSET, at
// nanosecond resolution.
//
// ADJ_SETOFFSET takes its unit from the ADJ_NANO bit of the same call, but
// the kernel also turns ADJ_NANO into the persistent status bit STA_NANO
// (process_adjtimex_modes), which changes the unit in which every reader
// sees timex.offset and timex.time. Step therefore leaves STA_NANO as it
// found it: when it was clear, the call carries ADJ_MICRO as well, which
// the kernel applies after ADJ_NANO (the step itself stays in ns). The
// status the kernel returns is checked, and STA_NANO restored with a second
// call if a kernel ever processed the bits differently.
func (s *Steered) Step(d time.Duration) error {
	if d == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before, err := s.read()
	if err != nil {
		return fmt.Errorf("step %v: %w", d, err)
	}
	nano := before.Status&StaNano != 0
	tx := unix.Timex{Modes: unix.ADJ_SETOFFSET | unix.ADJ_NANO}
	if !nano {
		tx.Modes |= unix.ADJ_MICRO
	}
	sec, nsec := splitNanos(d)
	setLong(&tx.Time.Sec, sec)
	setLong(&tx.Time.Usec, nsec)
	if _, err := s.write("step", &tx); err != nil {
		return fmt.Errorf("step %v: %w", d, err)
	}
	s.log.Info("clock stepped", "step", d)
	if after := Status(tx.Status)&StaNano != 0; after != nano {
		fix := unix.Timex{Modes: unix.ADJ_MICRO}
		if nano {
			fix.Modes = unix.ADJ_NANO
		}
		if _, err := s.write("restore STA_NANO", &fix); err != nil {
			return fmt.Errorf("step %v done, restoring STA_NANO: %w", d, err)
		}
	}
	return nil
}

// SetLeap arms the kernel for a leap second at the next UTC midnight
// (LeapInsert sets STA_INS, LeapDelete STA_DEL) or disarms it (LeapNone
// clears both). Every other status bit is preserved: the kernel resets the
// whole status to STA_UNSYNC when a write clears STA_PLL, and facebook/time's
// clock.SetSync writes status 0, clearing a pending leap. After a leap the
// kernel waits in TIME_WAIT until the bit is cleared, so call
// SetLeap(LeapNone) once the leap has passed.
func (s *Steered) SetLeap(l clock.Leap) error {
	var bit Status
	switch l {
	case clock.LeapNone:
	case clock.LeapInsert:
		bit = StaINS
	case clock.LeapDelete:
		bit = StaDEL
	default:
		return fmt.Errorf("set leap %v: %w", l, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed, err := s.updateStatus("leap", func(old Status) Status { return old&^(StaINS|StaDEL) | bit }, nil)
	if err != nil {
		return fmt.Errorf("set leap %v: %w", l, err)
	}
	if changed {
		s.log.Info("kernel leap second armed", "leap", l.String())
	}
	return nil
}

// SetSync marks the clock synchronised (clears STA_UNSYNC, other bits
// preserved) and sets the kernel's maximum and estimated error, which
// adjtimex(8), ntptime and chronyc-less tools read. maxErr and estErr are
// rounded up to µs and clamped to 16 s. The kernel adds 500 µs to maxerror
// every second and declares the clock unsynchronised when it passes 16 s,
// so call SetSync after every clock update. Clearing STA_UNSYNC also lets
// the kernel copy the system time to the RTC every 11 minutes.
func (s *Steered) SetSync(maxErr, estErr time.Duration) error {
	if maxErr < 0 || estErr < 0 {
		return fmt.Errorf("set sync maxerror %v esterror %v: %w", maxErr, estErr, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.updateStatus("sync", func(old Status) Status { return old &^ StaUnsync }, func(tx *unix.Timex) {
		tx.Modes |= unix.ADJ_MAXERROR | unix.ADJ_ESTERROR
		setLong(&tx.Maxerror, toMicros(maxErr))
		setLong(&tx.Esterror, toMicros(estErr))
	})
	if err != nil {
		return fmt.Errorf("set sync: %w", err)
	}
	return nil
}

// SetUnsync marks the clock unsynchronised (sets STA_UNSYNC, other bits
// preserved): the kernel then returns TIME_ERROR and stops the RTC updates.
func (s *Steered) SetUnsync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.updateStatus("unsync", func(old Status) Status { return old | StaUnsync }, nil); err != nil {
		return fmt.Errorf("set unsync: %w", err)
	}
	return nil
}

// updateStatus reads the status, computes the new one and, if it differs or
// extra has something to write, writes it with ADJ_STATUS (plus the modes
// extra adds). It then checks the status the kernel returned. changed
// reports whether the status was written.
func (s *Steered) updateStatus(what string, change func(Status) Status, extra func(*unix.Timex)) (changed bool, err error) {
	cur, err := s.read()
	if err != nil {
		return false, err
	}
	want := change(cur.Status)
	var tx unix.Timex
	if want != cur.Status {
		tx.Modes = unix.ADJ_STATUS
		tx.Status = int32(want)
	}
	if extra != nil {
		extra(&tx)
	}
	if tx.Modes == 0 {
		return false, nil
	}
	wrote := tx.Modes&unix.ADJ_STATUS != 0 // tx is overwritten by the kernel
	if _, err := s.write(what, &tx); err != nil {
		return false, err
	}
	// Only the bits ADJ_STATUS may change are compared: the kernel may
	// move read-only bits (PPS signal, errors) at any time.
	if got := Status(tx.Status); got&^staRDOnly != want&^staRDOnly {
		return wrote, fmt.Errorf("status is %v after writing %v: %w", got, want, ErrNotApplied)
	}
	return wrote, nil
}

// SetTAIOffset sets the kernel's TAI − UTC offset in seconds (ADJ_TAI),
// which CLOCK_TAI adds to CLOCK_REALTIME. The kernel silently ignores values
// outside [0, 100000]; they are rejected here.
func (s *Steered) SetTAIOffset(sec int) error {
	if sec < 0 || sec > maxTAIOffset {
		return fmt.Errorf("set TAI offset %d s: %w", sec, ErrInvalid)
	}
	tx := unix.Timex{Modes: unix.ADJ_TAI}
	setLong(&tx.Constant, int64(sec))
	if _, err := s.write("tai", &tx); err != nil {
		return fmt.Errorf("set TAI offset %d s: %w", sec, err)
	}
	if int(tx.Tai) != sec {
		return fmt.Errorf("set TAI offset %d s: kernel reports %d: %w", sec, tx.Tai, ErrNotApplied)
	}
	return nil
}
