package selection

import (
	"crypto/md5"
	"encoding/binary"
	"net/netip"
)

// RefIDForAddr returns the NTP reference ID that identifies an upstream
// server at addr (RFC 5905 §7.3, chrony UTI_IPToRefid): the IPv4 address
// itself as a big-endian value, or for IPv6 the first four bytes of the MD5
// digest of the 16 address bytes. IPv4-mapped IPv6 addresses are treated as
// IPv4. The zone is ignored. An invalid address gives 0.
func RefIDForAddr(addr netip.Addr) uint32 {
	if !addr.IsValid() {
		return 0
	}
	addr = addr.Unmap()
	if addr.Is4() {
		b := addr.As4()
		return binary.BigEndian.Uint32(b[:])
	}
	b := addr.As16()
	sum := md5.Sum(b[:])
	return binary.BigEndian.Uint32(sum[:4])
}
