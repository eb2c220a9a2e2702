package catalog

import (
	"github.com/conveyor/conveyor/internal/scope"

	"regexp"
	"testing"
)

var validToken = regexp.MustCompile(`^[-/_=a-zA-Z0-9]+$`)

func TestEncodeToken(t *testing.T) {
	tests := []struct{ in, want string }{
		{"default", "default"},
		{"my-bus_1", "my-bus_1"},
		{"a.b", "a=2Eb"},
		{"..", "=2E=2E"},
		{".", "=2E"},
		{"aws.partner/acme.com/x", "aws=2Epartner/acme=2Ecom/x"},
		{"a=b", "a=3Db"},
		{"", "="},
		{"é", "=C3=A9"},
	}
	for _, tt := range tests {
		got := encodeToken(tt.in)
		if got != tt.want {
			t.Errorf("encodeToken(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !validToken.MatchString(got) {
			t.Errorf("encodeToken(%q) = %q: not a valid key token", tt.in, got)
		}
		back, err := decodeToken(got)
		if err != nil || back != tt.in {
			t.Errorf("decodeToken(%q) = %q, %v; want %q", got, back, err, tt.in)
		}
	}
}

func TestDecodeTokenErrors(t *testing.T) {
	for _, tok := range []string{"a=", "a=2", "=G0", "=2e"} {
		if got, err := decodeToken(tok); err == nil {
			t.Errorf("decodeToken(%q) = %q, want an error", tok, got)
		}
	}
}

func TestParseKey(t *testing.T) {
	sc := scope.Scope{Account: "123456789012", Region: "eu-west-1"}
	tests := []struct {
		key  string
		want parsedKey
	}{
		{busKey(sc, "a.b"), parsedKey{kind: KindBus, scope: sc, bus: "a.b", name: "a.b"}},
		{ruleKey(sc, "x/y", "r.1"), parsedKey{kind: KindRule, scope: sc, bus: "x/y", name: "r.1"}},
		{connectionKey(sc, ".."), parsedKey{kind: KindConnection, scope: sc, name: ".."}},
		{destinationKey(sc, "d"), parsedKey{kind: KindAPIDestination, scope: sc, name: "d"}},
		// Keys written before accounts and regions.
		{"bus.a=2Eb", parsedKey{kind: KindBus, bus: "a.b", name: "a.b", legacy: true}},
		{"rule.x/y.r=2E1", parsedKey{kind: KindRule, bus: "x/y", name: "r.1", legacy: true}},
		{"connection.c", parsedKey{kind: KindConnection, name: "c", legacy: true}},
		{"destination.d", parsedKey{kind: KindAPIDestination, name: "d", legacy: true}},
	}
	for _, tt := range tests {
		got, err := parseKey(tt.key)
		if err != nil || got != tt.want {
			t.Errorf("parseKey(%q) = %+v, %v; want %+v", tt.key, got, err, tt.want)
		}
		if !tt.want.legacy && tt.want.keyIn(sc) != tt.key {
			t.Errorf("keyIn of %q = %q", tt.key, tt.want.keyIn(sc))
		}
	}
	for _, bad := range []string{"bus", "bus.a.b", "rule.a", "other.a", "bus.a=Z", "rule.a.b.c.d.e.f"} {
		if _, err := parseKey(bad); err == nil {
			t.Errorf("parseKey(%q): want an error", bad)
		}
	}
}

func FuzzEncodeToken(f *testing.F) {
	for _, s := range []string{"default", "a.b", "..", "a/b", "a=b", "", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := encodeToken(s)
		if !validToken.MatchString(tok) {
			t.Fatalf("encodeToken(%q) = %q: not a valid key token", s, tok)
		}
		back, err := decodeToken(tok)
		if err != nil || back != s {
			t.Fatalf("decodeToken(encodeToken(%q)) = %q, %v", s, back, err)
		}
	})
}
