package pattern

// This file holds the reference evaluator: a deliberately simple, slow and
// direct interpretation of one event pattern against one event, both decoded
// JSON. It is the executable definition of the pattern language's semantics;
// the compiled Matcher is checked against it (differential fuzzing) and it is
// checked against AWS's recorded cases (awscases_test.go). Every semantic
// choice below names the AWS case (testdata/eventbridge-patterns.json) or the
// AWS fact behind it.
//
// How AWS matches (event-ruler, which EventBridge runs): the event is
// flattened into leaves, each with a dot-joined field name, a value, and the
// array elements it sits in; a pattern matches when each of its fields is
// satisfied by some leaf of that name, and all the leaves used agree on the
// element of every array they share ("array consistency"). refMatch does
// exactly that, by backtracking over the pattern's fields.

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeJSON decodes one JSON value the way the reference wants it: numbers
// as json.Number, so that their text is kept and compared by value here.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// refMatch reports whether pattern matches event. Both are decoded JSON
// (decodeJSON, or encoding/json with UseNumber); pattern should be one that
// Parse accepts. Anything that is not a JSON object matches nothing: an event
// that is not an object is an error for the API (CheckEvent), never a match.
func refMatch(pattern, event any) bool {
	p, ok := pattern.(map[string]any)
	if !ok {
		return false
	}
	ev, ok := event.(map[string]any)
	if !ok {
		return false
	}
	r := &refEvent{leaves: map[string][]refLeaf{}}
	r.flatten(ev, nil, nil)
	items := refItems(p, nil)
	r.prepare(refNames(items, nil))
	return r.all(items, nil)
}

// refNames lists the field names of items, $or alternatives included.
func refNames(items []refItem, names []string) []string {
	for _, it := range items {
		if it.or {
			for _, alt := range it.alts {
				names = refNames(alt, names)
			}
			continue
		}
		names = append(names, it.name)
	}
	return names
}

// A refLeaf is one leaf of the event: a string, json.Number, bool or nil
// (null), with the array elements it sits in.
type refLeaf struct {
	value any
	elems []refElem
}

// A refElem is element index of array number array (arrays are numbered in
// the order flatten meets them, so every array of the event, nested ones
// included, has its own number).
type refElem struct{ array, index int }

type refEvent struct {
	leaves map[string][]refLeaf // by dot-joined field name
	arrays int
	// relevant holds, for each field name of the pattern, the arrays that
	// the leaves of the pattern's other fields pass through: the only
	// arrays whose chosen element can matter to the rest of the search.
	relevant map[string]map[int]bool
}

// prepare fills relevant for a pattern with the given field names (a name
// listed twice is relevant to itself).
func (r *refEvent) prepare(names []string) {
	count := map[string]int{}
	for _, n := range names {
		count[n]++
	}
	touch := map[string]map[int]bool{}
	for n := range count {
		t := map[int]bool{}
		for _, l := range r.leaves[n] {
			for _, e := range l.elems {
				t[e.array] = true
			}
		}
		touch[n] = t
	}
	r.relevant = map[string]map[int]bool{}
	for n := range count {
		rel := map[int]bool{}
		for m, c := range count {
			if m != n || c > 1 {
				for a := range touch[m] {
					rel[a] = true
				}
			}
		}
		r.relevant[n] = rel
	}
}

// projection identifies what choosing a leaf of field name commits the rest
// of the search to. Two leaves with the same projection are interchangeable,
// so the search tries one of them only (without this, a pattern of many
// fields over arrays backtracks exponentially).
func (r *refEvent) projection(name string, elems []refElem) string {
	var b strings.Builder
	for _, e := range elems {
		if r.relevant[name][e.array] {
			b.WriteString(strconv.Itoa(e.array))
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.index))
			b.WriteByte(',')
		}
	}
	return b.String()
}

