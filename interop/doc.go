// Package interop holds gnomon's real-peer interoperability tests: gnomond
// queried by chronyd (-Q and as an interleaved client), ntpdig and
// github.com/beevik/ntp, each running in its own network namespace with
// CAP_SYS_TIME dropped (see internal/netns and
// ../shared/reference/peers.md). Everything lives in _test.go files; this
// file only documents the package.
//
// All namespaces share one CLOCK_REALTIME, so the true offset between gnomond
// and any peer is exactly zero and every offset a peer reports is pure
// measurement error. The tests assert on what the peer reports, with bounds
// taken from issue 2 and statistical margins (medians, robust spreads)
// rather than single samples. Where a peer's own noise dominates, the same
// measurement is made against chronyd as a server in the same run and both
// numbers are logged.
//
// discipline_test.go covers issue 3 §6: gnomond (clock.mode virtual, its
// virtual clock started 3 ms ahead with the hidden --virtual-clock-offset)
// disciplines the virtual clock from three chronyd servers (`-x`,
// CAP_SYS_TIME dropped, `local stratum 1`) and serves it; a chronyd client
// measures it; one upstream is stopped and must show as unreachable in
// /metrics while gnomond stays at stratum 2. It also checks acceptance 2:
// unreachable sources and no local fallback give LI=3, stratum 0. gnomond
// never holds CAP_SYS_TIME either, and the kernel clock check above covers
// these tests too.
//
// probe_test.go runs `gnomonctl probe --json` (built by the test) from a
// client namespace against gnomond, a synchronised chronyd and an
// unsynchronised one in the server namespace, and checks rows and exit
// codes: OK (0) with |offset| < 1 ms, a closed port UNKNOWN (3), the
// unsynchronised chronyd CRITICAL (2).
//
// readme_test.go makes README.md a contract: every command of its "Two
// commands" and "A short tour" sections and the query commands gnomond prints
// at start-up run against gnomond started with `make run` (in a namespace of
// its own, so its loopback ports are free), and each output is checked for
// what the README promises; a README command without an expectation, a
// misspelled flag or a broken promise fails.
//
// cmdmon_*_test.go cover gnomonctl's chronyc commands (issue 11 §2): the
// real chronyc 4.3 and gnomonctl query one fake cmdmon server on loopback
// (replies built with cmdmon/wire) and must print byte-identical output
// with the same exit code, for two value sets, failures and resends; and
// gnomonctl --json against a real chronyd's Unix socket agrees with
// `chronyc -c`.
//
// The suite needs root. Without it every test skips with a loud message,
// unless GNOMON_REQUIRE_INTEROP=1, which turns the skip into a failure (CI).
// TestMain snapshots the kernel clock state (adjtimex, modes 0) before and
// after the run and fails if the clock was touched, and fails if any
// namespace or process the suite created is still there at the end.
package interop
