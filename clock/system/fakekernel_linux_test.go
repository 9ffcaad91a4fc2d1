package system

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// fakeKernel models the parts of kernel/time/ntp.c and timekeeping.c that
// Steered relies on, closely enough that the traps are real: ADJ_STATUS
// replaces every writable bit, clearing STA_PLL resets the status to
// STA_UNSYNC, STA_RONLY bits cannot be written, ADJ_NANO/ADJ_MICRO set and
// clear STA_NANO persistently (NANO first, then MICRO), ADJ_SETOFFSET takes
// its unit from the call's ADJ_NANO and rejects tv_usec outside [0, 1 s),
// ADJ_FREQUENCY clamps to ±500 ppm, ADJ_TAI ignores values outside
// [0, 100000], maxerror/esterror clamp to 16 s. The clock itself is a fixed
// base time plus the injected offset, so tests see exact step results.
type fakeKernel struct {
	mu       sync.Mutex
	clockid  int32 // the only clock it answers for
	status   int32
	freq     int64 // scaled ppm
	maxerror int64 // µs
	esterror int64 // µs
	constant int64
	tick     int64 // µs
	tai      int32
	base     time.Time
	offset   time.Duration // sum of ADJ_SETOFFSET steps
	calls    []unix.Timex  // every call as passed in
	fail     error         // when set, every call fails with it
}

func newFakeKernel(clockid int32) *fakeKernel {
	return &fakeKernel{
		clockid:  clockid,
		status:   unix.STA_UNSYNC,
		maxerror: 16_000_000,
		esterror: 16_000_000,
		tick:     10_000,
		base:     time.Unix(1_800_000_000, 123_456_789),
	}
}

const (
	fakeMaxFreq    = 500 << 16 // MAXFREQ_SCALED in timex units
	fakePhaseLimit = 16_000_000
)

func (f *fakeKernel) adjtime(clockid int32, tx *unix.Timex) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, *tx)
	if f.fail != nil {
		return -1, f.fail
	}
	if clockid != f.clockid {
		return -1, unix.EINVAL
	}
	m := tx.Modes
	if m&unix.ADJ_SETOFFSET != 0 {
		if tx.Time.Usec < 0 {
			return -1, unix.EINVAL
		}
		unit := int64(time.Microsecond)
		if m&unix.ADJ_NANO != 0 {
			unit = int64(time.Nanosecond)
		}
		if int64(tx.Time.Usec)*unit >= int64(time.Second) {
			return -1, unix.EINVAL
		}
		f.offset += time.Duration(int64(tx.Time.Sec)*int64(time.Second) + int64(tx.Time.Usec)*unit)
	}
	if m&unix.ADJ_STATUS != 0 {
		if f.status&unix.STA_PLL != 0 && tx.Status&unix.STA_PLL == 0 {
			f.status = unix.STA_UNSYNC
		}
		f.status &= staRDOnly
		f.status |= tx.Status &^ staRDOnly
	}
	if m&unix.ADJ_NANO != 0 {
		f.status |= unix.STA_NANO
	}
	if m&unix.ADJ_MICRO != 0 {
		f.status &^= unix.STA_NANO
	}
	if m&unix.ADJ_FREQUENCY != 0 {
		f.freq = min(max(int64(tx.Freq), -fakeMaxFreq), fakeMaxFreq)
	}
	if m&unix.ADJ_MAXERROR != 0 {
		f.maxerror = min(max(int64(tx.Maxerror), 0), fakePhaseLimit)
	}
	if m&unix.ADJ_ESTERROR != 0 {
		f.esterror = min(max(int64(tx.Esterror), 0), fakePhaseLimit)
	}
	if m&unix.ADJ_TAI != 0 && tx.Constant >= 0 && tx.Constant <= maxTAIOffset {
		f.tai = int32(tx.Constant)
	}
	if m&unix.ADJ_TICK != 0 {
		f.tick = int64(tx.Tick)
	}
	// The kernel fills the whole structure on return.
	*tx = unix.Timex{Modes: m}
	setLong(&tx.Freq, f.freq)
	setLong(&tx.Maxerror, f.maxerror)
	setLong(&tx.Esterror, f.esterror)
	tx.Status = f.status
	setLong(&tx.Constant, f.constant)
	setLong(&tx.Precision, 1)
	setLong(&tx.Tolerance, fakeMaxFreq)
	setLong(&tx.Tick, f.tick)
	tx.Tai = f.tai
	now := f.base.Add(f.offset)
	setLong(&tx.Time.Sec, now.Unix())
	ns := int64(now.Nanosecond())
	if f.status&unix.STA_NANO == 0 {
		ns /= 1000
	}
	setLong(&tx.Time.Usec, ns)
	switch {
	case f.status&unix.STA_UNSYNC != 0:
		return unix.TIME_ERROR, nil
	case f.status&unix.STA_INS != 0:
		return unix.TIME_INS, nil
	case f.status&unix.STA_DEL != 0:
		return unix.TIME_DEL, nil
	}
	return unix.TIME_OK, nil
}

// writes returns the modes of every call that changed something.
func (f *fakeKernel) writes() []unix.Timex {
	f.mu.Lock()
	defer f.mu.Unlock()
	var w []unix.Timex
	for _, c := range f.calls {
		if c.Modes != 0 {
			w = append(w, c)
		}
	}
	return w
}

// racer is an adjtimer that lets another writer change the status between
// Steered's read and its write.
type racer struct {
	*fakeKernel
	onWrite func(f *fakeKernel)
}

func (r racer) adjtime(clockid int32, tx *unix.Timex) (int, error) {
	if tx.Modes != 0 && r.onWrite != nil {
		r.fakeKernel.mu.Lock()
		r.onWrite(r.fakeKernel)
		r.fakeKernel.mu.Unlock()
	}
	return r.fakeKernel.adjtime(clockid, tx)
}