// flatten records the leaves under v. Names are the object keys joined with
// '.', so the event key "state.status" and the nesting {"state":{"status":…}}
// give the same name (AWS case dot_joining_event). Arrays add no name: their
// elements take the array's name, nested arrays flatten (AWS: "If the value
// in the event is an array, then the pattern matches if the intersection of
// the pattern array and the event array is non-empty"). Objects and empty
// arrays give no leaf of their own: they are not "present" for exists
// (AWS docs: exists matching only works on leaf nodes).
func (r *refEvent) flatten(v any, path []string, elems []refElem) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			r.flatten(x, append(path[:len(path):len(path)], k), elems)
		}
	case []any:
		id := r.arrays
		r.arrays++
		for i, x := range v {
			r.flatten(x, path, append(elems[:len(elems):len(elems)], refElem{id, i}))
		}
	default:
		name := strings.Join(path, ".")
		r.leaves[name] = append(r.leaves[name], refLeaf{value: v, elems: elems})
	}
}

// A refItem is one conjunct of a pattern: a field (a dot-joined name and its
// value list) or a $or (its alternatives, each a conjunction).
type refItem struct {
	or     bool
	name   string
	values []any
	alts   [][]refItem
}

// refItems lists the conjuncts of a pattern object at path: fields AND.
// Nested pattern objects add their keys to the name, as the event's do.
func refItems(p map[string]any, path []string) []refItem {
	var items []refItem
	for k, v := range p {
		if k == "$or" {
			// $or: the object matches when any alternative does, each
			// alternative a pattern at the same path (AWS case complex_or).
			list, _ := v.([]any)
			it := refItem{or: true}
			for _, alt := range list {
				if m, ok := alt.(map[string]any); ok {
					it.alts = append(it.alts, refItems(m, path))
				}
			}
			items = append(items, it)
			continue
		}
		sub := append(path[:len(path):len(path)], k)
		switch v := v.(type) {
		case map[string]any:
			items = append(items, refItems(v, sub)...)
		case []any:
			items = append(items, refItem{name: strings.Join(sub, "."), values: v})
		}
	}
	return items
}

// all reports whether every item can be satisfied together with the array
// elements already chosen (array number → element index).
func (r *refEvent) all(items []refItem, chosen map[int]int) bool {
	if len(items) == 0 {
		return true
	}
	it, rest := items[0], items[1:]
	if it.or {
		for _, alt := range it.alts {
			if r.all(append(alt[:len(alt):len(alt)], rest...), chosen) {
				return true
			}
		}
		return false
	}
	leaves := r.leaves[it.name]
	// Values OR: the field holds when one of its values does.
	//
	// {"exists": false} holds when the event has no leaf of that name at
	// all, anywhere (AWS case content_exists_false: a missing parent counts
	// as missing; case or-exists: it may sit beside other values). It looks
	// at the whole event, not at one array element: event-ruler checks
	// absence against the event's set of field names, so it takes no part in
	// array consistency.
	if len(leaves) == 0 && refHasExists(it.values, false) {
		return r.all(rest, chosen)
	}
	tried := map[string]bool{}
	for _, l := range leaves {
		if !refConsistent(l.elems, chosen) {
			continue
		}
		matched := false
		for _, v := range it.values {
			if refValue(v, l.value) {
				matched = true
				break
			}
		}
		if !matched {
			continue
		}
		key := r.projection(it.name, l.elems)
		if tried[key] {
			continue
		}
		tried[key] = true
		if r.all(rest, refChoose(chosen, l.elems)) {
			return true
		}
	}
	return false
}

// refConsistent reports whether a leaf sits in the chosen element of every
// array already chosen: AWS's array consistency. Fields that reach into one
// array of objects must match within one element of it (event-ruler's
// "array consistent" matching, which EventBridge uses: a pattern
// {"employees":{"first":["Anna"],"last":["Doe"]}} does not match Anna Smith
// and John Doe).
func refConsistent(elems []refElem, chosen map[int]int) bool {
	for _, e := range elems {
		if i, ok := chosen[e.array]; ok && i != e.index {
			return false
		}
	}
	return true
}

func refChoose(chosen map[int]int, elems []refElem) map[int]int {
	if len(elems) == 0 {
		return chosen
	}
	next := make(map[int]int, len(chosen)+len(elems))
	for k, v := range chosen {
		next[k] = v
	}
	for _, e := range elems {
		next[e.array] = e.index
	}
	return next
}

