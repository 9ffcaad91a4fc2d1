package ptp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/facebook/time/ptp/protocol"
)

// Multicast configures the default profile's multicast E2E messages: the
// logMessageInterval each carries, which is also the period the shell
// sends them at (IEEE 1588-2019 §13.3.2.14; ptp4l's port.c). Zero values
// are 2^0 s.
type Multicast struct {
	// LogSync is multicast Sync's and Follow_Up's logMessageInterval.
	LogSync int8
	// LogAnnounce is multicast Announce's.
	LogAnnounce int8
	// LogMinDelayReq is multicast Delay_Resp's: the slowest rate a slave
	// may send Delay_Req at, which slaves adopt from the Delay_Resp (the
	// master's value overrides the slave's).
	LogMinDelayReq int8
}

// validate reports every out-of-range interval (−7 … 30, as the unicast
// limits).
func (m Multicast) validate() []error {
	var errs []error
	for _, v := range []struct {
		name string
		v    int8
	}{{"multicast log_sync_interval", m.LogSync}, {"multicast log_announce_interval", m.LogAnnounce},
		{"multicast log_min_delay_req_interval", m.LogMinDelayReq}} {
		if v.v < -7 || v.v > 30 {
			errs = append(errs, fmt.Errorf("ptp: %s %d: must be −7…30", v.name, v.v))
		}
	}
	return errs
}

// Group is the PTP primary multicast group (IEEE 1588-2019 Annex C and D):
// 224.0.1.129, or ff0e::181 (global scope, ptp4l's default udp6_scope) when
// ipv6.
func Group(ipv6 bool) netip.Addr {
	if ipv6 {
		return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x0e, 14: 0x01, 15: 0x81})
	}
	return netip.AddrFrom4([4]byte{224, 0, 1, 129})
}

// MulticastInterval is the period of multicast Syncs (typ Sync) or
// Announces (any other type) per the configuration.
func (s *Server) MulticastInterval(t protocol.MessageType) time.Duration {
	if t == protocol.MessageSync {
		return logDuration(s.cfg.Multicast.LogSync)
	}
	return logDuration(s.cfg.Multicast.LogAnnounce)
}

// AppendMulticastSync writes a two-step multicast Sync (flags: twoStep
// only; logMessageInterval: LogSync) with sequence seq and origin, an
// estimate (the Follow_Up carries the precise one).
func (s *Server) AppendMulticastSync(out []byte, seq uint16, origin time.Time, utcOffset int) int {
	return s.appendSyncLike(out, protocol.MessageSync, SyncLen, protocol.FlagTwoStep, seq,
		controlSync, s.cfg.Multicast.LogSync, Timestamp(origin, utcOffset))
}

// AppendMulticastFollowUp writes the Follow_Up of the multicast Sync with
// sequence seq sent at t1 (served clock).
func (s *Server) AppendMulticastFollowUp(out []byte, seq uint16, t1 time.Time, utcOffset int) int {
	return s.appendSyncLike(out, protocol.MessageFollowUp, FollowUpLen, 0, seq,
		controlFollowUp, s.cfg.Multicast.LogSync, Timestamp(t1, utcOffset))
}

// AppendMulticastAnnounce writes a multicast Announce (logMessageInterval:
// LogAnnounce) with sequence seq; origin is on the served clock.
func (s *Server) AppendMulticastAnnounce(out []byte, q Quality, seq uint16, origin time.Time) int {
	return s.AppendAnnounce(out, q, 0, seq, s.cfg.Multicast.LogAnnounce, origin, 0)
}

// ForeignAnnounce is what a foreign master's Announce says (HandleGeneral
// fills it; a grandmaster-only server notes it and obeys nothing).
type ForeignAnnounce struct {
	// Valid: the message was an Announce of this domain.
	Valid bool
	// Source is the sender's port identity.
	Source protocol.PortIdentity
	// The rest is zero when the Announce is shorter than AnnounceLen.
	Grandmaster          protocol.ClockIdentity
	Priority1, Priority2 uint8
	ClockClass           uint8
	StepsRemoved         uint16
}

// parseForeignAnnounce reads an Announce whose header h was parsed
// (ParseHeader checked len(pkt) ≥ h.Length ≥ HeaderLen).
func parseForeignAnnounce(pkt []byte, h Header) ForeignAnnounce {
	f := ForeignAnnounce{Valid: true, Source: h.Source}
	if h.Length < AnnounceLen {
		return f
	}
	// IEEE 1588-2019 Table 43: originTimestamp 34–43, currentUtcOffset
	// 44–45, reserved 46, grandmasterPriority1 47, grandmasterClockQuality
	// 48–51, grandmasterPriority2 52, grandmasterIdentity 53–60,
	// stepsRemoved 61–62, timeSource 63.
	f.Priority1, f.ClockClass, f.Priority2 = pkt[47], pkt[48], pkt[52]
	f.Grandmaster = protocol.ClockIdentity(binary.BigEndian.Uint64(pkt[53:]))
	f.StepsRemoved = binary.BigEndian.Uint16(pkt[61:])
	return f
}
