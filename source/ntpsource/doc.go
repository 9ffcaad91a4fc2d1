// Package ntpsource plugs upstream NTP servers into a discipline engine:
// Source wraps the ntp/upstream poller as one source.Source with a
// reference per server. Each reference's Reporter reads the server's
// latest client.Estimate from an upstream.Cache (aged to the evaluation
// time); each accepted sample is forwarded to the Runner's Sink; Restart
// restarts every association after a step and returns once upstream has
// served a Status request queued behind it (its control queue is FIFO).
//
// # Host names
//
// The reference ID served while a server is the system peer comes from its
// address. For a server configured by host name, a goroutine (watchAddrs)
// copies the address upstream resolved from upstream's Status into the
// server's Reporter (atomically): every 2 s until every name is resolved,
// then every 64 s.
//
// Report and Sample are the one mapping from ntp/client's estimate and
// sample to the engine's, also used by the simulator (scenario).
package ntpsource
