package pattern

import (
	"net/netip"
	"strconv"
	"strings"
)

// parseCIDR parses the operand of "cidr": an IPv4 or IPv6 address, a '/',
// and a mask length. The result is masked (10.0.0.5/24 gives 10.0.0.0/24).
// The order of the checks follows AWS: the mask is read before the address
// (AWS case content_ip_address_bad_mask_EXC: "bad-/64filter" is a mask error).
func parseCIDR(s string) (netip.Prefix, error) {
	addrText, maskText, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(maskText, "/") {
		return netip.Prefix{}, invalid("Malformed CIDR, one '/' required")
	}
	bits, err := strconv.Atoi(maskText)
	if err != nil {
		return netip.Prefix{}, invalid("Malformed CIDR, mask bits must be an integer")
	}
	if bits < 0 {
		return netip.Prefix{}, invalid("Malformed CIDR, mask bits must not be negative")
	}
	addr, err := netip.ParseAddr(addrText)
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}, invalidf("Nonstandard IP address: %s", addrText)
	}
	if bits > addr.BitLen() {
		if addr.Is4() {
			return netip.Prefix{}, invalid("Malformed CIDR, IPv4 mask bits must be between 0 and 32")
		}
		return netip.Prefix{}, invalid("Malformed CIDR, IPv6 mask bits must be between 0 and 128")
	}
	return netip.PrefixFrom(addr, bits).Masked(), nil
}
