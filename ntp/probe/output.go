package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// StatusLine is the one-line summary: "NTP <STATUS>: counts; detail". It
// comes first in the text output because monitoring systems (Nagios and
// its descendants) take a plugin's first line as its summary.
func StatusLine(r Report) string {
	var counts [4]int
	worst := -1
	for i, x := range r.Results {
		if x.Status >= OK && x.Status <= Unknown {
			counts[x.Status]++
		}
		if x.Status == r.Status && x.Status != OK && worst < 0 {
			worst = i
		}
	}
	var parts []string
	for _, s := range []Status{OK, Warning, Critical, Unknown} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	line := fmt.Sprintf("NTP %s: %s", r.Status, strings.Join(parts, ", "))
	if worst >= 0 {
		x := r.Results[worst]
		return line + fmt.Sprintf("; %s: %s", x.Target, x.Reason)
	}
	var maxOff time.Duration
	for _, x := range r.Results {
		if x.Reply != nil {
			maxOff = max(maxOff, x.Reply.Offset.Abs())
		}
	}
	return line + fmt.Sprintf("; max |offset| %v (warn %s, crit %s)", maxOff,
		limit(r.Thresholds.WarnOffset), limit(r.Thresholds.CritOffset))
}

func limit(d time.Duration) string {
	if d == 0 {
		return "off"
	}
	return d.String()
}

// signed renders d with an explicit sign.
func signed(d time.Duration) string {
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

// WriteText writes the status line and a table, one row per server.
func WriteText(w io.Writer, r Report) error {
	if _, err := fmt.Fprintln(w, StatusLine(r)); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tADDRESS\tSTATUS\tOFFSET\tDELAY\tST\tLEAP\tREFID\tROOT-DIST\tNOTE")
	for _, x := range r.Results {
		addr := x.Address
		if addr == "" {
			addr = "-"
		}
		p := x.Reply
		if p == nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t%s\n", x.Target, addr, x.Status, x.Reason)
			continue
		}
		ref := fmt.Sprintf("%08X", p.RefID)
		if a := p.RefIDASCII(); a != "" {
			ref += " " + a
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%d\t%s\t%s\t%v\t%s\n", x.Target, addr, x.Status,
			signed(p.Offset), p.Delay, p.Stratum, p.Leap, ref, p.RootDistance, x.Reason)
	}
	return tw.Flush()
}

type jsonReport struct {
	Status     Status         `json:"status"`
	ExitCode   int            `json:"exit_code"`
	Thresholds jsonThresholds `json:"thresholds"`
	Servers    []jsonResult   `json:"servers"`
}

type jsonThresholds struct {
	WarnOffset   time.Duration `json:"warn_offset_ns"`
	CritOffset   time.Duration `json:"crit_offset_ns"`
	WarnDistance time.Duration `json:"warn_root_distance_ns"`
	CritDistance time.Duration `json:"crit_root_distance_ns"`
}

type jsonResult struct {
	Target  string     `json:"target"`
	Address string     `json:"address,omitempty"`
	Status  Status     `json:"status"`
	Reason  string     `json:"reason,omitempty"`
	Error   string     `json:"error,omitempty"`
	Sent    int        `json:"sent"`
	Replies int        `json:"replies"`
	Reply   *jsonReply `json:"reply,omitempty"`
}

type jsonReply struct {
	Offset         time.Duration `json:"offset_ns"`
	Delay          time.Duration `json:"delay_ns"`
	Version        int           `json:"version"`
	Stratum        uint8         `json:"stratum"`
	LI             uint8         `json:"leap_indicator"`
	Leap           string        `json:"leap"`
	RefID          string        `json:"refid"`
	RefIDASCII     string        `json:"refid_ascii,omitempty"`
	RootDelay      time.Duration `json:"root_delay_ns"`
	RootDispersion time.Duration `json:"root_dispersion_ns"`
	RootDistance   time.Duration `json:"root_distance_ns"`
	Precision      time.Duration `json:"precision_ns"`
	Invalid        string        `json:"invalid,omitempty"`
}

// WriteJSON writes r as one indented JSON object: status, exit_code,
// thresholds and one entry per server (durations in integer ns, refid as
// 0x-prefixed hex).
func WriteJSON(w io.Writer, r Report) error {
	out := jsonReport{
		Status:   r.Status,
		ExitCode: r.Status.ExitCode(),
		Thresholds: jsonThresholds{r.Thresholds.WarnOffset, r.Thresholds.CritOffset,
			r.Thresholds.WarnDistance, r.Thresholds.CritDistance},
		Servers: make([]jsonResult, 0, len(r.Results)),
	}
	for _, x := range r.Results {
		j := jsonResult{Target: x.Target, Address: x.Address, Status: x.Status, Reason: x.Reason,
			Error: x.Err, Sent: x.Sent, Replies: x.Replies}
		if p := x.Reply; p != nil {
			j.Reply = &jsonReply{
				Offset: p.Offset, Delay: p.Delay, Version: p.Version, Stratum: p.Stratum,
				LI: uint8(p.Leap), Leap: p.Leap.String(), RefID: fmt.Sprintf("0x%08X", p.RefID),
				RefIDASCII: p.RefIDASCII(), RootDelay: p.RootDelay, RootDispersion: p.RootDispersion,
				RootDistance: p.RootDistance, Precision: p.Precision, Invalid: p.Invalid,
			}
		}
		out.Servers = append(out.Servers, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
