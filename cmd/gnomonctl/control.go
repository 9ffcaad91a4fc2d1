package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gnomon-time/gnomon/cmdmon/chronyfmt"
	"github.com/gnomon-time/gnomon/cmdmon/client"
	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// connOpts are the root's connection flags, shared by the control commands.
type connOpts struct {
	host  string
	port  int
	noDNS bool
}

// reportedError is a failure already printed on stdout the way chronyc
// prints it ("501 Not authorised"): run exits 1 without repeating it.
type reportedError struct{ err error }

func (e reportedError) Error() string { return e.err.Error() }
func (e reportedError) Unwrap() error { return e.err }

// addControlCmds adds chronyc's monitoring and control commands to root.
func addControlCmds(root *cobra.Command) {
	o := &connOpts{}
	pf := root.PersistentFlags()
	pf.StringVar(&o.host, "host", "", "control commands: daemon address(es), comma-separated: IP[:PORT], host name or socket path (default "+client.DefaultSocket+" if it exists, then 127.0.0.1, ::1)")
	pf.IntVar(&o.port, "port", client.DefaultPort, "control commands: UDP port")
	pf.BoolVarP(&o.noDNS, "no-dns", "n", true, "control commands: print addresses, do not resolve names (always on: gnomonctl never resolves addresses to names)")

	root.AddCommand(
		ctlCmd(o, "tracking", "System clock performance (chronyc tracking)", noArgs, nil, runTracking),
		sourcesCmd(o, "sources", "Sources and their last sample (chronyc sources)", runSources),
		sourcesCmd(o, "sourcestats", "Sources' drift and offset estimates (chronyc sourcestats)", runSourceStats),
		sourcesCmd(o, "selectdata", "Source selection details (chronyc selectdata)", runSelectData),
		ctlCmd(o, "ntpdata [ADDRESS...]", "NTP measurement details of sources (chronyc ntpdata)", cobra.ArbitraryArgs, nil, runNTPData),
		ctlCmd(o, "serverstats", "NTP server counters (chronyc serverstats)", noArgs, nil, runServerStats),
		clientsCmd(o),
		ctlCmd(o, "activity", "Sources online and offline (chronyc activity)", noArgs, nil, runActivity),
		ctlCmd(o, "burst GOOD/TOTAL [ADDRESS[/MASK]]", "Take a burst of samples from sources (chronyc burst)", rangeArgs(1, 2), nil, runBurst),
		ctlCmd(o, "makestep", "Step the clock now by the remaining correction (chronyc makestep)", noArgs, nil, runMakeStep),
		ctlCmd(o, "reset sources", "Drop all sources' samples (chronyc reset sources)", exactArg("sources"), nil, runResetSources),
		newWatchCmd(o), // watch.go: live view with sparklines
	)
}

// call is what one control command gets: its client, output, flags and
// arguments.
type call struct {
	ctx     context.Context
	c       *client.Client
	w       io.Writer
	json    bool
	verbose bool
	all     bool
	args    []string
	clients clientsOpts
}

type clientsOpts struct {
	minHits    uint32
	nke, reset bool
}

func ctlCmd(o *connOpts, use, short string, args cobra.PositionalArgs, flags func(*cobra.Command, *call), run func(*call) error) *cobra.Command {
	cl := &call{}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.port < 1 || o.port > 65535 {
				return usagef("--port %d: out of range", o.port)
			}
			var targets []client.Target
			if o.host == "" {
				targets = client.DefaultTargets(client.DefaultSocket, o.port)
			} else {
				var err error
				if targets, err = client.ParseTargets(cmd.Context(), o.host, o.port); err != nil {
					return usagef("--host: %v", err)
				}
			}
			c, err := client.New(targets)
			if err != nil {
				return err
			}
			defer c.Close()
			cl.ctx, cl.c, cl.w, cl.args = cmd.Context(), c, cmd.OutOrStdout(), args
			err = run(cl)
			var se *wire.StatusError
			if err != nil && !cl.json && (errors.As(err, &se) || errors.Is(err, client.ErrNoDaemon) || errors.Is(err, client.ErrBadReply)) {
				fmt.Fprintln(cl.w, err)
				return reportedError{err}
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&cl.json, "json", false, "print JSON (see docs/operations.md)")
	if flags != nil {
		flags(cmd, cl)
	}
	return cmd
}

