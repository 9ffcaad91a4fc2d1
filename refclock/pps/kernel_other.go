//go:build !(linux && (amd64 || arm64 || riscv64 || loong64 || s390x))

package pps

import "fmt"

func openPPS(path string) (ppsDevice, error) {
	return nil, fmt.Errorf("open PPS device %s: kernel PPS (RFC 2783 ioctls with 64-bit layouts): %w", path, ErrUnsupported)
}