func refHasExists(values []any, want bool) bool {
	for _, v := range values {
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			if b, ok := m["exists"].(bool); ok && b == want {
				return true
			}
		}
	}
	return false
}

// refNum is the value of a JSON number: the float64 nearest to its text, so
// 300, 300.0 and 3e2 are one number (AWS case number_comparison_float, and
// the docs: numbers match by value). Beyond float64's range it is ±Inf.
func refNum(n json.Number) float64 {
	f, _ := strconv.ParseFloat(string(n), 64)
	return f
}

// refValue reports whether one value of a pattern's value list matches one
// leaf of the event.
func refValue(pv, leaf any) bool {
	switch pv := pv.(type) {
	case string:
		// Exact strings match strings only: "300" is not 300.
		s, ok := leaf.(string)
		return ok && s == pv
	case json.Number:
		// Exact numbers match numbers only, by value (number_comparison_float).
		n, ok := leaf.(json.Number)
		return ok && refNum(n) == refNum(pv)
	case nil:
		// [null] matches an explicit null only, never a missing field
		// (AWS case null_value).
		return leaf == nil
	case bool:
		b, ok := leaf.(bool)
		return ok && b == pv // AWS cases boolean, boolean_NEG
	case map[string]any:
		for op, arg := range pv {
			return refOp(op, arg, leaf)
		}
	}
	return false
}

// refOp applies one operator ({"op": arg}) to a leaf.
func refOp(op string, arg, leaf any) bool {
	s, isStr := leaf.(string)
	switch op {
	case "exists":
		// {"exists": true} holds for any leaf, null included (null is a
		// value in the flattened event); false never holds for a present
		// leaf (absence is judged in all).
		return arg == true
	case "prefix", "suffix":
		// prefix and suffix apply to strings only (AWS compares the quoted
		// text, so numbers never match); "" is a prefix of every string
		// (AWS case content_prefix_empty). Case-sensitive (content_suffix_NEG)
		// unless given as {"equals-ignore-case": …} (content_prefix_ignorecase,
		// content_suffix_ignorecase).
		if !isStr {
			return false
		}
		if m, ok := arg.(map[string]any); ok {
			t, _ := m["equals-ignore-case"].(string)
			if op == "prefix" {
				return refFoldPrefix(s, t)
			}
			return refFoldSuffix(s, t)
		}
		t, _ := arg.(string)
		if op == "prefix" {
			return strings.HasPrefix(s, t)
		}
		return strings.HasSuffix(s, t)
	case "equals-ignore-case":
		// Strings only; "ignoring case" is Unicode simple case folding
		// (strings.EqualFold), the one definition the matcher shares (ast.go).
		t, _ := arg.(string)
		return isStr && strings.EqualFold(s, t)
	case "wildcard":
		// Strings only. "" matches only "" (content_wildcard_empty_NEG); a
		// '*' matches any run of characters, so "/Users/*/doc.txt" needs the
		// literal "/doc.txt" at the end (content_wildcard_nonrepeating_NEG).
		t, _ := arg.(string)
		return isStr && refWildcard(t, s)
	case "cidr":
		// Strings holding an IP address inside the block. Text that is not
		// an address matches nothing (content_ip_address_NEG: "10.0.0.256").
		t, _ := arg.(string)
		prefix, ok := refParseCIDR(t)
		if !ok || !isStr {
			return false
		}
		addr, err := netip.ParseAddr(s)
		return err == nil && prefix.Contains(addr)
	case "numeric":
		// JSON numbers only: the string "300" is no number
		// (numeric-string_NEG). Every operator of the list must hold: [">",
		// 0, "<=", 5] is 0 < x <= 5 (complex_multi_match_NEG).
		n, ok := leaf.(json.Number)
		if !ok {
			return false
		}
		x := refNum(n)
		terms, _ := arg.([]any)
		for i := 0; i+1 < len(terms); i += 2 {
			o, _ := terms[i].(string)
			bn, _ := terms[i+1].(json.Number)
			b := refNum(bn)
			var hold bool
			switch o {
			case "=":
				hold = x == b
			case "<":
				hold = x < b
			case "<=":
				hold = x <= b
			case ">":
				hold = x > b
			case ">=":
				hold = x >= b
			}
			if !hold {
				return false
			}
		}
		return true
	case "anything-but":
		// anything-but holds for a present leaf that is none of the listed
		// values. It needs the field to be present: a missing field matches
		// no anything-but (content_anything_but_ignorecase_missing_NEG,
		// content_anything_prefix_missing_NEG, content_anything_wildcard_missing_NEG…),
		// which all gives for free, having no leaf to try. A leaf of another
		// type is "anything but" the values: null matches
		// (content_anything_but_string_null, content_anything_suffix_list_null,
		// content_anything_wildcard_null), a number matches a string-only form
		// (content_anything_prefix_list_int, content_anything_wildcard_int),
		// the string "101" matches anything-but 101 and the number 42 matches
		// anything-but "101" (or-numeric-anything-but).
		return !refExcluded(arg, leaf)
	}
	return false
}

