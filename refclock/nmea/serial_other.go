//go:build !linux

package nmea

import (
	"context"
	"errors"
	"fmt"

	"github.com/gnomon-time/gnomon/refclock"
)

// Serial is a GNSS receiver's NMEA output on a serial port; only Linux is
// supported (termios through x/sys/unix's Linux ioctls).
type Serial struct{ path string }

var _ refclock.TimeOfDaySource = (*Serial)(nil)

// Open fails: serial ports are supported on Linux only.
func Open(path string, cfg Config) (*Serial, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("nmea: open %s: %w", path, errors.ErrUnsupported)
}

// Path is the device's path.
func (s *Serial) Path() string { return s.path }

// Status is empty.
func (s *Serial) Status() Status { return Status{Path: s.path} }

// Close does nothing.
func (s *Serial) Close() error { return nil }

// Run fails.
func (s *Serial) Run(ctx context.Context, fn func(refclock.TimeOfDay)) error {
	return errors.ErrUnsupported
}
