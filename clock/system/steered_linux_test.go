package system

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/gnomon-time/gnomon/clock"
)

// All tests in this file steer a fake kernel; none reaches clock_adjtime.
func newFake(t *testing.T) (*Steered, *fakeKernel) {
	t.Helper()
	k := newFakeKernel(unix.CLOCK_REALTIME)
	return newSteered(k, unix.CLOCK_REALTIME, nil), k
}

func TestPPBToScaled(t *testing.T) {
	for _, tc := range []struct {
		name string
		ppb  float64
		want int64
	}{
		{"zero", 0, 0},
		{"1 ppb rounds up", 1, 66}, // 65.536
		{"-1 ppb", -1, -66},
		{"half ppb", 0.5, 33}, // 32.768
		{"smallest unit", 1 / 65.536, 1},
		{"below half a unit", 0.007, 0}, // 0.459 units
		{"1 ppm", 1000, 65536},
		{"-1 ppm", -1000, -65536},
		{"kernel limit", MaxFrequencyPPB, 500 << 16},
		{"-kernel limit", -MaxFrequencyPPB, -500 << 16},
		{"fractional", 12.3456, 809}, // 809.08
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ppbToScaled(tc.ppb)
			if got != tc.want {
				t.Fatalf("ppbToScaled(%v) = %d, want %d", tc.ppb, got, tc.want)
			}
			// Round trip within half a unit.
			if back := scaledToPPB(got); math.Abs(back-tc.ppb) > 0.5/65.536+1e-12 {
				t.Fatalf("scaledToPPB(%d) = %v, want %v ± half a unit", got, back, tc.ppb)
			}
		})
	}
}

func TestAdjustFrequency(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ppb     float64
		scaled  int64 // written to the kernel
		wantErr error // nil: written; otherwise nothing written
	}{
		{"positive is faster", 12_345.678, 809_086, nil}, // 809 086.35,
		{"negative", -250.5, -16_417, nil},
		{"upper limit", 500_000, 32_768_000, nil},
		{"lower limit", -500_000, -32_768_000, nil},
		{"above limit", 500_000.1, 0, ErrFrequencyRange},
		{"below limit", -600_000, 0, ErrFrequencyRange},
		{"NaN", math.NaN(), 0, ErrInvalid},
		{"+Inf", math.Inf(1), 0, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, k := newFake(t)
			err := s.AdjustFrequency(tc.ppb)
			w := k.writes()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("AdjustFrequency(%v) = %v, want %v", tc.ppb, err, tc.wantErr)
				}
				if len(w) != 0 {
					t.Fatalf("rejected value reached the kernel: %+v", w)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(w) != 1 || w[0].Modes != unix.ADJ_FREQUENCY || int64(w[0].Freq) != tc.scaled {
				t.Fatalf("writes = %+v, want one ADJ_FREQUENCY with freq %d", w, tc.scaled)
			}
			got, err := s.Frequency()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.ppb) > 0.5/65.536 {
				t.Fatalf("Frequency() = %v, want %v within a unit", got, tc.ppb)
			}
		})
	}
}

func TestSplitNanos(t *testing.T) {
	for _, tc := range []struct {
		d         time.Duration
		sec, nsec int64
	}{
		{0, 0, 0},
		{1, 0, 1},
		{-1, -1, 999_999_999},
		{time.Second, 1, 0},
		{-time.Second, -1, 0},
		{1500 * time.Millisecond, 1, 500_000_000},
		{-1500 * time.Millisecond, -2, 500_000_000},
		{-999 * time.Millisecond, -1, 1_000_000},
		{-37*time.Second - time.Nanosecond, -38, 999_999_999},
		{math.MaxInt64, 9_223_372_036, 854_775_807},
		{math.MinInt64, -9_223_372_037, 145_224_192},
	} {
		sec, nsec := splitNanos(tc.d)
		if sec != tc.sec || nsec != tc.nsec {
			t.Errorf("splitNanos(%v) = {%d, %d}, want {%d, %d}", tc.d, sec, nsec, tc.sec, tc.nsec)
		}
		if nsec < 0 || nsec >= 1e9 {
			t.Errorf("splitNanos(%v): nsec %d outside [0, 1e9)", tc.d, nsec)
		}
		if time.Duration(sec)*time.Second+time.Duration(nsec) != tc.d {
			t.Errorf("splitNanos(%v) does not sum back", tc.d)
		}
	}
}

