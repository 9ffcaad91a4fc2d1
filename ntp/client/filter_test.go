package client

import (
	"math"
	"testing"
	"time"
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
