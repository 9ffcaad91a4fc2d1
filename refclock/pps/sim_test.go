package pps

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
	"github.com/google/go-cmp/cmp"
)

// In real-time use the Sim sleeps on timers until each true second; in a
// synctest bubble that runs instantly and exactly.
func TestSimRealTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := NewSim(SimConfig{Now: time.Now, SignalDelay: 300 * time.Nanosecond, Delay: 300 * time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now() // 2000-01-01 00:00:00 UTC in the bubble
		time.Sleep(400 * time.Millisecond)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		var got []refclock.Edge
		var lateness []time.Duration
		err = s.Run(ctx, func(e refclock.Edge) {
			got = append(got, e)
			lateness = append(lateness, time.Since(e.At))
		})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]refclock.Edge, 5)
		for i := range want {
			want[i] = refclock.Edge{At: start.Truncate(time.Second).Add(time.Duration(i+1) * time.Second), Seq: uint64(i + 1)}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("edges (-want +got):\n%s", diff)
		}
		// Delivered when the signal reached the device, not before.
		for i, l := range lateness {
			if l != 300*time.Nanosecond {
				t.Errorf("edge %d delivered %v after its true second, want the signal delay", i, l)
			}
		}
	})
}

// The signal pulled and restored at runtime, as a holdover test does it.
func TestSimDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := NewSim(SimConfig{Now: time.Now})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		edges := make(chan refclock.Edge, 100)
		done := make(chan error)
		go func() { done <- s.Run(ctx, func(e refclock.Edge) { edges <- e }) }()
		t0 := time.Now()
		time.Sleep(3500 * time.Millisecond) // edges at 1, 2, 3
		s.SetConnected(false)
		if s.Connected() {
			t.Error("still connected")
		}
		time.Sleep(4 * time.Second) // 4…7 lost
		s.SetConnected(true)
		time.Sleep(2 * time.Second) // 8, 9
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		close(edges)
		var secs []int
		var seqs []uint64
		for e := range edges {
			secs = append(secs, int(e.At.Sub(t0)/time.Second))
			seqs = append(seqs, e.Seq)
		}
		if diff := cmp.Diff([]int{1, 2, 3, 8, 9}, secs); diff != "" {
			t.Errorf("seconds pulsed (-want +got):\n%s", diff)
		}
		// The device saw no pulses while pulled: no sequence gap.
		if diff := cmp.Diff([]uint64{1, 2, 3, 4, 5}, seqs); diff != "" {
			t.Errorf("seqs (-want +got):\n%s", diff)
		}
		if st := s.Stats(); st.Missed != 0 || st.Edges != 5 {
			t.Errorf("stats %+v", st)
		}
	})
}

// fakeTime is a true clock moved by the Sim's injected sleep: a
// discrete-event simulation without synctest.
type fakeTime struct{ now time.Time }

func (f *fakeTime) Now() time.Time { return f.now }
func (f *fakeTime) Sleep(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return errors.New("negative sleep")
	}
	f.now = f.now.Add(d)
	return ctx.Err()
}

// Jitter σ, misses, a device clock model (a PHC on TAI running 10 ppm
// fast), determinism, over 5.5 simulated hours with an injected sleep.
func TestSimStatistics(t *testing.T) {
	const n = 20000 // pulses, 5.5 h
	run := func(seed uint64) ([]refclock.Edge, Stats, []time.Time) {
		ft := &fakeTime{now: time.Date(2026, 3, 1, 0, 0, 0, 500_000_000, time.UTC)}
		origin := ft.now
		phc := func(tt time.Time) time.Time { // TAI, 10 ppm fast
			return tt.Add(37*time.Second + time.Duration(float64(tt.Sub(origin))*10e-6))
		}
		s, err := NewSim(SimConfig{
			Now: ft.Now, Sleep: ft.Sleep, DeviceTime: phc,
			Jitter: 20 * time.Nanosecond, MissProbability: 0.01, Seed: seed,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var edges []refclock.Edge
		var truth []time.Time
		err = s.Run(ctx, func(e refclock.Edge) {
			edges = append(edges, e)
			truth = append(truth, phc(ft.now))
			if ft.now.Sub(origin) >= n*time.Second-time.Second/2 { // the first pulse is 0.5 s in
				cancel()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return edges, s.Stats(), truth
	}
	edges, st, truth := run(1)
	var sum, sum2 float64
	for i, e := range edges {
		d := float64(e.At.Sub(truth[i]))
		sum += d
		sum2 += d * d
	}
	mean := sum / float64(len(edges))
	sigma := math.Sqrt(sum2/float64(len(edges)) - mean*mean)
	if math.Abs(mean) > 1 || sigma < 19 || sigma > 21 {
		t.Errorf("noise mean %.2f ns σ %.2f ns, want 0 and 20", mean, sigma)
	}
	if st.Edges+st.Missed != n || st.Missed < 150 || st.Missed > 250 {
		t.Errorf("stats %+v over %d pulses, want ≈ 1%% missed", st, n)
	}
	var gaps uint64
	for i := 1; i < len(edges); i++ {
		gaps += edges[i].Seq - edges[i-1].Seq - 1
	}
	if gaps != st.Missed {
		t.Errorf("Seq gaps %d, Missed %d", gaps, st.Missed)
	}
	again, _, _ := run(1)
	if diff := cmp.Diff(edges[:100], again[:100]); diff != "" {
		t.Errorf("same seed, different edges (-first +second):\n%s", diff)
	}
	other, _, _ := run(2)
	if cmp.Equal(edges[:100], other[:100]) {
		t.Error("different seeds, same edges")
	}
}

// Pulse driven directly, and a true clock stepped back.
func TestSimPulse(t *testing.T) {
	ft := &fakeTime{now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	s, err := NewSim(SimConfig{Now: ft.Now, Sleep: ft.Sleep, Delay: 100 * time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	e, ok := s.Pulse(ft.now.Add(1500 * time.Millisecond))
	if want := (refclock.Edge{At: ft.now.Add(time.Second - 100), Seq: 1}); !ok || e != want {
		t.Errorf("Pulse = %+v, %v; want %+v", e, ok, want)
	}
	// Run after the true clock went back 10 s: the next pulse is still
	// the second after the last one pulsed.
	ft.now = ft.now.Add(-10 * time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	var got refclock.Edge
	if err := s.Run(ctx, func(e refclock.Edge) { got = e; cancel() }); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 1, 0, 0, 2, 0, time.UTC).Add(-100); !got.At.Equal(want) || got.Seq != 2 {
		t.Errorf("after a step back: %+v, want At %v Seq 2", got, want)
	}
}

func TestSimConfigErrors(t *testing.T) {
	_, err := NewSim(SimConfig{SignalDelay: -1, Delay: time.Second, Jitter: -1, MissProbability: 1})
	for _, w := range []string{"Now is nil", "SignalDelay -1ns", "Delay 1s", "Jitter -1ns", "MissProbability 1"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %v is not ErrInvalid", err)
	}
	if _, err := NewSim(SimConfig{Now: time.Now, MissProbability: math.NaN()}); err == nil {
		t.Error("NaN MissProbability accepted")
	}
}
