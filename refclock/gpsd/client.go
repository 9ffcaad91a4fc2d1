package gpsd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

// Defaults for the zero fields of a Client.
const (
	DefaultAddr       = "127.0.0.1:2947"
	DefaultSilence    = 5 * time.Second
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// ErrSilent ends a session in which gpsd sent no TPV for longer than the
// client's Silence: the receiver stopped talking (gpsd itself says nothing
// then) or gpsd hangs.
var ErrSilent = errors.New("gpsd: no report within the silence timeout")

// errClosed ends a session that gpsd closed.
var errClosed = errors.New("gpsd closed the connection")

// Client is gnomon's gpsd client, a refclock.TimeOfDaySource: Run connects
// to gpsd, asks for JSON reports with WatchCommand, and delivers each TPV
// as a refclock.TimeOfDay stamped with Now at the read that completed its
// line. It reconnects after a failure with exponential backoff.
//
// Set the fields before Run and do not change them afterwards; a Client
// runs once at a time and must not be copied after first use. Status is
// safe to call concurrently with Run.
type Client struct {
	// Addr is gpsd's host:port; empty means DefaultAddr.
	Addr string
	// Device restricts the watch to one device path (gpsd's "device"
	// WATCH field); reports naming another device are dropped too. Empty:
	// every device gpsd has, which is right only when it has one.
	Device string
	// Dial opens the connection; nil means a net.Dialer. Tests and
	// namespaced callers substitute their own.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Now stamps TimeOfDay.Received and Status.LastReport; nil means
	// time.Now. It must read CLOCK_REALTIME (or what stands in for it).
	Now func() time.Time
	// Logger receives state changes (Info: connected; Warn: session
	// ended, with the reason); per-line problems only at Debug (they are
	// counted in Status). nil discards.
	Logger *slog.Logger
	// OnPPS, if set, receives every PPS message (one per pulse when gpsd
	// has a PPS source), on Run's goroutine.
	OnPPS func(refclock.PPSReport)
	// OnTOFF, if set, receives every TOFF message (one per cycle: GNSS
	// time of the cycle and when its first sentence arrived), on Run's
	// goroutine.
	OnTOFF func(refclock.PPSReport)
	// Silence is the longest gap between two TPVs (and from connecting to
	// the first) before the session is dropped as silent; it also bounds
	// the dial and the WATCH write. Zero means DefaultSilence. gpsd sends
	// a TPV every cycle while a receiver talks, so a few cycles is right.
	Silence time.Duration
	// MinBackoff and MaxBackoff bound the reconnect delay: MinBackoff
	// after a failure, doubling up to MaxBackoff, back to MinBackoff after
	// a session that delivered at least one TPV. Zero means
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration

	mu sync.Mutex
	st Status
}

// Status is what a Client has seen, for status pages and logs.
type Status struct {
	// Connected: a session is open (gpsd accepted the connection).
	Connected bool
	// Release is the gpsd release from the last VERSION, e.g. "3.22".
	Release string
	// LastReport is Received of the last TPV (zero before the first).
	LastReport time.Time
	// LastValid is the last TPV's Valid.
	LastValid bool
	// Reports, PPS and TOFF count messages delivered; Malformed counts
	// lines that failed to decode (too long, bad JSON, bad time, wrong
	// protocol); ServerErrors counts gpsd ERROR messages.
	Reports, PPS, TOFF, Malformed, ServerErrors uint64
	// Sessions counts connections gpsd accepted; Reconnects counts
	// attempts after the first.
	Sessions, Reconnects uint64
	// LastError is why the last session ended or the last attempt failed
	// (nil before the first failure).
	LastError error
}

// Status returns a snapshot of what the client has seen.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

func (c *Client) update(f func(*Status)) {
	c.mu.Lock()
	f(&c.st)
	c.mu.Unlock()
}

func (c *Client) addr() string {
	if c.Addr == "" {
		return DefaultAddr
	}
	return c.Addr
}

func (c *Client) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Client) silence() time.Duration {
	if c.Silence <= 0 {
		return DefaultSilence
	}
	return c.Silence
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Run delivers gpsd's TPV reports to fn, in order, on the calling
// goroutine, until ctx ends; then it closes the connection and returns nil
// promptly. A failed dial, a closed connection, a wrong protocol version or
// a silence longer than Silence ends the session: Run logs why, records it
// in Status and reconnects after the backoff. It returns an error only for
// an unusable Addr.
func (c *Client) Run(ctx context.Context, fn func(refclock.TimeOfDay)) error {
	if _, _, err := net.SplitHostPort(c.addr()); err != nil {
		return fmt.Errorf("gpsd: address %q: %w", c.addr(), err)
	}
	minB, maxB := c.MinBackoff, c.MaxBackoff
	if minB <= 0 {
		minB = DefaultMinBackoff
	}
	if maxB <= 0 {
		maxB = DefaultMaxBackoff
	}
	b := Backoff{Min: minB, Max: max(minB, maxB)}
	log := c.logger().With("addr", c.addr())
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.update(func(s *Status) { s.Reconnects++ })
		}
		good, err := c.session(ctx, log, fn)
		c.update(func(s *Status) {
			s.Connected = false
			if err != nil {
				s.LastError = err
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		if good {
			b.Reset()
		}
		d := b.Next()
		log.Warn("gpsd session ended", "err", err, "retry_in", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// session runs one connection. good reports whether it delivered a TPV.
// It returns a nil error only when ctx ended.
func (c *Client) session(ctx context.Context, log *slog.Logger, fn func(refclock.TimeOfDay)) (good bool, err error) {
	silence := c.silence()
	dctx, cancel := context.WithTimeout(ctx, silence)
	dial := c.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(dctx, "tcp", c.addr())
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		return false, fmt.Errorf("gpsd: dial %s: %w", c.addr(), err)
	}
	defer conn.Close()
	// Closing the connection is what unblocks a pending Read when ctx ends.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	_ = conn.SetWriteDeadline(time.Now().Add(silence))
	if _, err := conn.Write(WatchCommand(c.Device)); err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		return false, fmt.Errorf("gpsd: send WATCH to %s: %w", c.addr(), err)
	}
	c.update(func(s *Status) { s.Connected = true; s.Sessions++ })
	log.Info("gpsd connected", "device", c.Device)

	var sp Splitter
	buf := make([]byte, 4096)
	_ = conn.SetReadDeadline(time.Now().Add(silence))
	for {
		n, rerr := conn.Read(buf)
		if n > 0 {
			rx := c.now()
			_, _ = sp.Write(buf[:n])
			for {
				line, lerr := sp.Next()
				if lerr != nil {
					c.update(func(s *Status) { s.Malformed++ })
					log.Debug("gpsd line dropped", "err", lerr)
					continue
				}
				if line == nil {
					break
				}
				tpv, err := c.handle(log, line, rx, fn, &good)
				if err != nil {
					return good, err
				}
				if tpv {
					// The receiver is talking: push the silence limit.
					_ = conn.SetReadDeadline(time.Now().Add(silence))
				}
			}
		}
		if rerr != nil {
			switch {
			case ctx.Err() != nil:
				return good, nil
			case errors.Is(rerr, os.ErrDeadlineExceeded):
				return good, fmt.Errorf("%w (%v)", ErrSilent, silence)
			case errors.Is(rerr, io.EOF):
				return good, errClosed
			}
			return good, fmt.Errorf("gpsd: read: %w", rerr)
		}
	}
}

// handle decodes and dispatches one line. tpv reports a TPV delivered; a
// non-nil error ends the session.
func (c *Client) handle(log *slog.Logger, line []byte, rx time.Time, fn func(refclock.TimeOfDay), good *bool) (tpv bool, err error) {
	m, err := Decode(line, rx)
	var se *ServerError
	switch {
	case errors.As(err, &se):
		c.update(func(s *Status) { s.ServerErrors++; s.LastError = err })
		log.Warn("gpsd error message", "message", se.Message)
		return false, nil
	case errors.Is(err, ErrProtocol):
		c.update(func(s *Status) { s.Malformed++ })
		return false, err
	case err != nil:
		c.update(func(s *Status) { s.Malformed++ })
		log.Debug("gpsd line dropped", "class", m.Name, "err", err)
		return false, nil
	}
	if c.Device != "" && m.Device != "" && m.Device != c.Device {
		return false, nil
	}
	switch m.Class {
	case ClassVersion:
		c.update(func(s *Status) { s.Release = m.Version.Release })
		log.Debug("gpsd version", "release", m.Version.Release,
			"proto", fmt.Sprintf("%d.%d", m.Version.ProtoMajor, m.Version.ProtoMinor))
	case ClassDevices:
		log.Debug("gpsd devices", "devices", m.Devices)
	case ClassTPV:
		tod := m.TimeOfDay
		c.update(func(s *Status) { s.Reports++; s.LastReport = tod.Received; s.LastValid = tod.Valid })
		if !*good {
			*good = true
			log.Info("gpsd reporting", "device", m.Device, "valid", tod.Valid, "fix", tod.Fix.String())
		}
		fn(tod)
		return true, nil
	case ClassPPS:
		c.update(func(s *Status) { s.PPS++ })
		if c.OnPPS != nil {
			c.OnPPS(m.Offset)
		}
	case ClassTOFF:
		c.update(func(s *Status) { s.TOFF++ })
		if c.OnTOFF != nil {
			c.OnTOFF(m.Offset)
		}
	}
	return false, nil
}
