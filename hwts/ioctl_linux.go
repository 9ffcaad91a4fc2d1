package hwts

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// IoctlBuffer issues ioctl(2) request req on fd with the address of b as
// its argument: for device ioctls x/sys/unix has no wrapper for (the PPS
// API of refclock/pps), whose structs the caller lays out in b. It is here
// because hwts is gnomon's one home of unsafe; b must be at least as long
// as the request's argument and is not retained.
func IoctlBuffer(fd uintptr, req uint32, b []byte) error {
	if len(b) == 0 {
		return syscall.EINVAL
	}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, uintptr(req), uintptr(unsafe.Pointer(&b[0])))
	if errno != 0 {
		return errno
	}
	return nil
}
