package serve

import (
	"math/rand/v2"
	"testing"
)

func TestTxCal(t *testing.T) {
	var c txCal
	if c.predict(3) != 0 {
		t.Fatal("a cold calibration corrects")
	}
	// Replies leave 3 µs + 1.5 µs per position after the clock read, with
	// ±0.5 µs jitter and one descheduled send in 50.
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		k := i % 20
		d := int64(3000 + 1500*k + r.IntN(1000) - 500)
		if i%50 == 49 {
			d += 400_000
		}
		c.add(k, d)
	}
	for _, k := range []int{0, 5, 19, 31} {
		want := int64(3000 + 1500*k)
		if got := c.predict(k); got < want-300 || got > want+300 {
			t.Errorf("predict(%d) = %d ns, want %d ± 300", k, got, want)
		}
	}
	// Out-of-range samples are ignored.
	before := c
	c.add(1, -5)
	c.add(1, 2_000_000)
	if c != before {
		t.Error("an out-of-range sample changed the model")
	}
	// It follows a change: the per-position cost halves.
	for i := range 3000 {
		k := i % 20
		c.add(k, int64(3000+750*k))
	}
	if got := c.predict(19); got < 3000+750*19-300 || got > 3000+750*19+300 {
		t.Errorf("after the change predict(19) = %d ns, want %d ± 300", got, 3000+750*19)
	}
	// A single position still gives its mean (no slope).
	var one txCal
	for range 100 {
		one.add(0, 4000)
	}
	if got := one.predict(7); got != 4000 {
		t.Errorf("one position: predict(7) = %d, want 4000", got)
	}
}
