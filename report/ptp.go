package report

import (
	"net/netip"
	"time"
)

// LabelCount is one labelled counter or gauge value.
type LabelCount struct {
	Label string
	Count uint64
}

// PTPStats are the PTP grandmaster's counters and its grant table's size
// (gnomon_ptp_*). Every label of a family is present, in a fixed order.
type PTPStats struct {
	// Received counts received messages by the server's verdict
	// (answered, no_reply, foreign, denied, malformed, bad_version,
	// wrong_domain, wrong_sdo, unsupported, short_buffer).
	Received []LabelCount
	// Sent counts sent messages by type (sync, follow_up, delay_resp,
	// announce, signaling).
	Sent []LabelCount
	// Negotiation counts REQUEST TLVs by result: granted, or denied with
	// its reason (denied_interval, denied_duration, denied_clients,
	// denied_message_type); and CANCELs that ended a grant (cancelled).
	Negotiation []LabelCount
	// TXMisses: Syncs whose TX timestamp did not arrive (no Follow_Up);
	// SendErrors: sends the kernel refused.
	TXMisses, SendErrors uint64
	// ForeignAnnounces: other masters' Announces (noted, not obeyed).
	ForeignAnnounces uint64
	// Timestamps counts the timestamps of event messages (Delay_Req
	// received, Sync sent) by direction (rx, tx) and kind (kernel,
	// hardware); HardwareMissing, by direction (label), those that should
	// have been NIC hardware stamps and were not.
	Timestamps      []PTPStampCount
	HardwareMissing []LabelCount
	// Clients holding grants now, and the grants by message type
	// (announce, sync, delay_resp).
	Clients int
	Grants  []LabelCount
}

// PTPStampCount is one count of PTPStats.Timestamps.
type PTPStampCount struct {
	Direction, Kind string
	Count           uint64
}

// PTPGrant is one unicast grant, for gnomonctl ptp status.
type PTPGrant struct {
	Client      netip.AddrPort
	PortID      string // clockIdentity-portNumber, as ptp4l prints it
	Type        string // announce, sync, delay_resp
	LogInterval int8
	Expires     time.Time
}

// PTPStatus is the grandmaster as gnomonctl ptp status shows it.
type PTPStatus struct {
	At            time.Time
	ClockIdentity string
	Domain        uint8
	// Quality announced now.
	ClockClass                                        uint8
	ClockAccuracy                                     uint8
	TimeSource                                        uint8
	UTCOffset                                         int
	UTCOffsetValid, TimeTraceable, FrequencyTraceable bool
	Stats                                             PTPStats
	Grants                                            []PTPGrant
}
