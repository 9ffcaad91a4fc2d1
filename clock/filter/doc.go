// Package filter is the clock filter of RFC 5905 §10, as chrony and ntpd
// run it per source: a shift register of the last Stages offset/delay
// samples of one source, from which it picks the most trustworthy sample and
// estimates the source's dispersion and jitter. It knows nothing about where
// samples come from: the NTP client core (ntp/client) feeds it, and so can a
// PHC, PPS or GNSS source that measures an offset against the local clock.
//
// # Units and sign
//
// Durations are time.Duration; times are local wall-clock readings
// (time.Time without a monotonic reading, see package clock). Offset follows
// gnomon's one convention (package clock): offset = reference − local,
// positive when the local clock is behind. Delay is the round-trip delay of
// the measurement (0 where there is no path, as for PPS); Dispersion is the
// measurement's error bound at its Time.
//
// # Semantics (RFC 5905 §10, chrony)
//
//   - Every sample's dispersion grows with its age at PHI = 15 ppm and
//     saturates at MaxDispersion (MAXDISP, 16 s).
//   - A poll that got no answer pushes a dummy sample of dispersion
//     MaxDispersion (AddMissing), which ages the older samples out.
//   - Evaluate picks the sample with the smallest distance δ/2 + ε at the
//     evaluation time (among samples of equal age: the smallest delay); on
//     equal distance the newer one.
//   - The peer dispersion is Σ εᵢ/2^(i+1) over the stages sorted by
//     distance, normalised over the filled stages. Deviation from the RFC,
//     which counts never-filled stages as MAXDISP: that keeps a new
//     source's root distance at seconds for its first polls and lets a
//     falseticker's interval overlap everyone's. Dummy stages of missed
//     polls still count.
//   - The jitter is the RMS of the other valid samples' offsets around the
//     chosen one, floored at the local clock's precision.
//   - Nothing is usable (Result.OK false) when the best stage has aged to
//     MaxDispersion.
//
// # What it does not do
//
// It does not compute samples (that is protocol work: NTP's θ and δ live in
// ntp/client), select or combine sources (clock/selection), nor steer a
// clock (clock/servo). It is sans-IO: no goroutines, no clock reads (time
// comes in as arguments), no net, os/exec or protocol packages.
package filter
