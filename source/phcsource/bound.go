package phcsource

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ENABoundPath is where the ENA driver (Amazon EC2) publishes the error
// bound of the PHC of network interface ifname: the phc_error_bound
// attribute of its PCI device, /sys/bus/pci/devices/<slot>/phc_error_bound,
// reached through the interface's device link. The value is an unsigned
// decimal in nanoseconds, refreshed by the driver on every PHC read.
func ENABoundPath(ifname string) string {
	return "/sys/class/net/" + ifname + "/device/phc_error_bound"
}

// SysfsBound reads an error bound in nanoseconds from a sysfs attribute
// (ENABoundPath) every time it is asked. A missing file is no bound, not
// an error; an unreadable or unparsable one is logged once (until a good
// read) and ignored. Safe for concurrent use.
type SysfsBound struct {
	path string
	log  *slog.Logger

	mu     sync.Mutex
	warned bool
}

// NewSysfsBound returns a reader of the attribute at path (nil logger
// discards).
func NewSysfsBound(path string, log *slog.Logger) *SysfsBound {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SysfsBound{path: path, log: log}
}

// ErrorBound implements ErrorBounder.
func (b *SysfsBound) ErrorBound() (time.Duration, bool) {
	raw, err := os.ReadFile(b.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false
	}
	var d time.Duration
	if err == nil {
		d, err = parseBound(string(raw))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		if !b.warned {
			b.warned = true
			b.log.Warn("PHC error bound ignored", slog.String("path", b.path), slog.Any("error", err))
		}
		return 0, false
	}
	b.warned = false
	return d, true
}

// errBound is the cause of an unparsable bound.
var errBound = errors.New("want an unsigned decimal number of nanoseconds")

// parseBound parses the attribute's text: decimal nanoseconds and a
// newline (the driver prints a u32 with "%u\n").
func parseBound(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	ns, err := strconv.ParseUint(t, 10, 63)
	if err != nil {
		return 0, &boundError{text: t}
	}
	return time.Duration(ns), nil
}

type boundError struct{ text string }

func (e *boundError) Error() string { return strconv.Quote(e.text) + ": " + errBound.Error() }
func (e *boundError) Unwrap() error { return errBound }
