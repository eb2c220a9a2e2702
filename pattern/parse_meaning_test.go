package pattern

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestParseMeaning checks, on many generated patterns and events, that
// Parse's normal form means what the pattern's JSON means: astMatch on the
// AST agrees with refMatch on the JSON; and so does the compiled Matcher. The generator uses a small alphabet
// so that patterns and events meet often (dotted keys, arrays of objects,
// $or, every operator).
func TestParseMeaning(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g := &jsonGen{r: r}
	patterns, matches := 0, 0
	for range 3000 {
		pv := g.pattern(0)
		data, err := json.Marshal(pv)
		if err != nil {
			t.Fatal(err)
		}
		p, err := parse(data)
		if err != nil {
			continue // duplicate paths, bottom >= top…: the generator is loose
		}
		patterns++
		m := New()
		m.addPattern("p", p)
		pj, err := decodeJSON(data)
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			ev := g.event(0)
			evData, _ := json.Marshal(ev)
			e, err := decodeJSON(evData)
			if err != nil {
				t.Fatal(err)
			}
			want := refMatch(pj, e)
			if want {
				matches++
			}
			if got := astMatch(p, e); got != want {
				t.Fatalf("pattern %s\nevent %s\nastMatch = %v, refMatch = %v\nAST: %s", data, evData, got, want, formatAST(p))
			}
			ids, err := m.Match(evData)
			if err != nil {
				t.Fatalf("Match(%s): %v", evData, err)
			}
			if got := len(ids) == 1; got != want {
				t.Errorf("pattern %s\nevent %s\nMatcher = %v, refMatch = %v", data, evData, got, want)
			}
		}
	}
	t.Logf("%d valid patterns, %d matches", patterns, matches)
	if patterns < 1000 || matches < 1000 {
		t.Errorf("generator too weak: %d valid patterns, %d matches", patterns, matches)
	}
}

// jsonGen generates patterns and events over a small shared alphabet.
type jsonGen struct{ r *rand.Rand }

var (
	meaningKeys    = []string{"a", "b", "c", "a.b", "b.c"}
	meaningStrings = []string{"x", "y", "X", "", "xy", "xay", "10.0.0.5", "2001:db8::1", "K", "\u212a"}
	meaningNums    = []json.Number{"0", "1", "1.5", "-2", "300", "3e2", "5000000000"}
)

func (g *jsonGen) pick(n int) int { return g.r.IntN(n) }

func (g *jsonGen) str() string      { return meaningStrings[g.pick(len(meaningStrings))] }
func (g *jsonGen) num() json.Number { return meaningNums[g.pick(len(meaningNums))] }
func (g *jsonGen) strs() []any {
	n := 1 + g.pick(2)
	out := make([]any, n)
	for i := range out {
		out[i] = g.str()
	}
	return out
}

func (g *jsonGen) pattern(depth int) map[string]any {
	m := map[string]any{}
	for range 1 + g.pick(3) {
		k := meaningKeys[g.pick(len(meaningKeys))]
		switch x := g.pick(10); {
		case x < 2 && depth < 2:
			m[k] = g.pattern(depth + 1)
		case x < 3 && depth < 2:
			alts := make([]any, 2+g.pick(2))
			for i := range alts {
				alts[i] = g.pattern(depth + 1)
			}
			m["$or"] = alts
		default:
			vals := make([]any, 1+g.pick(3))
			for i := range vals {
				vals[i] = g.value()
			}
			m[k] = vals
		}
	}
	return m
}

func (g *jsonGen) value() any {
	op := func(name string, arg any) any { return map[string]any{name: arg} }
	wild := []string{"*", "x*", "*y", "x*y", "", "\\**", "*a*"}
	switch g.pick(16) {
	case 0:
		return g.str()
	case 1:
		return g.num()
	case 2:
		return []any{nil, true, false}[g.pick(3)]
	case 3:
		return op("prefix", g.str())
	case 4:
		return op("suffix", op("equals-ignore-case", g.str()))
	case 5:
		return op("prefix", op("equals-ignore-case", g.str()))
	case 6:
		return op("equals-ignore-case", g.str())
	case 7:
		return op("wildcard", wild[g.pick(len(wild))])
	case 8:
		switch g.pick(4) {
		case 0:
			return op("anything-but", g.str())
		case 1:
			return op("anything-but", g.num())
		case 2:
			return op("anything-but", g.strs())
		default:
			return op("anything-but", []any{g.num(), g.num()})
		}
	case 9:
		inner := []string{"prefix", "suffix", "equals-ignore-case", "wildcard"}[g.pick(4)]
		if inner == "wildcard" {
			return op("anything-but", op(inner, []any{wild[g.pick(len(wild))], "q*"}))
		}
		if g.pick(2) == 0 {
			return op("anything-but", op(inner, "x"))
		}
		return op("anything-but", op(inner, g.strs()))
	case 10, 11:
		ops := []string{"=", "<", "<=", ">", ">="}
		o := ops[g.pick(len(ops))]
		if (o == ">" || o == ">=") && g.pick(2) == 0 {
			return op("numeric", []any{o, g.num(), []string{"<", "<="}[g.pick(2)], g.num()})
		}
		return op("numeric", []any{o, g.num()})
	case 12, 13:
		return op("exists", g.pick(2) == 0)
	case 14:
		return op("cidr", []string{"10.0.0.0/24", "2001:db8::/32", "10.0.0.5/32"}[g.pick(3)])
	default:
		return g.str()
	}
}

func (g *jsonGen) event(depth int) map[string]any {
	m := map[string]any{}
	for range 1 + g.pick(4) {
		m[meaningKeys[g.pick(len(meaningKeys))]] = g.eventValue(depth)
	}
	return m
}

func (g *jsonGen) eventValue(depth int) any {
	switch x := g.pick(10); {
	case x < 3:
		return g.str()
	case x < 5:
		return g.num()
	case x < 6:
		return []any{nil, true, false}[g.pick(3)]
	case x < 8 && depth < 3:
		return g.event(depth + 1)
	case depth < 3:
		arr := make([]any, g.pick(4))
		for i := range arr {
			arr[i] = g.eventValue(depth + 1)
		}
		return arr
	}
	return g.str()
}
