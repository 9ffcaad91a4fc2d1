// Package phcsource is a PTP hardware clock as a time source for the
// engine that disciplines the system or virtual clock: the phc2sys role,
// and the EC2-style PHC reference (the ENA PHC, `refclock PHC /dev/ptp0`
// in chrony). It plugs into a source.Runner like every other source.
//
// # Measurement
//
// Every Poll (default 1 s) it asks clock/phc's SysOffset for Samples
// cross-timestamps (default 25, one PTP_SYS_OFFSET_EXTENDED request; a
// PRECISE device answers one hardware cross-timestamp) and keeps the one
// with the shortest CLOCK_REALTIME bracket, as phc2sys does. Why one burst
// a second rather than chrony's faster dpoll with a median filter: the
// error of a bracket's midpoint is one-sided (an interrupt between the
// system and PHC reads delays the PHC read), so the shortest of 25 is a
// better estimate than a median of longer ones, and 25 reads take tens of
// µs. The sample is
//
//	offset     = PHC as UTC − disciplined clock, at the bracket's midpoint
//	             (reference − local: positive = the disciplined clock is behind)
//	dispersion = bracket/2 + Precision
//
// A TAI PHC (Config.TAI) is converted to UTC with Config.TAIOffset. The
// CLOCK_REALTIME midpoint is mapped to the disciplined clock through
// Config.FromRealtime (a virtual clock's mapping, or the identity), so the
// source never assumes the disciplined clock is CLOCK_REALTIME. The engine
// sample's dispersion also includes the PHC's own error bound.
//
// # Report
//
// The reference is a reference clock (chronyc '#'): stratum 0, so gnomon
// serves stratum 1; reference ID "PHC" unless configured; TimeSource as
// configured (GNSS for a time card, PTP for a PHC ptp4l steers). Its
// offset, jitter and sample count come from a clock/filter Filter of the
// samples; its dispersion is the chosen sample's own (bracket/2 grown at
// 15 ppm), not the filter's peer dispersion, which at a 1 s poll would add
// ~15 µs of aged stages to a µs-level measurement. It is usable while
// samples arrive (one within 8 polls). RootDispersion is the PHC's error
// bound (ErrorBounder), which the engine folds into the served root
// dispersion and error bound.
//
// # Error bound (ENA)
//
// SysfsBound reads the ENA driver's phc_error_bound attribute
// (/sys/bus/pci/devices/<slot>/phc_error_bound, reached as ENABoundPath:
// /sys/class/net/<if>/device/phc_error_bound; decimal nanoseconds, the
// driver's cached bound refreshed on every PHC read, so it is read right
// after each measurement). A missing file is no bound; a bad one is
// logged once and ignored (reference/ntp.md §8; the kernel's ena.rst).
//
// # Disruption (VMClock)
//
// With Config.Disruption (clock/vmclock.Reader over /dev/vmclock0), the
// disruption marker is read before every measurement. When it changes, the
// CPU counter under CLOCK_REALTIME was disrupted (live migration, snapshot
// restore) and every calibration against the PHC is void: the source
// clears its filter, calls Config.OnDisruption with DisruptedBound (the
// daemon wires source.Runner.Disrupt: the engine publishes at once an error
// bound widened by it and marked disrupted, clears every reference's
// samples, restarts its servo allowing a step, and keeps the mark until it
// is locked again: engine.Engine.Disrupt), adds DisruptedBound to its root
// dispersion and reports Disruption().Disrupted until RelockSamples samples
// in a row are within RelockOffset. This is what aws/clock-bound does with
// chronyd (reference/ptp-gnss.md §12), plus the widened bound.
//
// DisruptedBound is an allowance, not a measurement: the phase jump of a
// migration is unknown until the next measurement (a pause of the guest
// may leave its clock behind by the blackout, possibly milliseconds). Set
// it to the largest jump the platform is trusted not to exceed; ClockBound
// readers are told "disrupted" in any case (package clockbound).
//
// # Not here
//
// Steering the PHC itself (from PPS or PTP: the reference-chain work),
// opening devices and reading the leap table (the daemon's wiring), and
// interface → PHC lookup (clock/phc.InterfaceDevice).
package phcsource
