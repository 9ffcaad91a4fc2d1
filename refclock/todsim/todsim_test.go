package todsim

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

// Reports come once per true second, labelled with that second, within
// the configured delay after it; silence stops them.
func TestReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := func() time.Time { return time.Now().Round(0) }
		r, err := New(Config{Now: now, MinDelay: 200 * time.Millisecond, MaxDelay: 400 * time.Millisecond, TAIOffset: 37, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		var mu sync.Mutex
		var got []refclock.TimeOfDay
		done := make(chan error)
		go func() {
			done <- r.Run(ctx, func(td refclock.TimeOfDay) { mu.Lock(); got = append(got, td); mu.Unlock() })
		}()
		time.Sleep(10 * time.Second)
		r.SetSilent(true)
		time.Sleep(5 * time.Second)
		mu.Lock()
		n := len(got)
		mu.Unlock()
		r.SetSilent(false)
		time.Sleep(3 * time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n < 9 || n > 11 || len(got) < n+2 {
			t.Fatalf("%d reports in 10 s, %d after silence and 3 s more", n, len(got))
		}
		for i, td := range got {
			d := td.Received.Sub(td.UTC)
			if td.UTC.Nanosecond() != 0 || d < 200*time.Millisecond || d >= 400*time.Millisecond || !td.Valid ||
				td.TAIOffset != 37 || !td.TAIOffsetKnown {
				t.Errorf("report %d: %+v (delay %v)", i, td, d)
			}
			if i > 0 && i != n && td.UTC.Sub(got[i-1].UTC) != time.Second {
				t.Errorf("report %d: label %v after %v", i, td.UTC, got[i-1].UTC)
			}
		}
	})
}

func TestConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no Now accepted")
	}
	if _, err := New(Config{Now: time.Now, MinDelay: time.Second, MaxDelay: 2 * time.Second}); err == nil {
		t.Error("delay ≥ 1 s accepted")
	}
}
