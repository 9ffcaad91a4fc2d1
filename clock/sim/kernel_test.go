package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/clock"
)

// Armed with an insertion, the kernel steps back 1 s once when its reading
// passes midnight, then waits until disarmed; a failing kernel changes
// nothing but still traces the request.
func TestKernelLeap(t *testing.T) {
	tl := NewTimeline(time.Date(2016, 12, 31, 23, 59, 58, 0, time.UTC))
	c, err := NewClock(tl, Oscillator{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	k := NewKernel(c)
	var ops []KernelOp
	k.Trace = func(c KernelCall) { ops = append(ops, c.Op) }
	if err := k.SetLeap(clock.LeapInsert); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := tl.Advance(time.Second); err != nil {
			t.Fatal(err)
		}
		k.Now()
	}
	if k.Leaps() != 1 || k.Armed() != clock.LeapInsert {
		t.Fatalf("leaps %d armed %v, want one leap, still armed (waiting)", k.Leaps(), k.Armed())
	}
	if te := k.Now().Sub(tl.Now()); te != -time.Second {
		t.Errorf("clock − true = %v after the insertion, want −1s", te)
	}
	boom := errors.New("EPERM")
	k.Fail = boom
	if err := k.SetLeap(clock.LeapNone); !errors.Is(err, boom) || k.Armed() != clock.LeapInsert {
		t.Errorf("failing SetLeap: %v, armed %v", err, k.Armed())
	}
	if err := k.SetTAIOffset(37); !errors.Is(err, boom) || k.TAI() != -1 {
		t.Errorf("failing SetTAIOffset: %v, tai %d", err, k.TAI())
	}
	want := []KernelOp{OpArm, OpLeap, OpArm, OpTAI}
	if len(ops) != len(want) {
		t.Fatalf("traced %v, want %v", ops, want)
	}
	for i := range want {
		if ops[i] != want[i] {
			t.Fatalf("traced %v, want %v", ops, want)
		}
	}
}