// refExcluded reports whether a leaf is one of the values anything-but's
// argument lists.
func refExcluded(arg, leaf any) bool {
	s, isStr := leaf.(string)
	switch arg := arg.(type) {
	case string, json.Number:
		return refValue(arg, leaf)
	case []any:
		// A list of strings or of numbers (content_anything_but_string_list,
		// content_anything_but_number_list).
		for _, v := range arg {
			if refValue(v, leaf) {
				return true
			}
		}
		return false
	case map[string]any:
		for op, v := range arg {
			var list []string
			switch v := v.(type) {
			case string:
				list = []string{v}
			case []any:
				for _, e := range v {
					if t, ok := e.(string); ok {
						list = append(list, t)
					}
				}
			}
			if !isStr {
				return false
			}
			for _, t := range list {
				var hit bool
				switch op {
				case "prefix":
					hit = strings.HasPrefix(s, t) // content_anything_prefix_NEG
				case "suffix":
					hit = strings.HasSuffix(s, t) // content_anything_suffix_NEG
				case "equals-ignore-case":
					hit = strings.EqualFold(s, t) // content_anything_but_ignorecase
				case "wildcard":
					hit = refWildcard(t, s) // content_anything_wildcard_NEG
				}
				if hit {
					return true
				}
			}
			return false
		}
	}
	return false
}

