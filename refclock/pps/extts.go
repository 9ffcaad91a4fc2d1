package pps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
)

// EXTTSConfig configures a PHC's external-timestamp channel (the ts2phc
// role: a receiver's PPS wired to a NIC's SMA or pin).
type EXTTSConfig struct {
	// Device is the PHC, e.g. "/dev/ptp0". Required.
	Device string
	// Channel is the EXTTS channel (0 … n_ext_ts−1).
	Channel int
	// Pin routes a programmable pin to Channel with PTP_PIN_SETFUNC: ""
	// leaves the pins alone (a channel with a fixed input, or pins set up
	// beforehand), decimal digits name a pin index, anything else a pin
	// name as PTP_PIN_GETFUNC reports it ("SMA1").
	Pin string
	// Polarity: Rising, Falling or Both.
	Polarity Polarity
	// Delay is the cable and antenna delay to compensate: At = the PHC's
	// timestamp − Delay. Within ±MaxDelay.
	Delay time.Duration
	// Logger (nil = slog.Default()).
	Logger *slog.Logger
}

// Validate returns every problem of the configuration, each naming its
// field and value.
func (c EXTTSConfig) Validate() error {
	var errs []error
	if c.Device == "" {
		errs = append(errs, fmt.Errorf("Device is empty: %w", ErrInvalid))
	}
	if c.Channel < 0 {
		errs = append(errs, fmt.Errorf("Channel %d: %w", c.Channel, ErrInvalid))
	}
	if _, err := exttsFlags(c.Polarity); err != nil {
		errs = append(errs, fmt.Errorf("Polarity: %w", err))
	}
	if err := checkDelay("Delay", c.Delay); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// phcDevice is the kernel side of /dev/ptpN as far as EXTTS needs it.
// The real one is in extts_linux.go; tests use a fake over a pipe.
type phcDevice interface {
	caps() (phcCaps, error)
	pin(index int) (pinInfo, error)
	setPin(index int, fn, channel uint32) error
	// request is PTP_EXTTS_REQUEST2 (flags 0 disables the channel).
	request(channel, flags uint32) error
	// read waits for queued events and reads whole records into b; when
	// ctx ends first it returns ctx's error.
	read(ctx context.Context, b []byte) (int, error)
	// drain discards queued events without waiting.
	drain(b []byte) error
	close() error
}

// EXTTS is a PHC's external-timestamp channel as a refclock.EdgeSource.
// Its edges are on the PHC's timescale (usually TAI). Seq is its own
// count of delivered edges: the device reports no sequence, so missed
// pulses do not show in it. Open it with OpenEXTTS; Run it once.
type EXTTS struct {
	cfg    EXTTSConfig
	dev    phcDevice
	pin    pinInfo
	routed bool // a pin is to be routed (pin is valid)
	flags  []uint32
	log    *slog.Logger
	n      counters
}

var _ refclock.EdgeSource = (*EXTTS)(nil)

// OpenEXTTS validates cfg, opens the PHC read-write (the kernel wants
// write access for PTP_PIN_SETFUNC and PTP_EXTTS_REQUEST) and checks that
// it has the channel and pin asked for: ErrCapability names what is
// missing, ErrNotPHC says the path is no PHC.
func OpenEXTTS(cfg EXTTSConfig) (*EXTTS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("PHC %s EXTTS: %w", cfg.Device, err)
	}
	dev, err := openPHC(cfg.Device)
	if err != nil {
		return nil, err
	}
	e, err := newEXTTS(cfg, dev)
	if err != nil {
		dev.close()
		return nil, err
	}
	return e, nil
}

// newEXTTS checks an open device against cfg: the part of OpenEXTTS tests
// reach with a fake.
func newEXTTS(cfg EXTTSConfig, dev phcDevice) (*EXTTS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("PHC %s EXTTS: %w", cfg.Device, err)
	}
	where := fmt.Sprintf("PHC %s EXTTS channel %d", cfg.Device, cfg.Channel)
	caps, err := dev.caps()
	if err != nil {
		return nil, fmt.Errorf("%s: PTP_CLOCK_GETCAPS: %w", where, notPHC(err))
	}
	spec := parsePin(cfg.Pin)
	if err := checkEXTTS(caps, cfg.Channel, spec); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	flags, _ := exttsFlags(cfg.Polarity)
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	e := &EXTTS{cfg: cfg, dev: dev, flags: flags, log: log.With("phc", cfg.Device, "channel", cfg.Channel)}
	if spec.set {
		pins := make([]pinInfo, 0, caps.NPins)
		for i := range caps.NPins {
			p, err := dev.pin(i)
			if err != nil {
				return nil, fmt.Errorf("%s: PTP_PIN_GETFUNC pin %d: %w", where, i, err)
			}
			pins = append(pins, p)
		}
		p, err := resolvePin(pins, spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		e.pin, e.routed = p, true
	}
	return e, nil
}

