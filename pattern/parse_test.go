package pattern

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the expectations of testdata/parse/*.txt and the FuzzParse seed corpus")

// formatAST renders a parsed pattern on one line, for the expectations of
// testdata/parse/*.txt: fields as "path: cond, cond" joined by "; ",
// branches joined by " || ".
func formatAST(p *patternTree) string {
	var b strings.Builder
	for i, br := range p.Branches {
		if i > 0 {
			b.WriteString(" || ")
		}
		for j, f := range br {
			if j > 0 {
				b.WriteString("; ")
			}
			b.WriteString(strings.Join(f.Path, "."))
			b.WriteString(":")
			for k, c := range f.Conds {
				if k > 0 {
					b.WriteString(",")
				}
				b.WriteString(" ")
				b.WriteString(formatCond(c))
			}
		}
	}
	return b.String()
}

func formatNum(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func formatStrs(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, " ") + "]"
}

func formatCond(c cond) string {
	switch c.Kind {
	case kindString:
		return strconv.Quote(c.Str)
	case kindNumber:
		return formatNum(c.Num)
	case kindNull:
		return "null"
	case kindBool:
		return strconv.FormatBool(c.Bool)
	case kindPrefix:
		return "prefix " + strconv.Quote(c.Str)
	case kindPrefixIgnoreCase:
		return "prefix-ic " + strconv.Quote(c.Str)
	case kindSuffix:
		return "suffix " + strconv.Quote(c.Str)
	case kindSuffixIgnoreCase:
		return "suffix-ic " + strconv.Quote(c.Str)
	case kindEqualsIgnoreCase:
		return "eq-ic " + strconv.Quote(c.Str)
	case kindWildcard:
		return "wildcard " + strconv.Quote(c.Str)
	case kindAnythingBut:
		if c.Strs != nil {
			return "anything-but " + formatStrs(c.Strs)
		}
		n := make([]string, len(c.Nums))
		for i, f := range c.Nums {
			n[i] = formatNum(f)
		}
		return "anything-but [" + strings.Join(n, " ") + "]"
	case kindAnythingButPrefix:
		return "anything-but-prefix " + formatStrs(c.Strs)
	case kindAnythingButSuffix:
		return "anything-but-suffix " + formatStrs(c.Strs)
	case kindAnythingButIgnoreCase:
		return "anything-but-ic " + formatStrs(c.Strs)
	case kindAnythingButWildcard:
		return "anything-but-wildcard " + formatStrs(c.Strs)
	case kindNumeric:
		r := c.Range
		lo, hi := "(-inf", "+inf)"
		if r.HasLow {
			lo = "[" + formatNum(r.Low)
			if r.LowOpen {
				lo = "(" + formatNum(r.Low)
			}
		}
		if r.HasHigh {
			hi = formatNum(r.High) + "]"
			if r.HighOpen {
				hi = formatNum(r.High) + ")"
			}
		}
		return "numeric " + lo + "," + hi
	case kindExists:
		return "exists " + strconv.FormatBool(c.Bool)
	case kindCIDR:
		return "cidr " + c.Prefix.String()
	}
	return fmt.Sprintf("kind(%d)", c.Kind)
}

// formatJSON renders a parsed pattern back as pattern JSON: each branch an
// object with one dot-joined key per field, several branches under $or. Parse
// of the result must give the pattern again.
func formatJSON(p *patternTree) []byte {
	branch := func(br branch) map[string]any {
		m := map[string]any{}
		for _, f := range br {
			var vals []any
			for _, c := range f.Conds {
				vals = append(vals, jsonCond(c))
			}
			m[strings.Join(f.Path, ".")] = vals
		}
		return m
	}
	var v any
	if len(p.Branches) == 1 {
		v = branch(p.Branches[0])
	} else {
		var alts []any
		for _, br := range p.Branches {
			alts = append(alts, branch(br))
		}
		v = map[string]any{"$or": alts}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}

// jsonNum writes a number so that it parses back to the same float64.
func jsonNum(f float64) json.Number {
	switch {
	case math.IsInf(f, 1):
		return "1e999"
	case math.IsInf(f, -1):
		return "-1e999"
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}

func jsonCond(c cond) any {
	op := func(name string, arg any) any { return map[string]any{name: arg} }
	switch c.Kind {
	case kindString:
		return c.Str
	case kindNumber:
		return jsonNum(c.Num)
	case kindNull:
		return nil
	case kindBool:
		return c.Bool
	case kindPrefix:
		return op("prefix", c.Str)
	case kindPrefixIgnoreCase:
		return op("prefix", op("equals-ignore-case", c.Str))
	case kindSuffix:
		return op("suffix", c.Str)
	case kindSuffixIgnoreCase:
		return op("suffix", op("equals-ignore-case", c.Str))
	case kindEqualsIgnoreCase:
		return op("equals-ignore-case", c.Str)
	case kindWildcard:
		return op("wildcard", c.Str)
	case kindAnythingBut:
		if c.Strs != nil {
			return op("anything-but", c.Strs)
		}
		var nums []json.Number
		for _, f := range c.Nums {
			nums = append(nums, jsonNum(f))
		}
		return op("anything-but", nums)
	case kindAnythingButPrefix:
		return op("anything-but", op("prefix", c.Strs))
	case kindAnythingButSuffix:
		return op("anything-but", op("suffix", c.Strs))
	case kindAnythingButIgnoreCase:
		return op("anything-but", op("equals-ignore-case", c.Strs))
	case kindAnythingButWildcard:
		return op("anything-but", op("wildcard", c.Strs))
	case kindNumeric:
		r := c.Range
		if r.HasLow && r.HasHigh && r.Low == r.High && !r.LowOpen && !r.HighOpen {
			return op("numeric", []any{"=", jsonNum(r.Low)})
		}
		var terms []any
		if r.HasLow {
			terms = append(terms, map[bool]string{true: ">", false: ">="}[r.LowOpen], jsonNum(r.Low))
		}
		if r.HasHigh {
			terms = append(terms, map[bool]string{true: "<", false: "<="}[r.HighOpen], jsonNum(r.High))
		}
		return op("numeric", terms)
	case kindExists:
		return op("exists", c.Bool)
	case kindCIDR:
		return op("cidr", c.Prefix.String())
	}
	return nil
}

// checkNormalForm checks the promises of ast.go on a parsed pattern.
func checkNormalForm(p *patternTree) error {
	if len(p.Branches) == 0 || len(p.Branches) > MaxBranches {
		return fmt.Errorf("%d branches", len(p.Branches))
	}
	for _, br := range p.Branches {
		if len(br) == 0 {
			return errors.New("empty branch")
		}
		for i, f := range br {
			if len(f.Path) == 0 {
				return errors.New("empty path")
			}
			for _, e := range f.Path {
				if strings.Contains(e, ".") {
					return fmt.Errorf("path element %q holds a dot", e)
				}
			}
			if i > 0 && slices.Compare(br[i-1].Path, f.Path) >= 0 {
				return fmt.Errorf("fields %q and %q out of order or duplicate", br[i-1].Path, f.Path)
			}
			if len(f.Conds) == 0 {
				return fmt.Errorf("field %q has no conditions", f.Path)
			}
			for _, c := range f.Conds {
				if err := checkCond(c); err != nil {
					return fmt.Errorf("field %q: %s: %w", f.Path, formatCond(c), err)
				}
			}
		}
	}
	return nil
}

func checkCond(c cond) error {
	strOps := func() error {
		if len(c.Strs) == 0 {
			return errors.New("no operands")
		}
		return nil
	}
	switch c.Kind {
	case kindString, kindNumber, kindNull, kindBool, kindPrefix, kindPrefixIgnoreCase,
		kindSuffix, kindSuffixIgnoreCase, kindEqualsIgnoreCase, kindExists:
		if !utf8.ValidString(c.Str) {
			return errors.New("invalid UTF-8")
		}
		return nil
	case kindWildcard:
		return checkWildcard(c.Str)
	case kindAnythingBut:
		if (len(c.Strs) == 0) == (len(c.Nums) == 0) {
			return errors.New("want exactly one of Strs and Nums")
		}
		return nil
	case kindAnythingButPrefix, kindAnythingButSuffix, kindAnythingButIgnoreCase:
		return strOps()
	case kindAnythingButWildcard:
		for _, s := range c.Strs {
			if err := checkWildcard(s); err != nil {
				return err
			}
		}
		return strOps()
	case kindNumeric:
		r := c.Range
		if !r.HasLow && !r.HasHigh {
			return errors.New("unbounded range")
		}
		if r.HasLow && r.HasHigh && (r.Low > r.High || r.Low == r.High && (r.LowOpen || r.HighOpen)) {
			return errors.New("empty range")
		}
		return nil
	case kindCIDR:
		if !c.Prefix.IsValid() || c.Prefix != c.Prefix.Masked() {
			return errors.New("prefix not valid or not masked")
		}
		return nil
	}
	return errors.New("unknown kind")
}

// A parseCase is one case of testdata/parse/*.txt: a pattern line, then a
// line "=> AST" (formatAST) or "!! reason" (the exact reason of the
// *InvalidPatternError).
type parseCase struct {
	file    string
	line    int
	pattern string
	want    string // "=> …" or "!! …"; empty when the file has none yet
}

func readParseCases(t *testing.T, file string) (cases []parseCase, lines []string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "=> ") || strings.HasPrefix(l, "!! ") {
			continue
		}
		c := parseCase{file: file, line: i + 1, pattern: l}
		if i+1 < len(lines) && (strings.HasPrefix(lines[i+1], "=> ") || strings.HasPrefix(lines[i+1], "!! ")) {
			c.want = lines[i+1]
		}
		cases = append(cases, c)
	}
	return cases, lines
}

// parseOutcome is what Parse makes of a pattern, in the file's notation.
func parseOutcome(pattern string) string {
	p, err := parse([]byte(pattern))
	if err != nil {
		var ip *InvalidPatternError
		if errors.As(err, &ip) {
			return "!! " + ip.Reason
		}
		return "!! " + err.Error()
	}
	return "=> " + formatAST(p)
}

// TestParseFiles runs the table cases of testdata/parse/*.txt. With -update
// it rewrites their expectations from what Parse does (review the diff).
func TestParseFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files: %v", err)
	}
	for _, file := range files {
		cases, lines := readParseCases(t, file)
		if *update {
			var out []string
			for i := 0; i < len(lines); i++ {
				l := lines[i]
				if strings.HasPrefix(l, "=> ") || strings.HasPrefix(l, "!! ") {
					continue
				}
				out = append(out, l)
				if l != "" && !strings.HasPrefix(l, "#") {
					out = append(out, parseOutcome(l))
				}
			}
			if err := os.WriteFile(file, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, c := range cases {
			name := fmt.Sprintf("%s:%d", filepath.Base(c.file), c.line)
			t.Run(name, func(t *testing.T) {
				if c.want == "" {
					t.Fatalf("%s: no expectation after %s", name, c.pattern)
				}
				if got := parseOutcome(c.pattern); got != c.want {
					t.Errorf("%s: Parse(%s)\n got %s\nwant %s", name, c.pattern, got, c.want)
				}
				if strings.HasPrefix(c.want, "=> ") {
					checkParsed(t, []byte(c.pattern))
				}
			})
		}
	}
}

// checkParsed checks what must hold of every pattern parse accepts: the
// normal form, and that the pattern written back as JSON parses to the same
// thing.
func checkParsed(t testing.TB, data []byte) *patternTree {
	t.Helper()
	p, err := parse(data, WithMaxLength(0))
	if err != nil {
		t.Fatalf("Parse(%s): %v", data, err)
	}
	if err := checkNormalForm(p); err != nil {
		t.Fatalf("Parse(%s): not in normal form: %v", data, err)
	}
	back := formatJSON(p)
	p2, err := parse(back, WithMaxLength(0))
	if err != nil {
		t.Fatalf("Parse(%s) (written back from %s): %v", back, data, err)
	}
	if a, b := formatAST(p), formatAST(p2); a != b {
		t.Fatalf("round trip of %s through %s:\n got %s\nwant %s", data, back, b, a)
	}
	return p
}

func TestParseLength(t *testing.T) {
	// 2048 characters is allowed, 2049 is not; an astral character counts
	// twice (UTF-16), as Java counts it.
	mk := func(n int, fill string) []byte {
		head, tail := `{"a":["`, `"]}`
		return []byte(head + strings.Repeat(fill, (n-len(head)-len(tail))/utf16Len(fill)) + tail)
	}
	tests := []struct {
		name    string
		data    []byte
		opts    []Option
		wantLen int // 0: no error
	}{
		{"at limit", mk(2048, "x"), nil, 0},
		{"over limit", mk(2049, "x"), nil, 2049},
		{"astral at limit", mk(2048, "😀"), nil, 0},
		{"astral over limit", append(mk(2048, "😀")[:7], append([]byte("😀"), mk(2048, "😀")[7:]...)...), nil, 2050},
		{"bmp counts once", mk(2048, "é"), nil, 0},
		{"custom limit", mk(100, "x"), []Option{WithMaxLength(99)}, 100},
		{"no limit", mk(5000, "x"), []Option{WithMaxLength(0)}, 0},
		{"later option wins", mk(3000, "x"), []Option{WithMaxLength(10), WithMaxLength(4000)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.data, tc.opts...)
			if tc.wantLen == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var tl *PatternTooLongError
			if !errors.As(err, &tl) {
				t.Fatalf("Parse = %v, want *PatternTooLongError", err)
			}
			if tl.Length != tc.wantLen {
				t.Errorf("Length = %d, want %d", tl.Length, tc.wantLen)
			}
			want := newOptions(tc.opts...).MaxLength
			if tl.Max != want {
				t.Errorf("Max = %d, want %d", tl.Max, want)
			}
			if msg := fmt.Sprintf("1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to %d", want); err.Error() != msg {
				t.Errorf("Error() = %q, want %q", err.Error(), msg)
			}
		})
	}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func TestErrorMessages(t *testing.T) {
	if got, want := (&InvalidPatternError{Reason: "Empty arrays are not allowed"}).Error(),
		"Event pattern is not valid. Reason: Empty arrays are not allowed"; got != want {
		t.Errorf("InvalidPatternError = %q, want %q", got, want)
	}
	if got, want := (&InvalidEventError{Reason: "x"}).Error(), "Parameter Event is not valid."; got != want {
		t.Errorf("InvalidEventError = %q, want %q", got, want)
	}
	if got := newOptions().MaxLength; got != 2048 {
		t.Errorf("default MaxLength = %d, want 2048", got)
	}
}

// TestParseTooComplex checks the cap on $or expansion: 2^10 = 1024 branches
// is past MaxBranches, 2^9 is not.
func TestParseTooComplex(t *testing.T) {
	mk := func(n int) []byte {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"k%d":{"$or":[{"a":[1]},{"b":[2]}]}`, i)
		}
		b.WriteString("}")
		return []byte(b.String())
	}
	p, err := parse(mk(9), WithMaxLength(0))
	if err != nil {
		t.Fatalf("9 $or: %v", err)
	}
	if len(p.Branches) != 512 {
		t.Errorf("9 $or: %d branches, want 512", len(p.Branches))
	}
	_, err = parse(mk(10), WithMaxLength(0))
	var ip *InvalidPatternError
	if !errors.As(err, &ip) || ip.Reason != "Rule is too complex" {
		t.Errorf("10 $or: %v, want Rule is too complex", err)
	}
	// A long flat $or is as limited as a product.
	var b strings.Builder
	b.WriteString(`{"$or":[`)
	for i := range MaxBranches + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"a":[%d]}`, i)
	}
	b.WriteString("]}")
	if _, err := parse([]byte(b.String()), WithMaxLength(0)); !errors.As(err, &ip) || ip.Reason != "Rule is too complex" {
		t.Errorf("%d alternatives: %v, want Rule is too complex", MaxBranches+1, err)
	}
}

// TestParseDeep checks that deep nesting is an error, not a stack overflow.
func TestParseDeep(t *testing.T) {
	deep := []byte(strings.Repeat(`{"a":`, 5000) + `["x"]` + strings.Repeat("}", 5000))
	_, err := parse(deep, WithMaxLength(0))
	var ip *InvalidPatternError
	if !errors.As(err, &ip) || !strings.HasPrefix(ip.Reason, "Nesting depth exceeds the maximum allowed (1000)") {
		t.Errorf("Parse(deep) = %v", err)
	}
	ok := []byte(strings.Repeat(`{"a":`, 900) + `["x"]` + strings.Repeat("}", 900))
	p := checkParsed(t, ok)
	if n := len(p.Branches[0][0].Path); n != 900 {
		t.Errorf("path length %d, want 900", n)
	}
	if err := CheckEvent([]byte(`{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`)); err == nil {
		t.Error("CheckEvent(deep) = nil")
	}
}

func TestCheckEvent(t *testing.T) {
	const env = `"id":"1","account":"1","source":"s","time":"t","region":"r","detail-type":"d"`
	tests := []struct {
		name, event string
		ok          bool
	}{
		{"minimal", `{` + env + `}`, true},
		{"with detail", `{` + env + `,"detail":{"a":[1,2,{"b":null}]}}`, true},
		{"white space", " \n{" + env + "}\t", true},
		{"values of any type", `{"id":1,"account":null,"source":[],"time":{},"region":true,"detail-type":["x"]}`, true},
		{"missing id", `{"account":"1","source":"s","time":"t","region":"r","detail-type":"d"}`, false},
		{"missing detail-type", `{"id":"1","account":"1","source":"s","time":"t","region":"r"}`, false},
		{"required field nested only", `{"detail":{` + env + `}}`, false},
		{"array", `[{` + env + `}]`, false},
		{"string", `"x"`, false},
		{"number", `1`, false},
		{"null", `null`, false},
		{"empty", ``, false},
		{"not JSON", `hello`, false},
		{"trailing garbage", `{` + env + `} x`, false},
		{"two values", `{` + env + `}{}`, false},
		{"unterminated", `{` + env, false},
		{"bad nested", `{` + env + `,"detail":{"a":[1,]}}`, false},
		{"single quotes", `{'id':'1'}`, false},
		{"invalid UTF-8", "{" + env + ",\"x\":\"\xff\"}", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEvent([]byte(tc.event))
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckEvent: %v", err)
				}
				return
			}
			var ie *InvalidEventError
			if !errors.As(err, &ie) {
				t.Fatalf("CheckEvent = %v, want *InvalidEventError", err)
			}
			if err.Error() != "Parameter Event is not valid." || ie.Reason == "" {
				t.Errorf("CheckEvent = %q (reason %q)", err.Error(), ie.Reason)
			}
		})
	}
}

// benchPatterns are typical rule patterns, from a one-field source match to
// a pattern using most operators.
var benchPatterns = []struct{ name, pattern string }{
	{"source", `{"source":["aws.ec2"]}`},
	{"ec2-state", `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["stopped","terminated"]}}`},
	{"cloudtrail", `{"source":["aws.s3"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["s3.amazonaws.com"],"eventName":["CreateBucket","DeleteBucket"]}}`},
	{"operators", `{"source":[{"prefix":"aws."}],"detail":{"size":[{"numeric":[">",0,"<=",1024]}],"ip":[{"cidr":"10.0.0.0/8"}],"name":[{"wildcard":"*.png"},{"suffix":{"equals-ignore-case":".JPG"}}],"state":[{"anything-but":["deleted","failed"]}],"owner":[{"exists":true}]}}`},
	{"or", `{"source":["aws.ec2"],"$or":[{"detail":{"state":["running"]}},{"detail":{"code":[{"numeric":[">=",500]}]}},{"detail-type":[{"equals-ignore-case":"alarm"}]}]}`},
}

func BenchmarkParse(b *testing.B) {
	for _, bp := range benchPatterns {
		data := []byte(bp.pattern)
		b.Run(bp.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
