package metrics

import (
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gnomon-time/gnomon/report"
)

// ServeStats is the NTP server's counter source; *serve.Service implements
// it.
type ServeStats interface {
	ServerStats() report.ServerStats
}

// ClientLogStats is the client log's counter source; *clientlog.Log
// implements it.
type ClientLogStats interface {
	ClientLogStats() report.ClientLogStats
}

// Served is the source of what servers send, grown to the scrape time.
type Served interface {
	// Served is the published state at the scrape; ok is false while
	// nothing is published.
	Served() (r report.Served, ok bool)
}

// Discipline is the clock discipline's report source; source.Runner
// implements it.
type Discipline interface {
	// Tracking is the engine's latest snapshot at the scrape; ok is false
	// before the first.
	Tracking() (r report.Tracking, ok bool)
	// Sources are the sources' rows, with the poller's counters if it
	// answers before ctx ends (Source.PollsKnown); nil before the
	// engine's first snapshot.
	Sources(ctx context.Context) []report.Source
	// DriverStats are the discipline loop's own counters.
	DriverStats() report.DriverStats
}

// ControlStats is the control protocol's counter source; *cmdmon.Handler
// implements it.
type ControlStats interface {
	ControlStats() report.ControlStats
}

// ReloadStats is the configuration reloads' counter source (gnomond).
type ReloadStats interface {
	ReloadStats() report.ReloadStats
}

// sourceCountersTimeout bounds the round trip to the poller per scrape.
const sourceCountersTimeout = time.Second

// Sources are what the collector reads at scrape time. Nil sources are
// skipped (their metrics are not exported).
type Sources struct {
	Serve     ServeStats
	ClientLog ClientLogStats
	// Served gives the gnomon_sync_* gauges.
	Served Served
	// Discipline exports the engine's and the sources' state.
	Discipline Discipline
	// Control gives gnomon_control_requests_total.
	Control ControlStats
	// PTP gives the grandmaster's gnomon_ptp_* metrics.
	PTP PTPStats
	// Reference exports the disciplined PHC's engine (the phc section)
	// as gnomon_phc_*.
	Reference Discipline
	// GNSS gives gnomon_gnss_* of every GNSS reference.
	GNSS GNSSStats
	// NTSKE, set when NTS is on, gives gnomon_nts_* (the NTP side from
	// Serve's report).
	NTSKE NTSKEStats
	// Reload gives gnomon_config_reloads_total and
	// gnomon_config_last_reload_successful.
	Reload ReloadStats
	// Version is the gnomond version for gnomon_build_info.
	Version string
}