// notPHC maps ENOTTY (the file has no PTP ioctls) to ErrNotPHC.
func notPHC(err error) error {
	if errors.Is(err, syscall.ENOTTY) {
		return fmt.Errorf("%w: %w", ErrNotPHC, err)
	}
	return err
}

// Name returns the device path.
func (e *EXTTS) Name() string { return e.cfg.Device }

// Stats returns the counters (safe while Run runs).
func (e *EXTTS) Stats() Stats { return e.n.stats() }

// Close releases the device. Call it after Run returned.
func (e *EXTTS) Close() error { return e.dev.close() }

// exttsBatch is how many events one read takes (the kernel queue holds
// 128; at 1 Hz there is rarely more than one).
const exttsBatch = 16

// Run routes the pin (when configured and not routed already), disables
// the channel and drains stale events, enables it with the configured
// edges (strict flags first), and delivers each event of its channel until
// ctx ends (nil) or the device fails. It disables the channel on return.
//
// Events of other channels (another reader enabled them; before Linux 6.7
// every reader of the device sees every channel) are counted in
// Stats.Dropped. Before Linux 6.7 the device also has one event queue for
// all its readers: another EXTTS reader of the same PHC (ts2phc) takes
// events from this one.
func (e *EXTTS) Run(ctx context.Context, fn func(refclock.Edge)) (err error) {
	ch := uint32(e.cfg.Channel)
	where := fmt.Sprintf("PHC %s EXTTS channel %d", e.cfg.Device, e.cfg.Channel)
	if e.routed && (e.pin.Func != ptpPFExtts || e.pin.Channel != ch) {
		if err := e.dev.setPin(e.pin.Index, ptpPFExtts, ch); err != nil {
			return fmt.Errorf("%s: PTP_PIN_SETFUNC pin %d (%q) → EXTTS: %w", where, e.pin.Index, e.pin.Name, err)
		}
		e.log.Info("PHC pin routed", "pin", e.pin.Index, "pin_name", e.pin.Name)
	}
	buf := make([]byte, exttsBatch*exttsEventSize)
	if err := e.dev.request(ch, 0); err != nil {
		// Not fatal: some drivers refuse to disable an idle channel.
		e.log.Debug("PHC EXTTS disable before enabling failed", "err", err)
	}
	if err := e.dev.drain(buf); err != nil {
		return fmt.Errorf("%s: drain: %w", where, err)
	}
	var used uint32
	for i, f := range e.flags {
		err := e.dev.request(ch, f)
		if err == nil {
			used = f
			break
		}
		strictRefused := f&ptpStrictFlags != 0 && (errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EINVAL))
		if !strictRefused || i == len(e.flags)-1 {
			return fmt.Errorf("%s: enable (%v, flags %#x): %w", where, e.cfg.Polarity, f, exttsRequestErr(err))
		}
	}
	defer func() {
		if derr := e.dev.request(ch, 0); derr != nil {
			if err == nil && ctx.Err() == nil {
				err = fmt.Errorf("%s: disable: %w", where, derr)
			} else {
				e.log.Warn("PHC EXTTS disable failed", "err", derr)
			}
		}
	}()
	if used&ptpStrictFlags == 0 {
		e.log.Warn("PHC refused strict edge flags: it may stamp both edges whatever is asked", "edge", e.cfg.Polarity.String())
	}
	e.log.Info("PHC EXTTS running", "edge", e.cfg.Polarity.String(), "flags", fmt.Sprintf("%#x", used), "delay", e.cfg.Delay)
	var seq uint64
	deliver := func(ev exttsEvent) {
		if ev.Channel != ch {
			e.n.dropped.Add(1)
			return
		}
		seq++
		e.n.edges.Add(1)
		fn(refclock.Edge{At: compensate(ev.T, e.cfg.Delay), Seq: seq})
	}
	for {
		n, err := e.dev.read(ctx, buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s: read: %w", where, err)
		}
		if n == 0 {
			return fmt.Errorf("%s: read: device returned end of file", where)
		}
		if err := decodeExtts(buf[:n], deliver); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
}

// exttsRequestErr explains the errors PTP_EXTTS_REQUEST2 is known for.
func exttsRequestErr(err error) error {
	switch {
	case errors.Is(err, syscall.ENOTTY):
		return fmt.Errorf("the kernel lacks PTP_EXTTS_REQUEST2 (Linux ≥ 5.4): %w", err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("needs the PHC opened read-write: %w", err)
	case errors.Is(err, syscall.EOPNOTSUPP):
		return fmt.Errorf("the driver does not support this edge selection: %w", err)
	}
	return err
}
