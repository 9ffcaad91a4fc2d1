package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gnomon-time/gnomon/report"
)

// PTPStats is the PTP grandmaster's counter source; *ptp/serve.Service
// implements it.
type PTPStats interface {
	PTPStats() report.PTPStats
}

// ptpDescs are the gnomon_ptp_* metrics.
type ptpDescs struct {
	received, sent, negotiation, txMisses, sendErrors, foreign, clients, grants, stamps, hwMissing *prometheus.Desc
}

func newPTPDescs(d func(name, help string, labels ...string) *prometheus.Desc) ptpDescs {
	return ptpDescs{
		received: d("gnomon_ptp_messages_received_total",
			"PTP messages received, by the grandmaster's verdict.", "verdict"),
		sent: d("gnomon_ptp_messages_sent_total",
			"PTP messages sent, by message type.", "type"),
		negotiation: d("gnomon_ptp_unicast_negotiations_total",
			"Unicast negotiation TLVs: requests granted or denied (by reason), and grants cancelled by their client.", "result"),
		txMisses: d("gnomon_ptp_tx_timestamp_misses_total",
			"Syncs whose transmit timestamp did not arrive in time; no Follow_Up was sent for them."),
		sendErrors: d("gnomon_ptp_send_errors_total", "PTP messages the kernel refused to send."),
		foreign: d("gnomon_ptp_foreign_announces_total",
			"Announces from other PTP masters: noted and logged, never obeyed."),
		stamps: d("gnomon_ptp_timestamps_total",
			"Timestamps of PTP event messages (Delay_Req received, Sync sent), by direction and kind (kernel, or NIC hardware from the served PHC).", "direction", "kind"),
		hwMissing: d("gnomon_ptp_hardware_timestamp_misses_total",
			"Event messages that should have had a NIC hardware timestamp and did not (the kernel stamp was used instead when there was one).", "direction"),
		clients: d("gnomon_ptp_unicast_clients", "Clients holding unicast grants."),
		grants: d("gnomon_ptp_unicast_grants",
			"Unicast grants in force, by message type.", "type"),
	}
}

func (p *ptpDescs) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.received, p.sent, p.negotiation, p.txMisses, p.sendErrors, p.foreign, p.clients, p.grants, p.stamps, p.hwMissing} {
		ch <- d
	}
}

func (p *ptpDescs) collect(st report.PTPStats, counter func(*prometheus.Desc, uint64, ...string), gauge func(*prometheus.Desc, float64, ...string)) {
	for _, v := range st.Received {
		counter(p.received, v.Count, v.Label)
	}
	for _, v := range st.Sent {
		counter(p.sent, v.Count, v.Label)
	}
	for _, v := range st.Negotiation {
		counter(p.negotiation, v.Count, v.Label)
	}
	for _, v := range st.Timestamps {
		counter(p.stamps, v.Count, v.Direction, v.Kind)
	}
	for _, v := range st.HardwareMissing {
		counter(p.hwMissing, v.Count, v.Label)
	}
	counter(p.txMisses, st.TXMisses)
	counter(p.sendErrors, st.SendErrors)
	counter(p.foreign, st.ForeignAnnounces)
	gauge(p.clients, float64(st.Clients))
	for _, v := range st.Grants {
		gauge(p.grants, float64(v.Count), v.Label)
	}
}
