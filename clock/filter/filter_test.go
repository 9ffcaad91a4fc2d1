package filter

import (
	"math"
	"testing"
	"time"
)

const (
	us = time.Microsecond
	ms = time.Millisecond
)

// base is an arbitrary local time.
var base = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestFilterDispersion(t *testing.T) {
	now := base
	prec := time.Duration(954) // 2^-20 s, rounded to the nanosecond
	var f Filter
	r := f.Evaluate(now, prec)
	if r.OK || r.Dispersion != MaxDispersion {
		t.Errorf("empty filter: ok %v dispersion %v", r.OK, r.Dispersion)
	}
	f.Add(Sample{Time: now, Offset: 5 * ms, Delay: ms, Dispersion: ms})
	r = f.Evaluate(now, prec)
	// One sample: its own ε; jitter = precision.
	if !r.OK || r.Dispersion != ms || r.Jitter != prec || r.Valid != 1 {
		t.Errorf("one sample: %+v", r)
	}
	// Two samples of ε 1 ms and 4 ms: (1/2 + 4/4)/(1/2 + 1/4) ms = 2 ms.
	f.Add(Sample{Time: now, Offset: 5 * ms, Delay: 2 * ms, Dispersion: 4 * ms})
	if r = f.Evaluate(now, prec); r.Dispersion != 2*ms {
		t.Errorf("two samples: dispersion %v, want 2ms", r.Dispersion)
	}
	f.Reset()
	for range 8 {
		f.Add(Sample{Time: now, Offset: 5 * ms, Delay: ms, Dispersion: ms})
	}
	r = f.Evaluate(now, prec)
	if r.Dispersion != ms {
		t.Errorf("eight samples: dispersion %v, want 1ms", r.Dispersion)
	}
	// A missed poll is a MAXDISP stage: sorted last, weight 1/256 of 255/256.
	f.AddMissing(now)
	r = f.Evaluate(now, prec)
	want := time.Duration(math.Round((1e-3*(1-1.0/128) + 16.0/256) / (1 - 1.0/256) * 1e9))
	if r.Dispersion != want || r.Valid != 7 {
		t.Errorf("with a missed poll: dispersion %v valid %d, want %v 7", r.Dispersion, r.Valid, want)
	}
	f.Reset()
	for range 8 {
		f.Add(Sample{Time: now, Offset: 5 * ms, Delay: ms, Dispersion: ms})
	}
	// 1000 s later each stage has grown by PHI × 1000 s = 15 ms.
	r = f.Evaluate(now.Add(1000*time.Second), prec)
	if want := 16 * ms; r.Dispersion != want || r.Best.Dispersion != 16*ms {
		t.Errorf("aged: dispersion %v (want %v), best %v", r.Dispersion, want, r.Best.Dispersion)
	}
	// Growth saturates at MaxDispersion: a very old filter is unusable.
	if r := f.Evaluate(now.Add(2e6*time.Second), prec); r.OK {
		t.Errorf("filter 2e6 s old still usable: %+v", r)
	}
}

func TestFilterAgeBeatsDelay(t *testing.T) {
	// An old low-delay sample loses to a fresh one once its grown
	// dispersion exceeds the delay difference: 1 ms old sample with δ/2 =
	// 100 µs vs a new one with δ/2 = 400 µs: after 20 s (+300 µs) they tie,
	// after 40 s the new one wins.
	var f Filter
	f.Add(Sample{Time: base, Offset: 1 * ms, Delay: 200 * us})
	f.Add(Sample{Time: base.Add(40 * time.Second), Offset: 2 * ms, Delay: 800 * us})
	if r := f.Evaluate(base.Add(40*time.Second), 0); r.Best.Offset != 2*ms {
		t.Errorf("picked %v, want the fresh sample", r.Best.Offset)
	}
	if r := f.Evaluate(base.Add(10*time.Second), 0); r.Best.Offset != 1*ms {
		t.Errorf("picked %v, want the low-delay sample", r.Best.Offset)
	}
	// Exact tie in distance: the newer sample wins, whatever the order.
	at := base.Add(time.Second)
	old := Sample{Time: base, Offset: 1, Delay: 100}
	grown := old.DispersionAt(at)
	young := Sample{Time: at, Offset: 2, Delay: 100 + 2*grown}
	for _, order := range [][2]Sample{{old, young}, {young, old}} {
		var g Filter
		g.Add(order[0])
		g.Add(order[1])
		if r := g.Evaluate(at, 0); r.Best.Offset != 2 {
			t.Errorf("tie picked %v, want the newer", r.Best.Offset)
		}
	}
}
