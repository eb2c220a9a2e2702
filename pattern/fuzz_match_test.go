package pattern

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// FuzzMatchDifferential generates patterns and events from the fuzz input,
// loads several patterns into one Matcher and checks that it returns exactly
// the patterns that the reference evaluator (refMatch) says match.
//
// Run it with: go test -run '^$' -fuzz FuzzMatchDifferential ./pattern
func FuzzMatchDifferential(f *testing.F) {
	for _, seed := range []string{
		"", "\x00", "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a",
		"pattern seed with some bytes to spend on choices",
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0",
		"\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\xd0\xe0\xf0",
		strings.Repeat("\x07\x13\x2a", 40),
		strings.Repeat("\x03\x05\x09\x11\x21\x41\x81", 30),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data}
		m := New()
		var pats []any
		var texts []string
		npat := 1 + g.intn(4)
		for i := 0; i < npat; i++ {
			p := g.pattern()
			text, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Add(fmt.Sprint(i), text); err != nil {
				continue // the generator may produce invalid patterns
			}
			decoded, err := decodeJSON(text)
			if err != nil {
				t.Fatal(err)
			}
			pats = append(pats, decoded)
			texts = append(texts, fmt.Sprint(i)+": "+string(text))
		}
		for e := 0; e < 3; e++ {
			ev := g.event()
			evText, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := decodeJSON(evText)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Match(evText)
			if err != nil {
				t.Fatalf("Match(%s): %v", evText, err)
			}
			slices.Sort(got)
			var want []string
			for k, p := range pats {
				if refMatch(p, decoded) {
					want = append(want, strings.SplitN(texts[k], ":", 2)[0])
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("event %s\npatterns:\n  %s\nmatcher: %v\nreference: %v", evText, strings.Join(texts, "\n  "), got, want)
			}
		}
	})
}

// gen turns fuzz bytes into choices; when the bytes run out every choice is 0.
type gen struct {
	data  []byte
	pos   int
	depth int
}

func (g *gen) byte() byte {
	if g.pos >= len(g.data) {
		return 0
	}
	b := g.data[g.pos]
	g.pos++
	return b
}

func (g *gen) intn(n int) int { return int(g.byte()) % n }

func pick[T any](g *gen, xs []T) T { return xs[g.intn(len(xs))] }

var (
	genKeys    = []string{"a", "b", "c", "d", "a.b", "b.c", "e"}
	genStrings = []string{"", "x", "X", "xy", "Xy", "yx", "abc", "ABC", "aBc", "a*c", "a\\c", "init", "init-x",
		"file.txt", "file.TXT", ".txt", "10.0.0.1", "10.0.1.255", "192.168.0.1", "2001:db8::1", "::1",
		"été", "ÉTÉ", "k", "K", "\u212a", "ß", "ẞ", "300", "1e2", "null", "true", "a.b", "\"q\"", "tab\there"}
	genNumbers = []any{0, 1, -1, 1.5, 300, 3e2, 300.0001, -5, 1e9, 0.1, 2, 10, 100, -122.5, 37.75, 5e-324,
		json.Number("-122.504078056993180"), json.Number("-122.50407805699318"), json.Number("-122.504078056993181"),
		json.Number("37.736216555206525"), json.Number("1234567890.123456789"), json.Number("4999999999.99999999"),
		json.Number("0.30000000000000004"), json.Number("0.3"), json.Number("-0.0"), json.Number("1E2"), json.Number("100.000000000000000001"),
		json.Number("1234567.5"), json.Number("1234567.12345678"), json.Number("12345678.5"), json.Number("-0.000001234567891"),
		json.Number("37.75000000000001"), json.Number("37.7500000"), json.Number("-122.44999999999"), json.Number("0.0"), json.Number("7.25e1")}
	genPrefix = []string{"", "x", "X", "a", "ab", "AB", "init", "fi", "10.", "é", "É", "k", "\u212a", "ß"}
	genSuffix = []string{"", "x", "y", "c", "BC", ".txt", ".TXT", "é", "É", "1", "k"}
	genWild   = []string{"*", "a*", "*c", "a*c", "*b*", "x*y", "a\\*c", "*.txt", "f*e*t", "", "abc", "*1*", "a*b*c", "*x*", "a\\\\c"}
	genCIDR   = []string{"10.0.0.0/8", "10.0.0.0/24", "10.0.0.1/32", "192.168.0.0/16", "2001:db8::/32", "::1/128", "0.0.0.0/0"}
)

