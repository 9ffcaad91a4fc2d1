package clock_test

import (
	"math"
	"testing"
	"time"

	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/clock"
)

func TestClockAccuracyFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    time.Duration
		want clock.ClockAccuracy
	}{
		{"zero", 0, clock.ClockAccuracy25ns},
		{"25ns", 25 * time.Nanosecond, clock.ClockAccuracy25ns},
		{"26ns", 26 * time.Nanosecond, clock.ClockAccuracy100ns},
		{"100ns", 100 * time.Nanosecond, clock.ClockAccuracy100ns},
		{"negative 30ns", -30 * time.Nanosecond, clock.ClockAccuracy100ns},
		{"250ns+1", 251 * time.Nanosecond, clock.ClockAccuracy1us},
		{"1us", time.Microsecond, clock.ClockAccuracy1us},
		{"2.5us", 2500 * time.Nanosecond, clock.ClockAccuracy2500ns},
		{"3us", 3 * time.Microsecond, clock.ClockAccuracy10us},
		{"60us", 60 * time.Microsecond, clock.ClockAccuracy100us},
		{"250us", 250 * time.Microsecond, clock.ClockAccuracy250us},
		{"1ms+1", time.Millisecond + 1, clock.ClockAccuracy2500us},
		{"2.5ms", 2500 * time.Microsecond, clock.ClockAccuracy2500us},
		{"10ms", 10 * time.Millisecond, clock.ClockAccuracy10ms},
		{"25ms", 25 * time.Millisecond, clock.ClockAccuracy25ms},
		{"100ms", 100 * time.Millisecond, clock.ClockAccuracy100ms},
		{"250ms", 250 * time.Millisecond, clock.ClockAccuracy250ms},
		{"1s", time.Second, clock.ClockAccuracy1s},
		{"10s", 10 * time.Second, clock.ClockAccuracy10s},
		{"10s+1", 10*time.Second + 1, clock.ClockAccuracyOver10s},
		{"max", math.MaxInt64, clock.ClockAccuracyOver10s},
		{"min", math.MinInt64, clock.ClockAccuracyOver10s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clock.ClockAccuracyFor(tc.d); got != tc.want {
				t.Errorf("ClockAccuracyFor(%v) = %v (0x%02X), want %v (0x%02X)", tc.d, got, uint8(got), tc.want, uint8(tc.want))
			}
		})
	}
}

// Every bounded code maps its own bound to itself and one nanosecond more
// to the next code; the others promise nothing.
func TestClockAccuracyBound(t *testing.T) {
	for c := clock.ClockAccuracy25ns; c <= clock.ClockAccuracy10s; c++ {
		b, ok := c.Bound()
		if !ok || clock.ClockAccuracyFor(b) != c || clock.ClockAccuracyFor(b+1) != c+1 {
			t.Errorf("%v: bound %v ok %v maps to %v, +1 ns to %v", c, b, ok, clock.ClockAccuracyFor(b), clock.ClockAccuracyFor(b+1))
		}
	}
	for _, c := range []clock.ClockAccuracy{clock.ClockAccuracyOver10s, clock.ClockAccuracyUnknown, 0, 0x1F, 0x32} {
		if b, ok := c.Bound(); ok {
			t.Errorf("%v: bound %v", c, b)
		}
	}
}

// The mapping and the wire values agree with facebook/time's PTP codec,
// which a PTP server would encode with.
func TestAgreesWithFacebookProtocol(t *testing.T) {
	for c := clock.ClockAccuracy25ns; c <= clock.ClockAccuracy10s; c++ {
		b, _ := c.Bound()
		for _, d := range []time.Duration{b - 1, b, b + 1, -b} {
			if got, want := clock.ClockAccuracyFor(d), protocol.ClockAccuracyFromOffset(d); uint8(got) != uint8(want) {
				t.Errorf("%v: ours 0x%02X, facebook/time 0x%02X", d, uint8(got), uint8(want))
			}
		}
	}
	if uint8(clock.ClockAccuracyUnknown) != uint8(protocol.ClockAccuracyUnknown) ||
		uint8(clock.ClockAccuracyOver10s) != uint8(protocol.ClockAccuracySecondGreater10) {
		t.Error("accuracy codes differ")
	}
	for _, p := range [][2]uint8{
		{uint8(clock.ClockClassLocked), uint8(protocol.ClockClass6)},
		{uint8(clock.ClockClassHoldover), uint8(protocol.ClockClass7)},
		{uint8(clock.ClockClassDegradedA), uint8(protocol.ClockClass52)},
		{uint8(clock.ClockClassSlaveOnly), uint8(protocol.ClockClassSlaveOnly)},
		{uint8(clock.TimeSourceAtomicClock), uint8(protocol.TimeSourceAtomicClock)},
		{uint8(clock.TimeSourceGNSS), uint8(protocol.TimeSourceGNSS)},
		{uint8(clock.TimeSourceTerrestrialRadio), uint8(protocol.TimeSourceTerrestrialRadio)},
		{uint8(clock.TimeSourceSerialTimeCode), uint8(protocol.TimeSourceSerialTimeCode)},
		{uint8(clock.TimeSourcePTP), uint8(protocol.TimeSourcePTP)},
		{uint8(clock.TimeSourceNTP), uint8(protocol.TimeSourceNTP)},
		{uint8(clock.TimeSourceHandSet), uint8(protocol.TimeSourceHandSet)},
		{uint8(clock.TimeSourceOther), uint8(protocol.TimeSourceOther)},
		{uint8(clock.TimeSourceInternalOscillator), uint8(protocol.TimeSourceInternalOscillator)},
	} {
		if p[0] != p[1] {
			t.Errorf("ours 0x%02X, facebook/time 0x%02X", p[0], p[1])
		}
	}
}

func TestQualityStrings(t *testing.T) {
	for _, tc := range []struct {
		s    interface{ String() string }
		want string
	}{
		{clock.ClockClassLocked, "locked"},
		{clock.ClockClassHoldover, "holdover"},
		{clock.ClockClassDefault, "default"},
		{clock.ClockClassDegradedB, "degraded_b"},
		{clock.ClockClassHoldoverCat3, "holdover_cat3"},
		{clock.ClockClass(13), "clock_class(13)"},
		{clock.ClockAccuracy100ns, "<=100ns"},
		{clock.ClockAccuracy2500us, "<=2.5ms"},
		{clock.ClockAccuracyOver10s, ">10s"},
		{clock.ClockAccuracyUnknown, "unknown"},
		{clock.ClockAccuracy(0x17), "clock_accuracy(0x17)"},
		{clock.TimeSourceGNSS, "gnss"},
		{clock.TimeSourceInternalOscillator, "internal_oscillator"},
		{clock.TimeSource(0), "time_source(0x00)"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%#v: %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestUnsynchronisedQuality(t *testing.T) {
	st := clock.Unsynchronised(-20)
	if st.ClockClass != clock.ClockClassDefault || st.ClockAccuracy != clock.ClockAccuracyUnknown ||
		st.OffsetScaledLogVariance != clock.VarianceNotComputed || st.TimeSource != clock.TimeSourceInternalOscillator ||
		st.TimeTraceable || st.FrequencyTraceable || st.UTCOffset != clock.DefaultTAIOffset || st.UTCOffsetValid {
		t.Errorf("unsynchronised %+v", st)
	}
}
