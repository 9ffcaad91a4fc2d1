package wire

// Lengths of whole packets (header included), from chrony's pktlength.c
// and candm.h.

// ReplyLen is the length of a reply of type rt, header included; 0 for a
// type gnomon does not know the layout of.
func ReplyLen(rt ReplyType) int {
	switch rt {
	case RpyNull:
		return 28
	case RpyNSources:
		return 32
	case RpySourceData:
		return 76
	case RpyTracking:
		return 104
	case RpySourceStats:
		return 84
	case RpyActivity:
		return 48
	case RpySmoothing:
		return 52
	case RpyServerStats3:
		return 72
	case RpyServerStats4:
		return 196
	case RpyNTPData:
		return 152
	case RpyNTPData2:
		return 172
	case RpyNTPSourceName:
		return 284
	case RpyClientAccessesByIndex3:
		return 520
	case RpySelectData:
		return 76
	}
	return 0
}

// RequestDataLen is the length of a request of command cmd up to the end
// of its data (header included, before padding), for the commands gnomon
// speaks; ok is false for the others.
func RequestDataLen(cmd Command) (n int, ok bool) {
	switch cmd {
	case CmdNull, CmdNSources, CmdTracking, CmdActivity, CmdSmoothing, CmdServerStats, CmdResetSources, CmdMakestep, CmdReloadSources:
		return RequestHeaderLen, true
	case CmdSourceData, CmdSourceStats, CmdSelectData:
		return 24, true
	case CmdNTPData, CmdNTPSourceName:
		return 40, true
	case CmdClientAccessesByIndex3:
		return 36, true
	case CmdBurst:
		return 68, true
	}
	return 0, false
}

// ReplyFor is the reply type a current chronyd (4.6+) answers cmd with on
// success, for the commands gnomon speaks; ok is false for the others.
// SERVER_STATS and NTP_DATA have older types too (ServerStatsReplyFor,
// NTPDataReplyFor).
func ReplyFor(cmd Command) (rt ReplyType, ok bool) {
	switch cmd {
	case CmdNull, CmdResetSources, CmdBurst, CmdMakestep, CmdReloadSources:
		return RpyNull, true
	case CmdNSources:
		return RpyNSources, true
	case CmdSourceData:
		return RpySourceData, true
	case CmdTracking:
		return RpyTracking, true
	case CmdSourceStats:
		return RpySourceStats, true
	case CmdActivity:
		return RpyActivity, true
	case CmdSmoothing:
		return RpySmoothing, true
	case CmdServerStats:
		return RpyServerStats4, true
	case CmdNTPData:
		return RpyNTPData2, true
	case CmdNTPSourceName:
		return RpyNTPSourceName, true
	case CmdClientAccessesByIndex3:
		return RpyClientAccessesByIndex3, true
	case CmdSelectData:
		return RpySelectData, true
	}
	return 0, false
}

// RequestLenFor is the least length of a request of command cmd that may
// be answered with a reply of type rt (pktlength.c's padding rule: a
// request is never shorter than its reply): max(RequestDataLen(cmd),
// ReplyLen(rt)). ok is false if either is unknown.
func RequestLenFor(cmd Command, rt ReplyType) (n int, ok bool) {
	d, ok := RequestDataLen(cmd)
	r := ReplyLen(rt)
	if !ok || r == 0 {
		return 0, false
	}
	return max(d, r), true
}

// RequestLen is the length a current chronyd requires of a request of
// command cmd (RequestLenFor with ReplyFor(cmd)), and the length
// AppendRequest pads to. A server must answer a shorter request
// BADPKTLENGTH — except SERVER_STATS and NTP_DATA, whose older reply
// types fit shorter requests (ServerStatsReplyFor, NTPDataReplyFor).
func RequestLen(cmd Command) (n int, ok bool) {
	rt, ok := ReplyFor(cmd)
	if !ok {
		return 0, false
	}
	return RequestLenFor(cmd, rt)
}

// ServerStatsReplyFor picks the SERVER_STATS reply type that fits a
// request of reqLen bytes: SERVER_STATS4 (196 B, chrony ≥ 4.4's clients)
// when it fits, else SERVER_STATS3 (72 B: chronyc 4.2–4.3 pad to it and
// demand it). ok is false when neither fits: answer BADPKTLENGTH.
// (SERVER_STATS 14 and SERVER_STATS2 22 are not offered: their clients,
// chrony < 4.2, pad to 48 B and 60 B, and a longer reply cannot be sent.)
func ServerStatsReplyFor(reqLen int) (rt ReplyType, ok bool) {
	switch {
	case reqLen >= ReplyLen(RpyServerStats4):
		return RpyServerStats4, true
	case reqLen >= ReplyLen(RpyServerStats3):
		return RpyServerStats3, true
	}
	return 0, false
}

// NTPDataReplyFor picks the NTP_DATA reply type that fits a request of
// reqLen bytes: NTP_DATA2 (172 B, chrony ≥ 4.6's clients) when it fits,
// else NTP_DATA (152 B: chronyc ≤ 4.5 pad to it and demand it). ok is
// false when neither fits: answer BADPKTLENGTH.
func NTPDataReplyFor(reqLen int) (rt ReplyType, ok bool) {
	switch {
	case reqLen >= ReplyLen(RpyNTPData2):
		return RpyNTPData2, true
	case reqLen >= ReplyLen(RpyNTPData):
		return RpyNTPData, true
	}
	return 0, false
}
