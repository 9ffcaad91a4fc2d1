package wire

import "strconv"

// Request command codes (REQ_*, candm.h). Codes marked obsolete are no
// longer served by chronyd (it answers INVALID).
const (
	CmdNull                   Command = 0
	CmdOnline                 Command = 1
	CmdOffline                Command = 2
	CmdBurst                  Command = 3
	CmdModifyMinpoll          Command = 4
	CmdModifyMaxpoll          Command = 5
	CmdDump                   Command = 6
	CmdModifyMaxdelay         Command = 7
	CmdModifyMaxdelayratio    Command = 8
	CmdModifyMaxupdateskew    Command = 9
	CmdLogon                  Command = 10 // obsolete
	CmdSettime                Command = 11
	CmdLocal                  Command = 12 // obsolete (LOCAL3)
	CmdManual                 Command = 13
	CmdNSources               Command = 14
	CmdSourceData             Command = 15
	CmdRekey                  Command = 16
	CmdAllow                  Command = 17
	CmdAllowAll               Command = 18
	CmdDeny                   Command = 19
	CmdDenyAll                Command = 20
	CmdCmdAllow               Command = 21
	CmdCmdAllowAll            Command = 22
	CmdCmdDeny                Command = 23
	CmdCmdDenyAll             Command = 24
	CmdAcCheck                Command = 25
	CmdCmdAcCheck             Command = 26
	CmdAddServer              Command = 27 // obsolete (ADD_SOURCE)
	CmdAddPeer                Command = 28 // obsolete (ADD_SOURCE)
	CmdDelSource              Command = 29
	CmdWriteRTC               Command = 30
	CmdDfreq                  Command = 31
	CmdDoffset                Command = 32 // obsolete (DOFFSET2)
	CmdTracking               Command = 33
	CmdSourceStats            Command = 34
	CmdRTCReport              Command = 35
	CmdTrimRTC                Command = 36
	CmdCycleLogs              Command = 37
	CmdSubnetsAccessed        Command = 38 // obsolete
	CmdClientAccesses         Command = 39 // obsolete
	CmdClientAccessesByIndex  Command = 40 // obsolete
	CmdManualList             Command = 41
	CmdManualDelete           Command = 42
	CmdMakestep               Command = 43
	CmdActivity               Command = 44
	CmdModifyMinstratum       Command = 45
	CmdModifyPolltarget       Command = 46
	CmdModifyMaxdelaydevratio Command = 47
	CmdReselect               Command = 48
	CmdReselectDistance       Command = 49
	CmdModifyMakestep         Command = 50
	CmdSmoothing              Command = 51
	CmdSmoothtime             Command = 52
	CmdRefresh                Command = 53
	CmdServerStats            Command = 54
	CmdClientAccessesByIndex2 Command = 55 // obsolete
	CmdLocal2                 Command = 56 // obsolete
	CmdNTPData                Command = 57
	CmdAddServer2             Command = 58 // obsolete
	CmdAddPeer2               Command = 59 // obsolete
	CmdAddServer3             Command = 60 // obsolete
	CmdAddPeer3               Command = 61 // obsolete
	CmdShutdown               Command = 62
	CmdOnOffline              Command = 63
	CmdAddSource              Command = 64
	CmdNTPSourceName          Command = 65
	CmdResetSources           Command = 66
	CmdAuthData               Command = 67
	CmdClientAccessesByIndex3 Command = 68
	CmdSelectData             Command = 69
	CmdReloadSources          Command = 70
	CmdDoffset2               Command = 71
	CmdModifySelectOpts       Command = 72
	CmdModifyOffset           Command = 73
	CmdLocal3                 Command = 74
)

// Reply type codes (RPY_*, candm.h).
const (
	RpyNull                   ReplyType = 1
	RpyNSources               ReplyType = 2
	RpySourceData             ReplyType = 3
	RpyManualTimestamp        ReplyType = 4 // obsolete
	RpyTracking               ReplyType = 5
	RpySourceStats            ReplyType = 6
	RpyRTC                    ReplyType = 7
	RpySubnetsAccessed        ReplyType = 8  // obsolete
	RpyClientAccesses         ReplyType = 9  // obsolete
	RpyClientAccessesByIndex  ReplyType = 10 // obsolete
	RpyManualList             ReplyType = 11 // obsolete
	RpyActivity               ReplyType = 12
	RpySmoothing              ReplyType = 13
	RpyServerStats            ReplyType = 14 // chrony 3.x
	RpyClientAccessesByIndex2 ReplyType = 15 // obsolete
	RpyNTPData                ReplyType = 16 // chrony ≤ 4.5, 152 B
	RpyManualTimestamp2       ReplyType = 17
	RpyManualList2            ReplyType = 18
	RpyNTPSourceName          ReplyType = 19
	RpyAuthData               ReplyType = 20
	RpyClientAccessesByIndex3 ReplyType = 21
	RpyServerStats2           ReplyType = 22 // chrony 4.0–4.1
	RpySelectData             ReplyType = 23
	RpyServerStats3           ReplyType = 24 // chrony 4.2–4.3, 72 B
	RpyServerStats4           ReplyType = 25 // chrony ≥ 4.4, 196 B
	RpyNTPData2               ReplyType = 26 // chrony ≥ 4.6, 172 B
)

