package metrics

import (
	"errors"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gnomon-time/gnomon/clock"
	"github.com/gnomon-time/gnomon/hwts"
	"github.com/gnomon-time/gnomon/ntp"
	"github.com/gnomon-time/gnomon/ntp/clientlog"
	"github.com/gnomon-time/gnomon/ntp/serve"
)

// ServeStats is the NTP shell's counter source; *serve.Service implements it.
type ServeStats interface {
	Stats() serve.Stats
}

// ClientLogStats is the client log's counter source; *clientlog.Log
// implements it.
type ClientLogStats interface {
	Stats() clientlog.Stats
}

// Sources are what the collector reads at scrape time. Nil sources are
// skipped (their metrics are not exported).
type Sources struct {
	Serve     ServeStats
	ClientLog ClientLogStats
	// State holds the current SyncState; Clock (the served clock) grows its
	// root dispersion to the scrape time (nil: dispersion at RefTime).
	State *clock.StateCell
	Clock clock.Clock
	// Version is the gnomond version for gnomon_build_info.
	Version string
}

// Collector is a prometheus.Collector over Sources.
type Collector struct {
	src Sources

	requests, rxStamps, txStamps                       *prometheus.Desc
	rxHWUnused, txRecorded, txUnmatched                *prometheus.Desc
	replies, sendErrors, recvErrors, truncated, kDrops *prometheus.Desc

	clCapacity, clRecords, clHits, clDrops, clKoDs, clLeaks, clContended, clEvictions *prometheus.Desc

	stratum, rootDelay, rootDisp, synchronized, leap *prometheus.Desc

	buildInfo *prometheus.Desc
}

// NewCollector returns a collector over src.
func NewCollector(src Sources) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{
		src: src,

		requests: d("gnomon_ntp_requests_total",
			"NTP datagrams received, by the verdict of the server.", "verdict"),
		rxStamps: d("gnomon_ntp_rx_timestamps_total",
			"Receive timestamps used for NTP requests, by kind (hardware stamps are not usable yet and count as kernel).", "kind"),
		txStamps: d("gnomon_ntp_tx_timestamps_total",
			"Transmit timestamps: daemon = read by gnomond and written into a reply; kernel/hardware = reported by the kernel after sending.", "kind"),
		rxHWUnused: d("gnomon_ntp_rx_hardware_timestamps_unused_total",
			"NTP requests that carried a NIC hardware timestamp gnomond could not use (no PHC conversion yet)."),
		txRecorded: d("gnomon_ntp_interleaved_tx_timestamps_recorded_total",
			"Kernel transmit timestamps stored for interleaved mode."),
		txUnmatched: d("gnomon_ntp_interleaved_tx_timestamps_unmatched_total",
			"Kernel transmit timestamps whose reply was no longer known."),
		replies:    d("gnomon_ntp_replies_total", "NTP replies sent."),
		sendErrors: d("gnomon_ntp_send_errors_total", "NTP replies the kernel refused to send."),
		recvErrors: d("gnomon_ntp_receive_errors_total", "Failed receive calls on NTP sockets."),
		truncated: d("gnomon_ntp_requests_truncated_total",
			"NTP datagrams longer than the receive buffer (also counted as malformed)."),
		kDrops: d("gnomon_ntp_socket_drops_total",
			"Datagrams the kernel dropped because an NTP socket's receive queue was full."),

		clCapacity: d("gnomon_ntp_client_log_capacity", "Client log size in records."),
		clRecords:  d("gnomon_ntp_client_log_records", "Client log records in use."),
		clHits:     d("gnomon_ntp_client_log_hits_total", "Requests looked up in the client log."),
		clDrops:    d("gnomon_ntp_client_log_rate_limited_total", "Requests the rate limit dropped."),
		clKoDs:     d("gnomon_ntp_client_log_kod_total", "Requests the rate limit answered with KoD RATE."),
		clLeaks:    d("gnomon_ntp_client_log_leaked_total", "Requests over the rate limit answered anyway (leak)."),
		clContended: d("gnomon_ntp_client_log_contended_total",
			"Client log updates skipped because another worker held the record."),
		clEvictions: d("gnomon_ntp_client_log_evictions_total", "Client log records replaced by a new client."),

		stratum:      d("gnomon_sync_stratum", "Stratum of the served clock (16 = unsynchronised)."),
		rootDelay:    d("gnomon_sync_root_delay_seconds", "Root delay of the served clock."),
		rootDisp:     d("gnomon_sync_root_dispersion_seconds", "Root dispersion of the served clock, grown to the scrape time."),
		synchronized: d("gnomon_sync_synchronized", "1 if the served clock is synchronised (or declared so by a local reference), else 0."),
		leap:         d("gnomon_sync_leap", "Leap indicator served: 0 none, 1 insert, 2 delete, 3 unsynchronised."),

		buildInfo: d("gnomon_build_info", "Build information; the value is always 1.", "version", "goversion"),
	}
}

