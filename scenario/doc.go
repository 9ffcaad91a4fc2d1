// Package scenario runs the discipline engine (clock/engine) on simulated
// time: a seeded oscillator (clock/sim) as the disciplined clock, one
// ntp/client association per upstream server, and simulated upstream
// servers that answer through the real sans-IO NTP server core (ntp.Server)
// over a simulated network path. Every packet is a real NTP packet: the
// client builds the request, the server core answers it with a SyncState
// of its own (stratum, LI, reference ID), the client validates the reply
// and runs its clock filter, and the engine selects, steers and publishes.
// Nothing reads the real clock or sleeps; the same seed gives the same run.
//
// # Model
//
// True time is the sim.Timeline. UTC is true time minus the leap seconds
// inserted so far (a scenario may schedule one). A server's clock reads
// UTC + its Offset (a falseticker has a large one); it stamps Receive at
// the true arrival time and Transmit after its processing time. Each
// direction of a path draws its delay from the server's sim.Network (base,
// jitter distribution, outliers); an exchange moves the timeline forward by
// its round trip. A server may be down in time windows (no reply).
// Timers fire on the local clock: a poll due at local time L happens at
// the true time at which the simulated clock reads L (plus 1 µs, so that
// read noise never makes it early).
//
// # Scoring
//
// Every TraceEvery of true time (at the half-interval, so that no sample
// falls on the microsecond between a leap instant and the engine's leap
// step) the runner records the clock's noise-free time error against UTC
// and the published state. From that: the settling time (the first record
// from which |TE| < LockThreshold for LockSustain; "settled within" in the
// text, not to be confused with the engine's mode "locked"), max |TE| and
// RMS TE after settling, final frequency error, the timeline of source selections, mode
// changes and steps, the fraction of time each server was selected or
// combined, and the honesty of the published error bound: whenever the
// state says synchronised, |TE| must be ≤ engine.ErrorBoundAt.
//
// With the engine in LeapModeSmear every record also scores the served
// clock (Engine.Served): served − UTC against the smear curve (continuous
// time, i.e. true time, plus leap.Smear.Offset), the reference ID and LI
// servers would send, and whether served readings only move forward
// (Result.Smear). With Scenario.Kernel the engine steers a simulated
// kernel clock (kernel.go) that has the kernel's leap, sync and TAI
// abilities and inserts an armed leap at its own midnight, as
// CLOCK_REALTIME does; what the engine asked of it is in Result.Kernel.
//
// # Reference chains
//
// A scenario with GNSS set simulates gnomond's phc section instead
// (refchain.go): a PHC (the scenario's oscillator) steered by its own
// engine from simulated PPS edges (refclock/pps.Sim.Pulse) paired with a
// receiver's time of day (gpsd-like values, or NMEA sentences through
// refclock/nmea's generator and decoder) by source/gnsssource.Core, the
// source's logic without its goroutines; optionally CLOCK_REALTIME steered
// by a second engine from the PHC through source/phcsource over a
// simulated cross-timestamping device. Result.Ref scores labels, classes,
// outages and the system clock.
//
// Scenarios are Go values (Scenario); the built-in ones are in Builtin.
// Adding one means adding an entry there. The limits the tests assert, and
// why, are in docs/simulation.md.
package scenario
