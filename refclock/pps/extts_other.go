//go:build !linux

package pps

import "fmt"

func openPHC(path string) (phcDevice, error) {
	return nil, fmt.Errorf("open PHC %s: EXTTS: %w", path, ErrUnsupported)
}
