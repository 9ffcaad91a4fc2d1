// Package serve is the I/O shell around the sans-IO NTP core (package ntp):
// it owns the sockets, the goroutines and the clock reads, and nothing about
// the protocol.
//
// # Data flow
//
// Service.Run starts one goroutine per (worker, listen address) pair. Each
// owns one hwts socket (SO_REUSEPORT on the shared port, so the kernel's
// 4-tuple hash keeps a client on one socket, as interleaved mode needs), its
// receive and reply buffers (a batch of BatchSize), its counters and its ring
// of sent replies. Per batch it:
//
//  1. receives up to BatchSize requests with one recvmmsg (hwts.ReadBatch);
//  2. loads the clock.SyncState once from the StateCell;
//  3. converts each receive timestamp to the served clock: kernel software
//     stamps (CLOCK_REALTIME) through clock.Served.FromRealtime; daemon
//     stamps are read from the served clock itself; hardware stamps are in
//     PHC time and go through Config.HWClock (PHC → CLOCK_REALTIME, e.g.
//     clock/phc.Translators) first; without a fresh mapping the kernel
//     software stamp taken alongside is used and counted as kernel (the
//     hardware one is counted apart as received but unused). TX hardware
//     stamps likewise replace the packet's software stamp in the client
//     log when they can be mapped;
//  4. calls ntp.Server.RespondAuth for each request into the reply buffer,
//     with the ntp.ReplyAuth of that reply slot (one per slot, reused);
//  5. stamps, seals and sends the replies (worker.send): each basic reply
//     (verdict NeedsTransmit) is sent with its own sendmmsg right after its
//     own clock reading, written with wire.PutTransmit, while the
//     interleaved replies (whose Transmit is an earlier reply's kernel
//     stamp) share one sendmmsg; only a server that is behind (two full
//     batches in a row, the first request waiting > 4 ms) sends basic
//     replies in sendmmsg chunks of 4, each stamped from its own clock
//     reading plus a delay per position calibrated from kernel TX stamps
//     (txcal.go; docs/architecture.md has the measurements). Each reply is
//     sealed with ntp.Server.Seal after its Transmit is written (a MAC over
//     the final header, or a crypto-NAK, for authenticated requests; a
//     reply Seal refuses is not sent and is counted);
//  6. sends from the local address and interface each request arrived on
//     (IP_PKTINFO; a socket bound to one address sends from it without
//     pktinfo, and its replies follow the routing table instead of being
//     pinned to the arrival interface, unless ntp.interface binds the
//     socket to one), asking for a kernel TX timestamp only for the replies
//     ntp.Server.WantsTX selects (requests in interleaved form, whose
//     client's next request can ask for it; the socket is opened with
//     hwts.Config.TXOnDemand) and for one basic reply now and then, for the
//     calibration and gnomon_ntp_basic_transmit_error_seconds;
//  7. if any reply asked for one, drains transmit timestamps from the error
//     queue (hwts.ReadTX; also before step 4 while stamps are outstanding,
//     for stamps that arrived late), finds
//     the reply each belongs to in the ring (TXID → client, Receive field)
//     and hands the kernel TX timestamp, converted to the served clock, to
//     ntp.Server.RecordTX for interleaved mode (RFC 9769).
//
// A batch of basic requests therefore costs one recvmmsg (the worker sleeps
// in it on a blocking socket, hwts.Config.BlockingRead) and one sendmmsg per
// reply, or per chunk of 4 when behind; error-queue reads only for the
// calibration's stamp. chronyd requests a TX timestamp
// for every reply to a client in its client log, so a chronyd xleave client
// gets its first interleaved reply to its third request from either server.
//
// # Receive buffer
//
// Worker sockets ask for DefaultRecvBuffer (4 MiB) unless configured
// otherwise: the kernel default (212,992 bytes, about 200 queued requests)
// overflows when a burst of requests meets a worker that was descheduled
// for a few milliseconds, long before the CPU is saturated. This is server
// tuning, separate from CPU cost per request; benchmarks that compare with
// chronyd must say that chronyd runs with the system default (it sets no
// SO_RCVBUF).
//
// Counters are per goroutine (atomic uint64, one writer each, no sharing of
// cache lines) and summed by Service.Stats at scrape time; the packet path
// takes no lock, sends on no channel and does not allocate (asserted with
// testing.AllocsPerRun).
//
// # What it does not do
//
// It makes no protocol decision (ACL, rate limiting, reply rules and
// interleaving live in ntp and ntp/clientlog), touches no clock (it only
// reads the served clock) and exports no metrics itself: it fills a
// report.ServerStats on request (Service.ServerStats, at scrape or
// control-socket time), which package metrics and the control socket read.
package serve
