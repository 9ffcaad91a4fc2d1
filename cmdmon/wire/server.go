package wire

import "strings"

// The server's side of the codec: the remaining codes, request bodies,
// the padding rule per command and error replies.

// More command codes (candm.h REQ_*).
const (
	CmdNull          Command = 0
	CmdLogon         Command = 10
	CmdRTCReport     Command = 35
	CmdManualList    Command = 41
	CmdSmoothing     Command = 51
	CmdReloadSources Command = 70
	// NumCommands is chrony's N_REQUEST_TYPES: codes at or above it are
	// unknown.
	NumCommands Command = 75
)

// More statuses (candm.h STT_*).
const (
	StatusNotEnabled    Status = 6
	StatusNoRTC         Status = 13
	StatusBadPktVersion Status = 18
)

// Request data lengths (header included) of the commands with a body.
const (
	indexReqEnd   = RequestHeaderLen + 4  // SOURCE_DATA, SOURCESTATS, SELECT_DATA
	addrReqEnd    = RequestHeaderLen + 20 // NTP_DATA, NTP_SOURCE_NAME
	burstReqEnd   = RequestHeaderLen + 48
	clientsReqEnd = RequestHeaderLen + 16
)

// RequestLen is the shortest request chronyd accepts for cmd: its data
// padded to the length of the reply it gets (pktlength.c), so that no reply
// is longer than its request. For SERVER_STATS and NTP_DATA it is the
// length for the oldest reply type a server sends (chronyc 4.3's);
// ServerStatsReplyFor and NTPDataReplyFor pick the type a request has room
// for. 0 for commands whose length gnomon does not check.
func RequestLen(cmd Command) int {
	switch cmd {
	case CmdNull, CmdResetSources, CmdMakeStep, CmdReloadSources:
		return max(RequestHeaderLen, ReplyLen(RpyNull))
	case CmdNSources:
		return ReplyLen(RpyNSources)
	case CmdSourceData:
		return max(indexReqEnd, ReplyLen(RpySourceData))
	case CmdTracking:
		return ReplyLen(RpyTracking)
	case CmdSourceStats:
		return max(indexReqEnd, ReplyLen(RpySourceStats))
	case CmdSelectData:
		return max(indexReqEnd, ReplyLen(RpySelectData))
	case CmdActivity:
		return ReplyLen(RpyActivity)
	case CmdServerStats:
		return ReplyLen(RpyServerStats3)
	case CmdNTPData:
		return max(addrReqEnd, ReplyLen(RpyNTPData))
	case CmdNTPSourceName:
		return max(addrReqEnd, ReplyLen(RpyNTPSourceName))
	case CmdClientAccesses3:
		return max(clientsReqEnd, ReplyLen(RpyClientAccesses3))
	case CmdBurst:
		return max(burstReqEnd, ReplyLen(RpyNull))
	}
	return 0
}

// ServerStatsReplyFor is the newest SERVER_STATS reply type a request of
// reqLen bytes has room for (SERVER_STATS4 196 B, else SERVER_STATS3 72 B,
// as chronyc 4.3 asks); false if none fits.
func ServerStatsReplyFor(reqLen int) (ReplyType, bool) {
	switch {
	case reqLen >= ReplyLen(RpyServerStats4):
		return RpyServerStats4, true
	case reqLen >= ReplyLen(RpyServerStats3):
		return RpyServerStats3, true
	}
	return 0, false
}

// NTPDataReplyFor is the newest NTP_DATA reply type a request of reqLen
// bytes has room for (NTP_DATA2 172 B, else NTP_DATA 152 B, as chronyc 4.3
// asks); false if none fits.
func NTPDataReplyFor(reqLen int) (ReplyType, bool) {
	switch {
	case reqLen >= ReplyLen(RpyNTPData2):
		return RpyNTPData2, true
	case reqLen >= ReplyLen(RpyNTPData):
		return RpyNTPData, true
	}
	return 0, false
}

// ParseIndexRequest reads the body of SOURCE_DATA, SOURCESTATS and
// SELECT_DATA from a whole request.
func ParseIndexRequest(b []byte) (IndexRequest, error) {
	if err := need(b, indexReqEnd); err != nil {
		return IndexRequest{}, err
	}
	return IndexRequest{Index: int32(rd{b}.u32(RequestHeaderLen))}, nil
}

// ParseAddrRequest reads the body of NTP_DATA and NTP_SOURCE_NAME.
func ParseAddrRequest(b []byte) (AddrRequest, error) {
	if err := need(b, addrReqEnd); err != nil {
		return AddrRequest{}, err
	}
	return AddrRequest{Addr: rd{b}.ip(RequestHeaderLen)}, nil
}

// ParseBurstRequest reads BURST's body.
func ParseBurstRequest(b []byte) (BurstRequest, error) {
	if err := need(b, burstReqEnd); err != nil {
		return BurstRequest{}, err
	}
	r := rd{b}
	return BurstRequest{Mask: r.ip(20), Addr: r.ip(40), NGood: int32(r.u32(60)), NTotal: int32(r.u32(64))}, nil
}

// ParseClientAccessesRequest reads CLIENT_ACCESSES_BY_INDEX3's body.
func ParseClientAccessesRequest(b []byte) (ClientAccessesRequest, error) {
	if err := need(b, clientsReqEnd); err != nil {
		return ClientAccessesRequest{}, err
	}
	r := rd{b}
	return ClientAccessesRequest{FirstIndex: r.u32(20), NClients: r.u32(24), MinHits: r.u32(28), Reset: r.u32(32)}, nil
}

// EncodeNTPSourceName encodes NTP_SOURCE_NAME's reply: the name,
// NUL-terminated in 256 bytes (cut at 255).
func EncodeNTPSourceName(h []byte, n NTPSourceName) []byte {
	w := body(h, RpyNTPSourceName)
	name := n.Name
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	copy(w.b[ReplyHeaderLen:ReplyHeaderLen+255], name)
	return w.b
}

// DecodeNTPSourceName decodes NTP_SOURCE_NAME's reply.
func DecodeNTPSourceName(b []byte) (NTPSourceName, error) {
	if err := need(b, ReplyLen(RpyNTPSourceName)); err != nil {
		return NTPSourceName{}, err
	}
	name := b[ReplyHeaderLen : ReplyHeaderLen+256]
	if i := strings.IndexByte(string(name), 0); i >= 0 {
		name = name[:i]
	}
	return NTPSourceName{Name: string(name)}, nil
}
