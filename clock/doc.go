// Package clock holds gnomon's model of time: the Clock interfaces, the
// immutable SyncState that the discipline engine publishes and every server
// reads, and the clocks that need no system calls (virtual and, later,
// simulated). Clocks that touch the kernel live in sub-packages
// (clock/system) so that the sans-IO protocol cores can import this package
// without pulling in syscalls.
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
