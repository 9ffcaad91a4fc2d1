package phc

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	fbphc "github.com/facebook/time/phc"
	"golang.org/x/sys/unix"
)

// Open opens a PHC (/dev/ptpN) read-write, as steering needs: the kernel
// refuses clock_adjtime writes on a descriptor opened read-only.
func Open(path string) (*PHC, error) { return open(path, os.O_RDWR) }

// OpenReadOnly opens a PHC for reading and cross-timestamps only (a PHC
// another daemon, e.g. ptp4l, steers). Writes fail with EACCES, and kernels
// before 6.x also refuse the frequency read-back.
func OpenReadOnly(path string) (*PHC, error) { return open(path, os.O_RDONLY) }

func open(path string, flag int) (*PHC, error) {
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("open PHC %s: %w", path, err)
	}
	caps, err := unix.IoctlPtpClockGetcaps(int(f.Fd()))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open PHC %s: PTP_CLOCK_GETCAPS (not a PHC?): %w", path, err)
	}
	d := &device{f: f, dev: fbphc.FromFile(f)}
	if caps.Cross_timestamping == 0 {
		d.method.Store(methodExtended)
	}
	p, err := New(d)
	if err != nil {
		f.Close()
		return nil, err
	}
	return p, nil
}

// Cross-timestamp methods, best first. device.method holds the best one
// not yet found unsupported.
const (
	methodPrecise  int32 = iota // PTP_SYS_OFFSET_PRECISE: hardware, no span
	methodExtended              // PTP_SYS_OFFSET_EXTENDED: sys, PHC, sys triplets
	methodGettime               // clock_gettime sys, PHC, sys (ptp_mock has no ioctl)
)

// device is a /dev/ptpN through github.com/facebook/time/phc.
type device struct {
	f      *os.File
	dev    *fbphc.Device
	method atomic.Int32
}

func (d *device) Name() string                    { return d.f.Name() }
func (d *device) Close() error                    { return d.f.Close() }
func (d *device) Time() (time.Time, error)        { return d.dev.Time() }
func (d *device) FreqPPB() (float64, error)       { return d.dev.FreqPPB() }
func (d *device) AdjFreq(ppb float64) error       { return d.dev.AdjFreq(ppb) }
func (d *device) Step(step time.Duration) error   { return d.dev.Step(step) }
func (d *device) MaxFreqAdjPPB() (float64, error) { return d.dev.MaxFreqAdjPPB() }

// CrossTimestamps tries PRECISE, then EXTENDED, then clock_gettime, and
// remembers which methods the device lacks. EXTENDED is requested on
// CLOCK_REALTIME (clockid 0, which kernels before the clockid field also
// use).
func (d *device) CrossTimestamps(n int) ([]Sample, error) {
	if n < 1 || n > MaxSamples {
		return nil, unix.EINVAL
	}
	if d.method.Load() == methodPrecise {
		p, err := d.dev.ReadSysoffPrecise()
		if err == nil {
			rt := time.Unix(p.Realtime.Sec, int64(p.Realtime.Nsec))
			return []Sample{{Before: rt, PHC: time.Unix(p.Device.Sec, int64(p.Device.Nsec)), After: rt}}, nil
		}
		if !unsupported(err) {
			return nil, fmt.Errorf("PTP_SYS_OFFSET_PRECISE: %w", err)
		}
		d.method.CompareAndSwap(methodPrecise, methodExtended)
	}
	if d.method.Load() == methodExtended {
		ext, err := unix.IoctlPtpSysOffsetExtended(int(d.f.Fd()), uint(n))
		if err == nil {
			out := make([]Sample, 0, min(int(ext.Samples), MaxSamples))
			for _, ts := range ext.Ts[:cap(out)] {
				out = append(out, Sample{
					Before: time.Unix(ts[0].Sec, int64(ts[0].Nsec)),
					PHC:    time.Unix(ts[1].Sec, int64(ts[1].Nsec)),
					After:  time.Unix(ts[2].Sec, int64(ts[2].Nsec)),
				})
			}
			return out, nil
		}
		if !unsupported(err) {
			return nil, fmt.Errorf("PTP_SYS_OFFSET_EXTENDED: %w", err)
		}
		d.method.CompareAndSwap(methodExtended, methodGettime)
	}
	id := d.dev.ClockID()
	out := make([]Sample, n)
	var a, p, b unix.Timespec
	for i := range out {
		if err := unix.ClockGettime(unix.CLOCK_REALTIME, &a); err != nil {
			return nil, err
		}
		if err := unix.ClockGettime(id, &p); err != nil {
			return nil, fmt.Errorf("clock_gettime: %w", err)
		}
		if err := unix.ClockGettime(unix.CLOCK_REALTIME, &b); err != nil {
			return nil, err
		}
		out[i] = Sample{Before: time.Unix(a.Unix()), PHC: time.Unix(p.Unix()), After: time.Unix(b.Unix())}
	}
	return out, nil
}

// unsupported reports whether err means "this device or kernel lacks the
// ioctl" rather than a failure.
func unsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL)
}
