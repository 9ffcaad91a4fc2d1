// Package loadgen simulates many unicast PTP clients (IEEE 1588-2019 §16.1
// unicast negotiation, as linuxptp's ptp4l client does it) against one
// grandmaster, and reports which fraction of the Announce, Sync, Follow_Up
// and Delay_Resp messages it should have sent arrived, and how timely.
//
// Each client has its own clockIdentity (random per run, low 16 bits the
// client index) and portNumber, and its own event (Delay_Req out, Sync in)
// and general (Signaling out; Announce, Follow_Up, Delay_Resp, GRANT and
// ACKNOWLEDGE_CANCEL in) endpoint. Messages are accepted on either. A client first sends REQUEST_UNICAST_TRANSMISSION for
// ANNOUNCE; when that is granted, one Signaling with two TLVs for SYNC and
// DELAY_RESP. A contract is renewed at 3/4 of the granted duration; a
// request not answered within GrantWait is sent again, a denial (GRANT with
// duration 0) is retried after GrantWait. Once DELAY_RESP is granted the
// client sends Delay_Req at the Sync rate (clients are phased evenly over
// one period). At the end of the run every client sends one Signaling with
// a CANCEL TLV per contract, then replies are collected for Drain.
//
// Reply ports. Real clients receive on 319 (event) and 320 (general), which
// N clients on one host cannot all bind. Two modes:
//   - ports (default): every client binds an ephemeral general port G and
//     G−1 for events. The server must answer to the source port of the
//     request: Signaling, Announce and Follow_Up to the Signaling's source
//     port, Delay_Resp to the Delay_Req's source port (or G), Sync to G−1
//     (or G). ptp4u does this for Delay_Req from "ptping" clients; ptp4l does
//     not: its udp_send overwrites every destination port with 319 or 320,
//     so against ptp4l this mode receives nothing.
//   - addresses (Config.SourcePrefix): client i uses 319 and 320 on the
//     prefix's address plus i (plus i+1 when the prefix is given by its
//     network address, e.g. 10.201.0.0/16); the addresses must be
//     configured on a local interface (e.g. in a network namespace) and
//     routed back from the server. This works with ptp4l (unicast_listen 1).
//     One worker serves every client through two sockets bound to the
//     wildcard address on 319 and 320 (hwts, Config.NoWait): IP_PKTINFO's
//     destination address names the client of a received datagram, and a
//     client's messages leave from its address (IP_PKTINFO on send). Reads
//     and sends are batched (recvmmsg/sendmmsg): the sends of the clients
//     stepped in one pass (due in the same millisecond) go in one system
//     call per socket, and the sockets are read at most once per
//     millisecond. A send the kernel refuses is taken back from its client
//     (client.unsend), so the counters are those of a send that failed at
//     once. One such generator per network namespace (a second gets
//     EADDRINUSE); up to MaxAddressClients clients.
//
// Accounting (Result): Announce and Sync are expected once per granted
// period from one period after a client's first grant (never granted: after
// the grant was due) to the end of sending; a client's messages inside that
// window count up to its expected number (the excess is Extra).
// Follow_Up is expected for every two-step Sync received and matched by
// sequenceId (a Follow_Up processed before its Sync still matches; up to 8
// unmatched ones are held per client). Delay_Resp is expected for every
// Delay_Req sent and matched by requestingPortIdentity and sequenceId.
// Follow_Up lag is Follow_Up receive − Sync receive; Delay_Resp RTT is
// Delay_Resp receive − Delay_Req send; Sync gap is the time between a
// client's consecutive Syncs. Sync transit is, for every matched pair, Sync
// receive − the Follow_Up's preciseOriginTimestamp, reduced modulo 1 s into
// [−0.5 s, 0.5 s): the server may stamp in TAI, the receive stamps are UTC,
// and the two differ by whole seconds (correctionField is not applied; a
// Follow_Up with an empty origin gives no transit). It is a one-way figure
// on two parties' stamps, so it is valid only when server and generator
// read one clock, e.g. network namespaces on one host, as this package's
// tests run; across hosts it also holds the sub-second part of the clocks'
// offset. A negative transit happens only with a clock error (or a step
// between the stamps); the histogram keeps it as 0, so negatives are
// counted apart. Receive times are kernel stamps (SO_TIMESTAMPNS, or
// SO_TIMESTAMPING through hwts in address mode; CLOCK_REALTIME); send times
// CLOCK_REALTIME just before sendto (or the sendmmsg carrying the message).
// Reading later does not change any figure. Units: ns inside, µs in
// reports. "Late": Follow_Up or Delay_Resp more than LateAfter after its
// partner, Sync more than 1.5 periods after the previous one, Sync transit
// above TransitLate (5 µs, decided on the exact value, not the histogram's
// buckets); late messages count as received.
//
// Design: client.go is the sans-IO core (no clock reads, no sockets); the
// shell (loadgen.go, socket_linux.go, addrio_linux.go) runs a few workers
// (one in address mode), each an epoll (address mode: ppoll) loop over its
// sockets with a timer heap of the clients' next steps:
// no goroutine per client, memory O(clients), every loop bounded in count
// and time (Duration ≤ MaxDuration, Drain ≤ MaxDrain, then a hard stop).
// Messages are encoded and decoded with github.com/facebook/time/ptp/protocol
// (MarshalBinaryTo / UnmarshalBinary into per-worker scratch messages).
//
// Safety: messages go only to the one server address; targets outside
// loopback, private and link-local ranges are refused unless AllowPublic.
// The generator never sets any clock.
//
// Not done: UDPv6 and layer-2 transports, peer delay (PDELAY_RESP), one-step
// Syncs are counted but expect no Follow_Up and give no Sync transit, no offset or path-delay
// computation (Sync transit is a one-way time from the server's origin stamp
// to the client's receive stamp, valid on a shared clock; no Delay_Req
// timestamps are combined with it, so it is not a path delay, and no clock
// offset is estimated), no check of Announce contents.
package loadgen
