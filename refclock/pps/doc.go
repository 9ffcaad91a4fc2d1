// Package pps reads PPS inputs as refclock.EdgeSource: a kernel PPS device
// (/dev/ppsN, RFC 2783), a PHC's external-timestamp channel (/dev/ptpN,
// the ts2phc role), and Sim, a simulated pulse for scenarios and daemon
// tests without hardware.
//
// # Devices
//
// Kernel opens /dev/ppsN, checks PPS_GETCAP (the wanted capture edge,
// PPS_CANWAIT, timespec stamps), makes the device capture the configured
// edge with PPS_SETPARAMS (only adding mode bits: gpsd or chrony may read
// the other edge; skipped when already set, since it needs CAP_SYS_TIME),
// and loops on PPS_FETCH with a timeout so Run sees its context end.
// Rising maps to the assert event and Falling to clear, unless
// KernelConfig.AssertFalling says the device's assert is the falling edge.
// Seq is the device's sequence of that edge; when it advances by more than
// one between fetches the skipped pulses count in Stats.Missed (the kernel
// keeps only the latest stamp).
//
// EXTTS opens /dev/ptpN read-write, checks PTP_CLOCK_GETCAPS (n_ext_ts,
// n_pins) and the pin (by index or by the name PTP_PIN_GETFUNC reports),
// failing with ErrCapability naming what is missing. Run routes the pin to
// the channel (PTP_PIN_SETFUNC, when not routed already), disables the
// channel and drains stale events, enables it with PTP_EXTTS_REQUEST2
// (rising, falling or both edges, with PTP_STRICT_FLAGS first and without
// when the driver refuses them, logged), reads 32-byte ptp_extts_event
// records when poll(2) says they are queued (the PTP character device's
// read ignores O_NONBLOCK), keeps its channel's, and disables the channel
// on return. Seq is its own count. The ioctls are x/sys/unix's wrappers;
// facebook/time/phc has the same calls unexported, and its PPSSink routes
// the pin to channel 0 but requests and filters by the pin's index, so it
// is not used.
//
// The kernel ABI (ioctl numbers, struct layouts, capability checks, flag
// choice, pin resolution, sequence unwrapping) is pure code in abi.go and
// pps.go, table-tested against linux/pps.h and linux/ptp_clock.h values
// (reference/ptp-gnss.md §7, §9.3, §9.4) and against x/sys/unix. x/sys has
// no PPS ioctls, so they are issued through hwts.IoctlBuffer on byte buffers laid out
// for 64-bit kernels with the generic ioctl encoding (amd64, arm64,
// riscv64, loong64, s390x); elsewhere OpenKernel returns ErrUnsupported.
//
// # Timescales and signs
//
// An Edge's At is on the timescale of the device that stamped it:
// CLOCK_REALTIME (UTC) for Kernel, the PHC's time (usually TAI, 37 s
// ahead) for EXTTS, DeviceTime's for Sim. Delay compensation: the device
// sees the pulse Delay after the receiver emitted it (cable ≈ 5 ns/m,
// antenna and receiver delays), so At = stamp − Delay; a positive Delay
// moves edges earlier. Offsets computed from edges follow package clock:
// offset = reference − local.
//
// # Not here
//
// Pairing edges with time of day (which second an edge marks, rejecting
// edges far from a whole second) is refclock/pair's; this package never
// rounds or labels seconds. Counting missed pulses on EXTTS (from edge
// intervals) is not done: a PHC step would fake gaps.
//
// # What ran where
//
// The development machine has no /dev/pps* and no /dev/ptp*, and no
// kernel modules were loaded: the run loops were tested against a
// scripted PPS fake and a PHC fake whose event stream is a pipe (so the
// real poll/read/deadline path ran); the real ioctls ran only far enough
// to fail (ENOTTY on a regular file and /dev/null → ErrNotPPS/ErrNotPHC,
// a missing path). Tests against real devices skip, saying so, when none
// exist.
package pps
