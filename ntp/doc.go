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
//     way chrony's parse_packet does). Extension fields are then ignored.
//   - Symmetric-key authentication (RFC 5905 §7.3, RFC 8573) through the
//     seam NTS will use too: Server.RespondAuth verifies a request's MAC
//     with the keys of Server.SetKeys (package ntp/symkey: chrony key
//     files, MD5/SHA-x digests of key ‖ packet, AES-CMAC) and records in
//     the caller's ReplyAuth what the reply needs; after the shell has
//     written the Transmit timestamp, Server.Seal appends the MAC over the
//     final header (interleaved and KoD replies included) or, for a key ID
//     the server lacks, a crypto-NAK. A MAC that does not verify gets no
//     reply (VerdictAuthFailed). Server.Respond is RespondAuth without a
//     ReplyAuth: it drops every MAC'd request as VerdictNoKey.
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
// dropped, unlike chrony which answers them in mode 2), no broadcast, no NTS
// yet (ReplyAuth reserves AuthNTS for package ntp/nts), no MS-SNTP signing,
// no Autokey and no control (mode 6/7) protocol. A request carrying a MAC
// is never answered unauthenticated (ntpdig crashes on such a reply).
//
// # Differences from chrony
//
// Mode 1 (symmetric active) requests are dropped rather than answered in mode
// 2. A request whose MAC does not verify is dropped as chrony drops it, but
// before the client log sees it, so forgeries do not spend a client's rate
// (chrony counts them). A MAC with a key ID the server does not have gets a
// crypto-NAK reply (RFC 5905 Appendix A fast_xmit, as ntpd does; chrony
// drops it) when the server has keys, and is dropped as VerdictNoKey when it
// has none. The client log stores the Receive field
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
// reply is never longer than its request: replies are wire.HeaderLen bytes,
// shorter requests are dropped, and Seal adds at most the request's own MAC
// length (the same key and version give the same digest length; a
// crypto-NAK is 4 bytes).
package ntp
