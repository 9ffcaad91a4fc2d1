package clock

import (
	"fmt"
	"time"
)

// This file holds the PTP clock-quality vocabulary (IEEE 1588-2008 §7.6.2,
// the Announce fields clockClass, clockAccuracy, offsetScaledLogVariance
// and timeSource) that SyncState carries for a PTP server and for
// ClockBound-style readers.
//
// Why our own types and not github.com/facebook/time/ptp/protocol's (already
// a dependency, with ClockClass, ClockAccuracy, TimeSource and
// ClockAccuracyFromOffset): that package is the PTP wire codec and imports
// net and os directly (syscall through them).
// Package clock is imported by the sans-IO cores (ntp, ntp/client), whose
// purity tests (internal/purity) forbid net, os and syscall in their
// dependency graph. The protocol package also lacks clockClass 248, has no
// ClockClass.String, and keeps TimeSource names in a mutable package map.
// The numeric values are the same wire values, so a PTP package converts
// with protocol.ClockClass(st.ClockClass) and the like; quality_test.go
// checks that the accuracy mapping and the constants agree with it.

// ClockClass is the PTP clockClass (IEEE 1588-2008 Table 5): how a
// grandmaster's time is traceable. Lower is better in the best master clock
// algorithm.
type ClockClass uint8

const (
	// ClockClassLocked (6): synchronised to a primary reference (GNSS, or
	// here any selected source), PTP timescale; never a slave.
	ClockClassLocked ClockClass = 6
	// ClockClassHoldover (7): was ClockClassLocked, lost its reference and
	// is in holdover within specification.
	ClockClassHoldover ClockClass = 7
	// ClockClassDegradedA (52): degradation alternative A of
	// ClockClassHoldover, out of holdover specification; never a slave.
	ClockClassDegradedA ClockClass = 52
	// ClockClassDegradedB (187): degradation alternative B of
	// ClockClassHoldover, out of specification; may become a slave.
	ClockClassDegradedB ClockClass = 187
	// ClockClassHoldoverCat1, Cat2 and Cat3 (140, 150, 160) are ITU-T
	// G.8275.1's T-GM classes for holdover out of specification, by the
	// category of the frequency reference the clock still has: 1 a
	// PRC-traceable physical-layer frequency (SyncE), 2 an SSU-A/SSU-B
	// one, 3 none (its own oscillator). Categories 1 and 2 keep
	// frequencyTraceable, 3 does not; none keeps timeTraceable.
	ClockClassHoldoverCat1 ClockClass = 140
	ClockClassHoldoverCat2 ClockClass = 150
	ClockClassHoldoverCat3 ClockClass = 160
	// ClockClassDefault (248): the default class, a free-running clock
	// (ptp4l's default clockClass).
	ClockClassDefault ClockClass = 248
	// ClockClassSlaveOnly (255): never a master.
	ClockClassSlaveOnly ClockClass = 255
)

func (c ClockClass) String() string {
	switch c {
	case ClockClassLocked:
		return "locked"
	case ClockClassHoldover:
		return "holdover"
	case ClockClassDegradedA:
		return "degraded_a"
	case ClockClassDegradedB:
		return "degraded_b"
	case ClockClassHoldoverCat1:
		return "holdover_cat1"
	case ClockClassHoldoverCat2:
		return "holdover_cat2"
	case ClockClassHoldoverCat3:
		return "holdover_cat3"
	case ClockClassDefault:
		return "default"
	case ClockClassSlaveOnly:
		return "slave_only"
	}
	return fmt.Sprintf("clock_class(%d)", uint8(c))
}

// ClockAccuracy is the PTP clockAccuracy (IEEE 1588-2008 Table 6): the
// time error the clock promises, as a code. Codes 0x20…0x31 are used;
// 1588-2019's finer codes 0x17…0x1F (1 ps … 10 ns) are not, since
// 1588-2008 receivers treat them as reserved.
type ClockAccuracy uint8

const (
	ClockAccuracy25ns    ClockAccuracy = 0x20 // within 25 ns
	ClockAccuracy100ns   ClockAccuracy = 0x21 // within 100 ns
	ClockAccuracy250ns   ClockAccuracy = 0x22 // within 250 ns
	ClockAccuracy1us     ClockAccuracy = 0x23 // within 1 µs
	ClockAccuracy2500ns  ClockAccuracy = 0x24 // within 2.5 µs
	ClockAccuracy10us    ClockAccuracy = 0x25 // within 10 µs
	ClockAccuracy25us    ClockAccuracy = 0x26 // within 25 µs
	ClockAccuracy100us   ClockAccuracy = 0x27 // within 100 µs
	ClockAccuracy250us   ClockAccuracy = 0x28 // within 250 µs
	ClockAccuracy1ms     ClockAccuracy = 0x29 // within 1 ms
	ClockAccuracy2500us  ClockAccuracy = 0x2A // within 2.5 ms
	ClockAccuracy10ms    ClockAccuracy = 0x2B // within 10 ms
	ClockAccuracy25ms    ClockAccuracy = 0x2C // within 25 ms
	ClockAccuracy100ms   ClockAccuracy = 0x2D // within 100 ms
	ClockAccuracy250ms   ClockAccuracy = 0x2E // within 250 ms
	ClockAccuracy1s      ClockAccuracy = 0x2F // within 1 s
	ClockAccuracy10s     ClockAccuracy = 0x30 // within 10 s
	ClockAccuracyOver10s ClockAccuracy = 0x31 // more than 10 s
	ClockAccuracyUnknown ClockAccuracy = 0xFE // unknown (ptp4l's default)
	firstClockAccuracy                 = ClockAccuracy25ns
	lastBoundedAccuracy                = ClockAccuracy10s
	numBoundedAccuracies               = int(lastBoundedAccuracy-firstClockAccuracy) + 1
)

