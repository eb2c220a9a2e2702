package store

import (
	"regexp"
	"strings"
	"testing"
)

func TestToken(t *testing.T) {
	validToken := regexp.MustCompile(`^[0-9a-v]+$|^_$`)
	names := []string{
		"", "default", "Default", "a", "b", "my.bus", "my/bus", "my-bus", "my_bus",
		"aws.partner/saas.com/12345/name", ".", "/", "-", "_", "a.b", "a/b", "ab", "a-b",
		strings.Repeat("x", 256),
	}
	seen := map[string]string{}
	for _, n := range names {
		tok := Token(n)
		if !validToken.MatchString(tok) {
			t.Errorf("Token(%q) = %q: not a valid token", n, tok)
		}
		if other, ok := seen[tok]; ok {
			t.Errorf("Token(%q) = Token(%q) = %q", n, other, tok)
		}
		seen[tok] = n
		back, ok := ParseToken(tok)
		if !ok || back != n {
			t.Errorf("ParseToken(Token(%q)) = %q, %v", n, back, ok)
		}
	}
	if _, ok := ParseToken("BAD!"); ok {
		t.Error("ParseToken accepted an invalid token")
	}
}

func TestName(t *testing.T) {
	validName := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	long := strings.Repeat("n", 200)
	cases := []struct {
		prefix string
		parts  []string
		hashed bool
	}{
		{"BUS", []string{"default"}, false},
		{"BUS", []string{"my.bus/x"}, false},
		{"T", []string{"a", "bc"}, false},
		{"T", []string{"ab", "c"}, false},
		{"BUS", []string{strings.Repeat("b", 157)}, true},
		{"BUS", []string{strings.Repeat("b", 156)}, false},
		{"T", []string{long, "x"}, true},
		{"T", []string{long + "x", ""}, true},
		{"T", []string{long, "y"}, true},
	}
	seen := map[string]int{}
	for i, c := range cases {
		n := Name(c.prefix, c.parts...)
		if len(n) > maxNameLen || !validName.MatchString(n) {
			t.Errorf("Name(%q, %q) = %q: invalid (len %d)", c.prefix, c.parts, n, len(n))
		}
		if got := strings.HasPrefix(n, c.prefix+"-z"); got != c.hashed {
			t.Errorf("Name(%q, %q) hashed = %v, want %v", c.prefix, c.parts, got, c.hashed)
		}
		if j, ok := seen[n]; ok {
			t.Errorf("cases %d and %d share name %q", i, j, n)
		}
		seen[n] = i
	}
}

func TestBusNames(t *testing.T) {
	if got, want := BusSubject("default"), "conveyor.bus."+Token("default"); got != want {
		t.Errorf("BusSubject = %q, want %q", got, want)
	}
	if got, want := BusStream("default"), "BUS-"+Token("default"); got != want {
		t.Errorf("BusStream = %q, want %q", got, want)
	}
	if BusSubject("a.b") == BusSubject("a/b") || strings.Count(BusSubject("a.b"), ".") != 2 {
		t.Errorf("bus subject of a.b = %q", BusSubject("a.b"))
	}
}
