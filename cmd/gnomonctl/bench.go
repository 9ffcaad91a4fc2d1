package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/gnomon-time/gnomon/ntp/loadgen"
)

func newBenchNTPCmd() *cobra.Command {
	var (
		server     string
		sources    []string
		cfg        loadgen.Config
		ntpVersion uint8
		jsonOut    bool
		verbose    bool
	)
	cmd := &cobra.Command{
		Use:   "ntp --server ADDR:PORT (--rate R | --max) [--duration D] [--count N] [flags]",
		Short: "Open-loop NTP load against one server",
		Long: `Sends NTPv4 client requests from many UDP sockets (one source port each) to one
server, either at a paced total rate (--rate, requests per second) or as fast
as a bounded window of outstanding requests per socket allows (--max), for
--duration (at most 10m). Every reply is matched to its request by a cookie and
validated (origin, mode 4, version, stratum 1..15, LI != 3; stratum 0 counts as
a KoD). Prints sent/received/lost, request and reply rates, RTT percentiles
(kernel receive timestamp minus send time) and, with --xleave, how many
replies were interleaved (RFC 9769).

Only load servers you run. Targets outside loopback, private and link-local
ranges are refused without --allow-public.

Workers: by default one per 50,000 req/s of --rate (at most GOMAXPROCS), so a
1000 req/s run uses one worker, which sleeps between sends; --max uses
GOMAXPROCS workers. A worker spins on its CPU only when its sends are less
than 100 µs apart (above about 10,000 req/s per worker) and in --max mode.
--workers N overrides the default.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" {
				return usagef("--server is required")
			}
			ap, err := parseServer(server)
			if err != nil {
				return usagef("--server %q: %v", server, err)
			}
			cfg.Server = ap
			cfg.Version = ntpVersion
			for _, s := range sources {
				a, err := netip.ParseAddr(s)
				if err != nil {
					return usagef("--source %q: %v", s, err)
				}
				cfg.Sources = append(cfg.Sources, a)
			}
			if cmd.Flags().Changed("rate") == cfg.Max {
				return usagef("give exactly one of --rate or --max")
			}
			log := slog.New(slog.DiscardHandler)
			if verbose {
				log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			}
			g, err := loadgen.New(cfg, log)
			if err != nil {
				return usageError{err}
			}
			if a := ap.Addr().Unmap(); !a.IsLoopback() {
				fmt.Fprintf(cmd.ErrOrStderr(), "gnomonctl: note: loading %v (not loopback); only load servers you run\n", ap)
			}
			res, err := g.Run(cmd.Context())
			if err != nil {
				return err
			}
			if jsonOut {
				b, err := json.MarshalIndent(res, "", "  ")
				if err != nil {
					return fmt.Errorf("encode result: %w", err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			} else if err := res.WriteTable(cmd.OutOrStdout()); err != nil {
				return fmt.Errorf("write result: %w", err)
			}
			if res.Received == 0 {
				return fmt.Errorf("no reply from %v (%d requests sent)", ap, res.Sent)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "server ADDR:PORT (IPv6 in brackets); port defaults to 123")
	f.Float64Var(&cfg.Rate, "rate", 0, "total request rate per second")
	f.BoolVar(&cfg.Max, "max", false, "send as fast as the outstanding window allows")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, fmt.Sprintf("how long to send (max %v)", loadgen.MaxDuration))
	f.Uint64Var(&cfg.Count, "count", 0, "stop after this many requests (0 = run for --duration)")
	f.IntVar(&cfg.Clients, "clients", loadgen.DefaultClients, "client sockets, one source port each")
	f.IntVar(&cfg.Workers, "workers", 0, "event-loop goroutines (0 = one per 50,000 req/s of --rate, at most GOMAXPROCS; --max: GOMAXPROCS)")
	f.IntVar(&cfg.Batch, "batch", loadgen.DefaultBatch, "requests per sendmmsg / replies per recvmmsg")
	f.IntVar(&cfg.Outstanding, "outstanding", loadgen.DefaultOutstanding, "--max: requests in flight per socket")
	f.DurationVar(&cfg.Drain, "drain", loadgen.DefaultDrain, "how long to wait for replies after the last send")
	f.BoolVar(&cfg.NoGSO, "no-gso", false, "send one sendmmsg entry per request instead of one UDP_SEGMENT send per batch")
	f.BoolVar(&cfg.Xleave, "xleave", false, "send chrony-style interleaved requests and count interleaved replies")
	f.StringSliceVar(&sources, "source", nil, "local address(es) to send from, round-robin over sockets")
	f.Uint8Var(&ntpVersion, "ntp-version", loadgen.DefaultVersion, "NTP version of requests (1..4)")
	f.BoolVar(&cfg.AllowUnsync, "allow-unsync", false, "count replies with LI=3 (unsynchronised) as valid")
	f.BoolVar(&cfg.AllowPublic, "allow-public", false, "allow a target outside loopback/private/link-local ranges")
	f.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	f.BoolVarP(&verbose, "verbose", "v", false, "log progress to stderr")
	return cmd
}

// parseServer accepts ADDR:PORT, [V6]:PORT or a bare address (port 123).
// Host names are not resolved: the target must be explicit.
func parseServer(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 123), nil
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		if _, err := netip.ParseAddr(h); err != nil {
			return netip.AddrPort{}, fmt.Errorf("not an IP address (names are not resolved)")
		}
	}
	return netip.AddrPort{}, fmt.Errorf("want ADDR:PORT")
}
