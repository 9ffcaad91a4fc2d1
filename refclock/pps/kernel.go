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

// KernelConfig configures a kernel PPS device (/dev/ppsN: pps-gpio, the
// serial DCD line discipline, a PHC's PTP_ENABLE_PPS).
type KernelConfig struct {
	// Device is the path, e.g. "/dev/pps0". Required.
	Device string
	// Polarity is the edge that marks the second: Rising or Falling.
	Polarity Polarity
	// AssertFalling says the device's assert event is the falling edge
	// (pps-gpio with assert-falling-edge in the device tree, an inverting
	// RS-232 level shifter on DCD). By default assert is the rising edge,
	// so Rising captures assert and Falling captures clear.
	AssertFalling bool
	// Delay is the cable and antenna delay to compensate: At = the
	// kernel's timestamp − Delay. Within ±MaxDelay.
	Delay time.Duration
	// FetchTimeout bounds each PPS_FETCH wait, and so how long Run takes
	// to notice its context ended (default 250 ms; at most 1 s).
	FetchTimeout time.Duration
	// Logger (nil = slog.Default()).
	Logger *slog.Logger
}

// DefaultFetchTimeout is KernelConfig.FetchTimeout's default.
const DefaultFetchTimeout = 250 * time.Millisecond

// Validate returns every problem of the configuration, each naming its
// field and value.
func (c KernelConfig) Validate() error {
	var errs []error
	if c.Device == "" {
		errs = append(errs, fmt.Errorf("Device is empty: %w", ErrInvalid))
	}
	if _, err := captureBit(c.Polarity, c.AssertFalling); err != nil {
		errs = append(errs, fmt.Errorf("Polarity: %w", err))
	}
	if err := checkDelay("Delay", c.Delay); err != nil {
		errs = append(errs, err)
	}
	if c.FetchTimeout < 0 || c.FetchTimeout > time.Second {
		errs = append(errs, fmt.Errorf("FetchTimeout %v: want 0 (default) … 1s: %w", c.FetchTimeout, ErrInvalid))
	}
	return errors.Join(errs...)
}

// ppsDevice is the kernel side of /dev/ppsN: the four RFC 2783 ioctls.
// The real one is in kernel_linux.go; tests use fakes.
type ppsDevice interface {
	getCap() (int32, error)
	getParams() (ppsParams, error)
	setParams(ppsParams) error
	// fetch waits up to timeout for a new event (0: returns at once) and
	// returns the latest events; syscall.ETIMEDOUT when none came.
	fetch(timeout time.Duration) (ppsInfo, error)
	close() error
}

// Kernel is a kernel PPS device as a refclock.EdgeSource. Its edges are
// on CLOCK_REALTIME (the kernel stamps the interrupt with the system
// clock). Open it with OpenKernel; Run it once.
type Kernel struct {
	cfg     KernelConfig
	dev     ppsDevice
	capture int32
	log     *slog.Logger
	n       counters
}

var _ refclock.EdgeSource = (*Kernel)(nil)

// OpenKernel validates cfg, opens the device and checks its capabilities
// (the wanted edge, PPS_CANWAIT, timespec stamps). A missing path fails
// with the path in the error; a file that is no PPS device with ErrNotPPS.
func OpenKernel(cfg KernelConfig) (*Kernel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kernel PPS %s: %w", cfg.Device, err)
	}
	dev, err := openPPS(cfg.Device)
	if err != nil {
		return nil, err
	}
	k, err := newKernel(cfg, dev)
	if err != nil {
		dev.close()
		return nil, err
	}
	return k, nil
}

