package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/gnomon-time/gnomon/ntp/probe"
)

// probeUsage is a bad invocation of probe: UNKNOWN (3), as monitoring
// plugins report bad arguments, not gnomonctl's usual 2 (which a monitoring
// system would read as CRITICAL).
func probeUsage(err error) error {
	return exitError{code: probe.Unknown.ExitCode(), err: usageError{err}}
}

// newProbeCmd returns `gnomonctl probe`: query NTP servers once each,
// concurrently, print what they said and exit with a monitoring-plugin
// status.
func newProbeCmd() *cobra.Command {
	o := probe.DefaultOptions()
	var (
		port    uint16
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "probe HOST[:PORT]... [--warn D] [--crit D] [--warn-distance D] [--crit-distance D] [--timeout D] [--port N] [--count N] [--json]",
		Short: "Query NTP servers once and judge them like a monitoring plugin (Nagios exit codes)",
		Long: `Queries every server concurrently (NTPv4 client requests, github.com/beevik/ntp,
kernel receive timestamps) and prints, per server: status, offset (server −
this host's clock; positive: this host is behind), delay (round trip minus the
server's processing), stratum, leap indicator, reference ID (hex, and as text
for stratum 0 and 1), root distance ((delay + root delay)/2 + root dispersion,
as beevik computes it) and why the status is not OK. With --count N each
server gets N requests --interval apart and the reply with the smallest delay
counts (a reply that passes validation beats one that does not).

Servers: host names, IPv4, IPv6 and [IPv6]:port; the port defaults to --port.
A name is resolved to its first address.

Text output: the first line is the status line (monitoring systems take a
plugin's first line as its summary), then a table, one row per server. --json
prints one object: status, exit_code, thresholds and servers (durations in
integer ns, refid as hex).

Per-server status:
  UNKNOWN   no usable reply: name not resolved, timeout, port unreachable,
            malformed reply; or a kiss-o'-death refusing this client (RATE,
            DENY, RSTR): the time could not be measured
  CRITICAL  the reply fails beevik's validation (LI 3 unsynchronised,
            stratum 0 or ≥ 16, stale reference time, root distance ≥ 16 s),
            or |offset| > --crit, or root distance > --crit-distance
  WARNING   |offset| > --warn, or root distance > --warn-distance
  OK        otherwise
Limits are exceeded when strictly greater; 0 switches one off. Root-distance
limits are off by default: the root distance says how far the server's time
may be from true time, the offset how far this host is from the server, and
only the operator knows which of the two to alert on.

Exit status (Nagios plugin convention): the worst server's status, ordered
CRITICAL > WARNING > UNKNOWN > OK, so one unreachable server among good ones
exits 3, and an unreachable one next to a critical one 2.
  0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for bad flags or arguments).`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return probeUsage(errors.New("want at least one HOST[:PORT]"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if port == 0 {
				return probeUsage(errors.New("--port 0: want 1 … 65535"))
			}
			targets, err := probe.ParseTargets(args, port)
			if err := errors.Join(err, o.Validate()); err != nil {
				return probeUsage(err)
			}
			r, err := probe.Probe(cmd.Context(), targets, o)
			if err != nil {
				return probeUsage(err)
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				err = probe.WriteJSON(out, r)
			} else {
				err = probe.WriteText(out, r)
			}
			if err != nil {
				return exitError{code: probe.Unknown.ExitCode(), err: err}
			}
			if r.Status == probe.OK {
				return nil
			}
			return exitError{code: r.Status.ExitCode()}
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return probeUsage(err) })
	f := cmd.Flags()
	f.DurationVar(&o.WarnOffset, "warn", o.WarnOffset, "WARNING when |offset| exceeds this (0: off)")
	f.DurationVar(&o.CritOffset, "crit", o.CritOffset, "CRITICAL when |offset| exceeds this (0: off)")
	f.DurationVar(&o.WarnDistance, "warn-distance", 0, "WARNING when the root distance exceeds this (0: off)")
	f.DurationVar(&o.CritDistance, "crit-distance", 0, "CRITICAL when the root distance exceeds this (0: off)")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "per request (and per name lookup), at most 1m")
	f.Uint16Var(&port, "port", 123, "port for servers given without one")
	f.IntVar(&o.Count, "count", o.Count, "requests per server (1…16); the smallest delay counts")
	f.DurationVar(&o.Interval, "interval", o.Interval, "pause between a server's requests with --count (0…10s)")
	f.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	return cmd
}
