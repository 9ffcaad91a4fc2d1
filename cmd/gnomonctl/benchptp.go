package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	ptpload "github.com/gnomon-time/gnomon/ptp/loadgen"
)

func newBenchPTPCmd() *cobra.Command {
	var (
		server, source, prefix string
		cfg                    ptpload.Config
		domain                 uint8
		announceLog            int8
		jsonOut, verbose       bool
	)
	cmd := &cobra.Command{
		Use:   "ptp --server ADDR --clients N [--sync-rate HZ] [--domain D] [--duration D] [flags]",
		Short: "Simulate many unicast PTP clients against one grandmaster",
		Long: `Simulates N unicast PTP clients (IEEE 1588 unicast negotiation as ptp4l's
client does it): each asks for ANNOUNCE, then SYNC and DELAY_RESP in one
Signaling, renews at 3/4 of the granted duration, sends Delay_Req at the Sync
rate and CANCELs at the end. Reports, per message type, how many of the
expected Announce, Sync, Follow_Up and Delay_Resp arrived, the Follow_Up lag
after its Sync and the Delay_Resp round trip (p50/p99), late and missing
counts, and grants denied. Sync transit is each Sync's receive stamp minus
its Follow_Up's precise origin, whole seconds dropped (TAI origins, UTC
stamps): meaningful only when server and generator share one clock (network
namespaces on one host); above 5 µs it counts as late.

Reply ports: by default every client binds an ephemeral port pair (general G,
event G-1) and the server must answer to the requests' source ports. ptp4l
always answers to 319/320: for it use --source-prefix P, which gives client i
319 and 320 on the address of P plus i (plus i+1 when P is given by
its network address, e.g. 10.201.0.0/16; the addresses must be
configured on a local interface, e.g. in a network namespace). One worker
serves all clients through two sockets bound to 0.0.0.0:319 and :320, so
run one such generator per network namespace.

Only load servers you run. Targets outside loopback, private and link-local
ranges are refused without --allow-public.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" {
				return usagef("--server is required")
			}
			a, err := netip.ParseAddr(server)
			if err != nil {
				return usagef("--server %q: want an IPv4 address (names are not resolved; ports: --event-port, --general-port)", server)
			}
			cfg.Server = a
			cfg.Domain = domain
			cfg.AnnounceLog = announceLog
			if source != "" {
				if cfg.Source, err = netip.ParseAddr(source); err != nil {
					return usagef("--source %q: %v", source, err)
				}
			}
			if prefix != "" {
				if cfg.SourcePrefix, err = netip.ParsePrefix(prefix); err != nil {
					return usagef("--source-prefix %q: %v", prefix, err)
				}
			}
			log := slog.New(slog.DiscardHandler)
			if verbose {
				log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			}
			g, err := ptpload.New(cfg, log)
			if err != nil {
				return usageError{err}
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
			if res.MessagesRecv == 0 {
				hint := ""
				if !cfg.SourcePrefix.IsValid() {
					hint = " (a server that answers to ports 319/320, like ptp4l, needs --source-prefix)"
				}
				return fmt.Errorf("no PTP message from %v%s", a, hint)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "grandmaster IPv4 address")
	f.Uint16Var(&cfg.EventPort, "event-port", ptpload.DefaultEventPort, "server event port (Delay_Req)")
	f.Uint16Var(&cfg.GeneralPort, "general-port", ptpload.DefaultGeneralPort, "server general port (Signaling)")
	f.IntVar(&cfg.Clients, "clients", ptpload.DefaultClients, fmt.Sprintf("simulated clients (max %d; with --source-prefix %d)", ptpload.MaxClients, ptpload.MaxAddressClients))
	f.Float64Var(&cfg.SyncRate, "sync-rate", ptpload.DefaultSyncRate, "Sync and Delay_Req rate in Hz, a power of two (1/64..128)")
	f.Int8Var(&announceLog, "announce-log", ptpload.DefaultAnnounceLog, "log2 of the Announce interval requested (s)")
	f.Uint8Var(&domain, "domain", 0, "PTP domainNumber")
	f.DurationVar(&cfg.Grant, "grant", ptpload.DefaultGrant, "contract duration requested (whole seconds; renewed at 3/4)")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, fmt.Sprintf("how long the clients run (max %v)", ptpload.MaxDuration))
	f.DurationVar(&cfg.Drain, "drain", ptpload.DefaultDrain, "how long to collect messages after the CANCELs")
	f.DurationVar(&cfg.LateAfter, "late-after", ptpload.DefaultLateAfter, "Follow_Up lag or Delay_Resp RTT above this counts as late")
	f.DurationVar(&cfg.GrantWait, "grant-wait", ptpload.DefaultGrantWait, "resend an unanswered request (or retry a denied one) after this")
	f.StringVar(&prefix, "source-prefix", "", "address mode: client i uses 319/320 on this prefix's address + i (network address given: + i+1); one worker, two shared sockets")
	f.StringVar(&source, "source", "", "port mode: local IPv4 address the clients bind (default any)")
	f.IntVar(&cfg.Workers, "workers", 0, fmt.Sprintf("event loops (0 = one per %d clients, at most GOMAXPROCS)", ptpload.ClientsPerWorker))
	f.BoolVar(&cfg.AllowPublic, "allow-public", false, "allow a target outside loopback/private/link-local ranges")
	f.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	f.BoolVarP(&verbose, "verbose", "v", false, "log progress to stderr")
	return cmd
}
