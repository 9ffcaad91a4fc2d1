// Package privdrop takes gnomond from the privileges it starts with (root,
// or a systemd unit's bounded capability set) to the least it needs once
// every socket, device and file is open: an unprivileged user and only the
// capabilities its configured clocks use while running.
//
// The decision is pure and table-tested (plan.go): Needs says what the
// running configuration does after start-up that the kernel checks a
// capability for, PlanFor maps it to the capability Set to keep, with the
// reason for each. Capabilities used only during start-up are never kept:
// CAP_NET_BIND_SERVICE (ports below 1024), CAP_NET_ADMIN (SIOCSHWTSTAMP,
// SO_RCVBUFFORCE), CAP_NET_RAW (SO_BINDTODEVICE before Linux 5.7),
// CAP_DAC_OVERRIDE (device and file opens), CAP_SETUID/CAP_SETGID (the
// switch itself). What needs one later:
//
//   - CAP_SYS_TIME to steer CLOCK_REALTIME (clock_adjtime, clock_settime:
//     clock.mode system with sources) and for PPS_SETPARAMS on a kernel PPS
//     device, which a gnss source issues at the start of each run. A PHC is
//     steered through its file descriptor, opened read-write before the
//     drop; the kernel checks the open mode, not a capability.
//
// Drop (drop_linux.go) carries out a plan: PR_SET_KEEPCAPS, the bounding
// set (PR_CAPBSET_DROP of every capability not kept), setgroups, setresgid,
// setresuid, capset (permitted = effective = kept, inheritable and hence
// ambient empty), PR_SET_NO_NEW_PRIVS, then reads /proc/self/status back
// and fails if the kernel disagrees. Credentials are per thread on Linux:
// the uid/gid calls of package syscall reach every thread of the process
// (Go ≥ 1.16, or glibc's set*id broadcast in a cgo build), and the
// capability and prctl calls go through syscall.AllThreadsSyscall, which
// refuses to run in a cgo build. There Drop still switches the user (the
// kernel then clears every capability of every thread) when nothing is to
// be kept, and otherwise returns ErrCgo: build with CGO_ENABLED=0 (the
// Makefile does).
//
// It does not chown or chmod anything: the caller makes the files it keeps
// using after the drop usable by the target user first.
package privdrop
