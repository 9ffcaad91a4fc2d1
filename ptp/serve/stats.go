package serve

import (
	"sync/atomic"

	"github.com/gnomon-time/gnomon/ptp"
)

// Kinds of sent messages (Stats.Sent index).
const (
	sentSync = iota
	sentFollowUp
	sentDelayResp
	sentAnnounce
	sentSignaling
	numSent
)

// SentNames are the metric labels of Stats.Sent.
var SentNames = [numSent]string{"sync", "follow_up", "delay_resp", "announce", "signaling"}

// Timestamp directions and kinds (Stats.Stamps indexes).
const (
	rxStamp = iota
	txStamp
	numDirections
)

const (
	kernelStamp = iota
	hwStamp
	numStampKinds
)

// DirectionNames and StampKindNames are the metric labels of Stats.Stamps.
var (
	DirectionNames = [numDirections]string{"rx", "tx"}
	StampKindNames = [numStampKinds]string{"kernel", "hardware"}
)

type counters struct {
	stamps                     [numDirections][numStampKinds]atomic.Uint64
	hwMissing                  [numDirections]atomic.Uint64
	received                   [ptp.NumVerdicts]atomic.Uint64
	sent                       [numSent]atomic.Uint64
	granted, denied, cancelled atomic.Uint64
	deniedBy                   [ptp.NumDenyReasons]atomic.Uint64
	txMisses, sendErrors       atomic.Uint64
	sptpDropped                atomic.Uint64
	foreignAnnounces           atomic.Uint64
}

// Stats are the service's counters since start.
type Stats struct {
	// Received counts received messages by ptp.Verdict.
	Received [ptp.NumVerdicts]uint64
	// Sent counts sent messages by kind (SentNames).
	Sent [numSent]uint64
	// Granted, Denied and Cancelled count negotiation TLVs.
	Granted, Denied, Cancelled uint64
	// DeniedBy counts denials by ptp.DenyReason.
	DeniedBy [ptp.NumDenyReasons]uint64
	// TXMisses counts Syncs whose TX timestamp did not arrive (no
	// Follow_Up sent); SendErrors failed sends; SPTPDropped SPTP requests
	// dropped because the sender was behind.
	TXMisses, SendErrors, SPTPDropped uint64
	// ForeignAnnounces counts other masters' Announces (noted, not
	// obeyed; metric label foreign_announces).
	ForeignAnnounces uint64
	// Stamps counts the timestamps used for event messages (Delay_Req
	// received, Sync sent) by direction and kind; HWMissing, by
	// direction, those that should have been hardware stamps and were
	// not (the kernel stamp was used, or for a Sync without one none).
	Stamps    [numDirections][numStampKinds]uint64
	HWMissing [numDirections]uint64
	// Clients and Grants are the current grant table's size.
	Clients, Grants int
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	var st Stats
	for i := range st.Received {
		st.Received[i] = s.ctr.received[i].Load()
	}
	for i := range st.Sent {
		st.Sent[i] = s.ctr.sent[i].Load()
	}
	st.Granted, st.Denied, st.Cancelled = s.ctr.granted.Load(), s.ctr.denied.Load(), s.ctr.cancelled.Load()
	for i := range st.DeniedBy {
		st.DeniedBy[i] = s.ctr.deniedBy[i].Load()
	}
	st.TXMisses, st.SendErrors, st.SPTPDropped = s.ctr.txMisses.Load(), s.ctr.sendErrors.Load(), s.ctr.sptpDropped.Load()
	st.ForeignAnnounces = s.ctr.foreignAnnounces.Load()
	for d := range st.Stamps {
		for k := range st.Stamps[d] {
			st.Stamps[d][k] = s.ctr.stamps[d][k].Load()
		}
		st.HWMissing[d] = s.ctr.hwMissing[d].Load()
	}
	st.Clients = s.cfg.Server.Grants().Clients()
	st.Grants = len(s.cfg.Server.Grants().Snapshot())
	return st
}
