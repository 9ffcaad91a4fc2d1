// Package sim simulates time for clock-discipline tests and `gnomonctl sim`:
// a Timeline of true time that only the simulation advances, free-running
// and steerable clocks with an oscillator model, and an NTP-style
// measurement channel. Nothing here reads the real clock, sleeps, starts
// goroutines or makes system calls; every random draw comes from a
// math/rand/v2 PCG source seeded explicitly, so the same seed and the same
// sequence of calls produce the same trace, bit for bit.
//
// # Timeline
//
// A Timeline holds true time ("what a perfect reference would read"). It
// starts at a given instant and moves forward only through Advance and
// AdvanceTo. Clocks and networks read it; they never move it on their own,
// except Channel.Exchange, which advances it by the round trip it simulates
// (documented there).
//
// # Clock model
//
// A Clock reads true time plus its time error TE (clock − true, ns):
//
//	TE(t) = TE0 + Σ steps + ∫[ν0 + νrw(s) + νT(s) + u(s)]·1e-9 ds  (+ read noise per reading)
//
// where, all frequencies in ppb and positive meaning the clock runs fast
// (the sign of clock.Steerable):
//   - ν0 is the constant initial frequency error (Oscillator.FreqErrorPPB);
//   - νrw is a random walk of frequency with diffusion σ (ppb/√s,
//     Oscillator.RandomWalkPPB): Var[νrw(t)] = σ²·t. It is generated on a
//     fixed grid of NoiseStep (default 1 s) true-time cells and linearly
//     interpolated inside a cell, so the trace does not depend on when the
//     clock is read or steered;
//   - νT(t) = A·sin(2π(t−t0)/P) is a temperature-like periodic term of
//     amplitude A ppb and period P (Oscillator.TempAmplitudePPB,
//     TempPeriod), integrated analytically;
//   - u is the frequency correction set with AdjustFrequency (additive, as
//     in clock.Virtual and the kernel's ADJ_FREQUENCY for small values);
//   - steps are Step calls and injected StepEvents (at a true time, by an
//     amount, positive = clock jumps forward);
//   - read noise is white Gaussian with σ = Oscillator.ReadNoise, drawn
//     independently for every Now() and never accumulated.
//
// TimeError and RateError expose the noise-free TE and the net rate error
// (ν0+νrw+νT+u) for scoring; a servo under test must only use Now().
// Because offset = reference − local (package clock), a perfect measurement
// of this clock reads offset = −TE.
//
// # Measurement channel
//
// Network models a path to a perfect NTP server: each direction's delay is
// a base plus jitter drawn from a distribution (none, exponential, gaussian
// truncated at zero, uniform), with optional outliers (extra delay with a
// given probability). Channel.Exchange produces the RFC 5905 §8 on-wire sample:
// T1 and T4 read on the simulated client clock, T2 and T3 exact, and
//
//	offset = ((T2−T1) + (T3−T4)) / 2,  delay = (T4−T1) − (T3−T2).
//
// Path asymmetry (different base delays or distributions per direction)
// biases the offset by (d→ − d←)/2, as on a real network.
//
// # What it does not do
//
// No PHC/PPS models, no leap seconds, no flicker noise; the oscillator is
// the classical two-noise model (white PM via read noise, random-walk FM)
// plus a deterministic periodic term. Server-side behaviour (KoD, stratum,
// interleaved mode) belongs to the engine's scenarios, not here.
package sim