// accuracyBounds returns the bound of each code from ClockAccuracy25ns to
// ClockAccuracy10s, in order (an array value: no package state).
func accuracyBounds() [numBoundedAccuracies]time.Duration {
	return [numBoundedAccuracies]time.Duration{
		25 * time.Nanosecond, 100 * time.Nanosecond, 250 * time.Nanosecond,
		time.Microsecond, 2500 * time.Nanosecond, 10 * time.Microsecond,
		25 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond,
		time.Millisecond, 2500 * time.Microsecond, 10 * time.Millisecond,
		25 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
		time.Second, 10 * time.Second,
	}
}

// ClockAccuracyFor returns the smallest clockAccuracy code whose bound
// covers an error bound of d (its magnitude: the sign does not matter),
// ClockAccuracyOver10s beyond 10 s. It agrees with facebook/time's
// protocol.ClockAccuracyFromOffset. It never returns ClockAccuracyUnknown:
// whether a bound is known is the caller's decision.
func ClockAccuracyFor(d time.Duration) ClockAccuracy {
	if d < 0 {
		d = -d
		if d < 0 { // −math.MinInt64 overflows
			return ClockAccuracyOver10s
		}
	}
	for i, b := range accuracyBounds() {
		if d <= b {
			return firstClockAccuracy + ClockAccuracy(i)
		}
	}
	return ClockAccuracyOver10s
}

// Bound returns the time error a code promises (25 ns for
// ClockAccuracy25ns …), and false for ClockAccuracyOver10s,
// ClockAccuracyUnknown and reserved codes, which promise nothing.
func (c ClockAccuracy) Bound() (time.Duration, bool) {
	if c < firstClockAccuracy || c > lastBoundedAccuracy {
		return 0, false
	}
	return accuracyBounds()[c-firstClockAccuracy], true
}

func (c ClockAccuracy) String() string {
	switch c {
	case ClockAccuracy25ns:
		return "<=25ns"
	case ClockAccuracy100ns:
		return "<=100ns"
	case ClockAccuracy250ns:
		return "<=250ns"
	case ClockAccuracy1us:
		return "<=1us"
	case ClockAccuracy2500ns:
		return "<=2.5us"
	case ClockAccuracy10us:
		return "<=10us"
	case ClockAccuracy25us:
		return "<=25us"
	case ClockAccuracy100us:
		return "<=100us"
	case ClockAccuracy250us:
		return "<=250us"
	case ClockAccuracy1ms:
		return "<=1ms"
	case ClockAccuracy2500us:
		return "<=2.5ms"
	case ClockAccuracy10ms:
		return "<=10ms"
	case ClockAccuracy25ms:
		return "<=25ms"
	case ClockAccuracy100ms:
		return "<=100ms"
	case ClockAccuracy250ms:
		return "<=250ms"
	case ClockAccuracy1s:
		return "<=1s"
	case ClockAccuracy10s:
		return "<=10s"
	case ClockAccuracyOver10s:
		return ">10s"
	case ClockAccuracyUnknown:
		return "unknown"
	}
	return fmt.Sprintf("clock_accuracy(0x%02X)", uint8(c))
}

// VarianceNotComputed is the offsetScaledLogVariance that says the
// variance has not been computed (0xFFFF, ptp4l's default).
const VarianceNotComputed uint16 = 0xFFFF

// TimeSource is the PTP timeSource (IEEE 1588-2008 Table 7): the immediate
// source of a grandmaster's time.
type TimeSource uint8

const (
	TimeSourceAtomicClock        TimeSource = 0x10
	TimeSourceGNSS               TimeSource = 0x20 // "GPS" in 1588-2008
	TimeSourceTerrestrialRadio   TimeSource = 0x30
	TimeSourceSerialTimeCode     TimeSource = 0x39 // 1588-2019; e.g. IRIG-B, NMEA
	TimeSourcePTP                TimeSource = 0x40
	TimeSourceNTP                TimeSource = 0x50
	TimeSourceHandSet            TimeSource = 0x60
	TimeSourceOther              TimeSource = 0x90
	TimeSourceInternalOscillator TimeSource = 0xA0 // free-running (ptp4l's default)
)

func (s TimeSource) String() string {
	switch s {
	case TimeSourceAtomicClock:
		return "atomic_clock"
	case TimeSourceGNSS:
		return "gnss"
	case TimeSourceTerrestrialRadio:
		return "terrestrial_radio"
	case TimeSourceSerialTimeCode:
		return "serial_time_code"
	case TimeSourcePTP:
		return "ptp"
	case TimeSourceNTP:
		return "ntp"
	case TimeSourceHandSet:
		return "hand_set"
	case TimeSourceOther:
		return "other"
	case TimeSourceInternalOscillator:
		return "internal_oscillator"
	}
	return fmt.Sprintf("time_source(0x%02X)", uint8(s))
}
