package wire

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// Exact pairs, worked by hand from the format (value = c × 2^(e−25)) and
// chronyd's encoder (e = trunc(log2|x|) + 1, c rounded, shifted down while
// it exceeds 2^24−1, or 2^24 for negatives).
var floatPairs = []struct {
	x    float64
	wire uint32
}{
	{0, 0},
	{1, 2<<25 | 1<<23},    // e=1, c=2^24 too big → e=2, c=2^23
	{2, 3<<25 | 1<<23},    // e=2, c=2^24 too big → e=3, c=2^23
	{-2, 2<<25 | 1<<24},   // e=2, c=−2^24 fits a negative coefficient
	{-1, 1<<25 | 1<<24},   // e=1, c=−2^24
	{0.75, 1<<25 | 3<<22}, // log2 0.75 + 1 = 0.585 → e=0; c = 0.75×2^25 too big → e=1
	{0.3, 10066330},       // log2 0.3 + 1 = −0.737 → e=0 (truncated); c = round(0.3×2^25) fits
	{math.Ldexp(1, 38), 40<<25 | 1<<23},
	{1e101, 63<<25 | (1<<24 - 1)}, // saturated
	{-1e101, 63<<25 | 1<<24},      // saturated negative
}

func TestFloatKnown(t *testing.T) {
	for _, tc := range floatPairs {
		if got, want := Float(tc.wire).Float64(), tc.x; got != want && math.Abs(want) < 1e100 && math.Abs(got-want) > math.Abs(want)*1e-7 {
			t.Errorf("Float(%#08x) = %g, want %g", tc.wire, got, tc.x)
		}
		if got := uint32(NewFloat(tc.x)); got != tc.wire {
			t.Errorf("NewFloat(%g) = %#08x, want %#08x", tc.x, got, tc.wire)
		}
	}
	for _, x := range []float64{math.NaN(), 1e-101, -1e-101} {
		if got := NewFloat(x); got != 0 {
			t.Errorf("NewFloat(%g) = %#08x, want 0", x, uint32(got))
		}
	}
	if got := uint32(NewFloat(math.Inf(-1))); got != 63<<25|1<<24 {
		t.Errorf("NewFloat(-Inf) = %#08x", got)
	}
	// Decode-only values from facebook/time's helpers_test.go.
	for _, tc := range []struct {
		wire uint32
		want float64
	}{
		{63<<25 | 1, math.Ldexp(1, 38)}, // unnormalised: e=63, c=1
		{17091950, -0.490620},
		{uint32(1<<32 - 90077357), 0.039435696},
	} {
		if got := Float(tc.wire).Float64(); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("Float(%#08x) = %g, want %g", tc.wire, got, tc.want)
		}
	}
}

// TestFloatRoundTrip: chronyd's encoder rounds at 25 bits, then may drop
// one bit by truncation, so the error reaches 0.75 of the last place of a
// 24-bit coefficient: within 2^-23 relative, not 2^-24.
func TestFloatRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		// magnitudes from 2^-60 to 2^60, both signs
		x := math.Ldexp(r.Float64()+0.5, r.IntN(120)-60)
		if r.IntN(2) == 0 {
			x = -x
		}
		got := NewFloat(x).Float64()
		if rel := math.Abs(got-x) / math.Abs(x); rel > math.Ldexp(1, -23) {
			t.Fatalf("NewFloat(%g).Float64() = %g, relative error %g > 2^-23", x, got, rel)
		}
	}
	for _, x := range []float64{1, -1, 0.5, 0.25, 1e-9, -3.5e-6, 1234.5678, 1 << 40} {
		got := NewFloat(x).Float64()
		if math.Abs(got-x) > math.Abs(x)*math.Ldexp(1, -23) {
			t.Errorf("round trip %g -> %g", x, got)
		}
	}
}

func TestFloatDenormal(t *testing.T) {
	// 2^-80 needs e = −79+... below −64: denormalised, still nonzero.
	x := math.Ldexp(1, -80)
	f := NewFloat(x)
	if got := f.Float64(); got != x {
		t.Errorf("NewFloat(2^-80) decodes to %g, want %g", got, x)
	}
	if e := int32(uint32(f)) >> 25; e != floatExpMin {
		t.Errorf("exponent %d, want %d", e, floatExpMin)
	}
	// Below 2^-89 only zero remains.
	if got := NewFloat(math.Ldexp(1, -95)); got != 0 {
		t.Errorf("NewFloat(2^-95) = %#x, want 0", uint32(got))
	}
}

