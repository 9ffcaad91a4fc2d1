package phc

import (
	"errors"
	"strings"
	"testing"
)

// TestInterfaceDevice asks the kernel (ETHTOOL_GET_TS_INFO, no traffic)
// about the loopback, which has no PHC, and about interfaces that do not
// exist or cannot.
func TestInterfaceDevice(t *testing.T) {
	for name, tc := range map[string]struct {
		ifname  string
		want    error
		message string
	}{
		"loopback has no PHC": {ifname: "lo", want: ErrNoPHC, message: "interface lo has no PHC"},
		"missing interface":   {ifname: "gnomon-none0", want: ErrNoInterface, message: "no such interface gnomon-none0"},
		"empty name":          {ifname: "", want: ErrInvalid},
		"name too long":       {ifname: "a-name-longer-than-ifnamsiz", want: ErrInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			path, idx, err := InterfaceDevice(tc.ifname)
			if !errors.Is(err, tc.want) || path != "" || idx != -1 {
				t.Fatalf("InterfaceDevice(%q) = %q, %d, %v; want error %v", tc.ifname, path, idx, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
		})
	}
	if got := DevicePath(3); got != "/dev/ptp3" {
		t.Errorf("DevicePath(3) = %q", got)
	}
}
