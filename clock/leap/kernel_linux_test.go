package leap

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The constants must match the kernel's (the package itself stays free of
// x/sys so that it builds everywhere and imports no syscalls).
func TestKernelConstantsMatchUnix(t *testing.T) {
	if StaINS != unix.STA_INS || StaDEL != unix.STA_DEL {
		t.Errorf("StaINS %#x StaDEL %#x, unix: %#x %#x", StaINS, StaDEL, unix.STA_INS, unix.STA_DEL)
	}
}
