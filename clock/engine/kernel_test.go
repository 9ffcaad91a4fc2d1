package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/clock/sim"
)

// kernelClock is a fake CLOCK_REALTIME: the simulated kernel of clock/sim
// (leap bits, sync status, TAI offset; it inserts or deletes the second
// itself once armed) with every call recorded. It never touches the real
// clock.
type kernelClock struct {
	*sim.Kernel
	calls []string
}

func newKernelClock(c *sim.Clock, fail error) *kernelClock {
	k := &kernelClock{Kernel: sim.NewKernel(c)}
	k.Fail = fail
	k.Trace = func(c sim.KernelCall) {
		switch c.Op {
		case sim.OpStep:
			k.calls = append(k.calls, fmt.Sprintf("step %v", c.Step))
		case sim.OpArm:
			k.calls = append(k.calls, "leap "+c.Leap.String())
		case sim.OpSync:
			if len(k.calls) == 0 || k.calls[len(k.calls)-1] != "sync" {
				k.calls = append(k.calls, "sync") // one entry per run of updates
			}
		case sim.OpUnsync:
			k.calls = append(k.calls, "unsync")
		case sim.OpTAI:
			k.calls = append(k.calls, fmt.Sprintf("tai %d", c.TAI))
		}
	}
	return k
}

func kernelWorld(t *testing.T, start time.Time, mode LeapMode, table bool) (*world, *kernelClock) {
	t.Helper()
	var k *kernelClock
	w := newWorldClock(t, start, sim.Oscillator{}, func(c *Config) {
		c.LeapMode = mode
		if table {
			c.LeapSource = leapTable{}
		}
	}, func(s *sim.Clock) clock.Steerable {
		k = newKernelClock(s, nil)
		return k
	})
	return w, k
}

// LeapModeSystem: the kernel is disarmed and marked unsynchronised at
// start, told TAI − UTC from the table, marked synchronised with the error
// bound after updates, armed on the last day, and the kernel's insertion is
// accounted for (no engine step, one leap counted, sources reset, the
// kernel disarmed afterwards, TAI 37); the clock then follows UTC.
func TestLeapKernelSystemMode(t *testing.T) {
	at := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, table := range []bool{true, false} {
		t.Run(fmt.Sprintf("table=%v", table), func(t *testing.T) {
			w, k := kernelWorld(t, at.Add(-2*time.Minute), LeapModeSystem, table)
			w.leapAt = at
			if !table {
				w.leap = clock.LeapInsert
			}
			if len(k.calls) != 0 {
				t.Fatalf("New wrote to the kernel: %v", k.calls)
			}
			w.second()
			if d := slices.Compare(k.calls[:2], []string{"leap none", "unsync"}); d != 0 {
				t.Fatalf("calls at the first sample %v", k.calls)
			}
			for range 109 {
				w.second()
			}
			if k.Armed() != clock.LeapInsert || w.e.Status().KernelLeap != clock.LeapInsert {
				t.Fatalf("kernel armed %v before the leap (calls %v)", k.Armed(), k.calls)
			}
			if !k.IsSynced() || k.maxErr() <= 0 {
				t.Errorf("kernel synced %v maxerror %v after updates", k.IsSynced(), k.maxErr())
			}
			for range 20 {
				w.second()
			}
			s := w.e.Status()
			if k.Leaps() != 1 || k.Armed() != clock.LeapNone || s.KernelLeap != clock.LeapNone {
				t.Errorf("kernel leapt %d times, armed %v after", k.Leaps(), k.Armed())
			}
			if s.LeapSteps != 1 || w.src.resets != 1 || w.e.Stepped() != -time.Second {
				t.Errorf("leap steps %d, source resets %d, stepped %v", s.LeapSteps, w.src.resets, w.e.Stepped())
			}
			// No step by the engine (the want list below has none): the
			// only −1 s is the kernel's.
			if te := w.rd.Now().Sub(w.utc(w.tl.Now())); te.Abs() > 10*time.Microsecond {
				t.Errorf("TE vs UTC %v after the leap", te)
			}
			// With the table the leap is armed at the first tick (the run
			// starts on the last day); from the sources, once they are
			// selected.
			want := []string{"leap none", "unsync", "sync", "leap insert", "sync", "leap none"}
			if table {
				want = []string{"leap none", "unsync", "leap insert", "tai 36", "sync", "leap none"}
			}
			if table {
				want = append(want, "tai 37")
			}
			want = append(want, "sync")
			if d := slices.Compare(k.calls, want); d != 0 {
				t.Errorf("calls\n got %v\nwant %v", k.calls, want)
			}
			if st := w.e.State(); st.Leap != clock.LeapNone || !st.Synchronized {
				t.Errorf("state after %+v", st)
			}
			// Going unsynchronised (after 1 h of holdover) marks the kernel.
			w.silent = true
			for range 3700 {
				w.second()
			}
			if k.IsSynced() || k.calls[len(k.calls)-1] != "unsync" {
				t.Errorf("after the outage synced=%v calls %v", k.IsSynced(), k.calls[len(k.calls)-3:])
			}
		})
	}
}

