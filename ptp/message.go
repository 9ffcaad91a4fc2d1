package ptp

import (
	"encoding/binary"
	"time"

	"github.com/facebook/time/ptp/protocol"
)

// Ports and sizes (IEEE 1588-2019 Annex C, §13).
const (
	EventPort   = 319
	GeneralPort = 320
	// HeaderLen is the common header's length.
	HeaderLen = 34
	// Message lengths without TLVs.
	SyncLen      = 44
	DelayReqLen  = 44
	FollowUpLen  = 44
	DelayRespLen = 54
	AnnounceLen  = 64
	// SignalingLen is a Signaling message without TLVs.
	SignalingLen = 44
	// MaxMessageLen bounds what this package writes (a Signaling answering
	// the most TLVs a request of this size can carry).
	MaxMessageLen = 1500
	// version is what gnomond sends: PTPv2.1 (minorVersionPTP 1,
	// versionPTP 2); ptp4l 3.1.1 masks the minor nibble on receive.
	version = protocol.Version
	// logIntervalUnicast is logMessageInterval in unicast Sync, Follow_Up
	// and Delay_Resp (0x7F), as ptp4l sends it.
	logIntervalUnicast = 0x7F
)

// controlField values (IEEE 1588-2019 Table 42; kept for IPv4 hardware
// that still reads them).
const (
	controlSync      = 0
	controlFollowUp  = 2
	controlDelayResp = 3
	controlOther     = 5
)

// Header is the part of a received message's common header the server
// uses.
type Header struct {
	Type        protocol.MessageType
	Length      int // messageLength
	Domain      uint8
	Flags       uint16
	Correction  protocol.Correction
	Source      protocol.PortIdentity
	Sequence    uint16
	LogInterval int8
}

// ParseHeader checks the common header of pkt against domain: the datagram
// holds at least the header and messageLength bytes (UDPv6's two trailing
// bytes and other padding after messageLength are ignored), versionPTP is
// 2 (any minor version), majorSdoId is 0 and the domain matches.
func ParseHeader(pkt []byte, domain uint8) (Header, Verdict) {
	if len(pkt) < HeaderLen {
		return Header{}, VerdictMalformed
	}
	if pkt[1]&protocol.MajorVersionMask != protocol.MajorVersion {
		return Header{}, VerdictBadVersion
	}
	h := Header{
		Type:        protocol.MessageType(pkt[0] & 0x0F),
		Length:      int(binary.BigEndian.Uint16(pkt[2:])),
		Domain:      pkt[4],
		Flags:       binary.BigEndian.Uint16(pkt[6:]),
		Correction:  protocol.Correction(binary.BigEndian.Uint64(pkt[8:])),
		Source:      protocol.PortIdentity{ClockIdentity: protocol.ClockIdentity(binary.BigEndian.Uint64(pkt[20:])), PortNumber: binary.BigEndian.Uint16(pkt[28:])},
		Sequence:    binary.BigEndian.Uint16(pkt[30:]),
		LogInterval: int8(pkt[33]),
	}
	if h.Length < HeaderLen || h.Length > len(pkt) {
		return Header{}, VerdictMalformed
	}
	if pkt[0]>>4 != 0 {
		return h, VerdictWrongSdo
	}
	if h.Domain != domain {
		return h, VerdictWrongDomain
	}
	return h, VerdictAnswered
}

// Timestamp converts a served-clock time to a PTP timestamp with TAI − UTC
// = utcOffset seconds. Times before the PTP epoch give the zero timestamp.
func Timestamp(t time.Time, utcOffset int) protocol.Timestamp {
	if t.IsZero() {
		return protocol.Timestamp{}
	}
	tai := t.Add(time.Duration(utcOffset) * time.Second)
	if tai.Unix() < 0 {
		return protocol.Timestamp{}
	}
	return protocol.NewTimestamp(tai)
}

// header fills the common header of a message this server sends.
func (s *Server) header(t protocol.MessageType, length int, flags uint16, seq uint16, control uint8, logInterval int8) protocol.Header {
	return protocol.Header{
		SdoIDAndMsgType:    protocol.NewSdoIDAndMsgType(t, 0),
		Version:            version,
		MessageLength:      uint16(length),
		DomainNumber:       s.cfg.Domain,
		FlagField:          flags,
		SourcePortIdentity: s.port,
		SequenceID:         seq,
		ControlField:       control,
		LogMessageInterval: protocol.LogInterval(logInterval),
	}
}
