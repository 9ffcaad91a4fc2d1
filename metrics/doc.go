// Package metrics exposes gnomond's counters and clock state to Prometheus.
//
// A single custom prometheus.Collector reads the sources at scrape time: the
// NTP shell's sharded atomic counters (ntp/serve.Service.Stats), the client
// log's counters (ntp/clientlog.Log.Stats) and the current clock.SyncState.
// Nothing is updated per packet through the Prometheus API; label values are
// fixed (one per ntp.Verdict, one per timestamp kind) and always present, so
// series do not appear and disappear.
//
// Names follow Prometheus conventions: the gnomon_ prefix, base units
// (seconds), _total for counters, gnomon_build_info for the version.
//
// The package creates no registry and opens no listener: cmd/gnomond owns
// the registry and the HTTP server and passes a prometheus.Registerer in.
package metrics