// In the other modes a kernel-capable clock is disarmed at start and never
// armed; the engine steps the leap itself in step mode.
func TestLeapKernelNeverArmedOutsideSystemMode(t *testing.T) {
	at := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, mode := range []LeapMode{LeapModeStep, LeapModeSmear, LeapModeNone} {
		t.Run(mode.String(), func(t *testing.T) {
			w, k := kernelWorld(t, at.Add(-2*time.Minute), mode, true)
			w.leapAt = at
			for range 130 {
				w.second()
			}
			for _, c := range k.calls {
				if strings.HasPrefix(c, "leap ") && c != "leap none" {
					t.Fatalf("kernel armed in mode %v: calls %v", mode, k.calls)
				}
			}
			if k.Leaps() != 0 {
				t.Errorf("kernel leapt %d times", k.Leaps())
			}
			wantSteps := uint64(1)
			if mode == LeapModeNone {
				wantSteps = 0
			}
			if s := w.e.Status(); s.LeapSteps != wantSteps {
				t.Errorf("leap steps %d, want %d", s.LeapSteps, wantSteps)
			}
			if k.TAI() != 37 || !k.IsSynced() {
				t.Errorf("tai %d synced %v", k.TAI(), k.IsSynced())
			}
			if mode != LeapModeNone && !slices.Contains(k.calls, "step -1s") {
				t.Errorf("no engine leap step in %v", k.calls)
			}
		})
	}
}

// The kernel deletes 23:59:59 and the engine follows.
func TestLeapKernelDelete(t *testing.T) {
	at := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	w, k := kernelWorld(t, at.Add(-2*time.Minute), LeapModeSystem, false)
	w.leap = clock.LeapDelete
	for range 110 {
		w.second()
	}
	if k.Armed() != clock.LeapDelete {
		t.Fatalf("kernel armed %v", k.Armed())
	}
	// The server's UTC skips 23:59:59 (true time at − 1 s on).
	w.leapAt = time.Time{}
	for range 9 {
		w.second()
	}
	for range 20 {
		if err := w.tl.Advance(time.Second); err != nil {
			t.Fatal(err)
		}
		local := w.rd.Now()
		off := w.tl.Now().Add(time.Second).Sub(local)
		w.src.rep = Report{Usable: true, Offset: off, SampleTime: local, Delay: 100 * time.Microsecond,
			Dispersion: 10 * time.Microsecond, Jitter: time.Microsecond, Stratum: 1, RefID: 0x47505300, Reach: 0xff, Samples: 8}
		if err := w.e.Sample(w.id, Sample{Local: local, Offset: off, Delay: 100 * time.Microsecond}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.e.Tick(); err != nil {
			t.Fatal(err)
		}
	}
	if k.Leaps() != 1 || k.Armed() != clock.LeapNone || w.e.Status().LeapSteps != 1 || w.e.Stepped() != time.Second {
		t.Errorf("kernel leaps %d armed %v, engine leap steps %d stepped %v", k.Leaps(), k.Armed(), w.e.Status().LeapSteps, w.e.Stepped())
	}
	if te := w.rd.Now().Sub(w.tl.Now().Add(time.Second)); te.Abs() > 10*time.Microsecond {
		t.Errorf("TE vs UTC %v", te)
	}
}

func TestLeapKernelErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.LeapMode = LeapModeSystem
	clk, err := sim.NewClock(sim.NewTimeline(time.Unix(0, 0)), sim.Oscillator{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, clk, &clock.StateCell{}); err == nil || !strings.Contains(err.Error(), "LeapSetter") {
		t.Errorf("system leap mode on a clock without a kernel: %v", err)
	}
	boom := errors.New("EPERM")
	k := newKernelClock(clk, boom)
	e, err := New(cfg, k, &clock.StateCell{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Tick(); !errors.Is(err, boom) {
		t.Errorf("failing SetLeap at the first tick: %v", err)
	}
}

func (k *kernelClock) IsSynced() bool { s, _ := k.Synced(); return s }

func (k *kernelClock) maxErr() time.Duration { _, m := k.Synced(); return m }
