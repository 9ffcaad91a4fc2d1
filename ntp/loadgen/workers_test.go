package loadgen

import (
	"testing"
	"time"
)

func TestDefaultWorkers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rate    float64
		max     bool
		cpus    int
		workers int
	}{
		{"tour run on 2 CPUs", 1000, false, 2, 1},
		{"tour run on 64 CPUs", 1000, false, 64, 1},
		{"one CPU", 1000, false, 1, 1},
		{"GOMAXPROCS unknown", 1000, false, 0, 1},
		{"one worker's share", WorkerRate, false, 8, 1},
		{"just above one worker's share", WorkerRate + 1, false, 8, 2},
		{"high rate, capped by CPUs", 1_000_000, false, 4, 4},
		{"high rate, 64 CPUs", 1_000_000, false, 64, 20},
		{"max mode uses every CPU", 0, true, 4, 4},
		{"more CPUs than MaxWorkers", 0, true, 256, MaxWorkers},
		{"rate above the limit (Validate rejects it)", 2 * MaxRate, false, 4, 4},
		{"no rate (Validate rejects it)", 0, false, 4, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultWorkers(tc.rate, tc.max, tc.cpus); got != tc.workers {
				t.Errorf("DefaultWorkers(%g, %v, %d) = %d, want %d", tc.rate, tc.max, tc.cpus, got, tc.workers)
			}
		})
	}
	// The default never asks for more workers than sockets.
	if got := (Config{Rate: 1_000_000, Clients: 2}).withDefaults(8).Workers; got != 2 {
		t.Errorf("1M/s over 2 clients on 8 CPUs: %d workers, want 2", got)
	}
	// An explicit count is kept.
	if got := (Config{Rate: 1000, Workers: 3}).withDefaults(8).Workers; got != 3 {
		t.Errorf("--workers 3: got %d", got)
	}
}

// TestTourRateNotGeneratorLimited runs README's tour load (1000 req/s, default
// workers and clients) against a loopback responder in this process. It
// failed when every default worker busy-polled a CPU: one worker per CPU, each
// at 100 % of it, which on a busy 2-core machine left the generator itself
// behind schedule ("the generator limited this run"). The generator must use
// one worker, sleep between sends and keep the rate.
func TestTourRateNotGeneratorLimited(t *testing.T) {
	if testing.Short() {
		t.Skip("2-second load run")
	}
	const rate, attempts = 1000, 3
	for i := 1; ; i++ {
		f := startFake(t, &fakeServer{})
		g, err := New(Config{Server: f.addr, Rate: rate, Duration: 2 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if w := g.Config().Workers; w != 1 {
			t.Fatalf("default workers at %d req/s: %d, want 1", rate, w)
		}
		res, err := g.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("attempt %d: sent %d at %.0f/s, received %d, skipped %d, rx drops %d, cpu %.0f %% of one core, busy %.1f %%",
			i, res.Sent, res.RequestRate, res.Received, res.Skipped, res.RxDrops, res.CPUPct(), res.BusyPct())
		// The whole process (generator and responder) uses a fraction of
		// one core; a spinning worker alone uses all of it. CPU time is
		// not wall time, so a loaded machine does not raise it.
		if res.CPU > 0 && res.CPUPct() >= 50 {
			t.Errorf("process CPU %.0f %% of one core at %d req/s: the worker spins instead of sleeping", res.CPUPct(), rate)
		}
		if res.Received == 0 {
			t.Fatalf("no reply from the responder (sent %d)", res.Sent)
		}
		if !res.GeneratorLimited() {
			return
		}
		// A stall of the whole machine longer than the catch-up allowance
		// (a descheduled vCPU) is the machine's, not the generator's:
		// repeat, and fail only if it keeps happening.
		if i == attempts {
			t.Fatalf("generator limited in %d of %d attempts at %d req/s", attempts, attempts, rate)
		}
	}
}

func TestCatchUpLimit(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		batch int
		want  int64
	}{
		{1000, DefaultBatch, catchUp},             // a 128 ms stall at the tour's rate is made up
		{10_000, DefaultBatch, catchUp},           // 12.8 ms
		{100_000, DefaultBatch, 200 + 32},         // 2 ms plus one batch, as before
		{1_000_000, MaxBatch, 2000 + 256},         // likewise
		{1000, 1, catchUp},                        // batch size does not shrink the floor
		{48_000, DefaultBatch, 96 + DefaultBatch}, // where the two meet (128)
	} {
		if got := catchUpLimit(tc.rate, tc.batch); got != tc.want {
			t.Errorf("catchUpLimit(%g, %d) = %d, want %d", tc.rate, tc.batch, got, tc.want)
		}
	}
}
