// Package hwts provides timestamped UDP sockets for gnomon's servers: batched
// receive and send (recvmmsg/sendmmsg) with kernel or NIC receive timestamps
// on every datagram and transmit timestamps from the socket error queue,
// matched to the datagram that produced them. It is the only package in
// gnomon that uses SO_TIMESTAMPING, SIOCSHWTSTAMP, recvmmsg/sendmmsg,
// MSG_ERRQUEUE or unsafe. Only Linux is implemented; elsewhere Listen
// returns ErrUnsupported.
//
// It does not parse or build NTP/PTP packets, convert timescales, keep
// per-client state, start goroutines, or change any clock.
//
// References: Linux Documentation/networking/timestamping.rst,
// include/uapi/linux/net_tstamp.h and errqueue.h; the project fact sheet
// ../shared/reference/ptp-gnss.md §9.
//
// # Timestamps and timescales
//
// Every received Message has RX set: a kernel software stamp (KindKernel,
// CLOCK_REALTIME, taken when the datagram entered the stack) or, when the
// kernel gave none, a daemon stamp (KindDaemon) from Config.Now read once
// per batch right after recvmmsg returned. With NIC timestamping RXHW
// additionally carries the NIC stamp (KindHardware). Hardware stamps are raw
// PHC time (ts[2] of SCM_TIMESTAMPING) of the clock /dev/ptp<Info.PHCIndex>;
// they are never passed off as system time. The caller converts them through
// its clock interface, and also corrects for the NIC stamping the preamble
// rather than the end of the frame if it cares (chrony transposes). Kernel
// stamps likewise go through clock.Served.FromRealtime before they are
// served.
//
// TX timestamps are requested with SOF_TIMESTAMPING_OPT_ID|OPT_TSONLY: each
// datagram's stamp comes back on the error queue without its payload, tagged
// with an ID. By default the socket stamps every datagram. With
// Config.TXOnDemand the socket keeps only the reporting flags and a datagram
// is stamped only when its Message.WantTX is set, through a per-datagram
// SO_TIMESTAMPING control message carrying the SOF_TIMESTAMPING_TX_* flags
// (Linux ≥ 4.7): a server whose replies mostly cannot use a stamp saves an
// error-queue message, the socket wake-up it causes and the read per reply.
// When the kernel accepts SCM_TS_OPT_ID (Linux ≥ 6.13; Listen
// probes it with a send that cannot leave the host) WriteBatch sets that ID
// per datagram; otherwise it predicts the kernel's per-socket counter, which
// advances by one per timestamped datagram the kernel builds (sk_tskey moves
// only for datagrams that ask for a stamp, so on an on-demand socket
// unstamped datagrams do not count). Errors raised before a
// datagram is built (EACCES for broadcast, routing errors) do not advance
// it; tests check this with partial sendmmsg batches. Known gap of the
// counter mode only: a send that fails after the datagram was built (a qdisc
// drop reported as ENOBUFS) advances the kernel counter without WriteBatch
// knowing, and later IDs are off by one until the socket is reopened. With
// hardware timestamping the socket also sets OPT_TX_SWHW, so a datagram can
// be reported twice (kernel and hardware): NICs that stamp one TX packet at
// a time still leave a software stamp.
//
// # Hardware timestamping
//
// Tried in ModeAuto and required in ModeHardware, only on Config.Interface.
// Capabilities come from ETHTOOL_GET_TS_INFO (unix.IoctlGetEthtoolTsInfo),
// the current NIC-wide setting from SIOCGHWTSTAMP. An RX filter another
// daemon set is only ever widened: ALL and NTP_ALL are kept, anything else
// becomes NTP_ALL or else ALL (ERANGE from the driver moves on to the next
// filter; EINVAL, EOPNOTSUPP and EPERM stop), a TX type other than OFF is
// kept, and a PTP-only filter is never requested (facebook/time's responder
// does that and loses NTP stamps). The setting is left in place on Close
// because it is NIC-wide. Info reports what was obtained and Info.Fallback
// why not more.
//
// # Sockets
//
// One address family per socket (IPv6 sockets are IPv6-only; listen twice
// for both). SO_BINDTODEVICE takes the interface name. SO_REUSEPORT lets
// each worker own a socket on the shared port. On a socket bound to the
// wildcard address (or a multicast socket) IP_PKTINFO/IPV6_RECVPKTINFO
// report the destination address and interface of each datagram, and a
// reply with Message.Local set leaves from that address. A socket bound to
// one unicast address receives only datagrams sent to it and sends from it:
// it asks for no pktinfo, ReadBatch reports the bound address as Local (and
// IfIndex 0), and a reply from it carries no control message, so it follows
// the routing table instead of being pinned to the arrival interface
// (Config.Interface binds the socket to one). Per datagram
// that saves ≈ 0.1 µs of receive and ≈ 0.1 µs of send path in the kernel
// (hwts benchmarks on loopback). DSCP sets
// IP_TOS/IPV6_TCLASS. SO_BROADCAST, which Go's net package turns on for
// every UDP socket, is turned off: a server must never answer by broadcast.
// Conn.Drops reads the receive queue's drop count when it is called
// (SO_MEMINFO) rather than from SO_RXQ_OVFL, which would add a control
// message to every datagram after the first drop. Config.NoWait takes a socket out of Go's
// netpoller so that ReadBatch never waits; a Poller (ppoll) waits for
// several such sockets at once, for a caller with its own event loop
// (ptp/loadgen's address mode).
//
// # Batched I/O and the netpoller
//
// ReadBatch and WriteBatch call recvmmsg/sendmmsg from RawConn Read/Write
// callbacks, so a blocked read parks its goroutine in Go's netpoller and
// Close or SetReadDeadline wake it. The socket is non-blocking, so these
// calls and the error-queue read (MSG_DONTWAIT) never sleep in the kernel;
// they are made as raw system calls (unix.RawSyscall6), without the
// runtime's entersyscall/exitsyscall. That matters more than the few
// nanoseconds it saves: entering a system call wakes the runtime's sysmon
// thread whenever it sleeps because every P was idle, which on a server
// that idles between requests happens on nearly every batch. Measured on a
// 2-vCPU VM with the server pinned to one CPU at 30,000 requests/s, the
// plain Syscall6 cost 28,000 futex and 20,000 nanosleep calls and 80,000
// extra context switches per 5 s (sysmon waking and polling every 20 µs);
// raw calls removed all of them and a fifth of the server's CPU time
// (87 % → 70 %). All headers, iovecs, address and
// control buffers are preallocated per Conn (BatchSize of each), callbacks
// are method values built once, and no per-datagram allocation happens:
// testing.AllocsPerRun over a full echo round (client WriteBatch, server
// ReadBatch, WriteBatch, ReadTX on both ends, client ReadBatch) is 0.
//
// # Blocking reads
//
// With Config.BlockingRead the socket leaves the netpoller (like SendOnly:
// a CLOEXEC duplicate of the descriptor is kept, the net.UDPConn closed) and
// is put in blocking mode. ReadBatch then makes one recvmmsg with
// MSG_WAITFORONE, which sleeps until the first datagram and then takes
// whatever else is queued without waiting. That call may sleep, so it is
// made through the runtime (unix.Syscall6, entersyscall/exitsyscall: the
// goroutine's P stays attached and is resumed without a hand-off when the
// call returns, or is taken by sysmon for other work after 20 µs when no P
// is idle, hence serve's advice to run with spare Ps). WriteBatch and
// ReadTX stay raw and pass MSG_DONTWAIT, so they never sleep. Close sets
// the closed flag, calls shutdown(SHUT_RDWR) — which wakes a sleeping
// receiver on an unconnected UDP socket too (it returns ENOTCONN but sets
// the flag and wakes the waiters) — waits for the calls in progress and
// closes the descriptor; SO_RCVTIMEO (1 s) bounds each sleep in case that
// wake-up were lost, and a signal (the runtime's preemption) ends a sleep
// with EINTR because of it. A sleeping recvmmsg does not return for
// error-queue messages (a TX stamp only makes it wake and sleep again in
// the kernel): callers read TX stamps with ReadTX after each send, as
// before.
//
// golang.org/x/net/ipv4 PacketConn.ReadBatch/WriteBatch, which issue 2
// names, also use recvmmsg/sendmmsg, but measured on the same echo
// (BenchmarkEchoXNet, x/net v0.62.0, Go 1.26, Linux 6.18) the server side
// allocates 4 objects / 276 B per op at batch 1 and 97 objects / 5.36 KB per
// op at batch 32 (≈ 3 per datagram: a *net.UDPAddr and its IP slice per
// received datagram, plus sockaddr marshalling on send), against 0 for this
// package. That is why hwts uses raw system calls.
//
// # Kernel behaviour callers must know
//
//   - The first socket on the host that asks for RX timestamps turns on a
//     global static key from a work queue; datagrams that arrive before it
//     ran (the first milliseconds) carry no kernel stamp and get daemon
//     stamps.
//   - ReadTX never blocks. A TX stamp can arrive after sendmmsg returned
//     (ARP resolution, qdisc queueing, NIC stamps); it then waits on the
//     error queue for the next ReadTX. Queued stamps count against
//     SO_RCVBUF, so drain them after every WriteBatch.
//   - A non-empty error queue raises EPOLLERR. If that happens while the
//     socket is not writable and has no data, the runtime flags the
//     descriptor "not pollable" for reads until the next readiness event;
//     ReadBatch then falls back to poll(2) in ≤ 10 ms slices until data
//     arrives. The fallback loop is tested directly; the trigger cannot be
//     provoked on purpose.
//
// # What is tested where
//
// On loopback (IPv4 and ::1, real system calls): kernel RX stamps on every
// datagram with user-read minus kernel-stamp p90 < 10 ms over 200 datagrams
// (measured p50 3.4–8 µs); 1000 datagrams in batches of 32 with every TXID
// reported exactly once and stamps chained TX(i) ≤ RX(i) ≤ TX(i+1) across
// sender and receiver (a shifted ID breaks the chain, as deliberately
// shifting IDs during development showed), in per-packet and counter mode;
// the same with Config.TXOnDemand and a mix of datagrams that do and do not
// ask for a stamp (exactly the asking ones get one; counting unstamped
// datagrams in counter mode, tried on purpose, breaks the chain), also
// with refused datagrams in the batch;
// partial sendmmsg batches (EACCES mid-batch) in both modes; SO_REUSEPORT
// with two sockets and 64 client ports; pktinfo destination/interface and
// reply source (127.0.0.2 on a wildcard socket), and the same without pktinfo
// on a socket bound to 127.0.0.2 or ::1; Close and read deadlines
// unblocking ReadBatch; daemon stamps from the injected clock in ModeNone;
// hardware mode on lo failing with ErrNoHardware and auto falling back with
// a reason; DSCP/SO_BINDTODEVICE/SO_RCVBUF readback; bad WriteBatch input;
// receive-queue drops, also after Close; zero allocations. Config.BlockingRead, IPv4 and IPv6:
// echo rounds with kernel RX/TX stamps and no allocation, a queued batch
// taken by one ReadBatch, Close waking a sleeping reader in well under the
// receive timeout (shutdown, not SO_RCVTIMEO), an idle reader surviving its
// timeout. In fresh network namespaces joined by
// a veth pair (root only, names carry the PID, deleted at cleanup): the same
// fallback on a veth, SO_BINDTODEVICE by name (a socket bound to lo sees
// nothing), pktinfo interface index, TX stamps on both ends and the one-way
// kernel TX → RX delay; multicast (Config.Multicast, MulticastSend) over
// IPv4 and IPv6: a joined socket receives the peer's datagrams to the PTP
// group with the group in pktinfo, its own reach the peer with a TX stamp
// and do not loop back to it. The HW enable decision is table-tested (planHW). The
// control-message parsers are fuzzed.
//
// Not testable on this machine: NIC hardware stamps and SIOCSHWTSTAMP
// itself (no NIC with timestamping, no PHC), a kernel without
// SCM_TS_OPT_ID (the counter mode used there is tested by forcing it), and
// the runtime condition that triggers the not-pollable fallback.
package hwts
