package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gnomon-time/gnomon/report"
)

func newPTPCmd() *cobra.Command {
	ptp := &cobra.Command{
		Use:   "ptp",
		Short: "gnomond's PTP grandmaster",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var (
		url      string
		interval time.Duration
		jsonOut  bool
	)
	status := &cobra.Command{
		Use:   "status [--url URL] [--interval D] [--json]",
		Short: "The grandmaster's state, clock quality, grants by client and message rates",
		Long: `Reads gnomond's PTP status (GET /ptp/status on its metrics listener) twice,
--interval apart, and prints the grandmaster's identity and domain, the clock
quality its Announces carry (clockClass, clockAccuracy, timeSource, UTC offset
and flags), its unicast grants by client (type, period, time to expiry) and the
rate of each message type over the interval. --json prints the second reading
with the rates (per second) added.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval <= 0 || interval > time.Minute {
				return usagef("--interval %v: want 0 < D ≤ 1m", interval)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), interval+10*time.Second)
			defer cancel()
			u := strings.TrimSuffix(url, "/") + "/ptp/status"
			a, err := fetchPTPStatus(ctx, u)
			if err != nil {
				return err
			}
			select {
			case <-time.After(interval):
			case <-ctx.Done():
				return ctx.Err()
			}
			b, err := fetchPTPStatus(ctx, u)
			if err != nil {
				return err
			}
			rates := ptpRates(a, b)
			if jsonOut {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					report.PTPStatus
					Rates map[string]float64 `json:"RatesPerSecond"`
				}{b, rates})
			}
			writePTPStatus(cmd.OutOrStdout(), b, rates)
			return nil
		},
	}
	status.Flags().StringVar(&url, "url", "http://127.0.0.1:11124", "gnomond's metrics listener")
	status.Flags().DurationVar(&interval, "interval", time.Second, "time between the two readings the rates come from")
	status.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	ptp.AddCommand(status)
	return ptp
}

func fetchPTPStatus(ctx context.Context, url string) (report.PTPStatus, error) {
	var st report.PTPStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return st, usagef("--url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("ptp status: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("ptp status: %s: %s (is ptp.enabled set?)", url, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&st); err != nil {
		return st, fmt.Errorf("ptp status: %s: %w", url, err)
	}
	return st, nil
}

// ptpRates are the sent (sent_TYPE) and received (received_VERDICT)
// message rates per second between two readings.
func ptpRates(a, b report.PTPStatus) map[string]float64 {
	dt := b.At.Sub(a.At).Seconds()
	out := map[string]float64{}
	if dt <= 0 {
		return out
	}
	rate := func(prefix string, xa, xb []report.LabelCount) {
		for _, v := range xb {
			var old uint64
			for _, w := range xa {
				if w.Label == v.Label {
					old = w.Count
				}
			}
			if v.Count >= old {
				out[prefix+v.Label] = float64(v.Count-old) / dt
			}
		}
	}
	rate("sent_", a.Stats.Sent, b.Stats.Sent)
	rate("received_", a.Stats.Received, b.Stats.Received)
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// writePTPStatus prints the status as text.
func writePTPStatus(w io.Writer, st report.PTPStatus, rates map[string]float64) {
	fmt.Fprintf(w, "Grandmaster     : %s, domain %d\n", st.ClockIdentity, st.Domain)
	fmt.Fprintf(w, "Clock class     : %d\n", st.ClockClass)
	fmt.Fprintf(w, "Clock accuracy  : 0x%02x\n", st.ClockAccuracy)
	fmt.Fprintf(w, "Time source     : 0x%02x\n", st.TimeSource)
	fmt.Fprintf(w, "UTC offset      : %d s (valid: %s)\n", st.UTCOffset, yesNo(st.UTCOffsetValid))
	fmt.Fprintf(w, "Traceable       : time %s, frequency %s\n", yesNo(st.TimeTraceable), yesNo(st.FrequencyTraceable))
	fmt.Fprintf(w, "Clients         : %d\n", st.Stats.Clients)
	var sent []string
	for _, v := range st.Stats.Sent {
		sent = append(sent, fmt.Sprintf("%s %.1f/s", v.Label, rates["sent_"+v.Label]))
	}
	fmt.Fprintf(w, "Sent            : %s\n", strings.Join(sent, ", "))
	var recv []string
	for _, v := range st.Stats.Received {
		if r := rates["received_"+v.Label]; r > 0 || v.Count > 0 {
			recv = append(recv, fmt.Sprintf("%s %.1f/s (%d)", v.Label, r, v.Count))
		}
	}
	fmt.Fprintf(w, "Received        : %s\n", strings.Join(recv, ", "))
	fmt.Fprintf(w, "TX stamp misses : %d\n", st.Stats.TXMisses)
	fmt.Fprintf(w, "Foreign masters : %d Announces (noted, not obeyed)\n", st.Stats.ForeignAnnounces)
	grants := slices.Clone(st.Grants)
	slices.SortFunc(grants, func(a, b report.PTPGrant) int {
		if c := a.Client.Compare(b.Client); c != 0 {
			return c
		}
		return strings.Compare(a.Type, b.Type)
	})
	fmt.Fprintf(w, "\n%-40s %-26s %-10s %8s %10s\n", "Client", "Port identity", "Type", "Interval", "Expires in")
	fmt.Fprintln(w, strings.Repeat("=", 98))
	for _, g := range grants {
		fmt.Fprintf(w, "%-40s %-26s %-10s %8s %9.0fs\n", g.Client, g.PortID, g.Type, logInterval(g.LogInterval), g.Expires.Sub(st.At).Seconds())
	}
}

// logInterval prints 2^l seconds.
func logInterval(l int8) string {
	if l >= 0 {
		return fmt.Sprintf("%ds", 1<<uint(min(l, 30)))
	}
	return fmt.Sprintf("1/%ds", 1<<uint(min(-int(l), 30)))
}