func sourcesCmd(o *connOpts, use, short string, run func(*call) error) *cobra.Command {
	return ctlCmd(o, use, short, noArgs, func(cmd *cobra.Command, cl *call) {
		cmd.Flags().BoolVarP(&cl.verbose, "verbose", "v", false, "print the column legend")
		cmd.Flags().BoolVarP(&cl.all, "all", "a", false, "include sources whose address is not resolved yet")
	}, run)
}

func clientsCmd(o *connOpts) *cobra.Command {
	return ctlCmd(o, "clients", "NTP and command clients of the server (chronyc clients)", noArgs, func(cmd *cobra.Command, cl *call) {
		cmd.Flags().Uint32VarP(&cl.clients.minHits, "min-packets", "p", 0, "only clients with at least this many packets")
		cmd.Flags().BoolVarP(&cl.clients.nke, "nts-ke", "k", false, "show NTS-KE columns instead of command columns")
		cmd.Flags().BoolVarP(&cl.clients.reset, "reset", "r", false, "reset the counters after reading them")
	}, runClients)
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("%s: want %d to %d arguments, got %d", cmd.CommandPath(), lo, hi, len(args))
		}
		return nil
	}
}

func exactArg(word string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 || args[0] != word {
			return usagef("%s: want the argument %q", cmd.CommandPath(), word)
		}
		return nil
	}
}

func (cl *call) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintln(cl.w, string(b))
	return err
}

func runTracking(cl *call) error {
	t, err := cl.c.Tracking(cl.ctx)
	if err != nil {
		return err
	}
	if cl.json {
		return cl.printJSON(chronyfmt.TrackingJSON(t))
	}
	return chronyfmt.WriteTracking(cl.w, t)
}

// eachSource fetches N_SOURCES, then prints the legend (-v) and header,
// then fetches and prints one row per source as chronyc does (a failure
// midway leaves the rows printed so far).
func eachSource[T any](cl *call, legend, header string, get func(uint32) (T, error), addr func(T) wire.IPAddr, row func(T) string, js func(T) any) error {
	n, err := cl.c.NSources(cl.ctx)
	if err != nil {
		return err
	}
	if !cl.json {
		if cl.verbose {
			io.WriteString(cl.w, legend)
		}
		io.WriteString(cl.w, header)
	}
	rows := []any{}
	for i := uint32(0); i < n; i++ {
		v, err := get(i)
		if err != nil {
			return err
		}
		if chronyfmt.SkipUnresolved(addr(v), cl.all) {
			continue
		}
		if cl.json {
			rows = append(rows, js(v))
		} else if _, err := io.WriteString(cl.w, row(v)); err != nil {
			return err
		}
	}
	if cl.json {
		return cl.printJSON(rows)
	}
	return nil
}

func runSources(cl *call) error {
	return eachSource(cl, chronyfmt.SourcesLegend, chronyfmt.SourcesHeader,
		func(i uint32) (wire.SourceData, error) { return cl.c.SourceData(cl.ctx, i) },
		func(d wire.SourceData) wire.IPAddr { return d.Addr }, chronyfmt.SourceRow,
		func(d wire.SourceData) any { return chronyfmt.SourceJSON(d) })
}

func runSourceStats(cl *call) error {
	return eachSource(cl, chronyfmt.SourceStatsLegend, chronyfmt.SourceStatsHeader,
		func(i uint32) (wire.SourceStats, error) { return cl.c.SourceStats(cl.ctx, i) },
		func(d wire.SourceStats) wire.IPAddr { return d.Addr }, chronyfmt.SourceStatsRow,
		func(d wire.SourceStats) any { return chronyfmt.SourceStatsJSON(d) })
}