// Register creates a collector over src and registers it with r.
func Register(r prometheus.Registerer, src Sources) (*Collector, error) {
	if r == nil {
		return nil, errors.New("metrics: nil registerer")
	}
	c := NewCollector(src)
	if err := r.Register(c); err != nil {
		return nil, err
	}
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.requests, c.rxStamps, c.txStamps, c.rxHWUnused, c.txRecorded, c.txUnmatched,
		c.replies, c.sendErrors, c.recvErrors, c.truncated, c.kDrops,
		c.clCapacity, c.clRecords, c.clHits, c.clDrops, c.clKoDs, c.clLeaks, c.clContended, c.clEvictions,
		c.stratum, c.rootDelay, c.rootDisp, c.synchronized, c.leap,
		c.buildInfo,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	emit := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, t, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		emit(d, prometheus.CounterValue, float64(v), labels...)
	}

	if c.src.Serve != nil {
		st := c.src.Serve.Stats()
		for v := range ntp.NumVerdicts {
			counter(c.requests, st.Requests[v], ntp.Verdict(v).String())
		}
		// Label values daemon, kernel, hardware (KindNone is never counted).
		for k := hwts.KindDaemon; k <= hwts.KindHardware; k++ {
			counter(c.rxStamps, st.RXTimestamps[k], k.String())
			counter(c.txStamps, st.TXTimestamps[k], k.String())
		}
		counter(c.rxHWUnused, st.RXHardwareUnused)
		counter(c.txRecorded, st.TXRecorded)
		counter(c.txUnmatched, st.TXUnmatched)
		counter(c.replies, st.Replies)
		counter(c.sendErrors, st.SendErrors)
		counter(c.recvErrors, st.ReceiveErrors)
		counter(c.truncated, st.Truncated)
		counter(c.kDrops, st.KernelDrops)
	}

	if c.src.ClientLog != nil {
		st := c.src.ClientLog.Stats()
		emit(c.clCapacity, prometheus.GaugeValue, float64(st.Capacity))
		emit(c.clRecords, prometheus.GaugeValue, float64(st.Clients))
		counter(c.clHits, st.Hits)
		counter(c.clDrops, st.Drops)
		counter(c.clKoDs, st.KoDs)
		counter(c.clLeaks, st.Leaks)
		counter(c.clContended, st.Contended)
		counter(c.clEvictions, st.Evictions)
	}

	if c.src.State != nil {
		if st := c.src.State.Load(); st != nil {
			disp := st.RootDispersion
			if c.src.Clock != nil {
				disp = st.RootDispersionAt(c.src.Clock.Now())
			}
			sync := 0.0
			if st.Synchronized {
				sync = 1
			}
			emit(c.stratum, prometheus.GaugeValue, float64(st.Stratum))
			emit(c.rootDelay, prometheus.GaugeValue, st.RootDelay.Seconds())
			emit(c.rootDisp, prometheus.GaugeValue, disp.Seconds())
			emit(c.synchronized, prometheus.GaugeValue, sync)
			emit(c.leap, prometheus.GaugeValue, float64(st.Leap))
		}
	}

	emit(c.buildInfo, prometheus.GaugeValue, 1, c.src.Version, runtime.Version())
}
