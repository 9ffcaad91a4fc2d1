package phc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// measuredTranslator returns a Translator for a simulated PHC over base,
// with one measurement of samples cross-timestamps taken.
func measuredTranslator(t *testing.T, base *manual, sim SimConfig, cfg TranslatorConfig, samples int) (*Translator, *Sim) {
	t.Helper()
	sim.Base = base
	p, s := newSimPHC(t, sim)
	cfg.Now = base.Now
	tr, err := NewTranslator(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	off, _, at, err := p.SysOffset(samples)
	if err != nil {
		t.Fatal(err)
	}
	tr.Update(off, at)
	return tr, s
}

// TestTranslatorAccuracy: a simulated PHC 37 s ahead (TAI) running 40 ppm
// fast, measured once a second with 2 µs cross-timestamps and up to 1 µs of
// jitter. Packet stamps taken anywhere in the second after a measurement map
// back to the realtime they were taken at within the measurement's error
// (half its span plus jitter) plus the drift left after the slope estimate.
func TestTranslatorAccuracy(t *testing.T) {
	base := newBase()
	p, sim := newSimPHC(t, SimConfig{Base: base, Offset: 37 * time.Second, FreqErrorPPB: 40_000,
		ReadDelay: 2 * time.Microsecond, ReadJitter: time.Microsecond, Seed: 7})
	tr, err := NewTranslator(p, TranslatorConfig{Now: base.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.ToRealtime(sim.Now()); ok {
		t.Fatal("mapping before any measurement")
	}
	measure := func() {
		t.Helper()
		off, _, at, err := p.SysOffset(5)
		if err != nil {
			t.Fatal(err)
		}
		tr.Update(off, at)
	}
	var worst time.Duration
	for sec := range 30 {
		measure()
		for _, ms := range []time.Duration{0, 100, 500, 999} {
			base.add(ms * time.Millisecond)
			truth := base.Now()
			got, ok := tr.ToRealtime(sim.Now())
			if !ok {
				t.Fatalf("second %d +%v ms: no mapping", sec, ms)
			}
			err := got.Sub(truth)
			// Before the second measurement there is no slope: 40 ppm of
			// drift over up to 1 s is allowed then.
			limit := 3 * time.Microsecond
			if sec == 0 {
				limit += time.Duration(40e-6 * float64(ms*time.Millisecond))
			}
			if err > limit || err < -limit {
				t.Errorf("second %d +%v ms: mapped %v from the truth (limit %v)", sec, ms, err, limit)
			}
			if sec > 0 && (err > worst || -err > worst) {
				worst = max(err, -err)
			}
			base.add(-ms * time.Millisecond)
		}
		base.add(time.Second)
	}
	t.Logf("worst mapping error after the first second: %v", worst)
}

// TestTranslatorAgesOut: without fresh measurements the mapping is refused
// after MaxAge, so packets fall back to software stamps.
func TestTranslatorAgesOut(t *testing.T) {
	base := newBase()
	tr, sim := measuredTranslator(t, base, SimConfig{Offset: time.Second}, TranslatorConfig{Interval: time.Second, MaxAge: 3 * time.Second}, 1)
	at := tr.m.Load().at
	base.add(2 * time.Second)
	if _, ok := tr.ToRealtime(sim.Now()); !ok {
		t.Error("mapping 2 s old refused (max age 3 s)")
	}
	base.add(2 * time.Second)
	if _, ok := tr.ToRealtime(sim.Now()); ok {
		t.Error("mapping 4 s old used (max age 3 s)")
	}
	// An out-of-order measurement is ignored.
	tr.Update(0, at.Add(-time.Second))
	if m := tr.m.Load(); m.at != at {
		t.Errorf("out-of-order measurement replaced the mapping: at %v", m.at)
	}
}

func TestTranslatorConfig(t *testing.T) {
	p, _ := newSimPHC(t, SimConfig{Base: newBase()})
	for name, cfg := range map[string]TranslatorConfig{
		"samples":        {Samples: MaxSamples + 1},
		"negative":       {Interval: -time.Second},
		"age < interval": {Interval: 2 * time.Second, MaxAge: time.Second},
	} {
		if _, err := NewTranslator(p, cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	if _, err := NewTranslator(nil, TranslatorConfig{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil PHC: err %v", err)
	}
}

// TestTranslatorRun: Run measures at once and stops with its context.
func TestTranslatorRun(t *testing.T) {
	base := newBase()
	p, sim := newSimPHC(t, SimConfig{Base: base, Offset: 5 * time.Second})
	tr, err := NewTranslator(p, TranslatorConfig{Now: base.Now, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for tr.m.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	got, ok := tr.ToRealtime(sim.Now())
	if !ok || got.Sub(base.Now()).Abs() > time.Microsecond {
		t.Errorf("after Run's first measurement: %v, %v; want the base time %v", got, ok, base.Now())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestTranslatorAllocs(t *testing.T) {
	tr, sim := measuredTranslator(t, newBase(), SimConfig{}, TranslatorConfig{}, 1)
	ts := sim.Now()
	if n := testing.AllocsPerRun(100, func() { tr.ToRealtime(ts) }); n != 0 {
		t.Errorf("ToRealtime: %v allocs", n)
	}
}

func TestTranslators(t *testing.T) {
	var ts Translators
	if _, ok := ts.ToRealtime(0, time.Now()); ok || ts.Has(0) {
		t.Fatal("empty set maps something")
	}
	base := newBase()
	tr, sim := measuredTranslator(t, base, SimConfig{Offset: 37 * time.Second}, TranslatorConfig{}, 1)
	ts.Add(2, tr)
	if got, ok := ts.ToRealtime(2, sim.Now()); !ok || got.Sub(base.Now()).Abs() > time.Microsecond {
		t.Errorf("PHC 2: %v %v, want %v", got, ok, base.Now())
	}
	if _, ok := ts.ToRealtime(1, sim.Now()); ok || !ts.Has(2) || ts.Has(1) {
		t.Error("PHC 1 has no translator but maps")
	}
	now := sim.Now()
	if n := testing.AllocsPerRun(100, func() { ts.ToRealtime(2, now) }); n != 0 {
		t.Errorf("ToRealtime: %v allocs", n)
	}
}
