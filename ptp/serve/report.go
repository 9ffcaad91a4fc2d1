package serve

import (
	"github.com/facebook/time/ptp/protocol"

	"github.com/gnomon-time/gnomon/ptp"
	"github.com/gnomon-time/gnomon/report"
)

// typeName is a grant's message type as a label.
func typeName(t protocol.MessageType) string {
	switch t {
	case protocol.MessageAnnounce:
		return "announce"
	case protocol.MessageSync:
		return "sync"
	case protocol.MessageDelayResp:
		return "delay_resp"
	}
	return "other"
}

// PTPStats fills the metrics' report.
func (s *Service) PTPStats() report.PTPStats {
	st := s.Stats()
	r := report.PTPStats{TXMisses: st.TXMisses, SendErrors: st.SendErrors, ForeignAnnounces: st.ForeignAnnounces, Clients: st.Clients}
	for v := range ptp.NumVerdicts {
		r.Received = append(r.Received, report.LabelCount{Label: ptp.Verdict(v).String(), Count: st.Received[v]})
	}
	for i, n := range SentNames {
		r.Sent = append(r.Sent, report.LabelCount{Label: n, Count: st.Sent[i]})
	}
	r.Negotiation = append(r.Negotiation, report.LabelCount{Label: "granted", Count: st.Granted})
	for d := ptp.DenyType; int(d) < ptp.NumDenyReasons; d++ {
		r.Negotiation = append(r.Negotiation, report.LabelCount{Label: "denied_" + d.String(), Count: st.DeniedBy[d]})
	}
	r.Negotiation = append(r.Negotiation, report.LabelCount{Label: "cancelled", Count: st.Cancelled})
	for d, dn := range DirectionNames {
		for k, kn := range StampKindNames {
			r.Timestamps = append(r.Timestamps, report.PTPStampCount{Direction: dn, Kind: kn, Count: st.Stamps[d][k]})
		}
		r.HardwareMissing = append(r.HardwareMissing, report.LabelCount{Label: dn, Count: st.HWMissing[d]})
	}
	byType := map[string]uint64{"announce": 0, "sync": 0, "delay_resp": 0}
	for _, g := range s.cfg.Server.Grants().Snapshot() {
		byType[typeName(g.Type)]++
	}
	for _, n := range []string{"announce", "sync", "delay_resp"} {
		r.Grants = append(r.Grants, report.LabelCount{Label: n, Count: byType[n]})
	}
	return r
}

// PTPStatus is the grandmaster's state, quality and grants now.
func (s *Service) PTPStatus() report.PTPStatus {
	st := s.cfg.State.Load()
	q := ptp.QualityOf(st)
	srv := s.cfg.Server
	r := report.PTPStatus{
		At: s.cfg.Clock.Now(), ClockIdentity: srv.Port().ClockIdentity.String(), Domain: srv.Domain(),
		ClockClass: q.ClockClass, ClockAccuracy: q.ClockAccuracy, TimeSource: q.TimeSource, UTCOffset: q.UTCOffset,
		UTCOffsetValid:     q.Flags&protocol.FlagCurrentUtcOffsetValid != 0,
		TimeTraceable:      q.Flags&protocol.FlagTimeTraceable != 0,
		FrequencyTraceable: q.Flags&protocol.FlagFrequencyTraceable != 0,
		Stats:              s.PTPStats(),
	}
	for _, g := range srv.Grants().Snapshot() {
		r.Grants = append(r.Grants, report.PTPGrant{Client: g.Client.Addr, PortID: g.Client.Port.String(),
			Type: typeName(g.Type), LogInterval: g.LogInterval, Expires: g.Expires()})
	}
	return r
}
