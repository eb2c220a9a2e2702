package inbound

import (
	"github.com/conveyor/conveyor/internal/awsapi"

	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Credential is one way to authenticate at the inbound endpoints, as an
// EventBridge connection sends it: an API key (a header and its value) or
// basic auth (a user name and password).
type Credential struct {
	// Bus limits the credential to one event bus ("" for every bus).
	Bus string
	// Header and Value: an API key credential.
	Header, Value string
	// Username and Password: a basic auth credential.
	Username, Password string
}

var (
	// busRe is EventBridge's bus name rule for buses of the account.
	busRe = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,256}$`)
	// tokenRe is an HTTP header name (RFC 9110 token).
	tokenRe = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// cutBus splits an optional "BUS/" prefix off s.
func cutBus(s string) (bus, rest string, err error) {
	b, r, ok := strings.Cut(s, "/")
	if !ok {
		return "", s, nil
	}
	if !busRe.MatchString(b) {
		return "", "", fmt.Errorf("%q is not an event bus name", b)
	}
	return b, r, nil
}

// ParseKey parses an API key credential, [BUS/]HEADER=VALUE (the
// --inbound-key flag): requests must carry the header HEADER with VALUE,
// as an EventBridge connection of type API_KEY with ApiKeyName HEADER and
// ApiKeyValue VALUE sends it. With BUS/, it is good for that bus only.
func ParseKey(s string) (Credential, error) {
	bus, rest, err := cutBus(s)
	if err != nil {
		return Credential{}, fmt.Errorf("inbound key %q: %w", s, err)
	}
	name, value, ok := strings.Cut(rest, "=")
	switch {
	case !ok:
		return Credential{}, fmt.Errorf("inbound key %q: want [BUS/]HEADER=VALUE", s)
	case !tokenRe.MatchString(name):
		return Credential{}, fmt.Errorf("inbound key %q: %q is not a header name", s, name)
	case value == "":
		return Credential{}, fmt.Errorf("inbound key %q: the value is empty", s)
	}
	return Credential{Bus: bus, Header: http.CanonicalHeaderKey(name), Value: value}, nil
}

// ParseBasic parses a basic auth credential, [BUS/]USER:PASSWORD (the
// --inbound-basic flag), as a connection of type BASIC sends it. The
// password may contain ':'; a user name containing '/' needs the BUS/
// prefix.
func ParseBasic(s string) (Credential, error) {
	bus, rest := "", s
	if i, j := strings.IndexByte(s, '/'), strings.IndexByte(s, ':'); i >= 0 && (j < 0 || i < j) {
		var err error
		if bus, rest, err = cutBus(s); err != nil {
			return Credential{}, fmt.Errorf("inbound basic auth: %w", err)
		}
	}
	user, pass, ok := strings.Cut(rest, ":")
	if !ok || user == "" || pass == "" {
		return Credential{}, fmt.Errorf("inbound basic auth for %q: want [BUS/]USER:PASSWORD", user)
	}
	return Credential{Bus: bus, Username: user, Password: pass}, nil
}

// equal compares secrets in constant time (also in their length).
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// authorize checks r's credentials for bus. It returns 0 when they are
// good, else the HTTP status and message to answer with.
func (h *Handler) authorize(r *http.Request, bus string) (int, *awsapi.Error) {
	if len(h.creds) == 0 {
		return http.StatusForbidden, &awsapi.Error{Code: "AccessDeniedException",
			Message: "Inbound events are disabled: start Conveyor with --inbound-key or --inbound-basic to accept them."}
	}
	presented := false
	user, pass, hasBasic := r.BasicAuth()
	presented = presented || r.Header.Get("Authorization") != ""
	for _, c := range h.creds {
		if c.Header != "" {
			v := r.Header.Get(c.Header)
			presented = presented || v != ""
			if v != "" && equal(v, c.Value) && (c.Bus == "" || c.Bus == bus) {
				return 0, nil
			}
			continue
		}
		if hasBasic && equal(user, c.Username) && equal(pass, c.Password) && (c.Bus == "" || c.Bus == bus) {
			return 0, nil
		}
	}
	if !presented {
		return http.StatusUnauthorized, &awsapi.Error{Code: "UnauthorizedException",
			Message: "Missing credentials: send the API key header or basic auth configured for inbound events."}
	}
	return http.StatusForbidden, &awsapi.Error{Code: "AccessDeniedException",
		Message: "The credentials are not valid for inbound events on event bus " + bus + "."}
}
