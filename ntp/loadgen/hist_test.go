package loadgen

import (
	"math"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 100, 1000, 12345, 1 << 20, 1<<40 + 12345, math.MaxUint64} {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Errorf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if v >= histDirect && float64(hi-lo) > float64(lo)/histSub {
			t.Errorf("bucket %d [%d, %d] wider than 1/%d", i, lo, hi, histSub)
		}
		if i < 0 || i >= histBuckets {
			t.Errorf("bucket %d out of range", i)
		}
	}
	// Buckets are contiguous and increasing.
	for i := 1; i < histBuckets; i++ {
		plo, phi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != phi+1 || lo <= plo {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, phi)
		}
	}
}

func TestQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram not zero")
	}
	// 1..10000 µs uniformly: the q-quantile is q·10 ms.
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999} {
		want := q * 10000 * float64(time.Microsecond)
		got := float64(h.Quantile(q))
		if math.Abs(got-want)/want > 1.0/histSub {
			t.Errorf("q%.3f = %v, want %v within %.1f %%", q, time.Duration(got), time.Duration(want), 100.0/histSub)
		}
	}
	if h.Min() != time.Microsecond || h.Max() != 10*time.Millisecond || h.Count() != 10000 {
		t.Errorf("min %v max %v n %d", h.Min(), h.Max(), h.Count())
	}
	if m := h.Mean(); m < 5000*time.Microsecond || m > 5001*time.Microsecond {
		t.Errorf("mean %v", m)
	}
	if h.Quantile(0) != time.Microsecond || h.Quantile(1) != 10*time.Millisecond {
		t.Errorf("q0 %v q1 %v", h.Quantile(0), h.Quantile(1))
	}
	h.Record(-5) // clamps to 0
	if h.Min() != 0 {
		t.Errorf("negative not clamped: min %v", h.Min())
	}
}

func TestMerge(t *testing.T) {
	var a, b, all Histogram
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i*i) * time.Nanosecond
		all.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(&Histogram{})
	if m != all {
		t.Errorf("merge differs: n %d/%d min %v/%v max %v/%v", m.Count(), all.Count(), m.Min(), all.Min(), m.Max(), all.Max())
	}
}

func TestRecordAllocs(t *testing.T) {
	var h Histogram
	if a := testing.AllocsPerRun(1000, func() { h.Record(12345) }); a != 0 {
		t.Errorf("Record allocates %v", a)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		h.Record(time.Duration(i * 977))
	}
}

// TestAbove counts the samples above a threshold within the histogram's
// resolution (≈ 3 %): exactly for thresholds away from any sample.
func TestAbove(t *testing.T) {
	var h Histogram
	for _, ms := range []int{1, 50, 99, 101, 150, 2000} {
		h.Record(time.Duration(ms) * time.Millisecond)
	}
	for _, c := range []struct {
		d    time.Duration
		want uint64
	}{
		{-1, 6}, {0, 6}, {500 * time.Microsecond, 6}, {10 * time.Millisecond, 5},
		{75 * time.Millisecond, 4}, {125 * time.Millisecond, 2}, {time.Second, 1}, {3 * time.Second, 0},
	} {
		if got := h.Above(c.d); got != c.want {
			t.Errorf("Above(%v) = %d, want %d", c.d, got, c.want)
		}
	}
	var empty Histogram
	if got := empty.Above(time.Millisecond); got != 0 {
		t.Errorf("empty: Above = %d", got)
	}
}
