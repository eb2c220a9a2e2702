package pattern

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParse checks parse on any input: it never panics; every error is an
// *InvalidPatternError (with a reason) or a *PatternTooLongError; it is
// deterministic; what it accepts is JSON, in normal form, and parses back to
// itself from formatJSON; and its normal form means what the JSON means:
// astMatch on the AST agrees with refMatch on the JSON, over events made to
// hit (and miss) the pattern's own values.
//
// The seed corpus in testdata/fuzz/FuzzParse holds every pattern of
// testdata/eventbridge-patterns.json and testdata/parse/*.txt (rewrite it
// with go test -run TestParseFiles -update).
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"source":["aws.ec2"],"detail":{"state":[{"anything-but":"x"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parse(data)
		p2, err2 := parse(data)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("parse not deterministic: %v, then %v", err, err2)
		}
		if err != nil {
			if err.Error() != err2.Error() {
				t.Fatalf("parse not deterministic: %v, then %v", err, err2)
			}
			var ip *InvalidPatternError
			var tl *PatternTooLongError
			switch {
			case errors.As(err, &ip):
				if ip.Reason == "" {
					t.Fatal("empty reason")
				}
			case errors.As(err, &tl):
				if tl.Length <= tl.Max {
					t.Fatalf("too long: %d <= %d", tl.Length, tl.Max)
				}
			default:
				t.Fatalf("error of type %T: %v", err, err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error is not valid UTF-8: %q", err.Error())
			}
			return
		}
		if a, b := formatAST(p), formatAST(p2); a != b {
			t.Fatalf("parse not deterministic:\n%s\n%s", a, b)
		}
		if !json.Valid(data) {
			t.Fatalf("parse accepted invalid JSON %q", data)
		}
		checkParsed(t, data)
		pv, err := decodeJSON(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range witnessEvents(p) {
			want := refMatch(pv, ev)
			if got := astMatch(p, ev); got != want {
				evText, _ := json.Marshal(ev)
				t.Fatalf("pattern %s\nevent %s\nastMatch = %v, refMatch = %v\nAST: %s", data, evText, got, want, formatAST(p))
			}
		}
	})
}

// writeFuzzCorpus writes the seed corpus of FuzzParse: every pattern of the
// AWS cases and of the parse table files, one file each.
func writeFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, f := range old {
		os.Remove(f)
	}
	var seeds [][]byte
	for _, c := range loadAWSCases(t) {
		seeds = append(seeds, c.pattern())
	}
	files, _ := filepath.Glob("testdata/parse/*.txt")
	for _, file := range files {
		cases, _ := readParseCases(t, file)
		for _, c := range cases {
			seeds = append(seeds, []byte(c.pattern))
		}
	}
	for i, s := range seeds {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%03d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFuzzCorpus(t *testing.T) {
	if *update {
		writeFuzzCorpus(t)
	}
	seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParse", "seed-*"))
	if len(seeds) < 84 {
		t.Errorf("FuzzParse has %d seeds; run go test -run TestFuzzCorpus -update", len(seeds))
	}
}

// astMatch evaluates a parsed pattern against a decoded event by the
// semantics ast.go gives each Kind, with the same flattening and array
// consistency as refMatch. Where refMatch reads the pattern's JSON, astMatch
// reads parse's normal form: FuzzParse checks that the two agree, so that
// parse's normalization ($or expansion, dotted keys, single values made
// lists, numeric ranges…) keeps the pattern's meaning.
func astMatch(p *patternTree, event any) bool {
	ev, ok := event.(map[string]any)
	if !ok {
		return false
	}
	r := &refEvent{leaves: map[string][]refLeaf{}}
	r.flatten(ev, nil, nil)
	for _, br := range p.Branches {
		var names []string
		for _, f := range br {
			names = append(names, strings.Join(f.Path, "."))
		}
		r.prepare(names)
		if r.astBranch(br, nil) {
			return true
		}
	}
	return false
}

func (r *refEvent) astBranch(fields []field, chosen map[int]int) bool {
	if len(fields) == 0 {
		return true
	}
	f := fields[0]
	leaves := r.leaves[strings.Join(f.Path, ".")]
	if len(leaves) == 0 {
		for _, c := range f.Conds {
			if c.Kind == kindExists && !c.Bool {
				return r.astBranch(fields[1:], chosen)
			}
		}
	}
	name := strings.Join(f.Path, ".")
	tried := map[string]bool{}
	for _, l := range leaves {
		if !refConsistent(l.elems, chosen) {
			continue
		}
		for _, c := range f.Conds {
			if !astCond(c, l.value) {
				continue
			}
			if key := r.projection(name, l.elems); !tried[key] {
				tried[key] = true
				if r.astBranch(fields[1:], refChoose(chosen, l.elems)) {
					return true
				}
			}
			break
		}
	}
	return false
}

func astCond(c cond, leaf any) bool {
	s, isStr := leaf.(string)
	n, isNum := leaf.(json.Number)
	var x float64
	if isNum {
		x = refNum(n)
	}
	anyStr := func(pred func(string) bool) bool {
		for _, t := range c.Strs {
			if pred(t) {
				return true
			}
		}
		return false
	}
	switch c.Kind {
	case kindString:
		return isStr && s == c.Str
	case kindNumber:
		return isNum && x == c.Num
	case kindNull:
		return leaf == nil
	case kindBool:
		b, ok := leaf.(bool)
		return ok && b == c.Bool
	case kindPrefix:
		return isStr && strings.HasPrefix(s, c.Str)
	case kindPrefixIgnoreCase:
		return isStr && refFoldPrefix(s, c.Str)
	case kindSuffix:
		return isStr && strings.HasSuffix(s, c.Str)
	case kindSuffixIgnoreCase:
		return isStr && refFoldSuffix(s, c.Str)
	case kindEqualsIgnoreCase:
		return isStr && strings.EqualFold(s, c.Str)
	case kindWildcard:
		return isStr && refWildcard(c.Str, s)
	case kindAnythingBut:
		if isStr {
			return !anyStr(func(t string) bool { return t == s })
		}
		if isNum {
			for _, m := range c.Nums {
				if m == x {
					return false
				}
			}
		}
		return true
	case kindAnythingButPrefix:
		return !isStr || !anyStr(func(t string) bool { return strings.HasPrefix(s, t) })
	case kindAnythingButSuffix:
		return !isStr || !anyStr(func(t string) bool { return strings.HasSuffix(s, t) })
	case kindAnythingButIgnoreCase:
		return !isStr || !anyStr(func(t string) bool { return strings.EqualFold(s, t) })
	case kindAnythingButWildcard:
		return !isStr || !anyStr(func(t string) bool { return refWildcard(t, s) })
	case kindNumeric:
		if !isNum {
			return false
		}
		r := c.Range
		if r.HasLow && (x < r.Low || r.LowOpen && x == r.Low) {
			return false
		}
		if r.HasHigh && (x > r.High || r.HighOpen && x == r.High) {
			return false
		}
		return true
	case kindExists:
		return c.Bool
	case kindCIDR:
		if !isStr {
			return false
		}
		a, err := netip.ParseAddr(s)
		return err == nil && c.Prefix.Contains(a)
	}
	return false
}

// witnessEvents makes events aimed at a pattern: for each branch (at most a
// few), events whose fields hold values that each condition should accept,
// values it should refuse, those values inside arrays, and the fields' keys
// dot-joined.
func witnessEvents(p *patternTree) []any {
	var out []any
	for bi, br := range p.Branches {
		if bi == 4 {
			break
		}
		for variant := range 6 {
			ev := map[string]any{}
			for fi, f := range br {
				c := f.Conds[(variant+fi)%len(f.Conds)]
				v, ok := witness(c, variant%2 == 1)
				if !ok {
					continue
				}
				if variant >= 2 && variant < 4 {
					v = []any{"zz-other", json.Number("-1"), v}
				}
				setPath(ev, f.Path, v, variant >= 4)
			}
			out = append(out, ev)
		}
	}
	return out
}

// witness gives a leaf value that c should accept (or refuse, if miss);
// false when the field should be absent.
func witness(c cond, miss bool) (any, bool) {
	num := func(f float64) any {
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return json.Number("1e999")
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	}
	other := "zz-other"
	switch c.Kind {
	case kindString, kindEqualsIgnoreCase:
		if miss {
			return c.Str + "q", true
		}
		if c.Kind == kindEqualsIgnoreCase {
			return swapCase(c.Str), true
		}
		return c.Str, true
	case kindNumber:
		if miss {
			return num(c.Num + 1), true
		}
		return num(c.Num), true
	case kindNull:
		if miss {
			return "null", true
		}
		return nil, true
	case kindBool:
		return c.Bool != miss, true
	case kindPrefix, kindPrefixIgnoreCase:
		if miss {
			return "q" + c.Str, true
		}
		return swapCase(c.Str) + "tail", true
	case kindSuffix, kindSuffixIgnoreCase:
		if miss {
			return c.Str + "q", true
		}
		return "head" + swapCase(c.Str), true
	case kindWildcard:
		w := strings.NewReplacer(`\*`, "*", `\\`, `\`, "*", "").Replace(c.Str)
		if miss {
			return w + "\x00", true
		}
		return w, true
	case kindAnythingBut:
		if !miss {
			return other, true
		}
		if len(c.Strs) > 0 {
			return c.Strs[0], true
		}
		return num(c.Nums[0]), true
	case kindAnythingButPrefix, kindAnythingButSuffix, kindAnythingButIgnoreCase, kindAnythingButWildcard:
		if !miss {
			return json.Number("7"), true
		}
		return strings.NewReplacer(`\*`, "*", `\\`, `\`, "*", "").Replace(c.Strs[0]), true
	case kindNumeric:
		r := c.Range
		v := 0.0
		switch {
		case r.HasLow && r.HasHigh:
			v = r.Low + (r.High-r.Low)/2
		case r.HasLow:
			v = r.Low + 1
		case r.HasHigh:
			v = r.High - 1
		}
		if miss {
			if r.HasLow {
				v = r.Low
			} else {
				v = r.High
			}
		}
		return num(v), true
	case kindExists:
		if c.Bool != miss {
			return "present", true
		}
		return nil, false
	case kindCIDR:
		a := c.Prefix.Addr()
		if miss {
			return "not-an-ip", true
		}
		return a.String(), true
	}
	return nil, false
}

func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsUpper(r) {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, s)
}

// setPath sets the value at path in a nested event, creating objects; with
// dotted, the last two keys are written as one dot-joined key. A path that
// runs into a leaf already set is left alone.
func setPath(ev map[string]any, path []string, v any, dotted bool) {
	if dotted && len(path) >= 2 {
		path = append(path[:len(path)-2:len(path)-2], path[len(path)-2]+"."+path[len(path)-1])
	}
	m := ev
	for _, k := range path[:len(path)-1] {
		next, ok := m[k]
		if !ok {
			nm := map[string]any{}
			m[k] = nm
			m = nm
			continue
		}
		nm, ok := next.(map[string]any)
		if !ok {
			return
		}
		m = nm
	}
	if _, ok := m[path[len(path)-1]]; !ok {
		m[path[len(path)-1]] = v
	}
}
