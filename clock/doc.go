// Package clock holds gnomon's model of time: the Clock interfaces, the
// immutable SyncState that the discipline engine publishes and every server
// reads, and the clocks that need no system calls (virtual and, later,
// simulated). Clocks that touch the kernel live in sub-packages
// (clock/system) so that the sans-IO protocol cores can import this package
// without pulling in syscalls.
//
// # SyncState
//
// SyncState is the one snapshot every server reads. It carries, side by
// side:
//
//   - what NTP serves: leap indicator, stratum, reference ID and time,
//     root delay and dispersion (grown at DispersionRate), precision;
//   - the error bound (ErrorBound at RefTime, growing at DispersionRate),
//     with Synchronized and Leap what a ClockBound-style reader needs;
//   - what a PTP grandmaster announces (IEEE 1588-2008 §7.6.2, types in
//     quality.go): ClockClass (ClockClassLocked 6, ClockClassHoldover 7,
//     ClockClassDefault 248), ClockAccuracy (ClockAccuracyFor the error
//     bound while traceable, ClockAccuracyUnknown when free-running),
//     OffsetScaledLogVariance (VarianceNotComputed), TimeSource (the
//     selected source's, else TimeSourceInternalOscillator),
//     TimeTraceable and FrequencyTraceable (locked to a source or in
//     holdover from one);
//   - TAI − UTC (UTCOffset, PTP's currentUtcOffset) and whether it is
//     known rather than the DefaultTAIOffset of 37 s (UTCOffsetValid).
//
// The PTP types are gnomon's own, with the IEEE 1588 wire values, not
// facebook/time's ptp/protocol ones: that package imports net and os, which
// the sans-IO cores importing this package may not (quality.go says more).
//
// # Sign of offset
//
// Everywhere in gnomon, offset = reference − local. A positive offset means
// the local clock is behind the reference and must be moved forward. This is
// the convention of ntpdig's "offset" and chronyd -Q's "System clock wrong
// by"; ptp4l's "master offset" and chronyc's "Last offset" print the
// opposite sign (local − reference).
//
// # Timestamps
//
// Wall-clock readings are time.Time values without a monotonic reading
// (built with time.Unix or stripped with Round(0)), so that arithmetic on
// them is arithmetic on wall time. Frequencies are in parts per billion
// (ppb); a positive frequency adjustment makes a clock run faster.
package clock
