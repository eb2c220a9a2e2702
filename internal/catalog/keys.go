package catalog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/conveyor/conveyor/internal/scope"
)

// Key layout of the catalog bucket. Each name is encoded with encodeToken so
// that it is one valid KV key token whatever AWS allows in it; <scope> is
// the account and the region, two tokens:
//
//	bus.<scope>.<bus>                 a Bus
//	rule.<scope>.<bus>.<rule>         a Rule with its targets
//	connection.<scope>.<name>         a Connection
//	destination.<scope>.<name>        an APIDestination
//	meta.home                         the home scope (see Catalog.Home)
//
// Before accounts and regions, keys had no scope (bus.<bus>, …); Open moves
// such keys to the home scope.
const (
	prefixBus         = "bus"
	prefixRule        = "rule"
	prefixConnection  = "connection"
	prefixDestination = "destination"
	prefixMeta        = "meta"
	homeKey           = prefixMeta + ".home"
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

func scopeTokens(sc scope.Scope) string {
	return encodeToken(sc.Account) + "." + encodeToken(sc.Region)
}

func busKey(sc scope.Scope, bus string) string {
	return prefixBus + "." + scopeTokens(sc) + "." + encodeToken(bus)
}
func ruleKey(sc scope.Scope, bus, rule string) string {
	return rulesOfBusGroup(sc, bus) + "." + encodeToken(rule)
}
func busesGroup(sc scope.Scope) string { return prefixBus + "." + scopeTokens(sc) }
func rulesOfBusGroup(sc scope.Scope, bus string) string {
	return prefixRule + "." + scopeTokens(sc) + "." + encodeToken(bus)
}
func connectionsGroup(sc scope.Scope) string { return prefixConnection + "." + scopeTokens(sc) }
func connectionKey(sc scope.Scope, name string) string {
	return connectionsGroup(sc) + "." + encodeToken(name)
}
func destinationsGroup(sc scope.Scope) string { return prefixDestination + "." + scopeTokens(sc) }
func destinationKey(sc scope.Scope, name string) string {
	return destinationsGroup(sc) + "." + encodeToken(name)
}

// parsedKey is a catalog key taken apart.
type parsedKey struct {
	kind  Kind
	scope scope.Scope
	bus   string // KindBus and KindRule
	name  string // the record's own name (the bus name for KindBus)
	// legacy: the key has no scope (written before accounts and regions).
	legacy bool
}

// kindMeta is the kind of the catalog's own keys (meta.…).
const kindMeta Kind = "meta"

func parseKey(key string) (parsedKey, error) {
	parts := strings.Split(key, ".")
	var (
		pk   parsedKey
		errs []error
	)
	dec := func(i int) string {
		s, err := decodeToken(parts[i])
		errs = append(errs, err)
		return s
	}
	n := len(parts)
	scoped := func(want int) bool {
		if n == want+2 {
			pk.scope = scope.Scope{Account: dec(1), Region: dec(2)}
			return true
		}
		pk.legacy = n == want
		return pk.legacy
	}
	// last(i) is the i-th name after the scope (or after the prefix, for a legacy key).
	last := func(i int) string { return dec(n - i) }
	switch parts[0] {
	case prefixBus:
		if !scoped(2) {
			return pk, fmt.Errorf("catalog: unknown key %q", key)
		}
		pk.kind = KindBus
		pk.bus = last(1)
		pk.name = pk.bus
	case prefixRule:
		if !scoped(3) {
			return pk, fmt.Errorf("catalog: unknown key %q", key)
		}
		pk.kind = KindRule
		pk.bus, pk.name = last(2), last(1)
	case prefixConnection, prefixDestination:
		if !scoped(2) {
			return pk, fmt.Errorf("catalog: unknown key %q", key)
		}
		pk.kind = KindConnection
		if parts[0] == prefixDestination {
			pk.kind = KindAPIDestination
		}
		pk.name = last(1)
	case prefixMeta:
		pk.kind = kindMeta
		return pk, nil
	default:
		return pk, fmt.Errorf("catalog: unknown key %q", key)
	}
	return pk, errors.Join(errs...)
}

// keyOf is the key of a parsed key in scope sc (a legacy key's new key).
func (pk parsedKey) keyIn(sc scope.Scope) string {
	switch pk.kind {
	case KindBus:
		return busKey(sc, pk.bus)
	case KindRule:
		return ruleKey(sc, pk.bus, pk.name)
	case KindConnection:
		return connectionKey(sc, pk.name)
	default:
		return destinationKey(sc, pk.name)
	}
}
