// Package netns is a small harness for tests that talk to real network peers
// inside Linux network namespaces, so that no test traffic leaves the
// machine and no test depends on the host's network.
//
// A Harness records everything it creates over the life of a test binary:
// namespace pairs joined by a veth link (unique names that contain the PID of
// the test process), and every process started inside them. Each process runs
// under `ip netns exec NS timeout -k K N setpriv --inh-caps=-sys_time
// --bounding-set=-sys_time CMD...`: it can never change the system clock
// (CAP_SYS_TIME is gone from its bounding and inheritable sets) and it dies
// after N seconds even if the test binary is killed before its cleanup runs.
// Processes are stopped by their recorded PIDs only (SIGTERM, then SIGKILL),
// namespaces are deleted afterwards, and Harness.Leaks reports anything that
// survived.
//
// NS.DialUDP opens a UDP socket inside a namespace from the calling process
// (setns(2) on a locked OS thread that is discarded afterwards), so Go NTP
// clients such as github.com/beevik/ntp can run inside a namespace without a
// helper binary.
//
// It does not do: IPv6 addressing, traffic shaping (netem), or anything on
// the host's own network namespace. Everything here needs root
// (CAP_NET_ADMIN and CAP_SYS_ADMIN); callers check with CanRun first.
package netns
