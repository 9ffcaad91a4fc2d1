// Package wire is chrony's control protocol (cmdmon, protocol version 6)
// on the wire, defined once for gnomond's control server and gnomonctl's
// client: codes, headers, the padding rule, chrony's 32-bit Float,
// Timespec, IPAddr, and every request and reply body gnomon speaks.
// Sans-IO: bytes in, structs out, and back. Layouts follow chrony's
// candm.h; testdata holds real chronyc 4.3 ↔ chronyd 4.3 packets that the
// tests reproduce byte for byte.
//
// Values are kept in chrony's units and signs (seconds, ppm; offsets local
// − reference, so Tracking.CurrentCorrection > 0 means the system clock is
// slow); mapping gnomon's reports onto them is the control server's job
// (package cmdmon). Floats travel as chrony's Float, about 24 significant
// bits (round trip within 2^-23 relative).
//
// Offsets are absolute: body Put and Parse functions take the whole packet
// (reply data from byte 28, request data from byte 20).
//
// Server side:
//
//	h, err := wire.ParseRequestHeader(pkt) // ErrShort/ErrLong/ErrHeader: drop; ErrVersion: BADPKTVERSION if h.Version ≥ 5
//	rt, ok := wire.ReplyFor(h.Command)     // SERVER_STATS, NTP_DATA: ServerStatsReplyFor/NTPDataReplyFor(len(pkt))
//	n, _ := wire.RequestLenFor(h.Command, rt) // len(pkt) < n: AppendErrorReply(…, StatusBadPktLength)
//	idx, _ := wire.ParseIndexRequest(pkt)
//	out, err := wire.AppendReply(buf[:0], wire.ReplyTo(h, rt, wire.StatusSuccess), &sourceData)
//
// Client side:
//
//	req, _ := wire.AppendRequest(nil, wire.CmdSourceData, seq, 0, &wire.IndexRequest{Index: 0})
//	h, err := wire.CheckReply(pkt, wire.NewRequestHeader(wire.CmdSourceData, seq, 0), wire.RpySourceData)
//	sd, err := wire.ParseSourceData(pkt)
//
// AppendRequest pads every request to the length a current chronyd (4.6+)
// requires (RequestLen), which older servers accept too; for SERVER_STATS
// and NTP_DATA a 4.3 server then answers SERVER_STATS3/NTP_DATA and a
// current one SERVER_STATS4/NTP_DATA2, so decode by the reply's type
// (ParseServerStats, ParseNTPData do).
package wire