func TestStep(t *testing.T) {
	steps := []time.Duration{
		time.Nanosecond, -time.Nanosecond, 10 * time.Millisecond, -10 * time.Millisecond,
		1500 * time.Millisecond, -1500 * time.Millisecond, -time.Second, 37 * time.Second,
		-123*time.Second - 456_789*time.Nanosecond,
	}
	for _, nano := range []bool{false, true} {
		for _, d := range steps {
			name := d.String()
			if nano {
				name += "/STA_NANO"
			}
			t.Run(name, func(t *testing.T) {
				s, k := newFake(t)
				k.status |= unix.STA_PLL | unix.STA_INS
				if nano {
					k.status |= unix.STA_NANO
				}
				before := k.status
				if err := s.Step(d); err != nil {
					t.Fatalf("Step(%v): %v", d, err)
				}
				// Positive = forward, to the nanosecond.
				if k.offset != d {
					t.Fatalf("clock moved by %v, want %v", k.offset, d)
				}
				if k.status != before {
					t.Fatalf("status %v after step, was %v", Status(k.status), Status(before))
				}
				w := k.writes()
				if len(w) != 1 {
					t.Fatalf("%d writes, want 1: %+v", len(w), w)
				}
				want := uint32(unix.ADJ_SETOFFSET | unix.ADJ_NANO)
				if !nano {
					want |= unix.ADJ_MICRO
				}
				if w[0].Modes != want {
					t.Fatalf("modes %#x, want %#x", w[0].Modes, want)
				}
				if u := int64(w[0].Time.Usec); u < 0 || u >= 1e9 {
					t.Fatalf("tv_usec %d outside [0, 1e9)", u)
				}
			})
		}
	}
}

// The fake kernel rejects what the real one rejects: the classic
// {−1 s, −500 ms} encoding of −1.5 s, and µs units with a ns value.
func TestFakeKernelRejectsBadSetoffset(t *testing.T) {
	k := newFakeKernel(unix.CLOCK_REALTIME)
	for _, tx := range []unix.Timex{
		{Modes: unix.ADJ_SETOFFSET | unix.ADJ_NANO, Time: unix.Timeval{Sec: -1, Usec: -500_000_000}},
		{Modes: unix.ADJ_SETOFFSET, Time: unix.Timeval{Sec: 0, Usec: 1_000_000}},
		{Modes: unix.ADJ_SETOFFSET | unix.ADJ_NANO, Time: unix.Timeval{Sec: 0, Usec: 1_000_000_000}},
	} {
		if _, err := k.adjtime(unix.CLOCK_REALTIME, &tx); !errors.Is(err, unix.EINVAL) {
			t.Errorf("modes %#x time %+v: err %v, want EINVAL", tx.Modes, tx.Time, err)
		}
	}
	if k.offset != 0 {
		t.Fatalf("rejected steps moved the clock by %v", k.offset)
	}
	// And the trap Steered avoids: a naive status write loses the bits.
	k.status = unix.STA_PLL | unix.STA_INS
	tx := unix.Timex{Modes: unix.ADJ_STATUS}
	if _, err := k.adjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		t.Fatal(err)
	}
	if k.status != 0 {
		t.Fatalf("status after writing 0 = %v, want 0 (INS lost, as with facebook/time SetSync)", Status(k.status))
	}
}

// nanoLast is a kernel that would process ADJ_MICRO before ADJ_NANO, so that
// a step leaves STA_NANO set; Step must notice and restore it.
type nanoLast struct{ *fakeKernel }

func (n nanoLast) adjtime(clockid int32, tx *unix.Timex) (int, error) {
	if tx.Modes&(unix.ADJ_NANO|unix.ADJ_MICRO) == unix.ADJ_NANO|unix.ADJ_MICRO {
		tx.Modes &^= unix.ADJ_MICRO
	}
	return n.fakeKernel.adjtime(clockid, tx)
}

func TestStepRestoresNano(t *testing.T) {
	k := newFakeKernel(unix.CLOCK_REALTIME)
	s := newSteered(nanoLast{k}, unix.CLOCK_REALTIME, nil)
	if err := s.Step(-2500 * time.Microsecond); err != nil {
		t.Fatal(err)
	}
	if k.offset != -2500*time.Microsecond {
		t.Fatalf("offset %v", k.offset)
	}
	if k.status&unix.STA_NANO != 0 {
		t.Fatalf("STA_NANO left set: %v", Status(k.status))
	}
	w := k.writes()
	if len(w) != 2 || w[1].Modes != unix.ADJ_MICRO {
		t.Fatalf("writes %+v, want the step and an ADJ_MICRO", w)
	}
}

func TestStepZeroWritesNothing(t *testing.T) {
	s, k := newFake(t)
	if err := s.Step(0); err != nil {
		t.Fatal(err)
	}
	if len(k.calls) != 0 {
		t.Fatalf("Step(0) made %d calls", len(k.calls))
	}
}

