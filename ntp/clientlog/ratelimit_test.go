package clientlog

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
)

// conforms sends one request and reports whether it was within the limit
// (Allow and not a leak).
func conforms(l *Log, a netip.Addr, nowNS int64) bool {
	before := l.Stats().Leaks
	h := l.Hit(a, nowNS, Exchange{})
	return h.Decision == Allow && !h.Contended && l.Stats().Leaks == before
}

func TestBurstExact(t *testing.T) {
	for _, log2 := range []int8{-19, -4, 0, 3, 12} {
		for _, burst := range []int{1, 2, 8, 255} {
			t.Run(fmt.Sprintf("interval%d/burst%d", log2, burst), func(t *testing.T) {
				l := mustNew(t, Config{Clients: 16, RateLimit: RateLimit{Enabled: true, IntervalLog2: log2, Burst: burst, Leak: 4, KoD: 2}})
				iv := int64(math.Round(math.Ldexp(1e9, int(log2))))
				a := netip.MustParseAddr("203.0.113.5")
				t0 := int64(1_800_000_000e9)
				for i := range burst {
					if !conforms(l, a, t0) {
						t.Fatalf("request %d of the initial burst limited", i+1)
					}
				}
				if conforms(l, a, t0) {
					t.Fatalf("request %d at t0 conformed, burst is %d", burst+1, burst)
				}
				if conforms(l, a, t0+iv-1) {
					t.Fatal("conformed 1 ns before a token was earned")
				}
				if !conforms(l, a, t0+iv) {
					t.Fatal("limited after one interval")
				}
				if conforms(l, a, t0+iv) {
					t.Fatal("two requests conformed after one interval")
				}
				// Idle for Burst intervals: a full bucket, not more.
				t1 := t0 + iv + int64(burst+5)*iv
				for i := range burst {
					if !conforms(l, a, t1) {
						t.Fatalf("request %d of the refilled burst limited", i+1)
					}
				}
				if conforms(l, a, t1) {
					t.Fatal("bucket held more than Burst tokens after a long idle time")
				}
			})
		}
	}
}

func TestDisabledNeverLimits(t *testing.T) {
	l := mustNew(t, Config{Clients: 16})
	a := netip.MustParseAddr("203.0.113.6")
	for i := range 1000 {
		if h := l.Hit(a, 0, Exchange{}); h.Decision != Allow {
			t.Fatalf("request %d: %v with limiting disabled", i, h.Decision)
		}
	}
	if st := l.Stats(); st.Drops+st.KoDs+st.Leaks != 0 {
		t.Errorf("Stats = %+v, want no limiting", st)
	}
}

// TestLeakAndKoDStatistics checks the long-run answered fraction: 10,000
// requests at 10/s against one token per second. The number conforming is
// Burst + the tokens earned; of the n over the limit, leaks ~ Bin(n, 2^-Leak)
// and KoDs ~ Bin(n − leaks, 2^-KoD). Each count must lie within 3 sigma.
func TestLeakAndKoDStatistics(t *testing.T) {
	const (
		n      = 10000
		stepNS = int64(1e8) // 10 requests per second
		burst  = 8
	)
	for _, tt := range []struct{ leak, kod int }{{1, 0}, {2, 0}, {4, 0}, {2, 1}, {2, 4}, {4, 2}, {1, 1}} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("leak%d/kod%d/seed%d", tt.leak, tt.kod, seed), func(t *testing.T) {
				l := mustNew(t, Config{Clients: 16, Seed: seed,
					RateLimit: RateLimit{Enabled: true, IntervalLog2: 0, Burst: burst, Leak: tt.leak, KoD: tt.kod}})
				a := netip.MustParseAddr("198.51.100.77")
				var count [NumDecisions]int
				for i := range n {
					count[l.Hit(a, int64(i)*stepNS, Exchange{}).Decision]++
				}
				st := l.Stats()
				conforming := count[Allow] - int(st.Leaks)
				tokens := burst + int((n-1)*stepNS/1e9)
				if conforming < tokens-1 || conforming > tokens+1 {
					t.Errorf("%d requests conformed, want %d ± 1", conforming, tokens)
				}
				over := n - conforming
				within3Sigma(t, "leaked", int(st.Leaks), over, math.Ldexp(1, -tt.leak))
				answered := count[Allow]
				p := math.Ldexp(1, -tt.leak)
				exp := float64(conforming) + float64(over)*p
				if sigma := math.Sqrt(float64(over) * p * (1 - p)); math.Abs(float64(answered)-exp) > 3*sigma {
					t.Errorf("answered %d of %d (%.3f), want %.0f ± %.0f", answered, n, float64(answered)/n, exp, 3*sigma)
				}
				if tt.kod == 0 {
					if count[KoD] != 0 {
						t.Errorf("%d KoDs with kod 0", count[KoD])
					}
				} else {
					within3Sigma(t, "KoD", count[KoD], over-int(st.Leaks), math.Ldexp(1, -tt.kod))
				}
				if int(st.Drops) != count[Drop] || int(st.KoDs) != count[KoD] {
					t.Errorf("Stats %+v disagree with decisions %v", st, count)
				}
			})
		}
	}
}

func within3Sigma(t *testing.T, what string, got, trials int, p float64) {
	t.Helper()
	mean := float64(trials) * p
	sigma := math.Sqrt(float64(trials) * p * (1 - p))
	if math.Abs(float64(got)-mean) > 3*sigma {
		t.Errorf("%s %d of %d, want %.0f ± %.1f (p = %g)", what, got, trials, mean, 3*sigma, p)
	}
}

// TestClockStepBack: a backwards jump of time must not lock a limited client
// out until time catches up; it behaves as if the bucket had just emptied.
func TestClockStepBack(t *testing.T) {
	l := mustNew(t, Config{Clients: 16, RateLimit: RateLimit{Enabled: true, IntervalLog2: 0, Burst: 2, Leak: 4}})
	a := netip.MustParseAddr("192.0.2.200")
	t0 := int64(2e18)
	for range 10 {
		l.Hit(a, t0, Exchange{})
	}
	back := t0 - 3600e9
	if conforms(l, a, back) {
		t.Error("conformed right after the step: the bucket was empty")
	}
	if !conforms(l, a, back+1e9) {
		t.Error("still limited one interval after stepping back an hour")
	}
}

func TestExtremeTimes(t *testing.T) {
	l := mustNew(t, Config{Clients: 16, RateLimit: RateLimit{Enabled: true, IntervalLog2: 12, Burst: 255, Leak: 1, KoD: 1}})
	a := netip.MustParseAddr("192.0.2.201")
	for _, now := range []int64{math.MaxInt64, math.MaxInt64, math.MinInt64, 0, math.MaxInt64 - 1, math.MinInt64, -1, math.MaxInt64} {
		for range 300 {
			l.Hit(a, now, Exchange{})
		}
	}
	c := clients(l)[a]
	if c.Hits != 2400 || c.LastNS != math.MaxInt64 {
		t.Errorf("record = %+v", c)
	}
	if _, ok := c.IntervalLog2(); !ok || c.Interval <= 0 {
		t.Errorf("interval estimate %v after extreme times", c.Interval)
	}
}

func TestLog2Q8(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 7, 255, 256, 1000, 1e9, 8e9, 1 << 40, math.MaxUint64} {
		got := float64(log2Q8(n)) / 256
		if want := math.Log2(float64(n)); math.Abs(got-want) > 0.09 {
			t.Errorf("log2Q8(%d) = %.3f, want %.3f ± 0.09", n, got, want)
		}
	}
}
