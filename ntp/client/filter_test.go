package client

import (
	"math"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/ntp/wire"
)

func TestFilterMinDelayPick(t *testing.T) {
	// Eight exchanges 2 s apart through HandleReply; one-way delays vary,
	// the offset seen is the true 3 ms plus the asymmetry each one has.
	// The filter must pick the exchange with the smallest delay.
	s := newSource(t, Config{MinPoll: 1, MaxPoll: 1, Precision: -20})
	type ex struct{ out, back time.Duration }
	exs := []ex{{900 * us, 700 * us}, {400 * us, 500 * us}, {2 * ms, 1 * ms}, {150 * us, 170 * us},
		{600 * us, 650 * us}, {3 * ms, 200 * us}, {300 * us, 280 * us}, {1 * ms, 1 * ms}}
	const off = 3 * ms
	now := base
	for i, e := range exs {
		c, next := poll(s, now)
		t2 := now.Add(e.out + off)
		if _, v := s.HandleReply(good(c, t2, t2).bytes(), now.Add(e.out+e.back), time.Time{}); v != Accepted {
			t.Fatalf("exchange %d: %v", i, v)
		}
		now = next
	}
	est := s.Estimate(now)
	// Exchange 3: δ = 320 µs, θ = 3 ms + (150 − 170)/2 µs.
	if est.Delay != 320*us || est.Offset != off-10*us || !est.SampleTime.Equal(base.Add(3*2*time.Second+320*us)) {
		t.Errorf("picked delay %v offset %v at %v; want 320µs, 2.99ms, exchange 3", est.Delay, est.Offset, est.SampleTime.Sub(base))
	}
	if est.Samples != 8 {
		t.Errorf("samples %d", est.Samples)
	}
	// Jitter: RMS of the other offsets around the chosen one.
	var sum float64
	for i, e := range exs {
		if i == 3 {
			continue
		}
		d := (float64(e.out-e.back)/2 - float64(150*us-170*us)/2) / 1e9
		sum += d * d
	}
	want := time.Duration(math.Sqrt(sum/7) * 1e9)
	if d := est.Jitter - want; d > 2 || d < -2 {
		t.Errorf("jitter %v, want %v", est.Jitter, want)
	}
}

func TestFilterDispersion(t *testing.T) {
	now := base
	prec := wire.Log2Duration(-20)
	var f filter
	r := f.evaluate(now, prec)
	if r.ok || r.dispersion != MaxDispersion {
		t.Errorf("empty filter: ok %v dispersion %v", r.ok, r.dispersion)
	}
	f.add(Sample{Time: now, Offset: 5 * ms, Delay: ms, Dispersion: ms})
	r = f.evaluate(now, prec)
	// One sample: its own ε; jitter = precision.
	if !r.ok || r.dispersion != ms || r.jitter != prec || r.valid != 1 {
		t.Errorf("one sample: %+v", r)
	}
	// Two samples of ε 1 ms and 4 ms: (1/2 + 4/4)/(1/2 + 1/4) ms = 2 ms.
	f.add(Sample{Time: now, Offset: 5 * ms, Delay: 2 * ms, Dispersion: 4 * ms})
	if r = f.evaluate(now, prec); r.dispersion != 2*ms {
		t.Errorf("two samples: dispersion %v, want 2ms", r.dispersion)
	}
	f.reset()
	for range 8 {
		f.add(Sample{Time: now, Offset: 5 * ms, Delay: ms, Dispersion: ms})
	}
	r = f.evaluate(now, prec)
	if r.dispersion != ms {
		t.Errorf("eight samples: dispersion %v, want 1ms", r.dispersion)
	}
	// A missed poll is a MAXDISP stage: sorted last, weight 1/256 of 255/256.
	f.addMissing(now)
	r = f.evaluate(now, prec)
	want := time.Duration(math.Round((1e-3*(1-1.0/128) + 16.0/256) / (1 - 1.0/256) * 1e9))
	if r.dispersion != want || r.valid != 7 {
		t.Errorf("with a missed poll: dispersion %v valid %d, want %v 7", r.dispersion, r.valid, want)
	}
	f.reset()
	for range 8 {
		f.add(Sample{Time: now, Offset: 5 * ms, Delay: ms, Dispersion: ms})
	}
	// 1000 s later each stage has grown by PHI × 1000 s = 15 ms.
	r = f.evaluate(now.Add(1000*time.Second), prec)
	if want := 16 * ms; r.dispersion != want || r.best.Dispersion != 16*ms {
		t.Errorf("aged: dispersion %v (want %v), best %v", r.dispersion, want, r.best.Dispersion)
	}
	// Growth saturates at MaxDispersion: a very old filter is unusable.
	if r := f.evaluate(now.Add(2e6*time.Second), prec); r.ok {
		t.Errorf("filter 2e6 s old still usable: %+v", r)
	}
}

func TestFilterAgeBeatsDelay(t *testing.T) {
	// An old low-delay sample loses to a fresh one once its grown
	// dispersion exceeds the delay difference: 1 ms old sample with δ/2 =
	// 100 µs vs a new one with δ/2 = 400 µs: after 20 s (+300 µs) they tie,
	// after 40 s the new one wins.
	var f filter
	f.add(Sample{Time: base, Offset: 1 * ms, Delay: 200 * us})
	f.add(Sample{Time: base.Add(40 * time.Second), Offset: 2 * ms, Delay: 800 * us})
	if r := f.evaluate(base.Add(40*time.Second), 0); r.best.Offset != 2*ms {
		t.Errorf("picked %v, want the fresh sample", r.best.Offset)
	}
	if r := f.evaluate(base.Add(10*time.Second), 0); r.best.Offset != 1*ms {
		t.Errorf("picked %v, want the low-delay sample", r.best.Offset)
	}
	// Exact tie in distance: the newer sample wins, whatever the order.
	at := base.Add(time.Second)
	old := Sample{Time: base, Offset: 1, Delay: 100}
	grown := old.grown(at)
	young := Sample{Time: at, Offset: 2, Delay: 100 + 2*grown}
	for _, order := range [][2]Sample{{old, young}, {young, old}} {
		var g filter
		g.add(order[0])
		g.add(order[1])
		if r := g.evaluate(at, 0); r.best.Offset != 2 {
			t.Errorf("tie picked %v, want the newer", r.best.Offset)
		}
	}
}
