// Package probe queries NTP servers once (or a few times) each, side by
// side, and judges the answers the way a monitoring plugin does: behind
// `gnomonctl probe`.
//
// The I/O shell (Probe) resolves each target, sends Count NTPv4 client
// requests with github.com/beevik/ntp (kernel RX timestamps), keeps the
// reply with the smallest delay and fills one Result per target. The
// judgement is pure: Judge maps one Result and the Thresholds to a Status
// and a reason; Overall folds the per-server statuses into the exit status.
//
// # Signs and units
//
// Offset = server − local clock (the tree's sign: reference − local;
// positive means the local clock is behind the server), as beevik computes
// it: ((T2 − T1) + (T3 − T4)) / 2. Delay = (T4 − T1) − (T3 − T2), the
// round-trip time minus the server's processing time. RootDistance is
// beevik's: (delay + root delay) / 2 + root dispersion, the error bound of
// the server's time as seen from here (RFC 5905 §A.5.5.2 for one sample,
// without peer dispersion and jitter). All are time.Duration (ns); JSON
// carries them as integer nanoseconds in keys ending in _ns.
//
// # Statuses (Nagios plugin convention)
//
// OK (0), WARNING (1), CRITICAL (2), UNKNOWN (3). Per server:
//   - UNKNOWN: no usable reply (name not resolved, timeout, ICMP
//     unreachable, malformed reply) or a Kiss-o'-Death refusing to serve
//     this client (RATE, DENY, RSTR): the time could not be measured.
//   - CRITICAL: the server answered with time a client must not use
//     (beevik's Response.Validate fails: LI 3 unsynchronised, stratum 0
//     with another kiss code or none, stratum ≥ 16, reference time older
//     than ~36 h or after the transmit time, root distance ≥ 16 s), or
//     |offset| or root distance exceeds its critical threshold.
//   - WARNING: |offset| or root distance exceeds its warning threshold.
//   - OK otherwise.
//
// Overall, the worst status wins in the order CRITICAL > WARNING > UNKNOWN
// > OK (monitoring-plugins' max_state_alt): one unreachable server among
// good ones gives UNKNOWN, an unreachable one next to a critical one
// CRITICAL. Thresholds are exceeded when strictly greater; zero disables
// a threshold.
//
// It does not poll repeatedly, filter, or select among servers: one run,
// one verdict per server.
package probe
