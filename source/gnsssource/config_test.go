package gnsssource_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gnomon-time/gnomon/clock/engine"
	"github.com/gnomon-time/gnomon/refclock"
	"github.com/gnomon-time/gnomon/source/gnsssource"
)

func TestValidate(t *testing.T) {
	if err := gnsssource.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := gnsssource.DefaultConfig()
	c.ID, c.Precision, c.Timeout, c.Pair.Confirm = "", 0, time.Second, 0
	err := c.Validate()
	for _, key := range []string{"id", "precision = ", "timeout = ", "confirm = "} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v lacks %q", err, key)
		}
	}
	if _, err := gnsssource.New(gnsssource.DefaultConfig(), nil, nil, nil); err == nil {
		t.Error("New without devices")
	}
}

// sink collects samples.
type sink struct {
	mu   sync.Mutex
	smps []engine.Sample
}

func (s *sink) Sample(_ int, smp engine.Sample) {
	s.mu.Lock()
	s.smps = append(s.smps, smp)
	s.mu.Unlock()
}

// kernelPPS stamps edges on CLOCK_REALTIME (the bubble's clock) 2 µs late.
type kernelPPS struct{}

func (kernelPPS) Run(ctx context.Context, fn func(refclock.Edge)) error {
	var seq uint64
	for ctx.Err() == nil {
		sec := untilSecond()
		seq++
		fn(refclock.Edge{At: sec.Add(2 * time.Microsecond), Seq: seq})
	}
	return nil
}

// TestToLocal: kernel PPS on CLOCK_REALTIME disciplining a clock that
// reads realtime + 3 ms. Every sample's Local is that clock's reading at
// the edge and its Offset the label minus it.
func TestToLocal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := gnsssource.DefaultConfig()
		cfg.ToLocal = func(at time.Time) time.Time { return at.Add(3 * time.Millisecond) }
		src, err := gnsssource.New(cfg, kernelPPS{}, &nmea{rng: rand.New(rand.NewPCG(7, 8))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out sink
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx, &out) }()
		time.Sleep(20 * time.Second)
		if r := src.Refs()[0].Reporter.Report(time.Now().Add(3 * time.Millisecond)); !r.Usable || r.Stratum != 0 ||
			r.Offset != -3*time.Millisecond-2*time.Microsecond {
			t.Errorf("report %+v: want usable, stratum 0, offset −3.002 ms", r)
		}
		if err := src.Restart(t.Context()); err != nil {
			t.Fatal(err)
		}
		if r := src.Refs()[0].Reporter.Report(time.Now()); r.Usable {
			t.Errorf("usable right after Restart: %+v", r)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		out.mu.Lock()
		defer out.mu.Unlock()
		if len(out.smps) < 15 {
			t.Fatalf("%d samples in 20 s", len(out.smps))
		}
		for _, s := range out.smps {
			label := s.Local.Add(-3 * time.Millisecond).Truncate(time.Second)
			if s.Offset != label.Sub(s.Local) || s.Offset != -3*time.Millisecond-2*time.Microsecond {
				t.Errorf("sample %+v: want offset %v", s, label.Sub(s.Local))
			}
		}
		t.Logf("%d samples, counts %v", len(out.smps), src.Counts())
	})
}
