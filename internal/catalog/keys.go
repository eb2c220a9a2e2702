package catalog

import (
	"fmt"
	"strings"
)

// Key layout of the catalog bucket. Each name is encoded with encodeToken so
// that it is one valid KV key token whatever AWS allows in it:
//
//	bus.<bus>                 a Bus
//	rule.<bus>.<rule>         a Rule with its targets
//	connection.<name>         a Connection
//	destination.<name>        an APIDestination
const (
	prefixBus         = "bus"
	prefixRule        = "rule"
	prefixConnection  = "connection"
	prefixDestination = "destination"
)

// encodeToken maps a name to one NATS KV key token, injectively. Letters,
// digits, '-', '_' and '/' stand for themselves; every other byte (among AWS's
// name characters only '.') becomes '=' and two upper-case hex digits. '='
// itself is always escaped, so decoding is unambiguous. The empty name, which
// AWS never allows, becomes "=" so that the token is never empty.
func encodeToken(name string) string {
	if name == "" {
		return "="
	}
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	return b.String()
}

// decodeToken inverts encodeToken.
func decodeToken(tok string) (string, error) {
	if tok == "=" {
		return "", nil
	}
	if !strings.Contains(tok, "=") {
		return tok, nil
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c != '=' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(tok) {
			return "", fmt.Errorf("catalog: bad key token %q: truncated escape", tok)
		}
		hi, ok1 := unhex(tok[i+1])
		lo, ok2 := unhex(tok[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("catalog: bad key token %q: bad escape", tok)
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func busKey(bus string) string { return prefixBus + "." + encodeToken(bus) }
func ruleKey(bus, rule string) string {
	return prefixRule + "." + encodeToken(bus) + "." + encodeToken(rule)
}
func rulesOfBusGroup(bus string) string { return prefixRule + "." + encodeToken(bus) }
func connectionKey(name string) string  { return prefixConnection + "." + encodeToken(name) }
func destinationKey(name string) string { return prefixDestination + "." + encodeToken(name) }

// parsedKey is a catalog key taken apart.
type parsedKey struct {
	kind Kind
	bus  string // KindBus and KindRule
	name string // the record's own name (the bus name for KindBus)
}

func parseKey(key string) (parsedKey, error) {
	parts := strings.Split(key, ".")
	dec := func(i int) (string, error) { return decodeToken(parts[i]) }
	var (
		pk  parsedKey
		err error
	)
	switch {
	case len(parts) == 2 && parts[0] == prefixBus:
		pk.kind = KindBus
		pk.bus, err = dec(1)
		pk.name = pk.bus
	case len(parts) == 3 && parts[0] == prefixRule:
		pk.kind = KindRule
		if pk.bus, err = dec(1); err == nil {
			pk.name, err = dec(2)
		}
	case len(parts) == 2 && parts[0] == prefixConnection:
		pk.kind = KindConnection
		pk.name, err = dec(1)
	case len(parts) == 2 && parts[0] == prefixDestination:
		pk.kind = KindAPIDestination
		pk.name, err = dec(1)
	default:
		return pk, fmt.Errorf("catalog: unknown key %q", key)
	}
	return pk, err
}
