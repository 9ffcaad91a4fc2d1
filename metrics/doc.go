// Package metrics exposes gnomond's counters and clock state to Prometheus.
//
// A single custom prometheus.Collector reads package report's structs at
// scrape time: report.ServerStats from the NTP shell (ntp/serve's
// Service.ServerStats, sharded atomic counters summed on request),
// report.ClientLogStats from the client log, report.Served (the published
// clock.SyncState grown to the scrape time) and, with a steered clock,
// report.Tracking, report.Source and report.DriverStats; with the phc
// section, the same reports of the PHC's engine (gnomon_phc_*: families
// of their own, so that the served clock's series, dashboards and alerts
// keep their meaning) and report.GNSSStats of every GNSS reference
// (gnomon_gnss_*). It imports report
// and nothing else of gnomon (a test checks this over `go list -deps`), so
// new parts of the daemon (PTP, GNSS, the control socket) widen report, not
// this package. Nothing is updated per packet through the Prometheus API;
// label values are fixed (one per verdict the server reports, one per
// timestamp kind, selection state and sync mode) and always present, so
// series do not appear and disappear.
//
// Names follow Prometheus conventions: the gnomon_ prefix, base units
// (seconds), _total for counters, gnomon_build_info for the version.
//
// The package creates no registry and opens no listener: cmd/gnomond owns
// the registry and the HTTP server, passes the daemon's parts that fill
// the interfaces here (ntp/serve's Service, ntp/clientlog's Log,
// source.Runner) and a prometheus.Registerer in.
package metrics
