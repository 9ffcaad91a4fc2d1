package system

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gnomon-time/gnomon/clock"
)

// readOnly wraps the real system call for tests and refuses, before the
// kernel sees it, any call on CLOCK_REALTIME with modes != 0: house rule 1,
// never change this machine's clock. fail reports the attempt (t.Errorf in
// tests). next is the system call behind it (the real one when nil).
type readOnly struct {
	fail func(format string, args ...any)
	next adjtimer
}

func (r readOnly) adjtime(clockid int32, tx *unix.Timex) (int, error) {
	if clockid == unix.CLOCK_REALTIME && tx.Modes != 0 {
		r.fail("test tried clock_adjtime(CLOCK_REALTIME) with modes %#x; refused", tx.Modes)
		return -1, unix.EPERM
	}
	if r.next != nil {
		return r.next.adjtime(clockid, tx)
	}
	return unix.ClockAdjtime(clockid, tx)
}

// The guard itself, in front of a fake kernel (so that a broken guard
// cannot touch the host): every write is refused before it passes.
func TestReadOnlyGuardRefusesWrites(t *testing.T) {
	var refused []string
	k := newFakeKernel(unix.CLOCK_REALTIME)
	k.status = 0 // synchronised, so that SetUnsync has something to write
	s := newSteered(readOnly{fail: func(f string, a ...any) { refused = append(refused, fmt.Sprintf(f, a...)) }, next: k},
		unix.CLOCK_REALTIME, nil)
	checks := map[string]func() error{
		"frequency": func() error { return s.AdjustFrequency(1) },
		"step":      func() error { return s.Step(time.Nanosecond) },
		"tai":       func() error { return s.SetTAIOffset(37) },
		"sync":      func() error { return s.SetSync(0, 0) },
		"leap":      func() error { return s.SetLeap(clock.LeapInsert) },
		"unsync":    func() error { return s.SetUnsync() },
	}
	for name, f := range checks {
		if err := f(); !errors.Is(err, unix.EPERM) {
			t.Errorf("%s through the guard: %v, want refused (EPERM)", name, err)
		}
	}
	if len(refused) != len(checks) {
		t.Fatalf("guard reported %d refusals, want %d: %q", len(refused), len(checks), refused)
	}
	if w := k.writes(); len(w) != 0 {
		t.Fatalf("writes passed the guard: %+v", w)
	}
	if len(k.calls) == 0 {
		t.Fatal("reads did not pass the guard")
	}
}

// The real kernel's CLOCK_REALTIME, read with modes = 0 only, decodes to
// sane values. It fails if the field layout, units or scaling are wrong.
func TestRealtimeStateReadOnly(t *testing.T) {
	s := newSteered(readOnly{fail: t.Errorf}, unix.CLOCK_REALTIME, nil)
	st, err := s.State()
	if err != nil {
		t.Fatalf("clock_adjtime(CLOCK_REALTIME, modes 0): %v", err)
	}
	t.Logf("CLOCK_REALTIME: state %v status %v freq %.3f ppb maxerror %v esterror %v tai %d tick %v",
		st.TimeState, st.Status, st.FreqPPB, st.MaxError, st.EstError, st.TAIOffset, st.Tick)
	if st.TolerancePPB != MaxFrequencyPPB {
		t.Errorf("tolerance %v ppb, want the kernel's 500 ppm", st.TolerancePPB)
	}
	if math.Abs(st.FreqPPB) > MaxFrequencyPPB {
		t.Errorf("freq %v ppb beyond ±500 ppm", st.FreqPPB)
	}
	if st.Precision != time.Microsecond {
		t.Errorf("precision %v, want 1µs", st.Precision)
	}
	if st.Tick < 9*time.Millisecond || st.Tick > 11*time.Millisecond {
		t.Errorf("tick %v outside 10 ms ± 10 %%", st.Tick)
	}
	if st.MaxError < 0 || st.MaxError > maxErrorLimit || st.EstError < 0 || st.EstError > maxErrorLimit {
		t.Errorf("maxerror %v esterror %v outside [0, 16 s]", st.MaxError, st.EstError)
	}
	if st.TAIOffset < 0 || st.TAIOffset > maxTAIOffset {
		t.Errorf("tai %d", st.TAIOffset)
	}
	if st.Status&^0xffff != 0 {
		t.Errorf("status %v has undefined bits", st.Status)
	}
	if st.TimeState < TimeOK || st.TimeState > TimeError {
		t.Errorf("state %v", st.TimeState)
	}
	// The kernel returns TIME_ERROR whenever STA_UNSYNC is set.
	if st.Status&StaUnsync != 0 && st.TimeState != TimeError {
		t.Errorf("STA_UNSYNC set but state %v", st.TimeState)
	}
	if d := time.Since(st.Time); d < -time.Second || d > time.Second {
		t.Errorf("kernel time %v is %v from time.Now", st.Time, d)
	}
	// Frequency is the same read; another daemon may change the frequency
	// between calls, so it must lie between the readings around it.
	f, err := s.Frequency()
	if err != nil {
		t.Fatal(err)
	}
	st2, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := min(st.FreqPPB, st2.FreqPPB), max(st.FreqPPB, st2.FreqPPB); f < lo || f > hi {
		t.Errorf("Frequency() = %v, State().FreqPPB before/after = %v, %v", f, st.FreqPPB, st2.FreqPPB)
	}
	// adjtimex(2) is the same read through the other entry point.
	var tx unix.Timex // modes 0
	if _, err := unix.Adjtimex(&tx); err != nil {
		t.Fatal(err)
	}
	if at := decode(&tx, 0); at.TolerancePPB != st.TolerancePPB || at.Precision != st.Precision ||
		at.Time.Sub(st.Time) < 0 || at.Time.Sub(st.Time) > time.Second {
		t.Errorf("adjtimex decodes to %+v, clock_adjtime to %+v", at, st)
	}
	// Clock.State is the same read without the guard; it always passes
	// modes = 0.
	if cs, err := (Clock{}).State(); err != nil || cs.TolerancePPB != st.TolerancePPB {
		t.Errorf("Clock.State() = %+v, %v", cs, err)
	}
}