func TestSetLeap(t *testing.T) {
	const keep = unix.STA_PLL | unix.STA_NANO | unix.STA_FREQHOLD | unix.STA_PPSSIGNAL
	for _, tc := range []struct {
		name       string
		from       int32
		leap       clock.Leap
		want       int32
		wantWrites int
	}{
		{"arm insert", keep, clock.LeapInsert, keep | unix.STA_INS, 1},
		{"arm delete", keep | unix.STA_UNSYNC, clock.LeapDelete, keep | unix.STA_UNSYNC | unix.STA_DEL, 1},
		{"insert replaces delete", keep | unix.STA_DEL, clock.LeapInsert, keep | unix.STA_INS, 1},
		{"none clears insert only", keep | unix.STA_INS | unix.STA_UNSYNC, clock.LeapNone, keep | unix.STA_UNSYNC, 1},
		{"none clears delete only", unix.STA_DEL | unix.STA_PLL, clock.LeapNone, unix.STA_PLL, 1},
		{"already armed", keep | unix.STA_INS, clock.LeapInsert, keep | unix.STA_INS, 0},
		{"already none", keep, clock.LeapNone, keep, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, k := newFake(t)
			k.status = tc.from
			if err := s.SetLeap(tc.leap); err != nil {
				t.Fatal(err)
			}
			if k.status != tc.want {
				t.Fatalf("status %v, want %v", Status(k.status), Status(tc.want))
			}
			w := k.writes()
			if len(w) != tc.wantWrites {
				t.Fatalf("%d writes, want %d: %+v", len(w), tc.wantWrites, w)
			}
			for _, x := range w {
				if x.Modes != unix.ADJ_STATUS {
					t.Fatalf("modes %#x, want ADJ_STATUS only", x.Modes)
				}
			}
			st, err := s.State()
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Leap(); got != tc.leap {
				t.Fatalf("State().Leap() = %v, want %v", got, tc.leap)
			}
		})
	}
	s, k := newFake(t)
	if err := s.SetLeap(clock.LeapUnsync); !errors.Is(err, ErrInvalid) {
		t.Fatalf("SetLeap(unsync) = %v, want ErrInvalid", err)
	}
	if len(k.calls) != 0 {
		t.Fatal("invalid leap reached the kernel")
	}
}

