// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3), systemd.service(5) Type=notify and notify-reload): one
// datagram of newline-separated VARIABLE=value assignments per
// notification to the Unix datagram socket named by $NOTIFY_SOCKET (a
// path, or an abstract socket name starting with '@').
//
// It is the ~30 lines of the protocol, written here instead of taking
// github.com/coreos/go-systemd/v22/daemon: that package reads and unsets
// the environment itself and dials the socket anew for every message,
// while here the caller passes the environment in (tests set their own
// socket without touching the process's environment) and the socket is
// connected once, at start-up, before gnomond gives up its privileges.
// It adds no module to go.mod.
//
// The pure parts are WatchdogInterval (WATCHDOG_USEC and WATCHDOG_PID →
// the keep-alive period, half the timeout, as sd_watchdog_enabled(3)
// advises) and the message constants; Notifier is the socket. A nil
// *Notifier (no $NOTIFY_SOCKET) accepts every call and sends nothing.
// vsock addresses ("vsock:CID:PORT", for VMs) are not supported.
package sdnotify
