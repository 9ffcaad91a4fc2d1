// Package selection decides which time sources to believe. Given one
// candidate measurement per source (offset, delay, dispersion, jitter and
// the source's own root delay/dispersion, stratum, reference ID and leap
// indicator) it rejects unusable sources, finds the truechimers with the
// intersection algorithm, prunes outliers, picks the system peer with
// reselection hysteresis, combines the survivors into one offset and
// derives what the system propagates (stratum, reference ID, root delay,
// root dispersion, leap).
//
// It is pure: no I/O, no clocks, no goroutines. The engine feeds it the
// current estimate of every source (dispersion already grown to "now") and
// publishes what comes back. Offsets follow gnomon's convention:
// offset = reference − local (positive: the local clock is behind).
//
// # Pipeline (Selector.Select), in order
//
//  1. Filters, each with a Reason shown in status displays: noselect (N),
//     unreachable / no valid sample (r), unsynchronised source (leap 3 or
//     stratum ≥ 16) or stratum > MaxStratum (s), loop: the source's
//     reference ID is one of our own addresses' reference IDs (L), root
//     distance > MaxDistance (d), jitter > MaxJitter (~). Filtered sources
//     get state Unusable '?' (Jittery '~' for the jitter filter).
//  2. Intersection, RFC 5905 §11.2.1 (Marzullo's algorithm with midpoints,
//     A.5.5.1 clock_select), over [offset − λ, offset + λ] where λ is the
//     root distance (RootDistance). A clique needs more than half of the
//     candidates: with f allowed falsetickers, f < m/2. A candidate whose
//     interval does not overlap the intersection is a falseticker 'x'. When
//     no majority exists nothing is selected and every candidate is 'x'.
//     A single touching point counts as an intersection (RFC says l < u).
//  3. trust (chrony semantics): if any candidate has Trust, the intersection
//     is first computed over the trusted candidates alone; when they agree
//     (majority among them) their intersection decides who is a truechimer,
//     whatever the untrusted majority says. Two trusted sources that
//     disagree lose the privilege and everything falls back to step 2 over
//     all candidates.
//  4. require: if any candidate (usable or not) has Require, nothing is
//     selected unless at least one Require candidate is a truechimer
//     (reason w). minsources: nothing is selected unless there are at least
//     MinSources truechimers (reason w).
//  5. prefer (chrony semantics): if any truechimer has Prefer, the
//     non-preferred truechimers are dropped from peer selection and
//     combining (state '-', reason P).
//  6. Clustering, RFC 5905 §11.2.2: while more than MinSurvivors remain and
//     the largest selection jitter is not smaller than the smallest peer
//     jitter, the survivor with the largest selection jitter is pruned
//     ('-', reason O). MinSurvivors 0 disables pruning (chrony behaviour).
//  7. System peer: the survivor with the smallest score
//     λ + StratumWeight × stratum. Hysteresis (chrony reselectdist): every
//     survivor except the current peer has ReselectDistance added to its
//     score, so the peer only changes when another source is better by more
//     than ReselectDistance, or the current peer stops surviving.
//  8. Combining (RFC 5905 §11.2.3, chrony combinelimit): survivors with
//     λ ≤ CombineLimit × λ(peer) are averaged with weights 1/λ ('+');
//     the rest are '-' (reason D).
//  9. Propagation: stratum = peer stratum + 1; reference ID =
//     RefIDForAddr(peer address) (or the candidate's RefClockID for
//     sources without an address); root delay = peer root delay + peer
//     delay; root dispersion = peer root dispersion + peer dispersion +
//     system jitter + |combined offset| (RFC 5905 A.5.5.5 clock_update);
//     system jitter = sqrt(peer jitter² + selection jitter²) where the
//     selection jitter is the 1/λ-weighted RMS of the combined offsets
//     around the peer's; leap = the value more than half of the
//     truechimers announce (insert or delete), else none.
//
// # Feeding it from ntp/client
//
// For an NTP source, Candidate{Offset, Delay, Dispersion, Jitter, RootDelay,
// RootDispersion, Stratum, RefID, Leap} are the fields of the same names of
// client.Source.Estimate(now), Reachable is Estimate.Usable, Addr the
// server's address and ID its name (TestClientsIntoSelection does exactly
// this).
//
// What it does not do: it keeps no per-source history (the NTP client core
// in ntp/client runs the clock filter), does not steer any clock (the
// servo does), and does not decide the poll interval.
package selection
