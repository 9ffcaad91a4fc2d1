package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Messages of sd_notify(3).
const (
	Ready     = "READY=1"
	Reloading = "RELOADING=1"
	Stopping  = "STOPPING=1"
	Watchdog  = "WATCHDOG=1"
)

// Environment variables systemd sets for a service.
const (
	EnvSocket       = "NOTIFY_SOCKET"
	EnvWatchdogUsec = "WATCHDOG_USEC"
	EnvWatchdogPID  = "WATCHDOG_PID"
)

// Status is a STATUS= line: free text systemctl status shows. Newlines
// would start a new assignment and are replaced by spaces.
func Status(s string) string {
	return "STATUS=" + strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// MonotonicUsec is the MONOTONIC_USEC= line that Type=notify-reload wants
// next to RELOADING=1: CLOCK_MONOTONIC in microseconds.
func MonotonicUsec(monotonic time.Duration) string {
	return "MONOTONIC_USEC=" + strconv.FormatInt(monotonic.Microseconds(), 10)
}

// WatchdogInterval returns how often to send WATCHDOG=1 for the
// environment values usec ($WATCHDOG_USEC) and pid ($WATCHDOG_PID) in a
// process whose PID is self: half the timeout, or 0 when the watchdog is
// off (no WATCHDOG_USEC, or WATCHDOG_PID names another process). A value
// that does not parse is an error.
func WatchdogInterval(usec, pid string, self int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p <= 0 {
			return 0, fmt.Errorf("%s=%q: not a process ID", EnvWatchdogPID, pid)
		}
		if p != self {
			return 0, nil
		}
	}
	u, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || u == 0 {
		return 0, fmt.Errorf("%s=%q: not a positive number of microseconds", EnvWatchdogUsec, usec)
	}
	if u > uint64(time.Duration(1<<62)/time.Microsecond) {
		return 0, fmt.Errorf("%s=%q: too large", EnvWatchdogUsec, usec)
	}
	return time.Duration(u) * time.Microsecond / 2, nil
}

// Notifier sends notifications to the service manager.
type Notifier struct {
	conn *net.UnixConn
}

// Open connects to socket ($NOTIFY_SOCKET). An empty socket returns a nil
// Notifier, which sends nothing.
func Open(socket string) (*Notifier, error) {
	if socket == "" {
		return nil, nil
	}
	if !strings.HasPrefix(socket, "/") && !strings.HasPrefix(socket, "@") {
		return nil, fmt.Errorf("%s=%q: not an absolute path or an abstract socket name (vsock is not supported)", EnvSocket, socket)
	}
	// Go's net package maps a leading '@' to the abstract namespace.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", EnvSocket, socket, err)
	}
	return &Notifier{conn: c}, nil
}

// Notify sends the lines as one datagram.
func (n *Notifier) Notify(lines ...string) error {
	if n == nil || len(lines) == 0 {
		return nil
	}
	msg := strings.Join(lines, "\n")
	if _, err := n.conn.Write([]byte(msg)); err != nil {
		return fmt.Errorf("sd_notify %q: %w", lines[0], err)
	}
	return nil
}

// Close closes the socket.
func (n *Notifier) Close() error {
	if n == nil {
		return nil
	}
	return n.conn.Close()
}

// Monotonic reads CLOCK_MONOTONIC (for MonotonicUsec).
func Monotonic() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, errors.Join(errors.New("clock_gettime CLOCK_MONOTONIC"), err)
	}
	return time.Duration(ts.Nano()), nil
}