// Reply status codes (STT_*, candm.h).
const (
	StatusSuccess            Status = 0
	StatusFailed             Status = 1
	StatusUnauth             Status = 2
	StatusInvalid            Status = 3
	StatusNoSuchSource       Status = 4
	StatusInvalidTS          Status = 5
	StatusNotEnabled         Status = 6
	StatusBadSubnet          Status = 7
	StatusAccessAllowed      Status = 8
	StatusAccessDenied       Status = 9
	StatusNoHostAccess       Status = 10 // deprecated
	StatusSourceAlreadyKnown Status = 11
	StatusTooManySources     Status = 12
	StatusNoRTC              Status = 13
	StatusBadRTCFile         Status = 14
	StatusInactive           Status = 15
	StatusBadSample          Status = 16
	StatusInvalidAF          Status = 17
	StatusBadPktVersion      Status = 18
	StatusBadPktLength       Status = 19
	StatusInvalidName        Status = 21
)

// String gives the line chronyc prints for the status (client.c
// process_cmd's switch); statuses chronyc does not know print as
// "520 Got unexpected error from daemon", as chronyc does.
func (s Status) String() string {
	switch s {
	case StatusSuccess:
		return "200 OK"
	case StatusAccessAllowed:
		return "208 Access allowed"
	case StatusAccessDenied:
		return "209 Access denied"
	case StatusFailed:
		return "500 Failure"
	case StatusUnauth:
		return "501 Not authorised"
	case StatusInvalid:
		return "502 Invalid command"
	case StatusNoSuchSource:
		return "503 No such source"
	case StatusInvalidTS:
		return "504 Duplicate or stale logon detected"
	case StatusNotEnabled:
		return "505 Facility not enabled in daemon"
	case StatusBadSubnet:
		return "507 Bad subnet"
	case StatusNoHostAccess:
		return "510 No command access from this host"
	case StatusSourceAlreadyKnown:
		return "511 Source already present"
	case StatusTooManySources:
		return "512 Too many sources present"
	case StatusNoRTC:
		return "513 RTC driver not running"
	case StatusBadRTCFile:
		return "514 Can't write RTC parameters"
	case StatusInvalidAF:
		return "515 Invalid address family"
	case StatusBadSample:
		return "516 Sample index out of range"
	case StatusBadPktVersion:
		return "517 Protocol version mismatch"
	case StatusBadPktLength:
		return "518 Packet length mismatch"
	case StatusInactive:
		return "519 Client logging is not active in the daemon"
	case StatusInvalidName:
		return "521 Invalid name"
	}
	return "520 Got unexpected error from daemon"
}

// OK reports whether chronyc treats the status as success (SUCCESS,
// ACCESSALLOWED, ACCESSDENIED): only then does it look at the reply type.
func (s Status) OK() bool {
	return s == StatusSuccess || s == StatusAccessAllowed || s == StatusAccessDenied
}

// String names the command as candm.h does without the REQ_ prefix (the
// commands gnomon speaks), or gives its number.
func (c Command) String() string {
	switch c {
	case CmdNull:
		return "NULL"
	case CmdBurst:
		return "BURST"
	case CmdNSources:
		return "N_SOURCES"
	case CmdSourceData:
		return "SOURCE_DATA"
	case CmdTracking:
		return "TRACKING"
	case CmdSourceStats:
		return "SOURCESTATS"
	case CmdActivity:
		return "ACTIVITY"
	case CmdSmoothing:
		return "SMOOTHING"
	case CmdServerStats:
		return "SERVER_STATS"
	case CmdNTPData:
		return "NTP_DATA"
	case CmdNTPSourceName:
		return "NTP_SOURCE_NAME"
	case CmdResetSources:
		return "RESET_SOURCES"
	case CmdClientAccessesByIndex3:
		return "CLIENT_ACCESSES_BY_INDEX3"
	case CmdSelectData:
		return "SELECT_DATA"
	}
	return "command " + strconv.Itoa(int(c))
}

// String names the reply type as candm.h does without the RPY_ prefix (the
// types gnomon speaks or knows), or gives its number.
func (t ReplyType) String() string {
	switch t {
	case RpyNull:
		return "NULL"
	case RpyNSources:
		return "N_SOURCES"
	case RpySourceData:
		return "SOURCE_DATA"
	case RpyTracking:
		return "TRACKING"
	case RpySourceStats:
		return "SOURCESTATS"
	case RpyActivity:
		return "ACTIVITY"
	case RpySmoothing:
		return "SMOOTHING"
	case RpyServerStats:
		return "SERVER_STATS"
	case RpyNTPData:
		return "NTP_DATA"
	case RpyNTPSourceName:
		return "NTP_SOURCE_NAME"
	case RpyClientAccessesByIndex3:
		return "CLIENT_ACCESSES_BY_INDEX3"
	case RpyServerStats2:
		return "SERVER_STATS2"
	case RpySelectData:
		return "SELECT_DATA"
	case RpyServerStats3:
		return "SERVER_STATS3"
	case RpyServerStats4:
		return "SERVER_STATS4"
	case RpyNTPData2:
		return "NTP_DATA2"
	}
	return "reply " + strconv.Itoa(int(t))
}

// Open reports whether chronyd serves cmd to any permitted host over UDP
// (cmdmon.c's PERMIT_OPEN, the same in 4.3 and current releases): NULL,
// N_SOURCES, SOURCE_DATA, TRACKING, SOURCESTATS, RTCREPORT, MANUAL_LIST,
// ACTIVITY, SMOOTHING, NTP_SOURCE_NAME (and the obsolete LOGON). All others
// are for the Unix socket only (UNAUTH over UDP) unless chrony ≥ 4.7's
// opencommands adds them.
func (c Command) Open() bool {
	switch c {
	case CmdNull, CmdLogon, CmdNSources, CmdSourceData, CmdTracking, CmdSourceStats, CmdRTCReport,
		CmdManualList, CmdActivity, CmdSmoothing, CmdNTPSourceName:
		return true
	}
	return false
}