func runSelectData(cl *call) error {
	return eachSource(cl, chronyfmt.SelectDataLegend, chronyfmt.SelectDataHeader,
		func(i uint32) (wire.SelectData, error) { return cl.c.SelectData(cl.ctx, i) },
		func(d wire.SelectData) wire.IPAddr { return d.Addr }, chronyfmt.SelectDataRow,
		func(d wire.SelectData) any { return chronyfmt.SelectDataJSON(d) })
}

// parseSourceAddr is chronyc's parse_source_address: ID#N, an IP address
// or a host name (resolved: it names what to ask about, not what to
// print).
func parseSourceAddr(ctx context.Context, s string) (wire.IPAddr, error) {
	if rest, ok := strings.CutPrefix(s, "ID#"); ok {
		id, err := strconv.ParseUint(rest, 10, 32)
		if err != nil {
			return wire.IPAddr{}, fmt.Errorf("bad source ID %q", s)
		}
		return wire.IDAddr(uint32(id)), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		as, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip", s)
		if lerr != nil || len(as) == 0 {
			return wire.IPAddr{}, fmt.Errorf("could not get address for %q", s)
		}
		a = as[0]
	}
	return ipAddr(a), nil
}

func ipAddr(a netip.Addr) wire.IPAddr { return wire.AddrOf(a) }

func runNTPData(cl *call) error {
	rows := []any{}
	// show fetches and prints one source's block; the first of several
	// given addresses gets no blank line, as chronyc's one.
	show := func(a wire.IPAddr, blank bool) error {
		d, v2, err := cl.c.NTPData(cl.ctx, a)
		if err != nil {
			return err
		}
		if cl.json {
			rows = append(rows, chronyfmt.NTPDataJSON(d, v2))
			return nil
		}
		if blank {
			io.WriteString(cl.w, "\n")
		}
		return chronyfmt.WriteNTPData(cl.w, d)
	}
	if len(cl.args) > 0 {
		var addrs []wire.IPAddr
		for _, s := range cl.args {
			a, err := parseSourceAddr(cl.ctx, s)
			if err != nil {
				return usageError{err}
			}
			addrs = append(addrs, a)
		}
		for i, a := range addrs {
			if err := show(a, i > 0); err != nil {
				return err
			}
		}
	} else {
		// chronyc's order: each source's SOURCE_DATA, then its NTP_DATA
		// (NTP sources with a real address only), a blank line before each
		// block.
		n, err := cl.c.NSources(cl.ctx)
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			d, err := cl.c.SourceData(cl.ctx, i)
			if err != nil {
				return err
			}
			if d.Mode != chronyfmt.ModeClient && d.Mode != chronyfmt.ModePeer {
				continue
			}
			if d.Addr.Family != wire.FamilyInet4 && d.Addr.Family != wire.FamilyInet6 {
				continue
			}
			if err := show(d.Addr, true); err != nil {
				return err
			}
		}
	}
	if cl.json {
		return cl.printJSON(rows)
	}
	return nil
}

func runServerStats(cl *call) error {
	s, v4, err := cl.c.ServerStats(cl.ctx)
	if err != nil {
		return err
	}
	if cl.json {
		return cl.printJSON(chronyfmt.ServerStatsJSON(s, v4))
	}
	return chronyfmt.WriteServerStats(cl.w, s)
}

// maxClientPages bounds the clients paging loop (8 records a page).
const maxClientPages = 1 << 20

func runClients(cl *call) error {
	o := cl.clients
	if !cl.json {
		io.WriteString(cl.w, chronyfmt.ClientsHeader(o.nke))
	}
	rows := []any{}
	var reset uint32
	if o.reset {
		reset = 1
	}
	next := uint32(0)
	for page := 0; page < maxClientPages; page++ {
		r, err := cl.c.ClientAccesses(cl.ctx, wire.ClientAccessesRequest{FirstIndex: next,
			NClients: wire.MaxClientsPerReply, MinHits: o.minHits, Reset: reset})
		if err != nil {
			return err
		}
		for _, c := range r.Clients {
			if c.Addr.Family == wire.FamilyUnspec {
				continue
			}
			if cl.json {
				rows = append(rows, chronyfmt.ClientJSON(c))
			} else {
				io.WriteString(cl.w, chronyfmt.ClientRow(c, o.nke))
			}
		}
		if r.NextIndex >= r.NIndices || len(r.Clients) < wire.MaxClientsPerReply || r.NextIndex <= next {
			break
		}
		next = r.NextIndex
	}
	if cl.json {
		return cl.printJSON(rows)
	}
	return nil
}

