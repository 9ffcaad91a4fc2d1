// Package serve is the I/O shell of gnomon's PTP grandmaster (package ptp
// decides; this package moves bytes and timestamps). Per listen address it
// opens three hwts sockets and runs three goroutines:
//
//   - the general socket (port 320): its reader answers Signaling
//     (unicast negotiation) through ptp.Server.HandleGeneral;
//   - the event socket (port 319): its reader answers Delay_Req with
//     Delay_Resp (sent from the general socket) and hands SPTP Delay_Reqs
//     to the sender;
//   - the send socket (an ephemeral port, as Meta's ptp4u sends Sync; ptp4l
//     and sptp accept it): the sender owns it alone, with its transmit
//     timestamps. It is hwts's SendOnly kind, outside Go's netpoller, so
//     that the error-queue wake-up of each TX stamp does not delay the Sync
//     between its TX stamp and its delivery (hwts BenchmarkOneWayLowRate:
//     p50 6.2 → 2.0 µs, p90 8.8 → 2.5 µs on loopback). It sends every grant's Sync when due, reads the kernel
//     TX timestamps of the batch, and sends each Follow_Up with its precise
//     origin (from the general socket); it sends Announce when due and
//     expires grants once a second. Grant scheduling state (next time,
//     sequence) belongs to this goroutine: it takes the grants negotiated on
//     its own address once (ptp.Grants.TakeNew) into a min-heap by next send
//     time, so a pass costs O(due · log n) and grants due within 1 ms share
//     one pass and one sendmmsg; per message it reads a grant's expiry and
//     end through atomics, never the table's mutex.
//
// Multicast (Config.Multicast, on Config.Interface): the trio of an
// unspecified listen address (0.0.0.0, ::) joins ptp.Group (224.0.1.129,
// ff0e::181) on its event and general sockets; its sender also sends, on
// the core's Multicast periods, a two-step Sync to group:319 from the send
// socket (TX stamp, then the Follow_Up to group:320) and an Announce to
// group:320; a multicast Delay_Req is answered to group:320. Multicast is
// not looped back, so the server does not hear itself. Another master's
// Announce (multicast or unicast) is counted (Stats.ForeignAnnounces) and
// logged once per sender, and never obeyed.
//
// The sender's sleep: the sender waits between passes in ppoll on an
// eventfd (waker), which SPTP requests and shutdown write; it never waits
// on a Go timer, no single sleep is longer than sleepChunk (8 ms), and it
// yields to Go's scheduler (runtime.Gosched) after each sleep and each
// pass, except within quietBefore (2 ms) of its next pass (sleepFor,
// yieldBefore). A goroutine woken by a Go timer is woken through the
// runtime, whose other threads wake around the same deadline (sysmon, the
// netpoller's epoll timeout, a spinning M) and send the sender's CPU a
// timer interrupt or a reschedule IPI while the Sync is in the kernel
// between its software TX stamp and its delivery; perf traces of the late
// Syncs showed exactly that, each interrupt adding 10–45 µs on this VM
// (where an interrupt is a VM exit). The yields answer sysmon (Go 1.26
// proc.go, sysmon and retake): a goroutine not rescheduled for 10 ms is
// preempted and its P taken, even while it sleeps in a system call, as is
// the P of a thread that stays in one system call for 10 ms. With every P
// idle sysmon sleeps, the sender's return wakes it, and it then polls every
// 20 µs for some milliseconds: timer interrupts on the sending CPU (a perf
// trace of a 32 Hz unicast sender without the yields: sysmon woken by it
// 78 times a second, 1,460 sysmon wake-ups a second in all; with them 11
// and ≈ 770). A yield costs at most one wake-up of another runtime thread,
// which is over before the quiet time ends. The yields also make gnomond
// cheaper: serving that one client (and idle NTP), over 30 s, sysmon's
// nanosleep calls 55,910 → 5,158, context switches 65,092 → 16,944, CPU
// time 790 → 278 ms.
// Measured by interop TestPTPSyncPath (32 Hz multicast, a kernel-stamping
// listener on the client side, ptp4l's master beside it in the same
// windows), Syncs later than 5 µs: Go timer 1.0–1.3 %; kernel sleep without
// chunks 0.4–0.7 %; with them 0.1–0.4 % (ptp4l's master 0–0.3 % in the
// same runs); medians ≈ 2.2–2.4 µs, as ptp4l's. Unicast, measured by
// TestPTPSyncPathUnicast (one client, 32 Hz Sync and Delay_Req, transit
// from the Follow_Up's origin to the client's kernel RX stamp), pooled over
// 60 s windows: before the yields (8 windows) gnomond 104 of ≈ 15,360
// Syncs later than 5 µs (0.68 %), ptp4l's master 62 (0.40 %) in the same
// windows; with them (18 windows) 75 of ≈ 34,550 (0.22 %) against 62
// (0.18 %). Single windows swing widely (gnomond 0–13, ptp4l 1–10 with the
// yields). An event reader blocking in the kernel (hwts BlockingRead)
// instead of the netpoller did not help: 22 against 26 in 5 windows
// interleaved with 6 against 12 for this one. A ptp4l slave sees such
// late Syncs as 20–50 µs offset outliers.
//
// Writes to the general socket come from three goroutines and are
// serialised by a mutex (hwts allows one writer at a time per socket).
//
// Timestamps: receive and transmit stamps are kernel software stamps
// (CLOCK_REALTIME) converted to the served clock with
// clock.Served.FromRealtime, then to the PTP timescale by package ptp
// (plus TAI − UTC). A Sync whose TX timestamp does not arrive within
// TXWait gets no Follow_Up and is counted (tx_timestamp_misses).
//
// With Config.PHC (gnomond's disciplined PHC) and a NIC that stamps with
// that PHC (hwts hardware mode on Interface, receive filter for PTP), the
// Delay_Req receive and Sync transmit times are the NIC's stamps as they
// are: a TAI PHC's time is what goes on the wire, a UTC PHC's plus TAI −
// UTC. No conversion through CLOCK_REALTIME adds its error. A datagram the
// NIC did not stamp falls back to its kernel stamp (counted by direction,
// gnomon_ptp_hardware_timestamp_misses_total); stamps of any other PHC are
// not used. These machines have no timestamping NIC: the path is tested
// through a simulated NIC behind the socket interface (hardware_test.go),
// and hwts's filter plan is table-tested.
package serve
