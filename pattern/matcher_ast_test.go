package pattern

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// These tests drive the compiled matcher with hand-built ASTs, so that they
// test the matcher alone, whatever the parser does.

func fld(path string, conds ...cond) field {
	return field{Path: strings.Split(path, "."), Conds: conds}
}

func br(fields ...field) branch {
	slices.SortFunc(fields, func(a, b field) int { return slices.Compare(a.Path, b.Path) })
	return branch(fields)
}

func pat(branches ...branch) *patternTree { return &patternTree{Branches: branches} }

func cStr(s string) cond       { return cond{Kind: kindString, Str: s} }
func cNum(n float64) cond      { return cond{Kind: kindNumber, Num: n} }
func cNull() cond              { return cond{Kind: kindNull} }
func cBool(v bool) cond        { return cond{Kind: kindBool, Bool: v} }
func cK(k kind, s string) cond { return cond{Kind: k, Str: s} }
func cExists(v bool) cond      { return cond{Kind: kindExists, Bool: v} }
func cButS(k kind, s ...string) cond {
	return cond{Kind: k, Strs: s}
}
func cButN(n ...float64) cond { return cond{Kind: kindAnythingBut, Nums: n} }
func cRange(r rangeCond) cond { return cond{Kind: kindNumeric, Range: r} }
func cCIDR(s string) cond {
	return cond{Kind: kindCIDR, Prefix: netip.MustParsePrefix(s).Masked()}
}

