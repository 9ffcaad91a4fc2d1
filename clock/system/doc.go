// Package system is the Linux system clock, CLOCK_REALTIME.
//
// Clock reads it and is what gnomond serves by default: gnomon then never
// changes the host's time. Clock.State reads the kernel's timekeeping
// variables (clock_adjtime with modes = 0: status, frequency, maxerror,
// esterror, TAI offset), which needs no privilege and changes nothing.
//
// Steered steers it through clock_adjtime(2), for `clock.mode: system`
// only; it is built solely by NewSteeredRealtime, a name that says what it
// does. It implements clock.Steerable and the optional abilities of
// package clock (LeapSetter, SyncSetter, TAISetter, FrequencyLimits):
//
//   - AdjustFrequency: ADJ_FREQUENCY, ppb × 65.536 = timex scaled ppm,
//     rounded; positive = faster. Limited to the kernel's ±500 ppm; larger
//     values are refused, not clamped (ADJ_TICK, which could go further,
//     is not used). Frequency reads it back.
//   - Step: ADJ_SETOFFSET at nanosecond resolution, positive = forward,
//     encoded as {tv_sec, tv_usec} with tv_usec in [0, 1e9) (−1.5 s is
//     {−2, 500 000 000}). ADJ_NANO selects the unit for that call but the
//     kernel also latches it into STA_NANO, changing how every reader sees
//     timex.offset and timex.time (reference/ptp-gnss.md §9.3: do not
//     switch CLOCK_REALTIME to nanoseconds unless gnomond owns the clock).
//     Step therefore adds ADJ_MICRO when STA_NANO was clear (the kernel
//     applies ADJ_NANO, then ADJ_MICRO, in process_adjtimex_modes), checks
//     the status returned and restores STA_NANO if needed.
//   - SetLeap arms STA_INS/STA_DEL and SetSync/SetUnsync change STA_UNSYNC
//     (with maxerror/esterror), each by read-modify-write of the status that
//     preserves every other bit. facebook/time's clock.SetSync writes the
//     status as 0 and so clears an armed leap; it is not used.
//   - SetTAIOffset: ADJ_TAI, 0…100000 s (the kernel ignores other values
//     silently; they are refused here).
//
// # How it is tested without touching the host clock
//
// All system calls go through a small adjtimer interface. The steering
// logic is tested against a fake kernel that models the relevant parts of
// kernel/time/ntp.c and timekeeping.c (status write rules and read-only
// bits, ADJ_NANO/ADJ_MICRO latching, ADJ_SETOFFSET validation and units,
// clamps). Against the real kernel, tests on CLOCK_REALTIME go through a
// guard that refuses, before the system call, any modes != 0 and fails the
// test; they only read and check that the decoded state is sane. A test
// fails if any _test.go in the module mentions NewSteeredRealtime.
//
// The real write path can be exercised on a PHC instead (the same
// clock_adjtime, on its clockid) with GNOMON_PHC_WRITE_TEST=/dev/ptpN; no
// PHC exists on the development machine, so there the CLOCK_REALTIME
// write path is verified only against the fake kernel. A time namespace
// does not help: time_namespaces(7) virtualises only CLOCK_MONOTONIC and
// CLOCK_BOOTTIME, and CLOCK_REALTIME stays shared with the host.
//
// # Not here
//
// No kernel PLL (ADJ_OFFSET, STA_PLL) and no ADJ_TICK: the discipline
// engine computes the corrections itself, as chronyd does. The package
// assumes gnomond is the only process steering CLOCK_REALTIME.
package system
