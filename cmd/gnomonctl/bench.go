package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gnomon-time/gnomon/ntp/loadgen"
	"github.com/gnomon-time/gnomon/ntp/symkey"
)

func newBenchNTPCmd() *cobra.Command {
	var (
		server     string
		sources    []string
		cfg        loadgen.Config
		ntpVersion uint8
		jsonOut    bool
		verbose    bool
		mix        string
		malformed  int
		macSpec    string
		macKeys    string
		macKeyID   uint32
		ntsCA      string
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
--workers N overrides the default.

Mixed clients (--mix KIND=PCT,...; kinds basic, xleave, nts, mac, malformed;
shares of the sockets, summing to 100): mac sockets sign every request with
--mac ID:TYPE:HEXKEY (or --mac-keys FILE --mac-key-id ID, chrony's format)
and need a valid MAC with that key on every reply; nts sockets do NTS-KE with
--nts HOST:PORT (trusting --nts-ca FILE) before the run and send NTS requests
(Unique Identifier, cookie, a placeholder when cookies run low,
authenticator) whose replies must echo the identifier and authenticate with
the S2C key; malformed sockets (--malformed PCT, the same as malformed=PCT)
send truncated, bad-version, bad-mode, oversized, bad-extension,
unknown-key MAC (a crypto-NAK is the only allowed answer) and, with a MAC
key, wrong-digest requests, and with NTS in the mix broken NTS fields; they
must get no reply. Any reply that breaks a rule counts as a wrong reply.`,
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
			if err := benchAuth(&cfg, mix, malformed, macSpec, macKeys, macKeyID, ntsCA); err != nil {
				return usageError{err}
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
	f.StringVar(&mix, "mix", "", "socket shares, e.g. basic=40,xleave=30,nts=15,mac=15 (percent, sum 100)")
	f.IntVar(&malformed, "malformed", 0, "percent of sockets sending requests that must get no reply (taken from basic when --mix has no malformed)")
	f.StringVar(&macSpec, "mac", "", "symmetric key for mac clients: ID:TYPE:HEXKEY (TYPE as in chrony's key file, e.g. AES128)")
	f.StringVar(&macKeys, "mac-keys", "", "chrony-format key file holding the mac clients' key (with --mac-key-id)")
	f.Uint32Var(&macKeyID, "mac-key-id", 0, "key ID in --mac-keys")
	f.StringVar(&cfg.NTSServer, "nts", "", "NTS-KE server HOST:PORT for nts clients (NTP still goes to --server)")
	f.StringVar(&ntsCA, "nts-ca", "", "PEM file of the CA the NTS-KE server's certificate must chain to (default: system roots)")
	f.IntVar(&cfg.NTSPerKE, "nts-per-ke", loadgen.DefaultNTSPerKE, "nts sockets sharing one NTS-KE session")
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

// benchAuth fills the mix, MAC key and NTS TLS fields of cfg from the flags.
func benchAuth(cfg *loadgen.Config, mix string, malformed int, macSpec, macKeys string, macKeyID uint32, ntsCA string) error {
	if mix != "" {
		m, err := loadgen.ParseMix(mix)
		if err != nil {
			return err
		}
		cfg.Mix = m
	}
	if malformed != 0 {
		if malformed < 0 || malformed > 100 {
			return fmt.Errorf("--malformed %d: want 0..100", malformed)
		}
		switch {
		case cfg.Mix.IsZero():
			k := loadgen.KindBasic
			if cfg.Xleave {
				k, cfg.Xleave = loadgen.KindXleave, false
			}
			cfg.Mix[k], cfg.Mix[loadgen.KindMalformed] = 100-malformed, malformed
		case cfg.Mix[loadgen.KindMalformed] == 0 && cfg.Mix[loadgen.KindBasic] >= malformed:
			cfg.Mix[loadgen.KindBasic] -= malformed
			cfg.Mix[loadgen.KindMalformed] = malformed
		default:
			return fmt.Errorf("--malformed %d with --mix %q: give malformed= in the mix, or a basic share of at least %d", malformed, mix, malformed)
		}
	}
	var text, name string
	switch {
	case macSpec != "" && macKeys != "":
		return fmt.Errorf("give --mac or --mac-keys, not both")
	case macSpec != "":
		parts := strings.SplitN(macSpec, ":", 3)
		if len(parts) != 3 {
			return fmt.Errorf("--mac %q: want ID:TYPE:HEXKEY", "…")
		}
		text, name = parts[0]+" "+parts[1]+" HEX:"+parts[2]+"\n", "--mac"
		id, err := strconv.ParseUint(parts[0], 10, 32)
		if err != nil {
			return fmt.Errorf("--mac: key ID %q: %v", parts[0], err)
		}
		macKeyID = uint32(id)
	case macKeys != "":
		b, err := os.ReadFile(macKeys)
		if err != nil {
			return fmt.Errorf("--mac-keys: %w", err)
		}
		text, name = string(b), macKeys
	}
	if text != "" {
		keys, err := symkey.Parse(name, []byte(text))
		if err != nil {
			return err
		}
		if cfg.MACKey = keys.Lookup(macKeyID); cfg.MACKey == nil {
			return fmt.Errorf("%s: no key %d (--mac-key-id)", name, macKeyID)
		}
		if cfg.Mix.IsZero() {
			cfg.Mix[loadgen.KindMAC] = 100
		}
	}
	if cfg.NTSServer != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS13}
		if host, _, err := net.SplitHostPort(cfg.NTSServer); err == nil {
			tc.ServerName = host
		}
		if ntsCA != "" {
			pem, err := os.ReadFile(ntsCA)
			if err != nil {
				return fmt.Errorf("--nts-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("--nts-ca %s: no PEM certificate in it", ntsCA)
			}
			tc.RootCAs = pool
		}
		cfg.NTSTLS = tc
		if cfg.Mix.IsZero() {
			cfg.Mix[loadgen.KindNTS] = 100
		}
	}
	return nil
}
