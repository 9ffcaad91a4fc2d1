package pps

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gnomon-time/gnomon/refclock"
	"golang.org/x/sys/unix"
)

// The flag and pin-function values abi.go repeats, against x/sys/unix.
func TestPTPConstantsMatchXSys(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want uint32
	}{
		{"PTP_ENABLE_FEATURE", ptpEnable, unix.PTP_ENABLE_FEATURE},
		{"PTP_RISING_EDGE", ptpRisingEdge, unix.PTP_RISING_EDGE},
		{"PTP_FALLING_EDGE", ptpFallingEdge, unix.PTP_FALLING_EDGE},
		{"PTP_STRICT_FLAGS", ptpStrictFlags, unix.PTP_STRICT_FLAGS},
		{"PTP_PF_EXTTS", ptpPFExtts, unix.PTP_PF_EXTTS},
		{"PTP_PF_NONE", ptpPFNone, unix.PTP_PF_NONE},
		{"PTP_EXTTS_REQUEST2", ioc(iocWrite, '=', 11, 16), unix.PTP_EXTTS_REQUEST2},
		{"PTP_PIN_GETFUNC2", ioc(iocRead|iocWrite, '=', 15, 96), unix.PTP_PIN_GETFUNC2},
		{"PTP_PIN_SETFUNC2", ioc(iocWrite, '=', 16, 96), unix.PTP_PIN_SETFUNC2},
		{"PTP_CLOCK_GETCAPS2", ioc(iocRead, '=', 10, 80), unix.PTP_CLOCK_GETCAPS2},
		{"sizeof ptp_extts_event", exttsEventSize, uint32(binary.Size(unix.PtpExttsEvent{}))},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, x/sys/unix says %#x", tc.name, tc.got, tc.want)
		}
	}
	for _, f := range exttsMust(exttsFlags(Both)) {
		if f&^unix.PTP_EXTTS_VALID_FLAGS != 0 {
			t.Errorf("flags %#x outside PTP_EXTTS_VALID_FLAGS", f)
		}
	}
}

func exttsMust(f []uint32, err error) []uint32 {
	if err != nil {
		panic(err)
	}
	return f
}

// What this machine's kernel lets us exercise without a device: the open
// and ioctl errors.
func TestOpenErrors(t *testing.T) {
	regular := filepath.Join(t.TempDir(), "not-a-device")
	if err := os.WriteFile(regular, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "no-such-device9")
	for _, tc := range []struct {
		name string
		open func() error
		want string
		is   error
	}{
		{"PPS missing", func() error { _, err := OpenKernel(KernelConfig{Device: missing}); return err },
			"open PPS device " + missing, fs.ErrNotExist},
		{"PPS regular file", func() error { _, err := OpenKernel(KernelConfig{Device: regular}); return err },
			"kernel PPS " + regular + ": PPS_GETCAP: not a PPS device", ErrNotPPS},
		{"PPS /dev/null", func() error { _, err := OpenKernel(KernelConfig{Device: os.DevNull}); return err },
			"kernel PPS /dev/null: PPS_GETCAP: not a PPS device", ErrNotPPS},
		{"PHC missing", func() error { _, err := OpenEXTTS(EXTTSConfig{Device: missing}); return err },
			"open PHC " + missing, fs.ErrNotExist},
		{"PHC regular file", func() error { _, err := OpenEXTTS(EXTTSConfig{Device: regular}); return err },
			"open PHC " + regular + ": PTP_CLOCK_GETCAPS: not a PHC", ErrNotPHC},
		{"PHC /dev/null", func() error { _, err := OpenEXTTS(EXTTSConfig{Device: os.DevNull}); return err },
			"open PHC /dev/null: PTP_CLOCK_GETCAPS: not a PHC", ErrNotPHC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open()
			if err == nil {
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
				t.Errorf("error %q, want %q and %v", err, tc.want, tc.is)
			}
			t.Log(err)
		})
	}
	// The PPS ioctls on a file that is not a PPS device, one by one.
	f, err := openPPS(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	if _, err := f.getParams(); !errors.Is(err, unix.ENOTTY) {
		t.Errorf("PPS_GETPARAMS on /dev/null: %v, want ENOTTY", err)
	}
	if err := f.setParams(ppsParams{APIVersion: 1, Mode: 0x1001}); !errors.Is(err, unix.ENOTTY) {
		t.Errorf("PPS_SETPARAMS on /dev/null: %v, want ENOTTY", err)
	}
	if _, err := f.fetch(time.Millisecond); !errors.Is(err, unix.ENOTTY) {
		t.Errorf("PPS_FETCH on /dev/null: %v, want ENOTTY", err)
	}
}

// Real devices, read-only as far as possible: gated on /dev/pps* and
// /dev/ptp* existing. None exist on the development machine, so the
// device paths above the ioctls ran only against fakes there.
func TestRealKernelPPS(t *testing.T) {
	devs, _ := filepath.Glob("/dev/pps[0-9]*")
	if len(devs) == 0 {
		t.Skip("no /dev/pps* on this machine: kernel PPS is tested against a scripted fake only")
	}
	for _, path := range devs {
		t.Run(path, func(t *testing.T) {
			k, err := OpenKernel(KernelConfig{Device: path})
			if err != nil {
				t.Skipf("cannot open %s: %v", path, err)
			}
			defer k.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
			defer cancel()
			var edges []refclock.Edge
			err = k.Run(ctx, func(e refclock.Edge) { edges = append(edges, e) })
			if err != nil {
				t.Skipf("%s: %v (no permission to set the mode?)", path, err)
			}
			t.Logf("%s: %d edges in 2.5 s (%+v), stats %+v", path, len(edges), edges, k.Stats())
		})
	}
}

func TestRealPHCEXTTS(t *testing.T) {
	devs, _ := filepath.Glob("/dev/ptp[0-9]*")
	if len(devs) == 0 {
		t.Skip("no /dev/ptp* on this machine: EXTTS is tested against a pipe-backed fake only")
	}
	for _, path := range devs {
		t.Run(path, func(t *testing.T) {
			// Channel 0, no pin routing: a device without channels must
			// say so by name.
			e, err := OpenEXTTS(EXTTSConfig{Device: path})
			if errors.Is(err, ErrCapability) {
				t.Logf("%s: %v", path, err)
				return
			}
			if err != nil {
				t.Skipf("cannot open %s: %v", path, err)
			}
			defer e.Close()
			t.Logf("%s has EXTTS channel 0; not enabling it in a test (another daemon may own it)", path)
		})
	}
}
