package nmea

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

// DefaultBaud is the rate when Config.Baud is 0: what most receivers'
// NMEA ports start at (NMEA 0183 itself specifies 4800).
const DefaultBaud = 9600

// DefaultQuietGap is Config.QuietGap when 0.
const DefaultQuietGap = 50 * time.Millisecond

// supportedBauds are the rates Open accepts, for error messages.
const supportedBauds = "4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600"

func baudSupported(b int) bool {
	switch b {
	case 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600:
		return true
	}
	return false
}

// Config is how Open sets up a serial port.
type Config struct {
	// Baud is the line rate: 4800, 9600, 19200, 38400, 57600, 115200,
	// 230400, 460800 or 921600; 0 means DefaultBaud. The line is always
	// 8N1, raw, without flow control, modem lines ignored (CLOCAL).
	Baud int
	// Now stamps each line's arrival. Nil means CLOCK_REALTIME without a
	// monotonic reading (time.Now().Round(0)), as refclock.TimeOfDay's
	// Received wants. Tests inject their own.
	Now func() time.Time
	// QuietGap: when no byte arrives for this long while an epoch is
	// open, the epoch is reported (Decoder.Flush). 0 means
	// DefaultQuietGap. It matters only until the Decoder has learnt the
	// receiver's cycle, or when a sentence of the cycle goes missing; it
	// must stay below the pause between two epochs' bursts.
	QuietGap time.Duration
	// Logger gets Info when the first report arrives and when the
	// receiver's validity changes, Debug for each rejected line. Nil
	// means slog.Default().
	Logger *slog.Logger
}

// Validate checks cfg without touching any device.
func (cfg Config) Validate() error {
	if cfg.Baud != 0 && !baudSupported(cfg.Baud) {
		return fmt.Errorf("nmea: baud %d is not supported (supported: %s)", cfg.Baud, supportedBauds)
	}
	if cfg.QuietGap < 0 {
		return fmt.Errorf("nmea: quiet gap %v is negative", cfg.QuietGap)
	}
	return nil
}

func (cfg Config) withDefaults() Config {
	if cfg.Baud == 0 {
		cfg.Baud = DefaultBaud
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().Round(0) }
	}
	if cfg.QuietGap == 0 {
		cfg.QuietGap = DefaultQuietGap
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// Status is what a Serial has seen. A receiver that stops talking does not
// make Run fail or return: Run keeps waiting for it. A caller detects a
// silent or useless receiver by comparing its own clock with LastLine (the
// receiver is talking at all) and Last.Received (it is giving usable
// time); refclock/pair in any case rejects a time of day older than its
// limit.
type Status struct {
	Path string
	Baud int
	// Lines counts complete lines read (rejected ones included).
	Lines uint64
	// Rejected counts lines by Reason.
	Rejected [NumReasons]uint64
	// Reports counts reports delivered; NoDate epochs dropped without a
	// date (see Decoder).
	Reports, NoDate uint64
	// LastLine is the arrival time of the last line, zero before the first.
	LastLine time.Time
	// Last is the last report delivered (zero Received before the first).
	Last refclock.TimeOfDay
}

// status is Status under a mutex: the reader goroutine writes it a few
// times per second, Status() copies it.
type status struct {
	mu sync.Mutex
	st Status
}

func (s *status) get() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *status) update(f func(*Status)) {
	s.mu.Lock()
	f(&s.st)
	s.mu.Unlock()
}
