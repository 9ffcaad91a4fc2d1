// Package client is gnomon's sans-IO NTP client core: the state of one
// upstream server association in client mode (RFC 5905 mode 3/4). It builds
// requests, validates replies, computes offset and delay samples, runs the
// clock filter, keeps the reachability register and decides when to poll.
// The engine turns each Source's Estimate into a clock/selection.Candidate.
//
// # Time and I/O
//
// Like ntp.Server it imports no net, os or syscall, starts no goroutines and
// never reads a clock: every method takes the local time as an argument.
// The packet format (header, timestamps, kiss codes) is ntp/wire's.
// The shell owns the socket. Its loop per source is:
//
//	var buf [client.RequestLen]byte
//	if send, next := src.Poll(now, &buf); send { t1 := sendAndStamp(buf[:]) ... }
//	// sleep until next or until a reply arrives, then
//	v := src.HandleReply(pkt, rxLocal, t1) // t1: kernel TX timestamp of the request, or zero
//
// # Requests (RFC 9109 data minimisation, chrony)
//
// A request carries only version, mode 3, our poll exponent and precision
// 0x20 (as chrony sends); every other field is zero except Transmit, which
// holds a 64-bit random cookie, never the real time. A reply is accepted only
// if its Origin equals the cookie of the outstanding request, which defeats
// off-path spoofing and makes late or duplicate replies recognisable. The
// real T1 is the local transmit time the shell reports (ideally a kernel TX
// timestamp), falling back to the time of the Poll call.
//
// # Reply checks, in order (Verdict names)
//
//   - demobilised: the association was stopped by DENY/RSTR;
//   - malformed: shorter than 48 bytes (extension fields and MACs after the
//     header are ignored);
//   - bad_version (VN not 1…4), bad_mode (not 4);
//   - duplicate (Origin is the previous request's cookie, or Transmit
//     repeats the last accepted reply's), not_expected (no outstanding
//     request), bogus_origin (Origin is not the cookie): RFC 5905 tests 1–3;
//   - with the cookie matched, KoD (stratum 0, RFC 5905 §7.4): RATE raises
//     the poll exponent by one (a floor that stays until Restart) and
//     cancels bursts and burst mode; DENY and RSTR demobilise the
//     association (no more requests; State and KissCode show why); any other
//     code is ignored. A KoD whose Origin is not our cookie is bogus_origin
//     and changes nothing, so an off-path attacker cannot silence a source;
//   - bad_timestamps: zero Receive or Transmit, Transmit before Receive, or
//     local receive before local transmit (the request stays outstanding);
//   - unsynchronised: LI 3 or stratum ≥ 16;
//   - bad_header: root delay/2 + root dispersion ≥ 16 s, a reference time
//     after Transmit, or a sample dispersion ≥ 16 s (precision field ≥ 4).
//
// Replies that match the cookie and are not KoD set bit 0 of the
// reachability register (as chrony does, so an answering but
// unsynchronised server shows as reachable); only accepted ones produce a
// sample.
//
// # Sample (RFC 5905 §8)
//
// offset θ = ((T2 − T1) + (T3 − T4)) / 2 and delay δ = (T4 − T1) − (T3 − T2),
// computed in 32.32 fixed point (era-safe wire.Delta differences), with
// gnomon's sign: offset = reference − local, positive when the local clock
// is behind. δ is floored at our precision. The sample dispersion is
// ε = 2^precision(server) + 2^precision(local) + PHI × (T4 − T1), PHI = 15 ppm.
//
// # Clock filter (RFC 5905 §10)
//
// Each association feeds its accepted samples into a clock/filter.Filter
// (the last 8 samples, minimum-distance pick, peer dispersion and jitter;
// see that package for the semantics and where they deviate from the RFC).
// At a poll where the two previous requests went unanswered the source
// pushes a dummy sample of dispersion MAXDISP = 16 s, which ages the older
// samples out. Estimate evaluates the filter at the time it is given.
//
// # Poll schedule
//
// Poll interval 2^poll s, poll within [MinPoll, MaxPoll]. iburst: the first
// four requests go out 2 s apart. burst: while the server is reachable,
// every regular poll is a burst of four requests 2 s apart. Every poll
// shifts the 8-bit reachability register left (chronyc shows it in octal:
// 377 = the last eight answered); a request that was still unanswered when
// the next poll came is counted as a timeout. After eight polls without an
// answer (register 0) the poll exponent grows by one per poll up to MaxPoll;
// it returns to its floor on the next valid reply. The engine may move the
// poll exponent within the limits with SetPoll (adaptive polling belongs to
// the servo, which knows how noisy the samples are).
//
// # Not done here
//
// Symmetric and broadcast modes, interleaved client mode, authentication
// (NTS, MAC), DNS, randomisation of the poll interval and the poll
// adaptation itself.
package client
