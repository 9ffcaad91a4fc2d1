package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gnomon-time/gnomon/report"
)

// GNSSStats is the GNSS references' counter source (cmd/gnomond fills it
// from source/gnsssource and the receivers' inputs).
type GNSSStats interface {
	GNSSStats() []report.GNSSStats
}

// gnssDescs are the gnomon_gnss_* metrics, labelled by source (the
// reference's ID, e.g. gnss:GPS).
type gnssDescs struct {
	pairs, todReports, todLast, todReconnects *prometheus.Desc
}

func newGNSSDescs(d func(name, help string, labels ...string) *prometheus.Desc) gnssDescs {
	return gnssDescs{
		pairs: d("gnomon_gnss_pairs_total",
			"Pairing of PPS edges with the receiver's time of day: every edge and every report gets one verdict (accepted edges are the samples).",
			"source", "verdict"),
		todReports: d("gnomon_gnss_time_of_day_reports_total",
			"Time-of-day reports the receiver's input (gpsd, nmea, sim) delivered.", "source"),
		todLast: d("gnomon_gnss_time_of_day_last_report_timestamp_seconds",
			"When the latest time-of-day report was received (Unix time, CLOCK_REALTIME); absent before the first.", "source"),
		todReconnects: d("gnomon_gnss_time_of_day_reconnects_total",
			"Connection attempts to gpsd after the first.", "source"),
	}
}

func (g *gnssDescs) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.pairs, g.todReports, g.todLast, g.todReconnects} {
		ch <- d
	}
}

func (g *gnssDescs) collect(st []report.GNSSStats, gauge func(*prometheus.Desc, float64, ...string),
	counter func(*prometheus.Desc, uint64, ...string)) {
	for _, s := range st {
		for _, v := range s.Pairs {
			counter(g.pairs, v.Count, s.ID, v.Label)
		}
		t := &s.TimeOfDay
		counter(g.todReports, t.Reports, s.ID)
		if !t.LastReport.IsZero() {
			gauge(g.todLast, float64(t.LastReport.Unix())+float64(t.LastReport.Nanosecond())/1e9, s.ID)
		}
		if t.ReconnectsKnown {
			counter(g.todReconnects, t.Reconnects, s.ID)
		}
	}
}