// No test anywhere in the module may build a Steered on the real
// CLOCK_REALTIME. The name is assembled so that this file does not match.
func TestNoTestConstructsRealtimeSteered(t *testing.T) {
	banned := "NewSteered" + "Realtime"
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not at %s: %v", root, err)
	}
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), banned) {
			t.Errorf("%s mentions %s: tests must use a fake kernel", path, banned)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Fatalf("scanned only %d test files", n)
	}
}

// The real write path, exercised on a PHC instead of the host clock. It
// writes the device, so it runs only when GNOMON_PHC_WRITE_TEST names a PHC
// that no ptp4l/phc2sys is using (for example a netdevsim or ptp_mock one).
func TestWritePathOnPHC(t *testing.T) {
	path := os.Getenv("GNOMON_PHC_WRITE_TEST")
	if path == "" {
		devs, _ := filepath.Glob("/dev/ptp*")
		t.Skipf("set GNOMON_PHC_WRITE_TEST=/dev/ptpN to exercise the clock_adjtime write path on a PHC "+
			"(found %d /dev/ptp* here); on CLOCK_REALTIME it is tested only against the fake kernel", len(devs))
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id := unix.FdToClockID(int(f.Fd()))
	if id == unix.CLOCK_REALTIME {
		t.Fatal("PHC clockid is CLOCK_REALTIME")
	}
	s := newSteered(readOnly{fail: t.Errorf}, id, nil)
	orig, err := s.Frequency()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.AdjustFrequency(orig); err != nil {
			t.Errorf("restoring %s frequency: %v", path, err)
		}
	}()
	for _, ppb := range []float64{12_345.5, -3_000.25} {
		if err := s.AdjustFrequency(ppb); err != nil {
			t.Fatal(err)
		}
		got, err := s.Frequency()
		if err != nil || math.Abs(got-ppb) > 0.5/65.536 {
			t.Fatalf("Frequency() = %v, %v after setting %v", got, err, ppb)
		}
	}
	var ts0, ts1 unix.Timespec
	for _, d := range []time.Duration{1500 * time.Millisecond, -1500 * time.Millisecond} {
		if err := unix.ClockGettime(id, &ts0); err != nil {
			t.Fatal(err)
		}
		if err := s.Step(d); err != nil {
			t.Fatal(err)
		}
		if err := unix.ClockGettime(id, &ts1); err != nil {
			t.Fatal(err)
		}
		moved := time.Duration(ts1.Nano() - ts0.Nano())
		if moved < d || moved > d+100*time.Millisecond {
			t.Fatalf("Step(%v) moved the PHC by %v", d, moved)
		}
	}
}
