// Package servo turns offset measurements of a steered clock into
// frequency corrections and steps. It is pure: no I/O, no real time, no
// goroutines; one goroutine (the discipline engine) owns a servo, feeds it
// Measurements and applies each Decision to a clock.Steerable (Apply).
//
// Signs and units follow package clock: offset = reference − local
// (positive: the clock is behind), frequencies in ppb with positive meaning
// faster, Decision.FreqPPB is the absolute correction to set (not an
// increment), and Decision.Step moves the clock forward when positive.
//
// Servos:
//   - PI: linuxptp's PI servo (pi.c) through facebook/time/servo, the
//     baseline. With linuxptp's software-timestamp gains at 1 s polls
//     (kp 0.1, ki 0.001) it is the fair reference for NTP-class noise.
//   - Kalman: a two-state (phase, frequency) Kalman filter that weighs each
//     sample by its round-trip delay and picks the oscillator wander by
//     likelihood from a bank of filters. It is the servo gnomon uses; it
//     was chosen by measurement (package trial, docs/simulation.md): on the
//     same seeded traces its RMS time error is about a third of the PI's.
//
// Measurement carries when the caller will apply the decision (ApplyAt)
// and the sample's stated dispersion: the Kalman servo models its own
// corrections from the time they take effect (a PPS sample is delivered
// after the next edge) and lowers its noise floor to a precision finer
// than 100 ns. A discarded sample's Decision still carries the frequency
// to set.
//
// Policy holds the limits every servo obeys: chrony's makestep (step only
// above a threshold and only in the first N updates), a frequency limit
// (maxdrift / max_frequency) and a slew limit on the phase-correcting part
// (maxslewrate).
//
// Not here: source selection and combining, clock filters over several
// sources, leap seconds, holdover policy, and announcing steps (the engine
// logs and counts the ActionStep decisions it applies).
package servo
