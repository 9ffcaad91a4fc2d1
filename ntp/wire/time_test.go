package wire

import (
	"testing"
	"time"

	"github.com/facebook/time/ntp/protocol"
)

func utc(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

// era1Start is the first instant of NTP era 1.
var era1Start = utc(2036, time.February, 7, 6, 28, 16, 0)

func TestTimeFromTime(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want Time
	}{
		{"ntp_epoch", utc(1900, 1, 1, 0, 0, 0, 0), 0},
		{"unix_epoch", time.Unix(0, 0), 0x83AA7E80 << 32},
		{"half_second", time.Unix(0, 500_000_000), 0x83AA7E80<<32 | 0x80000000},
		{"last_second_of_era0", era1Start.Add(-time.Second / 2), 0xFFFFFFFF<<32 | 0x80000000},
		{"era1_start_wraps_to_zero", era1Start, 0},
		{"era1_plus_1s", era1Start.Add(time.Second), 1 << 32},
		{"before_1900_is_era_minus1", utc(1899, 12, 31, 23, 59, 59, 0), 0xFFFFFFFF << 32},
		{"one_ns_truncates_to_4_units", time.Unix(0, 1), 0x83AA7E80<<32 | 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TimeFromTime(tt.in); got != tt.want {
				t.Errorf("TimeFromTime(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestTimeMatchesFacebook cross-checks the era-0 encoding with
// facebook/time's protocol.Time, which has no era handling.
func TestTimeMatchesFacebook(t *testing.T) {
	for _, in := range []time.Time{
		time.Unix(0, 0),
		time.Unix(1_763_900_000, 123_456_789),
		utc(2035, 12, 31, 23, 59, 59, 999_999_999),
		utc(1980, 1, 6, 0, 0, 0, 1),
	} {
		sec, frac := protocol.Time(in)
		got := TimeFromTime(in)
		if got.Seconds() != sec || got.Fraction() != frac {
			t.Errorf("%v: got %08x.%08x, facebook %08x.%08x", in, got.Seconds(), got.Fraction(), sec, frac)
		}
	}
}

func TestTimeEraConversion(t *testing.T) {
	tests := []struct {
		name  string
		t     Time
		pivot time.Time
		want  time.Time
	}{
		{"era0_with_2026_pivot", TimeFromTime(utc(2026, 11, 23, 17, 0, 0, 0)), utc(2026, 1, 1, 0, 0, 0, 0), utc(2026, 11, 23, 17, 0, 0, 0)},
		{"zero_seconds_is_2036_not_1900", 0, utc(2026, 1, 1, 0, 0, 0, 0), era1Start},
		{"era1_value_after_rollover", 1 << 32, utc(2036, 2, 7, 6, 28, 0, 0), era1Start.Add(time.Second)},
		{"era0_value_just_before_rollover_with_era1_pivot", 0xFFFFFFFF << 32, utc(2036, 3, 1, 0, 0, 0, 0), era1Start.Add(-time.Second)},
		{"1970_with_2026_pivot", 0x83AA7E80 << 32, utc(2026, 1, 1, 0, 0, 0, 0), time.Unix(0, 0).UTC()},
		{"1970_with_2100_pivot_is_2106", 0x83AA7E80 << 32, utc(2100, 1, 1, 0, 0, 0, 0), time.Unix(1<<32, 0).UTC()},
		{"fraction_rounds_to_nearest_ns", 0x83AA7E80<<32 | 0x80000000, utc(2026, 1, 1, 0, 0, 0, 0), time.Unix(0, 500_000_000).UTC()},
		{"max_fraction_rounds_up_to_next_second", 0x83AA7E80<<32 | 0xFFFFFFFF, utc(2026, 1, 1, 0, 0, 0, 0), time.Unix(1, 0).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.t.Time(tt.pivot)
			if !got.Equal(tt.want) {
				t.Errorf("%v.Time(%v) = %v, want %v", tt.t, tt.pivot, got, tt.want)
			}
			if got.Location() != time.UTC {
				t.Errorf("location %v, want UTC", got.Location())
			}
		})
	}
}

// TestTimeWindow checks the 136-year window edges around a pivot.
func TestTimeWindow(t *testing.T) {
	pivot := utc(2026, 1, 1, 0, 0, 0, 0)
	const half = 1 << 31 * time.Second
	lo := pivot.Add(-half)
	for _, in := range []time.Time{lo, lo.Add(time.Second), pivot.Add(half - time.Second), era1Start, era1Start.Add(-time.Nanosecond)} {
		if got := TimeFromTime(in).Time(pivot); !got.Equal(in) {
			t.Errorf("round trip of %v with pivot %v = %v", in, pivot, got)
		}
	}
	// One second past the upper edge falls back by one era.
	beyond := pivot.Add(half)
	if got, want := TimeFromTime(beyond).Time(pivot), beyond.Add(-(1<<32)*time.Second); !got.Equal(want) {
		t.Errorf("beyond window: got %v, want %v", got, want)
	}
}

func TestTimeRoundTripAcrossRollover(t *testing.T) {
	// Every 997 ms for 20 s on both sides of the 2036 rollover, with the
	// pivot both before and after it; nanosecond-exact.
	for _, pivot := range []time.Time{utc(2026, 1, 1, 0, 0, 0, 0), utc(2040, 1, 1, 0, 0, 0, 0)} {
		for d := -20 * time.Second; d <= 20*time.Second; d += 997*time.Millisecond + 1 {
			in := era1Start.Add(d)
			if got := TimeFromTime(in).Time(pivot); !got.Equal(in) {
				t.Fatalf("pivot %v: %v round-trips to %v", pivot, in, got)
			}
		}
	}
}

func TestTimeSubAdd(t *testing.T) {
	before := TimeFromTime(era1Start.Add(-1500 * time.Millisecond))
	after := TimeFromTime(era1Start.Add(2 * time.Second))
	if got := after.Sub(before); got != 3500*time.Millisecond {
		t.Errorf("Sub across rollover = %v, want 3.5s", got)
	}
	if got := before.Sub(after); got != -3500*time.Millisecond {
		t.Errorf("negative Sub across rollover = %v, want -3.5s", got)
	}
	if got := before.Add(3500 * time.Millisecond); got != after {
		t.Errorf("Add across rollover = %v, want %v", got, after)
	}
	if got := after.Add(-3500 * time.Millisecond); got != before {
		t.Errorf("negative Add across rollover = %v, want %v", got, before)
	}
	if got := Time(5).Sub(Time(3)); got != 0 {
		t.Errorf("sub-ns difference = %v, want 0 (2 units ≈ 0.47 ns rounds to 0)", got)
	}
}

func TestUnixNano(t *testing.T) {
	in := utc(2036, 2, 7, 6, 28, 17, 250)
	if got, want := TimeFromTime(in).UnixNano(DefaultEraPivot), in.UnixNano(); got != want {
		t.Errorf("UnixNano = %d, want %d", got, want)
	}
}

func TestPutTransmit(t *testing.T) {
	tests := []struct {
		name string
		in   Time
		want Time
	}{
		{"clears_bit0", 0x0123456789abcdef, 0x0123456789abcdee},
		{"even_unchanged", 0x0123456789abcdee, 0x0123456789abcdee},
		{"zero_never_sent", 0, 2},
		{"one_becomes_two_not_zero", 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := make([]byte, 56)
			for i := range out {
				out[i] = 0xAA
			}
			PutTransmit(out, tt.in)
			h, err := ParseHeader(out)
			if err != nil {
				t.Fatal(err)
			}
			if h.Transmit != tt.want {
				t.Errorf("Transmit = %v, want %v", h.Transmit, tt.want)
			}
			for i, b := range out {
				if (i < OffTransmit || i >= HeaderLen) && b != 0xAA {
					t.Errorf("byte %d changed to %#x", i, b)
				}
			}
		})
	}
	t.Run("short_buffer_untouched", func(t *testing.T) {
		out := make([]byte, 47)
		PutTransmit(out, 0x1234)
		for i, b := range out {
			if b != 0 {
				t.Fatalf("byte %d written", i)
			}
		}
	})
}

func TestReceiveField(t *testing.T) {
	pkt := make([]byte, 48)
	h := Header{Receive: 0x1122334455667789}
	if err := h.Put(pkt); err != nil {
		t.Fatal(err)
	}
	if got := ReceiveField(pkt); got != h.Receive {
		t.Errorf("ReceiveField = %v, want %v", got, h.Receive)
	}
	if got := ReceiveField(pkt[:40]); got != h.Receive {
		t.Errorf("ReceiveField of 40 bytes = %v, want %v", got, h.Receive)
	}
	if got := ReceiveField(pkt[:39]); got != 0 {
		t.Errorf("ReceiveField of 39 bytes = %v, want 0", got)
	}
}

func TestTimeString(t *testing.T) {
	if got, want := Time(0xeeaef3134fc06787).String(), "eeaef313.4fc06787"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func FuzzTime(f *testing.F) {
	f.Add(int64(0), int64(0), int64(0))
	f.Add(era1Start.Unix(), int64(999_999_999), int64(DefaultEraPivot))
	f.Add(int64(-2208988800), int64(1), int64(0))
	f.Fuzz(func(t *testing.T, sec, ns, pivotSec int64) {
		// Keep times and pivots where int64 nanoseconds and the window
		// arithmetic are defined: years 1700–2200.
		const lo, hi = -8_520_000_000, 7_258_000_000
		if sec < lo || sec > hi || pivotSec < lo || pivotSec > hi {
			t.Skip()
		}
		if ns < 0 {
			ns = -ns
		}
		ns %= 1e9
		in := time.Unix(sec, ns)
		pivot := time.Unix(pivotSec, 0)
		got := TimeFromTime(in).Time(pivot)
		// The result is congruent to in modulo one era, within half an era
		// of the pivot, and exact when in itself is in the window.
		diff := got.Sub(in)
		eras := diff / ((1 << 32) * time.Second)
		if diff%((1<<32)*time.Second) != 0 {
			t.Fatalf("%v → %v: not a whole number of eras apart (%v)", in, got, diff)
		}
		if d := got.Sub(pivot); d < -(1<<31)*time.Second || d >= (1<<31)*time.Second+time.Second {
			t.Fatalf("%v → %v: %v from pivot %v", in, got, d, pivot)
		}
		if d := in.Sub(pivot); d > -(1<<31)*time.Second+time.Second && d < (1<<31)*time.Second-time.Second && eras != 0 {
			t.Fatalf("%v in window of %v but converted to %v", in, pivot, got)
		}
		a := TimeFromTime(in)
		if b := a.Add(1500 * time.Millisecond); b.Sub(a) != 1500*time.Millisecond {
			t.Fatalf("Add/Sub mismatch at %v", a)
		}
	})
}

// TestNTPTime pins the conversions the client core relies on (they were
// its private copies before ntp/wire).
func TestNTPTime(t *testing.T) {
	if got, want := TimeFromTime(time.Unix(0, 0)), Time(0x83AA7E80)<<32; got != want {
		t.Errorf("Unix epoch = %#x, want %#x", uint64(got), uint64(want))
	}
	if got, want := TimeFromTime(time.Unix(1, 500_000_000)), Time(0x83AA7E81)<<32|0x80000000; got != want {
		t.Errorf("1.5 s = %#x, want %#x", uint64(got), uint64(want))
	}
	// Era 1 starts at 2036-02-07 06:28:16 UTC: seconds wrap to 0.
	if got := TimeFromTime(time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)); got != 0 {
		t.Errorf("era 1 start = %#x, want 0", uint64(got))
	}
	// Round trip through a difference is exact to the nanosecond.
	a := time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)
	b := a.Add(987654321 * time.Nanosecond)
	if got := TimeFromTime(b).Diff(TimeFromTime(a)).Duration(); got != 987654321 {
		t.Errorf("diff = %v", got)
	}
	if got := ShortDuration(0x00010000); got != time.Second {
		t.Errorf("ShortDuration(1.0) = %v", got)
	}
	if got := ShortDuration(1); got != 15259 {
		t.Errorf("ShortDuration(1 unit) = %v, want 15.259 µs", got)
	}
	for p, want := range map[int8]time.Duration{0: time.Second, 3: 8 * time.Second, -1: 500 * time.Millisecond,
		-20: 954, 127: time.Second << 17, -128: 0} {
		if got := Log2Duration(p); got != want {
			t.Errorf("Log2Duration(%d) = %v, want %v", p, got, want)
		}
	}
}
