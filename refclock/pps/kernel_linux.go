//go:build linux && (amd64 || arm64 || riscv64 || loong64 || s390x)

package pps

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/gnomon-time/gnomon/hwts"
)

// ppsFile is /dev/ppsN. x/sys/unix has no PPS ioctls, so they are issued
// here on byte buffers laid out by abi.go, through hwts.IoctlBuffer (hwts
// is gnomon's one home of unsafe).
type ppsFile struct {
	f  *os.File
	rc syscall.RawConn
}

// openPPS opens the device read-write (as gpsd and chrony do), or
// read-only when that is refused: fetching needs no write access, and
// PPS_SETPARAMS checks CAP_SYS_TIME, not the open mode.
func openPPS(path string) (*ppsFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		f, err = os.OpenFile(path, os.O_RDONLY, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open PPS device %s: %w", path, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open PPS device %s: %w", path, err)
	}
	return &ppsFile{f: f, rc: rc}, nil
}

// ioctl issues req with b as its argument. It goes through RawConn so the
// descriptor stays as Go opened it (File.Fd would make it blocking).
func (p *ppsFile) ioctl(req uint32, b []byte) error {
	var ierr error
	if err := p.rc.Control(func(fd uintptr) { ierr = hwts.IoctlBuffer(fd, req, b) }); err != nil {
		return err
	}
	return ierr
}

func (p *ppsFile) getCap() (int32, error) {
	var b [4]byte
	if err := p.ioctl(ppsGetCap, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.NativeEndian.Uint32(b[:])), nil
}

func (p *ppsFile) getParams() (ppsParams, error) {
	var b [ppsKparamsSize]byte
	if err := p.ioctl(ppsGetParams, b[:]); err != nil {
		return ppsParams{}, err
	}
	return decodeParams(&b), nil
}

func (p *ppsFile) setParams(v ppsParams) error {
	var b [ppsKparamsSize]byte
	v.encode(&b)
	return p.ioctl(ppsSetParams, b[:])
}

func (p *ppsFile) fetch(timeout time.Duration) (ppsInfo, error) {
	var b [ppsFdataSize]byte
	encodeFetch(&b, timeout)
	if err := p.ioctl(ppsFetch, b[:]); err != nil {
		return ppsInfo{}, err
	}
	return decodeFetch(&b), nil
}

func (p *ppsFile) close() error { return p.f.Close() }
