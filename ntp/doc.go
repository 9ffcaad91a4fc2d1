// Package ntp is gnomon's sans-IO NTP server core: it turns request bytes, the
// client's address, the receive timestamp and the current clock.SyncState into
// reply bytes and a Verdict, and nothing else.
//
// # What it does
//
// The packet format itself (timestamps, the 48-byte header, extension
// fields and MACs, kiss codes) is package ntp/wire, shared with the client
// core and the load generator; this package decides what to answer.
//
//   - Requests: the header and what follows it are checked with
//     wire.ScanTrailer (RFC 7822 extension fields and legacy MACs, parsed the
//     way chrony's parse_packet does). Extension fields are then ignored; a
//     request with a MAC is dropped (below).
//   - ACL: allow/deny prefix lists where the most specific prefix wins, the
//     semantics of chrony's allow/deny directives; default deny.
//   - Server.Respond: the server side of RFC 5905 (fast_xmit, Appendix A) as
//     chrony implements it (ntp_core.c NCR_ProcessRxUnknown and
//     transmit_packet), including RFC 9769 interleaved mode with chrony's
//     low-bit trick and chrony-style rate limiting with KoD RATE (RFC 5905 §7.4)
//     through an ntp/clientlog.Log.
//
// # What it does not do
//
// No sockets, no system calls, no goroutines, no time.Now: the shell in
// ntp/serve reads packets and timestamps (hwts), calls Respond, writes the
// transmit timestamp with wire.PutTransmit as late as possible, sends, and reports
// the kernel transmit timestamp back with Server.RecordTX. A test checks the
// import graph mechanically. There is no symmetric mode (mode 1 requests are
// dropped, unlike chrony which answers them in mode 2), no broadcast, no
// symmetric-key or NTS authentication (the server holds no keys, so a request
// carrying a legacy MAC is dropped as VerdictNoKey: answering it
// unauthenticated would not be what the client asked for, and ntpdig crashes
// on such a reply) and no control (mode 6/7) protocol.
//
// # Differences from chrony
//
// Mode 1 (symmetric active) requests are dropped rather than answered in mode
// 2. Requests with a legacy MAC are dropped like chrony drops them when it
// lacks the key, but before the client log sees them, so they are not
// counted against the client's rate. The client log stores the Receive field
// of every reply, so a chronyd xleave client could get its first interleaved
// reply to its second request (chrony: third) if the shell recorded a TX
// timestamp for every reply; ntp/serve records them only for the replies
// Server.WantsTX selects (requests in interleaved form), which makes it the
// third, as with chrony, and spares basic replies a kernel TX timestamp.
//
// # Conventions
//
// Timestamps on the wire are big-endian 32.32 fixed point; Root delay and Root
// dispersion are 16.16 seconds rounded up. Every reply sets bit 0 of the
// Receive fraction and clears bit 0 of the Transmit fraction, so an
// interleaved request (RFC 9769) is recognised by bit 0 of its Origin. A
// reply is never longer than its request: replies are exactly wire.HeaderLen
// bytes and shorter requests are dropped.
package ntp
