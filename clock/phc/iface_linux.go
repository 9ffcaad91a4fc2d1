package phc

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Errors of InterfaceDevice callers can branch on.
var (
	// ErrNoPHC: the interface exists but has no PTP hardware clock
	// (ETHTOOL_GET_TS_INFO reports phc_index −1, or the driver answers
	// nothing about timestamping).
	ErrNoPHC = errors.New("no PHC")
	// ErrNoInterface: there is no network interface of that name.
	ErrNoInterface = errors.New("no such interface")
)

// InterfaceDevice returns the PHC of the network interface ifname: its
// device path (/dev/ptpN) and index N, as ETHTOOL_GET_TS_INFO reports them
// (what `ethtool -T ifname` prints as "PTP Hardware Clock"). The ioctl goes
// through a datagram socket that is never bound or connected. Errors:
// ErrNoInterface ("no such interface eth9"), ErrNoPHC ("interface lo has no
// PHC"), ErrInvalid for a name the kernel cannot hold.
func InterfaceDevice(ifname string) (path string, index int, err error) {
	if ifname == "" || len(ifname) >= unix.IFNAMSIZ {
		return "", -1, fmt.Errorf("interface name %q: want 1…%d bytes: %w", ifname, unix.IFNAMSIZ-1, ErrInvalid)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", -1, fmt.Errorf("interface %s: socket for ETHTOOL_GET_TS_INFO: %w", ifname, err)
	}
	defer unix.Close(fd)
	ti, err := unix.IoctlGetEthtoolTsInfo(fd, ifname)
	switch {
	case errors.Is(err, unix.ENODEV):
		return "", -1, fmt.Errorf("%w %s", ErrNoInterface, ifname)
	case errors.Is(err, unix.EOPNOTSUPP):
		return "", -1, fmt.Errorf("interface %s has %w (ETHTOOL_GET_TS_INFO: %v)", ifname, ErrNoPHC, err)
	case err != nil:
		return "", -1, fmt.Errorf("interface %s: ETHTOOL_GET_TS_INFO: %w", ifname, err)
	case ti.Phc_index < 0:
		return "", -1, fmt.Errorf("interface %s has %w", ifname, ErrNoPHC)
	}
	return DevicePath(int(ti.Phc_index)), int(ti.Phc_index), nil
}

// DevicePath is the character device of PHC index n: /dev/ptpN.
func DevicePath(n int) string { return fmt.Sprintf("/dev/ptp%d", n) }