// Collector is a prometheus.Collector over Sources.
type Collector struct {
	src Sources

	requests, rxStamps, txStamps                       *prometheus.Desc
	rxHWUnused, txHWUnused, txRecorded, txUnmatched    *prometheus.Desc
	basicTXError, basicBatched                         *prometheus.Desc
	interleaved, ctlRequests                           *prometheus.Desc
	reloads, lastReloadOK                              *prometheus.Desc
	replies, sendErrors, recvErrors, truncated, kDrops *prometheus.Desc
	authenticated, sealFailed                          *prometheus.Desc

	clCapacity, clRecords, clHits, clDrops, clKoDs, clLeaks, clContended, clEvictions, clStampsHeld, clStampEvictions *prometheus.Desc

	stratum, rootDelay, rootDisp, synchronized, leap *prometheus.Desc

	served, phc engineDescs

	buildInfo *prometheus.Desc

	ptp  ptpDescs
	gnss gnssDescs
	nts  ntsDescs
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
			"Receive timestamps used for NTP requests, by kind (a hardware stamp without a fresh PHC mapping counts as kernel).", "kind"),
		txStamps: d("gnomon_ntp_tx_timestamps_total",
			"Transmit timestamps: daemon = read by gnomond and written into a reply; kernel/hardware = reported by the kernel after sending.", "kind"),
		rxHWUnused: d("gnomon_ntp_rx_hardware_timestamps_unused_total",
			"NTP requests that carried a NIC hardware timestamp gnomond could not use (no fresh PHC-to-system-clock mapping); their kernel software timestamp was used."),
		txHWUnused: d("gnomon_ntp_tx_hardware_timestamps_unused_total",
			"NIC hardware transmit timestamps gnomond could not map to the system clock; the packet's kernel software timestamp was used."),
		txRecorded: d("gnomon_ntp_interleaved_tx_timestamps_recorded_total",
			"Kernel transmit timestamps stored for interleaved mode."),
		basicTXError: d("gnomon_ntp_basic_transmit_error_seconds",
			"How far basic NTP replies' Transmit timestamps led their packets' kernel (or NIC) transmit timestamps (kernel stamp − Transmit; negative: the Transmit was late), for the basic replies gnomond stamps: about one in 16 batches, and the first of each interleaved association."),
		basicBatched: d("gnomon_ntp_basic_replies_batched_total",
			"Basic NTP replies sent in a shared sendmmsg with a Transmit predicted from the calibration instead of read right before sending (only while requests queue: the server is behind)."),
		txUnmatched: d("gnomon_ntp_interleaved_tx_timestamps_unmatched_total",
			"Kernel transmit timestamps whose reply was no longer known."),
		replies: d("gnomon_ntp_replies_total", "NTP replies sent."),
		ctlRequests: d("gnomon_control_requests_total",
			"Control-protocol (chronyc) requests by verdict: answered, refused (an error status), or dropped without a reply.", "verdict"),
		reloads: d("gnomon_config_reloads_total",
			"Configuration reloads (SIGHUP, chronyc reload sources): result = ok (applied), failed (refused: the running configuration and keys kept; the log says why).", "result"),
		lastReloadOK: d("gnomon_config_last_reload_successful",
			"1 if the last configuration reload was applied (or none was tried since start), 0 if it failed and the running configuration is older than the file."),
		interleaved: d("gnomon_ntp_interleaved_replies_total",
			"NTP replies sent in interleaved mode (RFC 9769)."),
		sendErrors: d("gnomon_ntp_send_errors_total", "NTP replies the kernel refused to send."),
		recvErrors: d("gnomon_ntp_receive_errors_total", "Failed receive calls on NTP sockets."),
		truncated: d("gnomon_ntp_requests_truncated_total",
			"NTP datagrams longer than the receive buffer (also counted as malformed)."),
		authenticated: d("gnomon_ntp_authenticated_replies_total",
			"NTP replies sent with a symmetric-key MAC (requests whose MAC verified); failures are the verdicts auth_failed, crypto_nak and no_key."),
		sealFailed: d("gnomon_ntp_seal_failures_total",
			"Authenticated NTP replies not sent because they could not be sealed (a bug if ever non-zero)."),
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
		clStampsHeld: d("gnomon_ntp_client_log_timestamps_held",
			"Interleaved-mode associations whose last transmit timestamp the client log holds (chronyc's NTP timestamps held)."),
		clStampEvictions: d("gnomon_ntp_client_log_timestamp_evictions_total",
			"Held transmit timestamps replaced before their client asked for them (that association got one basic reply)."),

		stratum:      d("gnomon_sync_stratum", "Stratum of the served clock (16 = unsynchronised)."),
		rootDelay:    d("gnomon_sync_root_delay_seconds", "Root delay of the served clock."),
		rootDisp:     d("gnomon_sync_root_dispersion_seconds", "Root dispersion of the served clock, grown to the scrape time."),
		synchronized: d("gnomon_sync_synchronized", "1 if the served clock is synchronised (or declared so by a local reference), else 0."),
		leap:         d("gnomon_sync_leap", "Leap indicator served: 0 none, 1 insert, 2 delete, 3 unsynchronised."),

		served: newEngineDescs(servedNames),
		phc:    newEngineDescs(phcNames),

		buildInfo: d("gnomon_build_info", "Build information; the value is always 1.", "version", "goversion"),
		ptp:       newPTPDescs(d),
		gnss:      newGNSSDescs(d),
		nts:       newNTSDescs(d),
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
		c.requests, c.rxStamps, c.txStamps, c.rxHWUnused, c.txHWUnused, c.txRecorded, c.txUnmatched, c.basicTXError, c.basicBatched, c.interleaved, c.ctlRequests, c.reloads, c.lastReloadOK,
		c.replies, c.sendErrors, c.recvErrors, c.truncated, c.kDrops, c.authenticated, c.sealFailed,
		c.clCapacity, c.clRecords, c.clHits, c.clDrops, c.clKoDs, c.clLeaks, c.clContended, c.clEvictions,
		c.clStampsHeld, c.clStampEvictions,
		c.stratum, c.rootDelay, c.rootDisp, c.synchronized, c.leap,
		c.buildInfo,
	} {
		ch <- d
	}
	c.served.describe(ch)
	c.phc.describe(ch)
	c.ptp.describe(ch)
	c.gnss.describe(ch)
	c.nts.describe(ch)
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

	if c.src.PTP != nil {
		c.ptp.collect(c.src.PTP.PTPStats(), counter, func(d *prometheus.Desc, v float64, labels ...string) {
			emit(d, prometheus.GaugeValue, v, labels...)
		})
	}
	if c.src.Control != nil {
		for _, v := range c.src.Control.ControlStats().Requests {
			counter(c.ctlRequests, v.Count, v.Verdict)
		}
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) { emit(d, prometheus.GaugeValue, v, labels...) }
	if c.src.Reload != nil {
		st := c.src.Reload.ReloadStats()
		counter(c.reloads, st.OK, "ok")
		counter(c.reloads, st.Failed, "failed")
		gauge(c.lastReloadOK, b2f(st.LastOK))
	}
	if c.src.Serve != nil {
		st := c.src.Serve.ServerStats()
		for _, v := range st.Requests {
			counter(c.requests, v.Count, v.Verdict)
		}
		for _, k := range []struct {
			label  string
			rx, tx uint64
		}{
			{"daemon", st.RXTimestamps.Daemon, st.TXTimestamps.Daemon},
			{"kernel", st.RXTimestamps.Kernel, st.TXTimestamps.Kernel},
			{"hardware", st.RXTimestamps.Hardware, st.TXTimestamps.Hardware},
		} {
			counter(c.rxStamps, k.rx, k.label)
			counter(c.txStamps, k.tx, k.label)
		}
		counter(c.rxHWUnused, st.RXHardwareUnused)
		counter(c.txHWUnused, st.TXHardwareUnused)
		counter(c.txRecorded, st.TXRecorded)
		counter(c.interleaved, st.Interleaved)
		counter(c.txUnmatched, st.TXUnmatched)
		ch <- txErrorHistogram(c.basicTXError, &st.BasicTXError)
		counter(c.basicBatched, st.BasicBatched)
		counter(c.replies, st.Replies)
		counter(c.sendErrors, st.SendErrors)
		counter(c.recvErrors, st.ReceiveErrors)
		counter(c.truncated, st.Truncated)
		counter(c.kDrops, st.KernelDrops)
		counter(c.authenticated, st.Authenticated)
		counter(c.sealFailed, st.SealFailed)
		if c.src.NTSKE != nil {
			c.nts.collect(c.src.NTSKE.NTSKEStats(), st.NTS, counter, gauge)
		}
	}

	if c.src.ClientLog != nil {
		st := c.src.ClientLog.ClientLogStats()
		emit(c.clCapacity, prometheus.GaugeValue, float64(st.Capacity))
		emit(c.clRecords, prometheus.GaugeValue, float64(st.Records))
		counter(c.clHits, st.Hits)
		counter(c.clDrops, st.RateLimited)
		counter(c.clKoDs, st.KoDs)
		counter(c.clLeaks, st.Leaks)
		counter(c.clContended, st.Contended)
		counter(c.clEvictions, st.Evictions)
		emit(c.clStampsHeld, prometheus.GaugeValue, float64(st.TimestampsHeld))
		counter(c.clStampEvictions, st.TimestampEvictions)
	}

	if c.src.Served != nil {
		if st, ok := c.src.Served.Served(); ok {
			sync := 0.0
			if st.Synchronized {
				sync = 1
			}
			emit(c.stratum, prometheus.GaugeValue, float64(st.Stratum))
			emit(c.rootDelay, prometheus.GaugeValue, st.RootDelay.Seconds())
			emit(c.rootDisp, prometheus.GaugeValue, st.RootDispersion.Seconds())
			emit(c.synchronized, prometheus.GaugeValue, sync)
			emit(c.leap, prometheus.GaugeValue, float64(st.Leap))
		}
	}

	if c.src.Discipline != nil {
		c.served.collect(c.src.Discipline, gauge, counter)
	}
	if c.src.Reference != nil {
		c.phc.collect(c.src.Reference, gauge, counter)
	}
	if c.src.GNSS != nil {
		c.gnss.collect(c.src.GNSS.GNSSStats(), gauge, counter)
	}

	emit(c.buildInfo, prometheus.GaugeValue, 1, c.src.Version, runtime.Version())
}

// txErrorHistogram exports h as a Prometheus histogram in seconds
// (cumulative buckets at report.TXErrorBounds).
func txErrorHistogram(d *prometheus.Desc, h *report.TXErrorHistogram) prometheus.Metric {
	bounds := report.TXErrorBounds()
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		cum += h.Counts[i]
		buckets[b.Seconds()] = cum
	}
	m, err := prometheus.NewConstHistogram(d, h.Count(), h.Sum.Seconds(), buckets)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
