package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/gnomon-time/gnomon/config"
	"github.com/gnomon-time/gnomon/internal/privdrop"
	"github.com/gnomon-time/gnomon/internal/sdnotify"
	"github.com/gnomon-time/gnomon/report"
)

// statusEvery is how often the STATUS= line is refreshed (when it changed).
const statusEvery = 10 * time.Second

// procEnv is what gnomond takes from its process besides flags: the
// environment (systemd's NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID) and
// whether it may change its own credentials. main sets both; tests that
// run gnomond inside the test process leave them off, so that the test
// process keeps its privileges and ignores a NOTIFY_SOCKET it inherited.
type procEnv struct {
	getenv func(string) string
	// dropPrivileges: switch to process.user and cut the capabilities
	// after start-up.
	dropPrivileges bool
}

func (e procEnv) env(k string) string {
	if e.getenv == nil {
		return ""
	}
	return e.getenv(k)
}

// capNeeds says what cfg does after start-up that needs a capability.
func capNeeds(cfg *config.Config) privdrop.Needs {
	return privdrop.Needs{
		// servedMode: system without sources steers nothing.
		SteerRealtime: servedMode(cfg) == config.ClockSystem,
		// Every gnss entry of sources runs a kernel PPS device; the phc
		// section's pulse is EXTTS on the PHC (no capability).
		KernelPPS: len(cfg.GNSSSources()) > 0,
	}
}

// dropPrivileges switches to process.user (when set) and keeps only the
// capabilities cfg needs while running. ctlSocket is the control socket's
// path ("" = none): it is given to the user first, so that the socket
// belongs to whoever serves it. A process without privileges to give up
// passes through with its credentials logged.
func dropPrivileges(cfg *config.Config, ctlSocket string, log *slog.Logger) error {
	plan := privdrop.PlanFor(capNeeds(cfg))
	var t privdrop.Target
	if u := cfg.Process.User; u != "" {
		uid, gid, err := cfg.Process.IDs()
		if err != nil {
			return configError{err: fmt.Errorf("process.user %q: %w", u, err)}
		}
		t = privdrop.Target{Switch: true, UID: uid, GID: gid}
		if err := giveKeyFile(cfg, uid, gid); err != nil {
			return err
		}
		if ctlSocket != "" {
			// control.socket_group "" means gnomond's group: the
			// process's after the switch.
			g := gid
			if cfg.Control.SocketGroup != "" {
				g = -1
			}
			if err := os.Chown(ctlSocket, uid, g); err != nil {
				return fmt.Errorf("control socket %s: give it to process.user %q: %w", ctlSocket, u, err)
			}
		}
	}
	res, err := privdrop.Drop(t, plan)
	if errors.Is(err, privdrop.ErrCgo) && !t.Switch {
		log.Warn("capabilities not dropped", "reason", err.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("drop privileges: %w", err)
	}
	for _, r := range plan.Reasons {
		if !res.Missing.Has(r.Cap) {
			log.Info("capability kept", "capability", r.Cap.String(), "reason", r.Why)
		}
	}
	if res.Missing != 0 {
		log.Warn("the configuration needs capabilities gnomond was started without; what needs them will fail",
			"missing", res.Missing.String())
	}
	a := res.After
	log.Info("privileges after start-up", "uid", a.UID[1], "gid", a.GID[1], "user_switched", res.Switched,
		"capabilities", a.Eff.String(), "bounding_set", a.Bnd.String(), "no_new_privs", a.NoNewPrivs,
		"notes", strings.Join(res.Notes, "; "))
	return nil
}

// notifier is the systemd notification side of the daemon: the socket
// (nil outside systemd) and the watchdog period (0 = off).
type notifier struct {
	n        *sdnotify.Notifier
	watchdog time.Duration
	log      *slog.Logger
}

// openNotifier connects to $NOTIFY_SOCKET. Problems are logged and leave
// gnomond running without notifications (systemd then times the start-up
// out, which says more than an exit would).
func openNotifier(env procEnv, log *slog.Logger) *notifier {
	nt := &notifier{log: log}
	n, err := sdnotify.Open(env.env(sdnotify.EnvSocket))
	if err != nil {
		log.Warn("systemd notification socket unusable; not notifying", "error", err.Error())
		return nt
	}
	nt.n = n
	wd, err := sdnotify.WatchdogInterval(env.env(sdnotify.EnvWatchdogUsec), env.env(sdnotify.EnvWatchdogPID), os.Getpid())
	if err != nil {
		log.Warn("systemd watchdog settings unusable; not sending WATCHDOG=1", "error", err.Error())
	}
	nt.watchdog = wd
	if n != nil {
		log.Info("notifying systemd", "socket", env.env(sdnotify.EnvSocket), "watchdog_interval", wd)
	}
	return nt
}

func (nt *notifier) send(lines ...string) {
	if nt == nil || nt.n == nil {
		return
	}
	if err := nt.n.Notify(lines...); err != nil {
		nt.log.Warn("systemd notification failed", "error", err.Error())
	}
}

// reloading and reloaded bracket a reload (Type=notify-reload wants
// MONOTONIC_USEC with RELOADING=1). A failed reload keeps the running
// configuration, so READY=1 follows either way.
func (nt *notifier) reloading() {
	if nt == nil || nt.n == nil {
		return
	}
	lines := []string{sdnotify.Reloading}
	if m, err := sdnotify.Monotonic(); err == nil {
		lines = append(lines, sdnotify.MonotonicUsec(m))
	}
	nt.send(lines...)
}

func (nt *notifier) reloaded(err error, status string) {
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		status = "reload failed, running configuration kept: " + first + "; " + status
	}
	nt.send(sdnotify.Ready, sdnotify.Status(status))
}

func (nt *notifier) close() {
	if nt != nil {
		nt.n.Close()
	}
}

// run sends READY=1 with the first STATUS=, then refreshes STATUS= every
// statusEvery when it changed and sends WATCHDOG=1 every watchdog period,
// and STOPPING=1 when ctx ends.
func (nt *notifier) run(ctx context.Context, status func() string) error {
	if nt.n == nil {
		return nil
	}
	last := status()
	nt.send(sdnotify.Ready, sdnotify.Status(last))
	st := time.NewTicker(statusEvery)
	defer st.Stop()
	var wd <-chan time.Time
	if nt.watchdog > 0 {
		t := time.NewTicker(nt.watchdog)
		defer t.Stop()
		wd = t.C
		nt.send(sdnotify.Watchdog)
	}
	for {
		select {
		case <-ctx.Done():
			nt.send(sdnotify.Stopping, sdnotify.Status("stopping"))
			return nil
		case <-st.C:
			if s := status(); s != last {
				last = s
				nt.send(sdnotify.Status(s))
			}
		case <-wd:
			nt.send(sdnotify.Watchdog)
		}
	}
}

// statusLine is the STATUS= text for systemctl status: the discipline's
// state in a few words.
func statusLine(t report.Tracking, ok bool) string {
	if !ok || !t.Synchronized {
		return "not synchronized"
	}
	var s string
	if t.Mode == report.SyncLocal || t.RefName == "" {
		s = fmt.Sprintf("%s, stratum %d", t.Mode, t.Stratum)
	} else {
		off := t.LastOffset.Round(time.Nanosecond).String()
		if t.LastOffset >= 0 {
			off = "+" + off
		}
		s = fmt.Sprintf("%s to %s, stratum %d, last offset %s", t.Mode, t.RefName, t.Stratum, off)
	}
	return s + fmt.Sprintf(", error bound ±%v", t.ErrorBound.Round(time.Nanosecond))
}