// refFoldPrefix reports whether s starts with t ignoring case: the first
// utf8.RuneCountInString(t) runes of s EqualFold t (ast.go).
func refFoldPrefix(s, t string) bool {
	n := utf8.RuneCountInString(t)
	i := 0
	for k := 0; k < n; k++ {
		if i >= len(s) {
			return false
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return strings.EqualFold(s[:i], t)
}

// refFoldSuffix reports whether s ends with t ignoring case.
func refFoldSuffix(s, t string) bool {
	n := utf8.RuneCountInString(t)
	i := len(s)
	for k := 0; k < n; k++ {
		if i <= 0 {
			return false
		}
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return strings.EqualFold(s[i:], t)
}

// refWildcard matches s against a wildcard pattern: '*' is any run of
// characters (possibly empty), "\*" a literal star, "\\" a literal
// backslash. A plain dynamic program over bytes.
func refWildcard(pat, s string) bool {
	type tok struct {
		star bool
		b    byte
	}
	var toks []tok
	for i := 0; i < len(pat); i++ {
		switch {
		case pat[i] == '\\' && i+1 < len(pat):
			i++
			toks = append(toks, tok{b: pat[i]})
		case pat[i] == '*':
			toks = append(toks, tok{star: true})
		default:
			toks = append(toks, tok{b: pat[i]})
		}
	}
	// m[j] is whether toks[:i] matches s[:j], row by row.
	m := make([]bool, len(s)+1)
	m[0] = true
	for _, t := range toks {
		next := make([]bool, len(s)+1)
		for j := 0; j <= len(s); j++ {
			if t.star {
				next[j] = m[j] || (j > 0 && next[j-1])
			} else {
				next[j] = j > 0 && m[j-1] && s[j-1] == t.b
			}
		}
		m = next
	}
	return m[len(s)]
}

// refParseCIDR reads "address/bits" the way AWS does, and masks it.
func refParseCIDR(t string) (netip.Prefix, bool) {
	a, b, ok := strings.Cut(t, "/")
	if !ok {
		return netip.Prefix{}, false
	}
	bits, err := strconv.Atoi(b)
	if err != nil {
		return netip.Prefix{}, false
	}
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return netip.Prefix{}, false
	}
	p := netip.PrefixFrom(addr, bits)
	if !p.IsValid() {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

// TestRefMatchSemantics pins the reference's choices that AWS's recorded
// cases do not cover, so a change to them is a visible decision; the
// compiled Matcher must make the same ones.
func TestRefMatchSemantics(t *testing.T) {
	tests := []struct {
		name, pattern, event string
		want                 bool
	}{
		// Array consistency: two fields in one array of objects must match
		// within one element.
		{"array consistency same element", `{"e":{"first":["Anna"],"last":["Smith"]}}`,
			`{"e":[{"first":"John","last":"Doe"},{"first":"Anna","last":"Smith"}]}`, true},
		{"array consistency across elements", `{"e":{"first":["Anna"],"last":["Doe"]}}`,
			`{"e":[{"first":"John","last":"Doe"},{"first":"Anna","last":"Smith"}]}`, false},
		{"array consistency nested arrays flatten", `{"a":{"b":[1],"c":[2]}}`,
			`{"a":[[{"b":1}],[{"c":2}]]}`, false},
		{"array consistency through dotted key", `{"a.b":[1],"a":{"c":[2]}}`,
			`{"a":[{"b":1,"c":3},{"b":2,"c":2}]}`, false},
		{"leaf arrays any element", `{"a":["x"]}`, `{"a":["y",["x"]]}`, true},
		{"fields in different arrays are independent", `{"a":{"x":[1]},"b":{"y":[2]}}`,
			`{"a":[{"x":0},{"x":1}],"b":[{"y":2},{"y":3}]}`, true},
		// Dotted names: event and pattern keys are joined with dots.
		{"dotted pattern key", `{"a.b":["x"]}`, `{"a":{"b":"x"}}`, true},
		{"dotted event key", `{"a":{"b":["x"]}}`, `{"a.b":"x"}`, true},
		// exists.
		{"exists true on null", `{"a":[{"exists":true}]}`, `{"a":null}`, true},
		{"exists true on object", `{"a":[{"exists":true}]}`, `{"a":{"b":1}}`, false},
		{"exists true on empty array", `{"a":[{"exists":true}]}`, `{"a":[]}`, false},
		{"exists false on empty array", `{"a":[{"exists":false}]}`, `{"a":[]}`, true},
		{"exists false on object", `{"a":[{"exists":false}]}`, `{"a":{"b":1}}`, true},
		{"exists false on null", `{"a":[{"exists":false}]}`, `{"a":null}`, false},
		{"exists false is global, not per element", `{"a":{"b":["x"],"c":[{"exists":false}]}}`,
			`{"a":[{"b":"x"},{"b":"y","c":1}]}`, false},
		// anything-but.
		{"anything-but on array any element", `{"a":[{"anything-but":"x"}]}`, `{"a":["x","y"]}`, true},
		{"anything-but on array all excluded", `{"a":[{"anything-but":"x"}]}`, `{"a":["x","x"]}`, false},
		{"anything-but on empty array", `{"a":[{"anything-but":"x"}]}`, `{"a":[]}`, false},
		{"anything-but on object", `{"a":[{"anything-but":"x"}]}`, `{"a":{"b":"y"}}`, false},
		{"anything-but string vs number", `{"a":[{"anything-but":"5"}]}`, `{"a":5}`, true},
		{"anything-but number vs string", `{"a":[{"anything-but":[5]}]}`, `{"a":"5"}`, true},
		{"anything-but number by value", `{"a":[{"anything-but":[5]}]}`, `{"a":5.0}`, false},
		{"anything-but bool", `{"a":[{"anything-but":"true"}]}`, `{"a":true}`, true},
		{"anything-but ignore case", `{"a":[{"anything-but":{"equals-ignore-case":["X"]}}]}`, `{"a":"x"}`, false},
		// Numbers.
		{"number by value", `{"a":[3e2]}`, `{"a":300.0}`, true},
		{"number negative zero", `{"a":[0]}`, `{"a":-0}`, true},
		{"number not string", `{"a":[300]}`, `{"a":"300"}`, false},
		{"numeric equals", `{"a":[{"numeric":["=",3e2]}]}`, `{"a":300}`, true},
		{"numeric closed bound", `{"a":[{"numeric":[">=",1,"<=",2]}]}`, `{"a":2}`, true},
		{"numeric open bound", `{"a":[{"numeric":[">",1,"<",2]}]}`, `{"a":2}`, false},
		// Strings.
		{"equals-ignore-case unicode", `{"a":[{"equals-ignore-case":"ÉTÉ"}]}`, `{"a":"été"}`, true},
		{"prefix ignore case kelvin", `{"a":[{"prefix":{"equals-ignore-case":"k"}}]}`, `{"a":"\u212aelvin"}`, true},
		{"suffix ignore case short", `{"a":[{"suffix":{"equals-ignore-case":"abc"}}]}`, `{"a":"bc"}`, false},
		{"prefix not on number", `{"a":[{"prefix":"1"}]}`, `{"a":12}`, false},
		{"wildcard escape star", `{"a":[{"wildcard":"a\\*b"}]}`, `{"a":"a*b"}`, true},
		{"wildcard escape star literal", `{"a":[{"wildcard":"a\\*b"}]}`, `{"a":"axb"}`, false},
		{"wildcard escape backslash", `{"a":[{"wildcard":"a\\\\*"}]}`, `{"a":"a\\xyz"}`, true},
		{"wildcard middle", `{"a":[{"wildcard":"*/init/*"}]}`, `{"a":"x/init/y"}`, true},
		{"empty string", `{"a":[""]}`, `{"a":""}`, true},
		{"empty string not missing", `{"a":[""]}`, `{"b":""}`, false},
		// CIDR.
		{"cidr v4", `{"a":[{"cidr":"10.0.0.0/24"}]}`, `{"a":"10.0.0.255"}`, true},
		{"cidr v4 outside", `{"a":[{"cidr":"10.0.0.0/24"}]}`, `{"a":"10.0.1.0"}`, false},
		{"cidr v6", `{"a":[{"cidr":"2001:db8::/32"}]}`, `{"a":"2001:db8:ffff::1"}`, true},
		{"cidr v4 mapped is not v4", `{"a":[{"cidr":"10.0.0.0/8"}]}`, `{"a":"::ffff:10.0.0.1"}`, false},
		{"cidr unmasked operand", `{"a":[{"cidr":"10.0.0.77/24"}]}`, `{"a":"10.0.0.1"}`, true},
		// $or.
		{"or nested", `{"$or":[{"a":["x"]},{"$or":[{"b":["y"]},{"c":["z"]}]}]}`, `{"c":"z"}`, true},
		{"or none", `{"$or":[{"a":["x"]},{"b":["y"]}]}`, `{"a":"y","b":"x"}`, false},
		// Non-objects.
		{"event array", `{"a":["x"]}`, `[{"a":"x"}]`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := decodeJSON([]byte(tc.pattern))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parse([]byte(tc.pattern)); err != nil {
				t.Fatalf("Parse(%s): %v", tc.pattern, err)
			}
			e, err := decodeJSON([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			if got := refMatch(p, e); got != tc.want {
				t.Errorf("refMatch(%s, %s) = %v, want %v", tc.pattern, tc.event, got, tc.want)
			}
			// The compiled matcher holds to the same decisions.
			m := New()
			if err := m.Add("p", []byte(tc.pattern)); err != nil {
				t.Fatal(err)
			}
			ids, err := m.Match([]byte(tc.event))
			if _, isObject := e.(map[string]any); !isObject {
				if err == nil {
					t.Errorf("Match(%s): no error for an event that is not an object", tc.event)
				}
				return
			}
			if err != nil {
				t.Fatalf("Match(%s): %v", tc.event, err)
			}
			if got := len(ids) == 1; got != tc.want {
				t.Errorf("Matcher: %s on %s = %v, want %v", tc.pattern, tc.event, got, tc.want)
			}
		})
	}
}
