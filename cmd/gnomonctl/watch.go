package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/gnomon-time/gnomon/cmdmon/chronyfmt"
	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// watchOpts are gnomonctl watch's flags.
type watchOpts struct {
	interval time.Duration
	count    int
	width    int
	host     string // as given, for the header
	// tick is the refresh clock (tests inject one).
	tick func(time.Duration) (<-chan time.Time, func())
	// now stamps each frame (tests inject one).
	now func() time.Time
}

// newWatchCmd is `gnomonctl watch`: tracking and sources redrawn every
// interval, like `watch chronyc tracking`, with sparklines of the last
// offset and of the error bound.
func newWatchCmd(o *connOpts) *cobra.Command {
	wo := &watchOpts{}
	cmd := ctlCmd(o, "watch", "Live view of tracking and sources with sparklines of offset and error bound", noArgs,
		func(cmd *cobra.Command, cl *call) {
			cmd.Flags().DurationVar(&wo.interval, "interval", time.Second, "time between refreshes")
			cmd.Flags().IntVar(&wo.count, "count", 0, "stop after this many refreshes (0: until interrupted)")
			cmd.Flags().IntVar(&wo.width, "width", 0, "samples in the sparklines (0: the terminal's width minus labels, 60 when not a terminal)")
		}, func(cl *call) error {
			wo.host = o.host
			if wo.host == "" {
				wo.host = "(default daemon)"
			}
			return runWatch(cl, wo)
		})
	cmd.Long = `Redraws chronyc's tracking block and sources table every --interval, with
sparklines of tracking's last offset and of the error bound ClockBound derives
from it (|last offset| + root dispersion + root delay/2). On a terminal the
screen is redrawn in place; otherwise (a pipe) frames are separated by a blank
line and a form feed. An unreachable daemon is shown and retried; the history
is kept. --json prints one JSON object per refresh instead.`
	return cmd
}

// terminal reports whether w is a terminal, and its width.
func terminal(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok {
		return false, 0
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return false, 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return true, 80
	}
	return true, int(ws.Col)
}

func runWatch(cl *call, wo *watchOpts) error {
	if wo.interval <= 0 || wo.count < 0 || wo.width < 0 {
		return usagef("watch: --interval must be positive, --count and --width not negative")
	}
	tty, cols := terminal(cl.w)
	n := wo.width
	if n == 0 {
		n = 60
		if tty {
			n = max(cols-sparkLabels-1, 10)
		}
	}
	tick := wo.tick
	if tick == nil {
		tick = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	now := wo.now
	if now == nil {
		now = time.Now
	}
	c, stop := tick(wo.interval)
	defer stop()
	if tty && !cl.json {
		fmt.Fprint(cl.w, "\x1b[?25l") // hide the cursor
		defer fmt.Fprint(cl.w, "\x1b[?25h")
	}
	s := &watchState{host: wo.host, interval: wo.interval}
	for i := 0; wo.count == 0 || i < wo.count; i++ {
		if i > 0 {
			select {
			case <-cl.ctx.Done():
				return nil
			case <-c:
			}
		}
		s.at = now()
		s.err = refresh(cl, s, n)
		if cl.ctx.Err() != nil {
			return nil // interrupted mid-query: no frame of "context canceled"
		}
		switch {
		case cl.json:
			if err := json.NewEncoder(cl.w).Encode(watchJSON(s)); err != nil {
				return err
			}
		case tty:
			fmt.Fprint(cl.w, "\x1b[H\x1b[2J"+renderWatch(s))
		default:
			if i > 0 {
				fmt.Fprint(cl.w, "\n\f\n")
			}
			fmt.Fprint(cl.w, renderWatch(s))
		}
	}
	return nil
}

// refresh queries tracking and sources (bounded by one interval and at
// least 2 s) into s.
func refresh(cl *call, s *watchState, n int) error {
	ctx, cancel := context.WithTimeout(cl.ctx, max(s.interval, 2*time.Second))
	defer cancel()
	t, err := cl.c.Tracking(ctx)
	if err != nil {
		return err
	}
	k, err := cl.c.NSources(ctx)
	if err != nil {
		return err
	}
	srcs := make([]wire.SourceData, 0, k)
	for i := range k {
		d, err := cl.c.SourceData(ctx, i)
		if err != nil {
			return err
		}
		srcs = append(srcs, d)
	}
	s.tracking, s.sources = t, srcs
	s.offsets = push(s.offsets, t.LastOffset, n)
	s.bounds = push(s.bounds, errorBound(t), n)
	return nil
}

type watchFrame struct {
	Time              time.Time               `json:"time"`
	Error             string                  `json:"error,omitempty"`
	Tracking          *chronyfmt.JSONTracking `json:"tracking,omitempty"`
	Sources           []chronyfmt.JSONSource  `json:"sources,omitempty"`
	ErrorBoundSeconds *float64                `json:"error_bound_seconds,omitempty"`
}

func watchJSON(s *watchState) watchFrame {
	f := watchFrame{Time: s.at.UTC()}
	if s.err != nil {
		f.Error = s.err.Error()
		return f
	}
	t := chronyfmt.TrackingJSON(s.tracking)
	f.Tracking = &t
	for _, d := range s.sources {
		f.Sources = append(f.Sources, chronyfmt.SourceJSON(d))
	}
	eb := errorBound(s.tracking)
	f.ErrorBoundSeconds = &eb
	return f
}
