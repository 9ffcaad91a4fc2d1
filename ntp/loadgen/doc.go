// Package loadgen is an open-loop NTP load generator for benchmarking NTP
// servers (gnomond, chronyd, facebook/time's ntpresponder) side by side.
//
// It sends NTPv4 client requests (mode 3, RFC 5905 §7.3) from many UDP
// sockets, each with its own source port, at a paced total rate or as fast as
// a bounded window of outstanding requests per socket allows, for a bounded
// time. Every request carries a unique cookie in its Transmit field (and, in
// interleaved mode, in its Receive field), so every reply is matched to its
// request and validated: Origin must echo a cookie of a request still in
// flight, mode 4, the request's version, stratum 1..15, LI != 3 (stratum 0 is
// a Kiss-o'-Death and counted apart), non-zero Receive and Transmit, and a
// reply no longer than the request. Round-trip times go into a log-bucket
// histogram (about 3 % resolution) without allocating.
//
// RTT is kernel receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME) minus the
// CLOCK_REALTIME reading taken just before the sendmmsg call that carried the
// request; without a kernel stamp the user-space receive time is used. Both
// ends read the same clock, so the RTT includes the server, both network
// paths and at most one batch of our own send syscall, but not the time the
// reply waited in our socket.
//
// Transmit-timestamp error (Result.TXError): per valid reply, the client's
// kernel RX stamp minus the server's Transmit timestamp, less half the
// run's minimum RTT (the one-way delay; both paths are alike on veth and
// loopback). For a basic reply that is how far its Transmit leads the
// packet's real departure; for an interleaved reply the Transmit is
// compared with the RX stamp of the earlier reply it describes (found by
// the Origin the request carried). Reported as mean, standard deviation,
// p99 and max for basic and interleaved replies.
//
// Interleaved mode (RFC 9769, ntp.md §2) mimics chronyd clients with
// `xleave`: each request carries, in Origin, the server's Receive timestamp
// of a reply on the same socket that no request has echoed yet (servers
// hand a pair out once, so each in-flight request continues an association
// of its own, like many chronyd clients behind one address; with none
// left, the last one again, which starts a new association), and random
// cookies in Receive and Transmit. A server answering in interleaved mode echoes the Receive cookie
// (and sends the transmit timestamp of an earlier reply); a basic answer
// echoes the Transmit cookie. Both are matched; interleaved ones are counted.
//
// Workers are event loops: each owns a subset of the sockets, sends a batch
// of requests on one socket with a single sendmsg carrying UDP_SEGMENT
// (generic segmentation offload: the kernel cuts the buffer into one
// 48-byte datagram per request before the device, so the server still
// receives separate datagrams; Config.NoGSO, or a kernel that refuses it,
// uses sendmmsg batches through golang.org/x/net/ipv4 WriteBatch instead)
// and reads with
// non-blocking recvmmsg (ReadBatch) whatever epoll reports readable. Pacing
// is a token count against elapsed time. A worker whose next send is due in
// 100 µs or more sleeps until then (ppoll, ns timeout; time.Sleep rounds to
// ≈ 1 ms here) or until a reply arrives; shorter waits are spent spinning,
// because a wake-up comes tens of µs late on an idle CPU and milliseconds
// late on a busy one, which would turn pacing into bursts. Above about
// 10,000 req/s per worker, and in max mode, a worker therefore uses a whole
// CPU; Result.BusyPct says how much of its loop time did work. The default
// worker count (DefaultWorkers) is one per 50,000 req/s, at most GOMAXPROCS,
// so a low-rate run costs one sleeping worker. A worker that falls behind
// its schedule by more than 2 ms worth of requests plus one batch, and by
// more than 128 requests, skips the backlog instead of bursting it out and
// counts it (Result.Skipped).
//
// Generator-side limits are reported, not hidden: skipped requests, a full
// send buffer, replies dropped by our own sockets (SO_RXQ_OVFL) and an
// achieved rate below 97 % of the target set Result.GeneratorLimited.
//
// Known limits: the receive path allocates a net.UDPAddr per reply inside
// golang.org/x/net's ReadBatch (our own per-reply code allocates nothing);
// the send time is read once per sendmmsg batch, so an RTT includes up to
// one batch of our own send syscall. With GSO the datagrams of a batch
// leave back to back: a server sees short same-source bursts (at most 64),
// as it does from sendmmsg batches. A device that takes GSO packets (veth,
// lo) carries the batch as one packet unless its tx-udp-segmentation is
// off; scripts/bench-ntp.sh switches it off and checks that every request
// crossed as its own frame.
//
// Safety: a run is bounded by MaxDuration and MaxRate; requests go only to
// the one address given; targets outside loopback, private (RFC 1918, ULA)
// and link-local ranges are refused unless Config.AllowPublic is set. The
// generator never sets any clock.
//
// Mixed clients (Config.Mix, mix.go): each socket is of one kind, the
// rate spread evenly over the sockets. KindMAC sockets sign every request
// with Config.MACKey (ntp/symkey) and a reply must be the 48-byte header
// plus a valid MAC with that key (ReasonBadMAC otherwise, a crypto-NAK
// included). KindNTS sockets do NTS-KE (facebook/time's client) before the
// run, one session per Config.NTSPerKE sockets, and send RFC 8915 requests:
// Unique Identifier (random per socket + sequence number), one cookie from
// the socket's pool of 8 (the last one again when the pool is empty,
// counted), one Cookie Placeholder while fewer than 4 are left, and an
// Authenticator (AES-SIV with C2S, ntp/nts/siv); a reply must echo the
// Unique Identifier, end with an Authenticator that opens with S2C over
// the reply before it and holds at least one cookie (stored), and be no
// longer than its request (ReasonBadNTS otherwise); an NTS NAK with the
// right identifier is counted apart (ReasonNTSNAK). KindMalformed sockets
// send, in rotation, truncated, bad-version, bad-mode (never mode 0),
// oversized, bad-extension and unknown-key-MAC requests, plus wrong-digest
// MACs with a MAC key and broken NTS fields with NTS in the mix (malformed.go):
// by ntp.Server's rules none gets a reply except the unknown key, which may
// get a crypto-NAK; any other reply is ReasonAnswered. Result.Invalid counts
// every wrong reply (Reason.Wrong). Malformed requests are left out of the
// loss. NTS and MAC requests and replies allocate nothing per request
// (siv and symkey's scratch); the AES-SIV and CMAC work costs generator CPU
// (Result.CPU).
//
// It does not: spoof source addresses (all sockets share the local address or
// the configured source addresses), compute clock offsets, or follow NTS-KE
// Server/Port records (NTS requests go to Config.Server).
package loadgen