func TestSetSync(t *testing.T) {
	s, k := newFake(t)
	k.status = unix.STA_UNSYNC | unix.STA_INS | unix.STA_PLL
	st, _ := s.State()
	if st.Synchronized() || st.TimeState != TimeError {
		t.Fatalf("fresh fake state %+v should be unsynchronised", st)
	}
	if err := s.SetSync(1500*time.Nanosecond, 400*time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	if k.status != unix.STA_INS|unix.STA_PLL {
		t.Fatalf("status %v, want INS|PLL", Status(k.status))
	}
	if k.maxerror != 2 || k.esterror != 1 {
		t.Fatalf("maxerror %d µs esterror %d µs, want 2 and 1 (rounded up)", k.maxerror, k.esterror)
	}
	st, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	if !st.Synchronized() || st.TimeState != TimeIns || st.MaxError != 2*time.Microsecond {
		t.Fatalf("state after SetSync %+v", st)
	}
	// Already synchronised: only the errors are written.
	if err := s.SetSync(time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	w := k.writes()
	if last := w[len(w)-1]; last.Modes != unix.ADJ_MAXERROR|unix.ADJ_ESTERROR {
		t.Fatalf("second SetSync modes %#x", last.Modes)
	}
	if k.maxerror != 16_000_000 {
		t.Fatalf("maxerror %d, want clamped to 16 s", k.maxerror)
	}
	if err := s.SetUnsync(); err != nil {
		t.Fatal(err)
	}
	if k.status != unix.STA_INS|unix.STA_PLL|unix.STA_UNSYNC {
		t.Fatalf("status after SetUnsync %v", Status(k.status))
	}
	n := len(k.calls)
	if err := s.SetSync(-time.Second, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative maxerror: %v", err)
	}
	if len(k.calls) != n {
		t.Fatal("invalid SetSync reached the kernel")
	}
}

// dropMode is a kernel that silently ignores some modes.
type dropMode struct {
	*fakeKernel
	drop uint32
}

func (d dropMode) adjtime(clockid int32, tx *unix.Timex) (int, error) {
	tx.Modes &^= d.drop
	return d.fakeKernel.adjtime(clockid, tx)
}

func TestSetTAIOffset(t *testing.T) {
	s, k := newFake(t)
	if err := s.SetTAIOffset(37); err != nil {
		t.Fatal(err)
	}
	if k.tai != 37 {
		t.Fatalf("tai %d", k.tai)
	}
	for _, bad := range []int{-1, 100_001} {
		if err := s.SetTAIOffset(bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("SetTAIOffset(%d) = %v, want ErrInvalid", bad, err)
		}
	}
	if k.tai != 37 || len(k.writes()) != 1 {
		t.Fatalf("invalid values changed the kernel: tai %d, writes %d", k.tai, len(k.writes()))
	}
	ignoring := newSteered(dropMode{k, unix.ADJ_TAI}, unix.CLOCK_REALTIME, nil)
	if err := ignoring.SetTAIOffset(38); !errors.Is(err, ErrNotApplied) {
		t.Fatalf("ignored ADJ_TAI: %v, want ErrNotApplied", err)
	}
}

func TestSetLeapDetectsIgnoredWrite(t *testing.T) {
	k := newFakeKernel(unix.CLOCK_REALTIME)
	s := newSteered(dropMode{k, unix.ADJ_STATUS}, unix.CLOCK_REALTIME, nil)
	if err := s.SetLeap(clock.LeapInsert); !errors.Is(err, ErrNotApplied) {
		t.Fatalf("SetLeap on a kernel ignoring ADJ_STATUS: %v, want ErrNotApplied", err)
	}
}

func TestStateDecode(t *testing.T) {
	for _, nano := range []bool{false, true} {
		s, k := newFake(t)
		k.freq = -98_304 // −1.5 ppm
		k.maxerror, k.esterror = 1234, 56
		k.tai = 37
		k.status = unix.STA_PLL | unix.STA_DEL
		want := k.base.Truncate(time.Microsecond)
		if nano {
			k.status |= unix.STA_NANO
			want = k.base
		}
		got, err := s.State()
		if err != nil {
			t.Fatal(err)
		}
		exp := State{
			TimeState: TimeDel, Status: Status(k.status), FreqPPB: -1500,
			MaxError: 1234 * time.Microsecond, EstError: 56 * time.Microsecond,
			Precision: time.Microsecond, TolerancePPB: 500_000, Tick: 10 * time.Millisecond,
			TAIOffset: 37, Time: want,
		}
		if diff := cmp.Diff(exp, got); diff != "" {
			t.Errorf("STA_NANO=%v: State() mismatch (-want +got):\n%s", nano, diff)
		}
		if !got.Synchronized() || got.Leap() != clock.LeapDelete {
			t.Errorf("Synchronized %v Leap %v", got.Synchronized(), got.Leap())
		}
	}
}

func TestStatusString(t *testing.T) {
	for _, tc := range []struct {
		s    Status
		want string
	}{
		{0, "0"},
		{StaUnsync | StaNano, "UNSYNC|NANO"},
		{StaPLL | StaINS | 0x10000, "PLL|INS|0x10000"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%#x.String() = %q, want %q", int32(tc.s), got, tc.want)
		}
	}
	if TimeOOP.String() != "leap_in_progress" || TimeState(9).String() != "time_state(9)" {
		t.Error("TimeState strings")
	}
}

func TestErrorsWrapped(t *testing.T) {
	s, k := newFake(t)
	k.fail = unix.EPERM
	for name, f := range map[string]func() error{
		"frequency": func() error { return s.AdjustFrequency(1) },
		"step":      func() error { return s.Step(time.Millisecond) },
		"leap":      func() error { return s.SetLeap(clock.LeapInsert) },
		"sync":      func() error { return s.SetSync(0, 0) },
		"tai":       func() error { return s.SetTAIOffset(37) },
		"read":      func() error { _, err := s.Frequency(); return err },
	} {
		err := f()
		if !errors.Is(err, unix.EPERM) {
			t.Errorf("%s: %v, want EPERM wrapped", name, err)
		}
	}
}

// Concurrent status writers must not lose each other's bits: every
// read-modify-write holds the mutex.
func TestConcurrentStatusWriters(t *testing.T) {
	s, k := newFake(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				var err error
				if i%2 == 0 {
					err = s.SetLeap(clock.LeapInsert)
				} else {
					err = s.SetSync(time.Millisecond, time.Microsecond)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if k.status != unix.STA_INS {
		t.Fatalf("status %v, want INS (UNSYNC cleared, INS kept)", Status(k.status))
	}
}

// Another writer changing the status between Steered's read and write is
// outside what Steered can prevent (it assumes it owns the clock); the
// final status is what Steered wrote and the check still passes.
func TestOtherWriterIsOverwritten(t *testing.T) {
	k := newFakeKernel(unix.CLOCK_REALTIME)
	s := newSteered(racer{k, func(f *fakeKernel) { f.status |= unix.STA_FREQHOLD }}, unix.CLOCK_REALTIME, nil)
	if err := s.SetLeap(clock.LeapInsert); err != nil {
		t.Fatal(err)
	}
	if k.status != unix.STA_UNSYNC|unix.STA_INS {
		t.Fatalf("status %v", Status(k.status))
	}
}