func (g *gen) str() string { return pick(g, genStrings) }
func (g *gen) num() any    { return pick(g, genNumbers) }
func (g *gen) strs() []any { return g.list(func() any { return g.str() }) }
func (g *gen) nums() []any { return g.list(g.num) }
func (g *gen) list(f func() any) []any {
	n := 1 + g.intn(3)
	out := make([]any, n)
	for i := range out {
		out[i] = f()
	}
	return out
}

// cond returns one element of a pattern's value list.
func (g *gen) cond() any {
	switch g.intn(24) {
	case 0, 1:
		return g.str()
	case 2:
		return g.num()
	case 3:
		return nil
	case 4:
		return g.intn(2) == 0
	case 5:
		return map[string]any{"prefix": pick(g, genPrefix)}
	case 6:
		return map[string]any{"prefix": map[string]any{"equals-ignore-case": pick(g, genPrefix)}}
	case 7:
		return map[string]any{"suffix": pick(g, genSuffix)}
	case 8:
		return map[string]any{"suffix": map[string]any{"equals-ignore-case": pick(g, genSuffix)}}
	case 9:
		return map[string]any{"equals-ignore-case": g.str()}
	case 10:
		return map[string]any{"wildcard": pick(g, genWild)}
	case 11:
		if g.intn(2) == 0 {
			return map[string]any{"anything-but": g.str()}
		}
		return map[string]any{"anything-but": g.strs()}
	case 12:
		if g.intn(2) == 0 {
			return map[string]any{"anything-but": g.num()}
		}
		return map[string]any{"anything-but": g.nums()}
	case 13:
		return map[string]any{"anything-but": map[string]any{"prefix": pick(g, genPrefix[1:])}}
	case 14:
		return map[string]any{"anything-but": map[string]any{"suffix": pick(g, genSuffix[1:])}}
	case 15:
		if g.intn(2) == 0 {
			return map[string]any{"anything-but": map[string]any{"equals-ignore-case": g.str()}}
		}
		return map[string]any{"anything-but": map[string]any{"equals-ignore-case": g.strs()}}
	case 16:
		return map[string]any{"anything-but": map[string]any{"wildcard": pick(g, genWild)}}
	case 17, 18:
		ops := []string{"=", "<", "<=", ">", ">="}
		op := pick(g, ops)
		r := []any{op, g.num()}
		if op == ">" || op == ">=" {
			if g.intn(2) == 0 {
				r = append(r, pick(g, []string{"<", "<="}), g.num())
			}
		}
		return map[string]any{"numeric": r}
	case 19, 20:
		return map[string]any{"exists": g.intn(2) == 0}
	case 21:
		return map[string]any{"cidr": pick(g, genCIDR)}
	default:
		return g.str()
	}
}

// pattern returns a pattern object.
func (g *gen) pattern() any {
	g.depth = 0
	return g.patObject()
}

func (g *gen) patObject() map[string]any {
	g.depth++
	defer func() { g.depth-- }()
	obj := map[string]any{}
	n := 1 + g.intn(3)
	for i := 0; i < n; i++ {
		k := pick(g, genKeys)
		switch {
		case g.depth < 3 && g.intn(5) == 0:
			obj[k] = g.patObject()
		case g.depth < 3 && g.intn(8) == 0:
			alts := make([]any, 2+g.intn(2))
			for j := range alts {
				alts[j] = g.patObject()
			}
			obj["$or"] = alts
		default:
			obj[k] = g.list(g.cond)
		}
	}
	return obj
}

// event returns an event object.
func (g *gen) event() any {
	g.depth = 0
	ev := g.evObject()
	if g.intn(2) == 0 {
		// A long last member: numbers then lie far enough from the end
		// of the event for the lexer's eight-byte loads.
		ev["zz"] = strings.Repeat("z", 32)
	}
	return ev
}

func (g *gen) evObject() map[string]any {
	g.depth++
	defer func() { g.depth-- }()
	obj := map[string]any{}
	n := 1 + g.intn(4)
	for i := 0; i < n; i++ {
		obj[pick(g, genKeys)] = g.evValue()
	}
	return obj
}

func (g *gen) evValue() any {
	switch g.intn(12) {
	case 0, 1, 2:
		return g.str()
	case 3, 4:
		return g.num()
	case 5:
		return nil
	case 6:
		return g.intn(2) == 0
	case 7, 8:
		if g.depth < 4 {
			return g.evObject()
		}
		return g.str()
	default:
		if g.depth >= 4 {
			return []any{}
		}
		g.depth++
		defer func() { g.depth-- }()
		out := make([]any, g.intn(4))
		for i := range out {
			out[i] = g.evValue()
		}
		return out
	}
}