func runActivity(cl *call) error {
	a, err := cl.c.Activity(cl.ctx)
	if err != nil {
		return err
	}
	if cl.json {
		return cl.printJSON(chronyfmt.ActivityJSON(a))
	}
	return chronyfmt.WriteActivity(cl.w, a)
}

func (cl *call) ok() error {
	if cl.json {
		return cl.printJSON(chronyfmt.JSONStatus{Status: "200 OK"})
	}
	_, err := io.WriteString(cl.w, "200 OK\n")
	return err
}

func runBurst(cl *call) error {
	r, err := parseBurst(cl.ctx, cl.args)
	if err != nil {
		return usageError{err}
	}
	if err := cl.c.Burst(cl.ctx, r); err != nil {
		return err
	}
	return cl.ok()
}

// parseBurst reads chronyc's burst arguments: GOOD/TOTAL, then optionally
// ADDRESS, ADDRESS/BITS or MASK/ADDRESS (client.c read_mask_address).
func parseBurst(ctx context.Context, args []string) (wire.BurstRequest, error) {
	var r wire.BurstRequest
	g, t, ok := strings.Cut(args[0], "/")
	ng, err1 := strconv.ParseInt(g, 10, 32)
	nt, err2 := strconv.ParseInt(t, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return r, fmt.Errorf("burst: want GOOD/TOTAL, got %q", args[0])
	}
	r.NGood, r.NTotal = int32(ng), int32(nt)
	if len(args) < 2 {
		return r, nil // mask and address unspecified: all sources
	}
	s := args[1]
	if p, q, ok := strings.Cut(s, "/"); ok {
		m, err := netip.ParseAddr(p)
		if err != nil {
			return r, fmt.Errorf("burst: invalid mask/address %q", s)
		}
		if a, err := netip.ParseAddr(q); err == nil {
			if m.Unmap().Is4() != a.Unmap().Is4() {
				return r, fmt.Errorf("burst: mask and address %q of different families", s)
			}
			r.Mask, r.Addr = ipAddr(m), ipAddr(a)
			return r, nil
		}
		bits, err := strconv.ParseUint(q, 10, 32)
		if err != nil {
			return r, fmt.Errorf("burst: invalid mask/address %q", s)
		}
		r.Addr = ipAddr(m)
		r.Mask = maskBits(r.Addr.Family, int(bits))
		return r, nil
	}
	a, err := parseSourceAddr(ctx, s)
	if err != nil {
		return r, fmt.Errorf("burst: %w", err)
	}
	r.Addr = a
	r.Mask = maskBits(a.Family, -1)
	return r, nil
}

// maskBits is chronyc's bits_to_mask (bits < 0 or too large: a host mask;
// an ID address gets an unspecified mask).
func maskBits(f wire.Family, bits int) wire.IPAddr {
	n := 32
	if f == wire.FamilyInet6 {
		n = 128
	} else if f != wire.FamilyInet4 {
		return wire.IPAddr{}
	}
	if bits < 0 || bits > n {
		bits = n
	}
	b := make([]byte, n/8)
	for i := 0; i < bits; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return wire.IPAddr{Family: f, Addr: a}
}

func runMakeStep(cl *call) error {
	if err := cl.c.MakeStep(cl.ctx); err != nil {
		return err
	}
	return cl.ok()
}

func runResetSources(cl *call) error {
	if err := cl.c.ResetSources(cl.ctx); err != nil {
		return err
	}
	return cl.ok()
}
