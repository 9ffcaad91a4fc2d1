package nmea

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gnomon-time/gnomon/refclock"
)

// Serial is a GNSS receiver's NMEA output on a serial port (or a
// pseudo-terminal): a refclock.TimeOfDaySource.
type Serial struct {
	path string
	cfg  Config
	f    *os.File
	ran  atomic.Bool
	st   status
	// onStart, when set (tests), is called once Run has flushed the
	// input and is about to read.
	onStart func()
}

var _ refclock.TimeOfDaySource = (*Serial)(nil)

// Open opens the terminal device at path read-only, without making it the
// controlling terminal (O_NOCTTY) and without waiting for carrier
// (O_NONBLOCK, then CLOCAL), and sets it to raw 8N1 at cfg.Baud with no
// flow control, discarding input buffered so far (TCSETSF). It reads the
// settings back and fails if the driver did not take the rate. Errors name
// path: a missing device (errors.Is fs.ErrNotExist), no permission
// (fs.ErrPermission), a file that is not a terminal (unix.ENOTTY).
func Open(path string, cfg Config) (*Serial, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	speed, _ := baudBits(cfg.Baud)
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("nmea: open serial port (the daemon needs read access, often membership of group dialout): %w", err)
		}
		return nil, fmt.Errorf("nmea: open serial port: %w", err)
	}
	if err := setRaw(f, speed); err != nil {
		f.Close()
		if errors.Is(err, unix.ENOTTY) {
			return nil, fmt.Errorf("nmea: %s is not a terminal (serial port or pty): %w", path, err)
		}
		return nil, fmt.Errorf("nmea: set %s to raw %d baud: %w", path, cfg.Baud, err)
	}
	s := &Serial{path: path, cfg: cfg, f: f}
	s.st.st = Status{Path: path, Baud: cfg.Baud}
	return s, nil
}

// baudBits maps a rate to its termios speed (Linux's B* constants).
func baudBits(b int) (uint32, bool) {
	switch b {
	case 4800:
		return unix.B4800, true
	case 9600:
		return unix.B9600, true
	case 19200:
		return unix.B19200, true
	case 38400:
		return unix.B38400, true
	case 57600:
		return unix.B57600, true
	case 115200:
		return unix.B115200, true
	case 230400:
		return unix.B230400, true
	case 460800:
		return unix.B460800, true
	case 921600:
		return unix.B921600, true
	}
	return 0, false
}

// makeRaw is cfmakeraw(3) plus 8N1, no flow control, CLOCAL, CREAD,
// VMIN 1 / VTIME 0, and speed for both directions (CIBAUD cleared: input
// speed = output speed).
func makeRaw(t *unix.Termios, speed uint32) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL |
		unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS | unix.CBAUD | unix.CIBAUD
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL | speed
	t.Ispeed, t.Ospeed = speed, speed
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
}

func setRaw(f *os.File, speed uint32) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = rc.Control(func(fd uintptr) {
		var t *unix.Termios
		if t, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS); ierr != nil {
			return
		}
		makeRaw(t, speed)
		if ierr = unix.IoctlSetTermios(int(fd), unix.TCSETSF, t); ierr != nil {
			return
		}
		// tcsetattr succeeds if any change was made: check the speed.
		if t, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS); ierr == nil && t.Cflag&unix.CBAUD != speed {
			ierr = fmt.Errorf("driver kept speed bits %#o, not %#o", t.Cflag&unix.CBAUD, speed)
		}
	})
	if err != nil {
		return err
	}
	return ierr
}

// flushInput discards what the kernel buffered: its arrival time is lost.
func flushInput(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) { ierr = unix.IoctlSetInt(int(fd), unix.TCFLSH, unix.TCIFLUSH) }); err != nil {
		return err
	}
	return ierr
}

// Path is the device's path.
func (s *Serial) Path() string { return s.path }

// Status returns a copy of what the reader has seen so far; safe to call
// from any goroutine, during and after Run.
func (s *Serial) Status() Status { return s.st.get() }

// Close closes the device; Run closes it itself when it returns, so Close
// is for a Serial that never runs. Closing twice is harmless.
func (s *Serial) Close() error {
	if err := s.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("nmea: close %s: %w", s.path, err)
	}
	return nil
}

// Run reads the receiver and calls fn with each epoch's report, in order,
// on Run's goroutine, until ctx ends (it returns nil) or reading fails (a
// hang-up, a USB adapter unplugged: it returns the error, naming the
// path). It first discards input the kernel buffered since Open. Lines
// that do not parse are counted in Status and skipped. Run closes the
// device when it returns; it may be called once. A blocked read is
// interrupted by closing the device when ctx ends.
func (s *Serial) Run(ctx context.Context, fn func(refclock.TimeOfDay)) error {
	if !s.ran.CompareAndSwap(false, true) {
		return fmt.Errorf("nmea: %s: Run called twice", s.path)
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.f.Close() })
	defer stop()
	if err := flushInput(s.f); err != nil && ctx.Err() == nil {
		return fmt.Errorf("nmea: flush input of %s: %w", s.path, err)
	}
	log := s.cfg.Logger.With("path", s.path)
	log.Info("nmea: reading receiver", "baud", s.cfg.Baud)
	if s.onStart != nil {
		s.onStart()
	}

	var (
		dec   Decoder
		lines lineSplitter
		out   []refclock.TimeOfDay
		buf   = make([]byte, 1024)
		valid = -1 // last report's Valid (0/1), -1 before the first
	)
	deliver := func() {
		for _, tod := range out {
			v := 0
			if tod.Valid {
				v = 1
			}
			switch {
			case valid < 0:
				log.Info("nmea: first report", "utc", tod.UTC, "second60", tod.Second60, "valid", tod.Valid, "fix", tod.Fix.String())
			case v != valid:
				log.Info("nmea: receiver validity changed", "utc", tod.UTC, "valid", tod.Valid, "fix", tod.Fix.String())
			}
			valid = v
			s.st.update(func(st *Status) { st.Reports++; st.Last = tod })
			fn(tod)
		}
		out = out[:0]
	}
	onLine := func(line []byte, first time.Time, tooLong bool) {
		var err error
		if tooLong {
			err = &Error{Reason: ReasonTooLong}
		} else {
			out, err = dec.Feed(out, line, first)
		}
		var e *Error
		s.st.update(func(st *Status) {
			st.Lines++
			st.LastLine = first
			if errors.As(err, &e) && int(e.Reason) < NumReasons {
				st.Rejected[e.Reason]++
			}
			st.NoDate = dec.Counts().NoDate
		})
		if err != nil {
			log.Debug("nmea: line rejected", "reason", err.Error())
		}
	}
	for {
		// A deadline only while an epoch is open: the quiet gap that ends
		// it. Otherwise the read blocks until data or ctx (close).
		var dl time.Time
		if dec.Pending() {
			dl = time.Now().Add(s.cfg.QuietGap)
		}
		_ = s.f.SetReadDeadline(dl)
		n, err := s.f.Read(buf)
		if n > 0 {
			lines.push(buf[:n], s.cfg.Now(), onLine)
			deliver()
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			out = dec.Flush(out)
			s.st.update(func(st *Status) { st.NoDate = dec.Counts().NoDate })
			deliver()
		case errors.Is(err, io.EOF):
			return fmt.Errorf("nmea: read %s: hang-up (end of file)", s.path)
		default:
			return fmt.Errorf("nmea: read %s: %w", s.path, err)
		}
	}
}
