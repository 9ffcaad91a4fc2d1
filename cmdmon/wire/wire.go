package wire

import (
	"errors"
	"net/netip"
	"time"
)

// Protocol constants (candm.h).
const (
	Version    = 6 // PROTO_VERSION_NUMBER
	PktRequest = 1 // PKT_TYPE_CMD_REQUEST
	PktReply   = 2 // PKT_TYPE_CMD_REPLY

	RequestHeaderLen = 20  // request header; data starts here
	ReplyHeaderLen   = 28  // reply header; data starts here
	MaxRequestLen    = 860 // sizeof(CMD_Request): longer requests are dropped
	MinRequestLen    = ReplyHeaderLen
)

// Errors of the parsers.
var (
	ErrShort   = errors.New("cmdmon: packet too short")
	ErrLong    = errors.New("cmdmon: packet too long")
	ErrHeader  = errors.New("cmdmon: bad packet type or reserved bytes")
	ErrVersion = errors.New("cmdmon: unsupported protocol version")
)

// Command is a request's command code (REQ_*).
type Command uint16

// ReplyType is a reply's type code (RPY_*).
type ReplyType uint16

// Status is a reply's status (STT_*); String gives chronyc's text.
type Status uint16

// RequestHeader is the 20-byte request header.
type RequestHeader struct {
	Version, PktType, Res1, Res2 uint8
	Command                      Command
	Attempt                      uint16
	Sequence                     uint32
}

// ReplyHeader is the 28-byte reply header.
type ReplyHeader struct {
	Version, PktType, Res1, Res2 uint8
	Command                      Command
	Reply                        ReplyType
	Status                       Status
	Sequence                     uint32
}

// Family is an IPAddr's address family (IPADDR_*).
type Family uint16

const (
	FamilyUnspec Family = 0
	FamilyInet4  Family = 1
	FamilyInet6  Family = 2
	FamilyID     Family = 3 // an unresolved source, named by ID
)

// IPAddr is the 20-byte address (IPAddr): an IPv4 or IPv6 address, or an
// ID (unresolved sources; reference clocks in some replies use the refid as
// an IPv4 address).
type IPAddr struct {
	Addr   netip.Addr // valid for FamilyInet4/Inet6
	ID     uint32     // for FamilyID
	Family Family
}

// NSources is the N_SOURCES reply body.
type NSources struct{ N uint32 }

// SourceData is the SOURCE_DATA reply body. Offsets are local − reference
// in seconds (chrony's sign).
type SourceData struct {
	Addr           IPAddr
	Poll           int16
	Stratum        uint16
	State          uint16 // RPY_SD_ST_*: 0 selected '*', 1 nonselectable '?', 2 falseticker 'x', 3 jittery '~', 4 unselected (combined) '+', 5 selectable '-'
	Mode           uint16 // 0 server, 1 peer, 2 refclock
	Flags          uint16
	Reachability   uint16
	SinceSample    uint32 // seconds; 0xFFFFFFFF never
	OrigLatestMeas float64
	LatestMeas     float64
	LatestMeasErr  float64
}

// Tracking is the TRACKING reply body.
type Tracking struct {
	RefID              uint32
	Addr               IPAddr
	Stratum            uint16
	LeapStatus         uint16
	RefTime            time.Time
	CurrentCorrection  float64
	LastOffset         float64
	RMSOffset          float64
	FreqPPM            float64
	ResidFreqPPM       float64
	SkewPPM            float64
	RootDelay          float64
	RootDispersion     float64
	LastUpdateInterval float64
}

// SourceStats is the SOURCESTATS reply body.
type SourceStats struct {
	RefID        uint32
	Addr         IPAddr
	NSamples     uint32
	NRuns        uint32
	SpanSeconds  uint32
	StdDev       float64
	ResidFreqPPM float64
	SkewPPM      float64
	EstOffset    float64
	EstOffsetErr float64
}

// SelectData is the SELECT_DATA reply body.
type SelectData struct {
	RefID         uint32
	Addr          IPAddr
	StateChar     byte
	Authenticated uint8
	Leap          uint8
	ConfOptions   uint16
	EffOptions    uint16
	LastSampleAgo uint32
	Score         float64
	LoLimit       float64
	HiLimit       float64
}