func TestTimespec(t *testing.T) {
	b := make([]byte, TimespecLen)
	for _, tc := range []time.Time{
		time.Unix(1_700_000_000, 123456789),
		time.Unix(1<<33+5, 999999999), // needs sec_high
		time.Unix(-1, 0),
	} {
		PutTimespec(b, tc)
		if got := ParseTimespec(b); !got.Equal(tc) {
			t.Errorf("round trip %v -> %v (bytes % x)", tc, got, b)
		}
	}
	PutTimespec(b, time.Unix(1<<33+5, 7))
	if be.Uint32(b) != 2 || be.Uint32(b[4:]) != 5 || be.Uint32(b[8:]) != 7 {
		t.Errorf("sec_high/low/nsec = % x", b)
	}
	PutTimespec(b, time.Time{})
	if be.Uint32(b)|be.Uint32(b[4:])|be.Uint32(b[8:]) != 0 {
		t.Errorf("zero time = % x, want zeros", b)
	}
	if got := ParseTimespec(b); !got.IsZero() {
		t.Errorf("0/0/0 = %v, want the zero time", got)
	}
	be.PutUint32(b, noHighSec)
	if got := ParseTimespec(b); !got.IsZero() {
		t.Errorf("0x7FFFFFFF/0/0 = %v, want the zero time", got)
	}
	be.PutUint32(b[4:], 100)
	be.PutUint32(b[8:], 2_000_000_000)
	if got := ParseTimespec(b); !got.Equal(time.Unix(100, 999999999)) {
		t.Errorf("sec_high 0x7FFFFFFF, nsec 2e9 = %v, want 100.999999999", got)
	}
}

func TestIPAddr(t *testing.T) {
	b := make([]byte, IPAddrLen)
	for _, tc := range []struct {
		a    IPAddr
		wire string
		str  string
	}{
		{AddrOf(netip.MustParseAddr("192.0.2.1")), "c0000201000000000000000000000000" + "00010000", "192.0.2.1"},
		{AddrOf(netip.MustParseAddr("::ffff:192.0.2.1")), "c0000201000000000000000000000000" + "00010000", "192.0.2.1"},
		{AddrOf(netip.MustParseAddr("2001:db8::1")), "20010db8000000000000000000000001" + "00020000", "2001:db8::1"},
		{IDAddr(42), "0000002a000000000000000000000000" + "00030000", "ID#0000000042"},
		{IPAddr{}, "00000000000000000000000000000000" + "00000000", "[UNSPEC]"},
	} {
		for i := range b {
			b[i] = 0xEE
		}
		tc.a.Put(b)
		if got := hexs(b); got != tc.wire {
			t.Errorf("%v.Put = %s, want %s", tc.a, got, tc.wire)
		}
		if got := ParseIPAddr(b); got != tc.a {
			t.Errorf("ParseIPAddr(%s) = %+v, want %+v", tc.wire, got, tc.a)
		}
		if got := tc.a.String(); got != tc.str {
			t.Errorf("String = %q, want %q", got, tc.str)
		}
	}
	copy(b, unhex(t, "c000020100000000000000000000000000090000"))
	if got := ParseIPAddr(b); got != (IPAddr{}) {
		t.Errorf("unknown family parsed as %+v, want unspec", got)
	}
}

func TestInteger64(t *testing.T) {
	b := make([]byte, 8)
	PutInteger64(b, 0x0102030405060708)
	if hexs(b) != "0102030405060708" || ParseInteger64(b) != 0x0102030405060708 {
		t.Errorf("Integer64 = %s", hexs(b))
	}
}

// FuzzFloat: every wire Float decodes to a value the encoder gives back
// exactly (so decode∘encode∘decode = decode), and every float64 survives
// within 2^-23 relative (or saturates / flushes to zero as chronyd does).
func FuzzFloat(f *testing.F) {
	for _, p := range floatPairs {
		f.Add(p.wire, p.x)
	}
	f.Fuzz(func(t *testing.T, w uint32, x float64) {
		v := Float(w).Float64()
		if got := NewFloat(v).Float64(); got != v {
			t.Fatalf("Float(%#08x) = %g re-encodes to %g", w, v, got)
		}
		ax := math.Abs(x)
		if math.IsNaN(x) || ax < 1e-100 || ax > 1e18 || ax < math.Ldexp(1, -64) {
			_ = NewFloat(x) // edges: flushed, saturated, denormalised; must not panic
			return
		}
		if got := NewFloat(x).Float64(); math.Abs(got-x) > ax*math.Ldexp(1, -23) {
			t.Fatalf("NewFloat(%g) = %g", x, got)
		}
	})
}
