// Package clockbound exports gnomond's error bound as a ClockBound
// shared-memory segment (protocol version 2, aws/clock-bound's
// docs/PROTOCOL.md and clock-bound-shm), so that ClockBound's client
// libraries read [earliest, latest] around CLOCK_REALTIME without talking
// to a daemon; and reads such segments (Read), for gnomon's tests and tools.
//
// # The segment (80 bytes, native endian)
//
//	 0 magic      two u32: 0x414D5A4E, 0x43420200 (clock-bound-shm SHM_MAGIC)
//	 8 segsize    u32 (80)
//	12 version    u16 (2; 0 while the segment is being created)
//	14 generation u16 (odd while the writer updates, even after; 0 = never
//	              written; rolls over to 2, never to 0)
//	16 as_of      timespec (i64 s, i64 ns) of CLOCK_MONOTONIC_COARSE when the
//	              bound was computed
//	32 void_after timespec, CLOCK_MONOTONIC_COARSE: beyond it the bound means
//	              nothing (ClockBound's daemon uses as_of + 1000 s; so do we)
//	48 bound      i64 ns: bound on |CLOCK_REALTIME − true time| at as_of
//	56 disruption u64: last VMClock disruption marker read (0 without one)
//	64 max_drift  u32 ppb: readers grow the bound by max_drift × (now − as_of)
//	68 status     i32: 0 unknown, 1 synchronized, 2 free-running, 3 disrupted
//	72 disruption_support u8 (1 when a phc source reads a VMClock device),
//	              then padding to 80
//
// A ClockBound reader trusts status for 5 s after as_of, then degrades
// synchronized to free-running until void_after, then to unknown: a dead
// gnomond is noticed.
//
// # What gnomond writes
//
// Every second (Writer.Run): the served state's error bound — |offset| of
// the combined sources + root dispersion + root delay / 2, grown at the
// dispersion rate, the same quantity ClockBound computes from chronyd's
// tracking report — plus |served clock − CLOCK_REALTIME|: with clock.mode
// virtual gnomond disciplines a software clock, not CLOCK_REALTIME, and the
// bound is on CLOCK_REALTIME (with clock.mode system the difference is 0).
// Status: synchronized when a source is selected (or in holdover: the bound
// grows); unknown before the first synchronisation and whenever the only
// reference is the local clock (its "bound" says nothing about true time);
// free-running when synchronisation is lost, with the last synchronised
// as_of, bound and void_after kept, so readers grow that bound at max_drift
// from when it was measured. Unknown carries bound 0 (readers must not use
// it). Disrupted (WriterConfig.Disruption, the served state's Disrupted):
// from the moment the VMClock source reads a new disruption marker until
// both it and the engine have re-locked, with the served bound, which the
// engine widened at the disruption (engine.Engine.Disrupt); the bound
// from before it is forgotten, so a loss of synchronisation afterwards
// reads unknown, not free-running. With a VMClock device the segment says
// disruption_support 1 and carries the device's marker: ClockBound's
// clients compare it with the device's own and read unknown while the
// segment is behind (a migration not yet seen: up to one poll). max_drift is the configured value (ClockBound's daemon default:
// 50 ppm). A restarted writer goes on from the file's generation.
//
// # Update order without a lock
//
// The writer owns the file and updates it with four pwrite calls: the odd
// generation, the body, the version, the even generation. Readers map the file (or, as
// Read does, pread it) and retry while the generation is odd or changed.
// Each pwrite into the page cache locks and unlocks the page (an acquire
// and a release), so the stores of one call are visible before those of the
// next on every architecture Linux supports; no unsafe memory access is
// needed on either side.
package clockbound