// newKernel wraps an open device: the part of OpenKernel tests reach with
// a fake.
func newKernel(cfg KernelConfig, dev ppsDevice) (*Kernel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kernel PPS %s: %w", cfg.Device, err)
	}
	if cfg.FetchTimeout == 0 {
		cfg.FetchTimeout = DefaultFetchTimeout
	}
	bit, _ := captureBit(cfg.Polarity, cfg.AssertFalling)
	caps, err := dev.getCap()
	if err != nil {
		return nil, fmt.Errorf("kernel PPS %s: PPS_GETCAP: %w", cfg.Device, notPPS(err))
	}
	if err := checkPPSCaps(caps, bit); err != nil {
		return nil, fmt.Errorf("kernel PPS %s (%v edge): %w", cfg.Device, cfg.Polarity, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Kernel{cfg: cfg, dev: dev, capture: bit, log: log.With("pps", cfg.Device)}, nil
}

// notPPS maps ENOTTY (the file has no PPS ioctls) to ErrNotPPS.
func notPPS(err error) error {
	if errors.Is(err, syscall.ENOTTY) {
		return fmt.Errorf("%w: %w", ErrNotPPS, err)
	}
	return err
}

// Name returns the device path.
func (k *Kernel) Name() string { return k.cfg.Device }

// Stats returns the counters (safe while Run runs).
func (k *Kernel) Stats() Stats { return k.n.stats() }

// Close releases the device. Call it after Run returned.
func (k *Kernel) Close() error { return k.dev.close() }

// Run sets the device to capture the configured edge (adding to, never
// narrowing, the device's mode; PPS_SETPARAMS needs CAP_SYS_TIME and is
// skipped when the mode already captures it) and delivers each new edge
// until ctx ends (nil) or the device fails.
//
// Each PPS_FETCH waits at most FetchTimeout for a new event and returns
// the latest assert and clear events. An edge is new when its sequence
// advanced; a sequence that advanced by more than one counts the skipped
// pulses in Stats.Missed (only the latest timestamp is kept by the
// kernel). After a timeout a zero-wait fetch picks up an event that came
// between two fetches, since a fetch waits for an event after its start.
func (k *Kernel) Run(ctx context.Context, fn func(refclock.Edge)) error {
	if err := k.setup(); err != nil {
		return err
	}
	info, err := k.fetch(0)
	if err != nil {
		return fmt.Errorf("kernel PPS %s: PPS_FETCH: %w", k.cfg.Device, err)
	}
	var seq seqTracker
	seq.baseline(k.pick(info))
	k.log.Info("kernel PPS running", "edge", k.cfg.Polarity.String(), "capture", captureName(k.capture), "delay", k.cfg.Delay)
	for ctx.Err() == nil {
		info, err := k.fetch(k.cfg.FetchTimeout)
		if errors.Is(err, syscall.ETIMEDOUT) {
			info, err = k.fetch(0)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("kernel PPS %s: PPS_FETCH: %w", k.cfg.Device, err)
		}
		full, isNew, missed := seq.next(k.pick(info))
		if !isNew {
			continue
		}
		if missed > 0 {
			k.n.missed.Add(missed)
			k.log.Debug("PPS sequence gap", "missed", missed, "seq", full)
		}
		stamp := info.Assert
		if k.capture == ppsCaptureClear {
			stamp = info.Clear
		}
		k.n.edges.Add(1)
		fn(refclock.Edge{At: compensate(stamp.time(), k.cfg.Delay), Seq: full})
	}
	return nil
}

// pick returns the sequence of the configured edge.
func (k *Kernel) pick(info ppsInfo) uint32 {
	if k.capture == ppsCaptureClear {
		return info.ClearSeq
	}
	return info.AssertSeq
}

// fetch is PPS_FETCH, retried when a signal interrupts it (the kernel
// returns EINTR rather than restarting).
func (k *Kernel) fetch(timeout time.Duration) (ppsInfo, error) {
	for {
		info, err := k.dev.fetch(timeout)
		if !errors.Is(err, syscall.EINTR) {
			return info, err
		}
	}
}

// setup makes the device capture the configured edge.
func (k *Kernel) setup() error {
	cur, err := k.dev.getParams()
	if err != nil {
		return fmt.Errorf("kernel PPS %s: PPS_GETPARAMS: %w", k.cfg.Device, notPPS(err))
	}
	want, set := planParams(cur, k.capture)
	if !set {
		return nil
	}
	if err := k.dev.setParams(want); err != nil {
		hint := ""
		if errors.Is(err, syscall.EPERM) {
			hint = " (needs CAP_SYS_TIME, or set the mode beforehand, e.g. ppstest)"
		}
		return fmt.Errorf("kernel PPS %s: PPS_SETPARAMS mode %#x → %#x%s: %w", k.cfg.Device, cur.Mode, want.Mode, hint, err)
	}
	k.log.Info("kernel PPS mode set", "from", fmt.Sprintf("%#x", cur.Mode), "to", fmt.Sprintf("%#x", want.Mode))
	return nil
}
