//go:build linux

package pps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// eventReader reads a character device whose read(2) blocks whatever
// O_NONBLOCK says (the PTP character device's ptp_read waits for an event
// regardless): it reads only what poll(2) says is queued, and otherwise
// waits in Go's poller, which a deadline (set when ctx ends) interrupts.
// It works on any pollable file; tests use a pipe.
type eventReader struct {
	f  *os.File
	rc syscall.RawConn
}

func newEventReader(f *os.File) (eventReader, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return eventReader{}, err
	}
	// A descriptor the poller cannot watch (epoll refuses it) has no
	// deadlines, and a read would block Run past its context.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return eventReader{}, fmt.Errorf("cannot wait on %s with a deadline: %w", f.Name(), err)
	}
	return eventReader{f: f, rc: rc}, nil
}

// pending reports whether poll(2) says fd has data now.
func pending(fd uintptr) (bool, error) {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(p, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("poll: %w", err)
		}
		if n > 0 && p[0].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
			return false, fmt.Errorf("poll: revents %#x (device gone?)", p[0].Revents)
		}
		return n > 0 && p[0].Revents&unix.POLLIN != 0, nil
	}
}

func (r eventReader) read(ctx context.Context, b []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { r.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var n int
	var rerr error
	err := r.rc.Read(func(fd uintptr) bool {
		ok, err := pending(fd)
		if err != nil {
			rerr = err
			return true
		}
		if !ok {
			return false // wait for the poller's next readiness
		}
		for {
			n, rerr = unix.Read(int(fd), b)
			if !errors.Is(rerr, unix.EINTR) {
				break
			}
		}
		return !errors.Is(rerr, unix.EAGAIN)
	})
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, err
	}
	return n, rerr
}

func (r eventReader) drain(b []byte) error {
	var rerr error
	err := r.rc.Control(func(fd uintptr) {
		for {
			ok, err := pending(fd)
			if err != nil || !ok {
				rerr = err
				return
			}
			n, err := unix.Read(int(fd), b)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || n == 0 {
				if !errors.Is(err, unix.EAGAIN) {
					rerr = err
				}
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return rerr
}

// phcFile is /dev/ptpN through x/sys/unix's PTP ioctl wrappers (the "2"
// variants). facebook/time/phc keeps its pin and EXTTS calls unexported
// and hard-codes channel 0, so it is not used here.
type phcFile struct {
	eventReader
}

func openPHC(path string) (*phcFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open PHC %s: %w", path, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open PHC %s: %w", path, err)
	}
	p := &phcFile{eventReader{f: f, rc: rc}}
	// Asked first, so a file that is no PHC (a regular file, /dev/null,
	// which cannot be polled either) is called that.
	if _, err := p.caps(); err != nil {
		f.Close()
		return nil, fmt.Errorf("open PHC %s: PTP_CLOCK_GETCAPS: %w", path, notPHC(err))
	}
	if p.eventReader, err = newEventReader(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("open PHC %s: %w", path, err)
	}
	return p, nil
}

func (p *phcFile) control(fn func(fd int) error) error {
	var ferr error
	if err := p.rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func (p *phcFile) caps() (phcCaps, error) {
	var c phcCaps
	err := p.control(func(fd int) error {
		v, err := unix.IoctlPtpClockGetcaps(fd)
		if err != nil {
			return err
		}
		c = phcCaps{NExtTS: int(v.N_ext_ts), NPins: int(v.N_pins)}
		return nil
	})
	return c, err
}

func (p *phcFile) pin(index int) (pinInfo, error) {
	var pi pinInfo
	err := p.control(func(fd int) error {
		d, err := unix.IoctlPtpPinGetfunc(fd, uint(index))
		if err != nil {
			return err
		}
		pi = pinInfo{Name: pinName(d.Name[:]), Index: int(d.Index), Func: d.Func, Channel: d.Chan}
		return nil
	})
	return pi, err
}

func (p *phcFile) setPin(index int, fn, channel uint32) error {
	return p.control(func(fd int) error {
		return unix.IoctlPtpPinSetfunc(fd, &unix.PtpPinDesc{Index: uint32(index), Func: fn, Chan: channel})
	})
}

func (p *phcFile) request(channel, flags uint32) error {
	return p.control(func(fd int) error {
		return unix.IoctlPtpExttsRequest(fd, &unix.PtpExttsRequest{Index: channel, Flags: flags})
	})
}

func (p *phcFile) close() error { return p.f.Close() }
