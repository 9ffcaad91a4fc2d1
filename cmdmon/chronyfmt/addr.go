package chronyfmt

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/gnomon-time/gnomon/cmdmon/wire"
)

// Address is chrony's UTI_IPToString: dotted quad, IPv6 as glibc's
// inet_ntop writes it, ID#NNNNNNNNNN for an unresolved source, [UNSPEC].
func Address(a wire.IPAddr) string {
	switch a.Family {
	case wire.FamilyUnspec:
		return "[UNSPEC]"
	case wire.FamilyInet4:
		if !a.Addr.Is4() {
			return "0.0.0.0"
		}
		return a.Addr.String()
	case wire.FamilyInet6:
		return inet6String(a.Addr.As16())
	case wire.FamilyID:
		return fmt.Sprintf("ID#%010d", a.ID)
	}
	return "[UNKNOWN]"
}

// inet6String follows glibc's inet_ntop6: the first longest run of two or
// more zero groups becomes "::", and an address whose first 96 bits are
// zero (with at least one of the last two groups non-zero), or an
// IPv4-mapped one, ends in a dotted quad.
func inet6String(b [16]byte) string {
	var w [8]uint16
	for i := range w {
		w[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	best, bestLen, cur, curLen := -1, 0, -1, 0
	for i := 0; i < 8; i++ {
		if w[i] == 0 {
			if cur < 0 {
				cur, curLen = i, 1
			} else {
				curLen++
			}
			if curLen > bestLen {
				best, bestLen = cur, curLen
			}
		} else {
			cur = -1
		}
	}
	if bestLen < 2 {
		best = -1
	}
	var s strings.Builder
	for i := 0; i < 8; i++ {
		if best >= 0 && i >= best && i < best+bestLen {
			if i == best {
				s.WriteByte(':')
			}
			continue
		}
		if i != 0 {
			s.WriteByte(':')
		}
		if i == 6 && best == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)) {
			fmt.Fprintf(&s, "%d.%d.%d.%d", b[12], b[13], b[14], b[15])
			return s.String()
		}
		s.WriteString(strconv.FormatUint(uint64(w[i]), 16))
	}
	if best >= 0 && best+bestLen == 8 {
		s.WriteByte(':')
	}
	return s.String()
}

// AddressRefID is chrony's UTI_IPToRefid: the IPv4 address itself, the
// first 32 bits of the MD5 of an IPv6 address, else 0.
func AddressRefID(a wire.IPAddr) uint32 {
	switch a.Family {
	case wire.FamilyInet4:
		if a.Addr.Is4() {
			b := a.Addr.As4()
			return binary.BigEndian.Uint32(b[:])
		}
	case wire.FamilyInet6:
		b := a.Addr.As16()
		h := md5.Sum(b[:])
		return binary.BigEndian.Uint32(h[:4])
	}
	return 0
}

// sourceName is chronyc -n's format_name: the reference ID's text when ref,
// else the address.
func sourceName(ref bool, refID uint32, a wire.IPAddr) string {
	if ref {
		return RefIDString(refID)
	}
	return Address(a)
}