func TestMatcherOperatorsAST(t *testing.T) {
	gt0le5 := rangeCond{HasLow: true, LowOpen: true, Low: 0, HasHigh: true, High: 5}
	lt10 := rangeCond{HasHigh: true, HighOpen: true, High: 10}
	eq3 := rangeCond{HasLow: true, Low: 3, HasHigh: true, High: 3}
	tests := []struct {
		name  string
		p     *patternTree
		event string
		want  bool
	}{
		{"string", pat(br(fld("a", cStr("x")))), `{"a":"x"}`, true},
		{"string no", pat(br(fld("a", cStr("x")))), `{"a":"y"}`, false},
		{"string vs number", pat(br(fld("a", cStr("300")))), `{"a":300}`, false},
		{"string escaped", pat(br(fld("a", cStr("x\"y\u00e9")))), `{"a":"x\"y\u00e9"}`, true},
		{"string in array", pat(br(fld("a", cStr("x")))), `{"a":["q",["x"]]}`, true},
		{"empty string", pat(br(fld("a", cStr("")))), `{"a":""}`, true},
		{"missing", pat(br(fld("a", cStr("x")))), `{"b":"x"}`, false},
		{"nested", pat(br(fld("d.s", cStr("x")))), `{"d":{"s":"x"}}`, true},
		{"dotted event key", pat(br(fld("d.s.t", cStr("x")))), `{"d":{"s.t":"x"}}`, true},
		{"dotted event key root", pat(br(fld("d.s.t", cStr("x")))), `{"d.s":{"t":"x"}}`, true},
		{"object is not leaf", pat(br(fld("d", cStr("x")))), `{"d":{"s":"x"}}`, false},
		{"number", pat(br(fld("n", cNum(300)))), `{"n":3e2}`, true},
		{"number 300.0", pat(br(fld("n", cNum(300)))), `{"n":300.0}`, true},
		{"number no", pat(br(fld("n", cNum(300)))), `{"n":301}`, false},
		{"number neg zero", pat(br(fld("n", cNum(0)))), `{"n":-0.0}`, true},
		{"number long", pat(br(fld("n", cNum(-122.504078056993180)))), `{"n":-122.504078056993180}`, true},
		{"null", pat(br(fld("n", cNull()))), `{"n":null}`, true},
		{"null no", pat(br(fld("n", cNull()))), `{"n":"null"}`, false},
		{"bool", pat(br(fld("n", cBool(false)))), `{"n":false}`, true},
		{"bool no", pat(br(fld("n", cBool(false)))), `{"n":true}`, false},
		{"prefix", pat(br(fld("s", cK(kindPrefix, "ab")))), `{"s":"abc"}`, true},
		{"prefix empty", pat(br(fld("s", cK(kindPrefix, "")))), `{"s":""}`, true},
		{"prefix no", pat(br(fld("s", cK(kindPrefix, "ab")))), `{"s":"a"}`, false},
		{"prefix number", pat(br(fld("s", cK(kindPrefix, "1")))), `{"s":12}`, false},
		{"prefix ic", pat(br(fld("s", cK(kindPrefixIgnoreCase, "EventB")))), `{"s":"EvEnTbridge"}`, true},
		{"prefix ic unicode", pat(br(fld("s", cK(kindPrefixIgnoreCase, "ÉT")))), `{"s":"été"}`, true},
		{"suffix", pat(br(fld("s", cK(kindSuffix, ".png")))), `{"s":"a.png"}`, true},
		{"suffix no", pat(br(fld("s", cK(kindSuffix, ".PNG")))), `{"s":"a.png"}`, false},
		{"suffix ic", pat(br(fld("s", cK(kindSuffixIgnoreCase, ".png")))), `{"s":"a.PnG"}`, true},
		{"eic", pat(br(fld("s", cK(kindEqualsIgnoreCase, "AbC")))), `{"s":"aBc"}`, true},
		{"eic no", pat(br(fld("s", cK(kindEqualsIgnoreCase, "AbC")))), `{"s":"aBcd"}`, false},
		{"eic kelvin", pat(br(fld("s", cK(kindEqualsIgnoreCase, "k")))), `{"s":"\u212a"}`, true},
		{"wildcard", pat(br(fld("s", cK(kindWildcard, "a*c*e")))), `{"s":"abcde"}`, true},
		{"wildcard no", pat(br(fld("s", cK(kindWildcard, "a*c*e")))), `{"s":"abcdf"}`, false},
		{"wildcard overlap", pat(br(fld("s", cK(kindWildcard, "ab*ba")))), `{"s":"aba"}`, false},
		{"wildcard escaped", pat(br(fld("s", cK(kindWildcard, `a\*b*`)))), `{"s":"a*bc"}`, true},
		{"wildcard escaped no", pat(br(fld("s", cK(kindWildcard, `a\*b*`)))), `{"s":"axbc"}`, false},
		{"wildcard empty", pat(br(fld("s", cK(kindWildcard, "")))), `{"s":"x"}`, false},
		{"wildcard repeat", pat(br(fld("s", cK(kindWildcard, "/U/*/d/d/doc.txt")))), `{"s":"/U/x/d/d/d/doc.txt"}`, true},
		{"anything-but", pat(br(fld("s", cButS(kindAnythingBut, "a", "b")))), `{"s":"c"}`, true},
		{"anything-but no", pat(br(fld("s", cButS(kindAnythingBut, "a", "b")))), `{"s":"b"}`, false},
		{"anything-but null", pat(br(fld("s", cButS(kindAnythingBut, "a")))), `{"s":null}`, true},
		{"anything-but missing", pat(br(fld("s", cButS(kindAnythingBut, "a")))), `{}`, false},
		{"anything-but number vs str", pat(br(fld("s", cButN(5)))), `{"s":"5"}`, true},
		{"anything-but num", pat(br(fld("s", cButN(5, 6)))), `{"s":5.0}`, false},
		{"anything-but array", pat(br(fld("s", cButS(kindAnythingBut, "a")))), `{"s":["a","b"]}`, true},
		{"anything-but prefix", pat(br(fld("s", cButS(kindAnythingButPrefix, "init")))), `{"s":"init-x"}`, false},
		{"anything-but prefix num", pat(br(fld("s", cButS(kindAnythingButPrefix, "1")))), `{"s":12}`, true},
		{"anything-but suffix", pat(br(fld("s", cButS(kindAnythingButSuffix, ".txt")))), `{"s":"a.jpg"}`, true},
		{"anything-but ic", pat(br(fld("s", cButS(kindAnythingButIgnoreCase, "INIT")))), `{"s":"init"}`, false},
		{"anything-but wildcard", pat(br(fld("s", cButS(kindAnythingButWildcard, "*/init/*")))), `{"s":"d/init/f"}`, false},
		{"anything-but wildcard bool", pat(br(fld("s", cButS(kindAnythingButWildcard, "*")))), `{"s":true}`, true},
		{"numeric", pat(br(fld("n", cRange(gt0le5)))), `{"n":5}`, true},
		{"numeric open", pat(br(fld("n", cRange(gt0le5)))), `{"n":0}`, false},
		{"numeric open neg zero", pat(br(fld("n", cRange(gt0le5)))), `{"n":-0}`, false},
		{"numeric lt", pat(br(fld("n", cRange(lt10)))), `{"n":-1e300}`, true},
		{"numeric lt no", pat(br(fld("n", cRange(lt10)))), `{"n":10}`, false},
		{"numeric eq", pat(br(fld("n", cRange(eq3)))), `{"n":3.0}`, true},
		{"numeric string", pat(br(fld("n", cRange(lt10)))), `{"n":"3"}`, false},
		{"exists", pat(br(fld("n", cExists(true)))), `{"n":null}`, true},
		{"exists object", pat(br(fld("n", cExists(true)))), `{"n":{"a":1}}`, false},
		{"exists empty array", pat(br(fld("n", cExists(true)))), `{"n":[]}`, false},
		{"exists false", pat(br(fld("n", cExists(false)))), `{"m":1}`, true},
		{"exists false object", pat(br(fld("n", cExists(false)))), `{"n":{}}`, true},
		{"exists false present", pat(br(fld("n", cExists(false)))), `{"n":[1]}`, false},
		{"exists false or value", pat(br(fld("n", cExists(false), cStr("x")))), `{"n":"x"}`, true},
		{"exists false or value no", pat(br(fld("n", cExists(false), cStr("x")))), `{"n":"y"}`, false},
		{"exists false with other field", pat(br(fld("a", cStr("x")), fld("n", cExists(false)))), `{"a":"x","n":1}`, false},
		{"cidr", pat(br(fld("ip", cCIDR("10.0.0.0/24")))), `{"ip":"10.0.0.255"}`, true},
		{"cidr bad", pat(br(fld("ip", cCIDR("10.0.0.0/24")))), `{"ip":"10.0.0.256"}`, false},
		{"cidr v6", pat(br(fld("ip", cCIDR("2001:db8::/32")))), `{"ip":"2001:db8::1"}`, true},
		{"cidr v4 vs v6", pat(br(fld("ip", cCIDR("10.0.0.0/8")))), `{"ip":"::ffff:10.0.0.1"}`, false},
		{"and", pat(br(fld("a", cStr("x")), fld("b", cStr("y")))), `{"a":"x","b":"y"}`, true},
		{"and no", pat(br(fld("a", cStr("x")), fld("b", cStr("y")))), `{"a":"x","b":"z"}`, false},
		{"or branches", pat(br(fld("a", cStr("x"))), br(fld("b", cStr("y")))), `{"b":"y"}`, true},
		{"array consistency", pat(br(fld("r.a", cStr("1")), fld("r.b", cStr("2")))), `{"r":[{"a":"1","b":"3"},{"a":"4","b":"2"}]}`, false},
		{"array consistency ok", pat(br(fld("r.a", cStr("1")), fld("r.b", cStr("2")))), `{"r":[{"a":"1","b":"3"},{"a":"1","b":"2"}]}`, true},
		{"array consistency nested", pat(br(fld("r.a", cStr("1")), fld("r.b", cStr("2")))), `{"r":[{"a":["0","1"],"b":"2"}]}`, true},
		{"array consistency top", pat(br(fld("r.a", cStr("1")), fld("r.b", cStr("2")))), `{"r":{"a":["1"],"b":["2"]}}`, true},
		{"list within dict", pat(br(fld("d.au.id", cExists(true)))), `{"d":{"au":[{"k":"v"},{"id":"m"}]}}`, true},
		{"no fields", pat(br()), `{"x":1}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			m.addPattern("p", tc.p)
			got, err := m.Match([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != tc.want || len(got) > 1 {
				t.Fatalf("Match(%s) = %v, want match %v", tc.event, got, tc.want)
			}
		})
	}
}

func TestMatcherBadEvents(t *testing.T) {
	m := New()
	m.addPattern("p", pat(br(fld("a.b", cStr("x")), fld("c", cNum(1)))))
	for _, ev := range []string{
		``, ` `, `[]`, `"x"`, `1`, `null`, `{`, `{"a"`, `{"a":`, `{"a":}`, `{"a":{"b":"x"}`,
		`{"a":{"b":"x}}`, `{"a":{"b":"x"}}x`, `{"a":[1,2}`, `{"z":[1,2}`, `{"z":{]}`, `{"c":01}`,
		`{"c":1.}`, `{"c":-}`, `{"c":tru}`, `{"a":{"b":"\x01"}}`, `{"a":{"b":"\q"}}`, `{"a" "b"}`,
		`{"a":1,}`, `{,}`, `{"a":[1,]}`, `{"c":1 "d":2}`, `{"z":"unterminated}`, `{"z":[[[[`,
	} {
		if got, err := m.Match([]byte(ev)); err == nil {
			t.Errorf("Match(%q) = %v, nil; want an error", ev, got)
		}
	}
}

// TestMatcherDeep checks deeply nested values, skipped and walked.
func TestMatcherDeep(t *testing.T) {
	m := New()
	m.addPattern("p", pat(br(fld("a", cStr("x")))))
	deep := strings.Repeat("[", 200) + `{"q":"]"}` + strings.Repeat("]", 200)
	for _, tc := range []struct {
		event string
		want  bool
		bad   bool
	}{
		{`{"z":` + deep + `,"a":"x"}`, true, false},
		{`{"a":` + deep + `}`, false, false},
		{`{"a":` + strings.Repeat("[", 200) + `"x"` + strings.Repeat("]", 200) + `}`, true, false},
		{`{"z":` + deep[:len(deep)-1] + `}`, false, true},
		{`{"z":[{]},"a":"x"}`, false, true},
	} {
		got, err := m.Match([]byte(tc.event))
		if (err != nil) != tc.bad || (len(got) == 1) != tc.want {
			t.Errorf("Match(%.40s…) = %v, %v; want match %v, error %v", tc.event, got, err, tc.want, tc.bad)
		}
	}
}

func TestMatcherManyAST(t *testing.T) {
	m := New()
	m.addPattern("a", pat(br(fld("s", cStr("x")))))
	m.addPattern("b", pat(br(fld("s", cK(kindPrefix, "x")))))
	m.addPattern("c", pat(br(fld("s", cStr("y"))), br(fld("t", cStr("x")))))
	m.addPattern("d", pat(br(fld("s", cStr("x")), fld("t", cStr("x")))))
	check := func(ev string, want ...string) {
		t.Helper()
		got, err := m.Match([]byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("Match(%s) = %v, want %v", ev, got, want)
		}
	}
	check(`{"s":"x"}`, "a", "b")
	check(`{"s":"x","t":"x"}`, "a", "b", "c", "d")
	check(`{"s":["x","y"],"t":"x"}`, "a", "b", "c", "d")
	m.Delete("a")
	check(`{"s":"x","t":"x"}`, "b", "c", "d")
	m.addPattern("b", pat(br(fld("s", cStr("q")))))
	check(`{"s":"x","t":"x"}`, "c", "d")
	check(`{"s":"q"}`, "b")
	m.Delete("c")
	m.Delete("d")
	m.Delete("nothing")
	check(`{"s":"x","t":"x"}`)
	if m.Len() != 1 {
		t.Fatalf("Len = %d, want 1", m.Len())
	}
	m.Delete("b")
	if len(m.idx.nodes) != 0 || len(m.idx.root.children) != 0 {
		t.Fatalf("index not empty after deleting everything: %v", &m.idx)
	}
}