// NTPData is the NTP_DATA2 reply body (and NTP_DATA's, which lacks the
// four counters after TotalGoodCount).
type NTPData struct {
	RemoteAddr      IPAddr
	LocalAddr       IPAddr
	RemotePort      uint16
	Leap            uint8
	Version         uint8
	Mode            uint8
	Stratum         uint8
	Poll            int8
	Precision       int8
	RootDelay       float64
	RootDispersion  float64
	RefID           uint32
	RefTime         time.Time
	Offset          float64
	PeerDelay       float64
	PeerDispersion  float64
	ResponseTime    float64
	JitterAsymmetry float64
	Flags           uint16
	TxTssChar       byte
	RxTssChar       byte
	TotalTxCount    uint32
	TotalRxCount    uint32
	TotalValidCount uint32
	TotalGoodCount  uint32
	TotalKernelTxTS uint32
	TotalKernelRxTS uint32
	TotalHwTxTS     uint32
	TotalHwRxTS     uint32
}

// ServerStats is the SERVER_STATS4 reply body (17 counters); SERVER_STATS3
// carries the first 11 as u32.
type ServerStats struct {
	NTPHits, NKEHits, CmdHits                    uint64
	NTPDrops, NKEDrops, CmdDrops, LogDrops       uint64
	NTPAuthHits, NTPInterleavedHits              uint64
	NTPTimestamps, NTPSpanSeconds                uint64
	NTPDaemonRxTimestamps, NTPDaemonTxTimestamps uint64
	NTPKernelRxTimestamps, NTPKernelTxTimestamps uint64
	NTPHwRxTimestamps, NTPHwTxTimestamps         uint64
}

// ClientAccess is one record of CLIENT_ACCESSES_BY_INDEX3.
type ClientAccess struct {
	Addr                                              IPAddr
	NTPHits, NKEHits, CmdHits                         uint32
	NTPDrops, NKEDrops, CmdDrops                      uint32
	NTPInterval, NKEInterval, CmdInterval, NTPTimeout int8   // log2 s; ≥ 127 none
	LastNTPHitAgo, LastNKEHitAgo, LastCmdHitAgo       uint32 // s; 0xFFFFFFFF never
}

// ClientAccesses is the CLIENT_ACCESSES_BY_INDEX3 reply body.
type ClientAccesses struct {
	NIndices  uint32
	NextIndex uint32
	Clients   []ClientAccess // at most MaxClientsPerReply
}

// MaxClientsPerReply is MAX_CLIENT_ACCESSES.
const MaxClientsPerReply = 8

// Activity is the ACTIVITY reply body.
type Activity struct {
	Online, Offline, BurstOnline, BurstOffline, Unresolved int32
}

// Smoothing is the SMOOTHING reply body (chronyc smoothing).
type Smoothing struct {
	Flags         uint32  // SmoothingActive, SmoothingLeapOnly
	Offset        float64 // s
	FreqPPM       float64
	WanderPPM     float64
	LastUpdateAgo float64 // s
	RemainingTime float64 // s
}

// Smoothing flags (RPY_SMT_FLAG_*).
const (
	SmoothingActive   = 0x1
	SmoothingLeapOnly = 0x2
)

// NTPSourceName is the NTP_SOURCE_NAME reply body (name[256], NUL-terminated).
type NTPSourceName struct{ Name string }

// Request bodies.

// IndexRequest is the body of SOURCE_DATA, SOURCESTATS and SELECT_DATA.
type IndexRequest struct{ Index int32 }

// AddrRequest is the body of NTP_DATA and NTP_SOURCE_NAME.
type AddrRequest struct{ Addr IPAddr }

// BurstRequest is BURST's body: the sources whose address matches Addr
// under Mask get a burst of NGood good samples in at most NTotal requests.
type BurstRequest struct {
	Mask, Addr    IPAddr
	NGood, NTotal int32
}

// ClientAccessesRequest is CLIENT_ACCESSES_BY_INDEX3's body.
type ClientAccessesRequest struct {
	FirstIndex, NClients, MinHits, Reset uint32
}
