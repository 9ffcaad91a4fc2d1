// Package ptp is gnomon's sans-IO IEEE 1588 (PTPv2.1) grandmaster core:
// bytes and timestamps in, decisions and bytes out. It parses what clients
// send (Signaling with unicast-negotiation TLVs, Delay_Req, SPTP's
// Delay_Req), keeps the unicast grant table, and builds every message a
// grandmaster sends (Sync, Follow_Up, Delay_Resp, Announce, Signaling with
// GRANT and ACKNOWLEDGE_CANCEL TLVs) into caller buffers with
// github.com/facebook/time/ptp/protocol's allocation-free encoders. It does
// no I/O, reads no clock and starts no goroutine: ptp/serve is its shell.
//
// # Timescale and signs
//
// PTP carries TAI: a PTP timestamp is the served clock's time (UTC, as
// every gnomon clock keeps it) plus the SyncState's UTCOffset (TAI − UTC,
// 37 s since 2017), and Announce says so (ptpTimescale; currentUtcOffset
// with currentUtcOffsetValid when the offset is known, not assumed).
// Timestamps handed to this package are on the served clock (the shell
// converts kernel CLOCK_REALTIME stamps with clock.Served.FromRealtime
// first). correctionField values are copied, never computed: a
// grandmaster has no residence time.
//
// # What is answered
//
//   - Signaling to the general port: each REQUEST_UNICAST_TRANSMISSION TLV
//     (Announce, Sync, Delay_Resp) gets a GRANT with the requested period
//     and duration, or a denial (duration 0) past the limits (clients,
//     smallest period, longest duration); each CANCEL gets an
//     ACKNOWLEDGE_CANCEL and ends the grant; several TLVs in one message
//     get one reply carrying one TLV per request, in order. A repeated
//     request renews (same period) or replaces (new period) the grant.
//   - Delay_Req to the event port: Delay_Resp with the receive timestamp,
//     sequenceId and correctionField copied, whether or not the client
//     holds a Delay_Resp grant (as ptp4l does).
//   - SPTP Delay_Req (flags unicast|profileSpecific1): Sync with
//     originTimestamp = the Delay_Req's receive time and its sequenceId,
//     then Announce with originTimestamp = the Sync's transmit time and
//     correctionField = the Delay_Req's (Meta's simplified unicast PTP).
//
// Multicast E2E (the default profile) is served as a grandmaster only: the
// shell sends Sync, Follow_Up and Announce to the group (Group: 224.0.1.129,
// ff0e::181) with the unicast flag clear and logMessageInterval = the
// configured Multicast periods (AppendMulticastSync and friends); a
// multicast Delay_Req sent from port 319 to the group is answered to the
// group's port 320 with logMessageInterval = LogMinDelayReq
// (HandleEventTo). Another master's Announce is foreign: HandleGeneral
// reports what it says (SignalingResult.Foreign) and nothing is obeyed.
//
// Anything else is dropped and counted by Verdict: short or truncated
// messages, versions other than 2, other domains, other SDOs, message
// types a grandmaster does not take (Sync, Follow_Up, Announce from other
// masters are noted as foreign, not obeyed).
//
// Replies are not always shorter than requests, as gnomon's NTP replies
// are: IEEE 1588 fixes Delay_Resp at 54 bytes for a 44-byte Delay_Req and a
// GRANT TLV at 12 bytes for a 10-byte REQUEST. A grant is the real
// amplifier (a stream of messages to the granted address), which is why
// grants are bounded in number, rate and duration.
//
// # Where the destinations come from
//
// A client that negotiates from the general port (320, as ptp4l does) gets
// event messages (Sync) on 319 and general messages on 320 of its address;
// a client negotiating from any other port (many clients on one host, as
// gnomonctl bench ptp simulates) gets every message on that port. A
// Delay_Req from port 319 is answered on 320, from another port on that
// port (ptp4u's rule for "ptping").
package ptp
