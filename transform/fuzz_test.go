package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"
)

var fuzzContext = Context{
	RuleName:      `rule "quoted"`,
	RuleARN:       "arn:aws:events:us-east-1:123456789012:rule/r",
	IngestionTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
}

// FuzzTemplate compiles an InputTransformer of one key and applies it. It must
// never panic; on an event that is a JSON object Apply must succeed, and a
// template that is JSON must give JSON.
func FuzzTemplate(f *testing.F) {
	f.Add(`{"s": <s>, "t": "<s> at <aws.events.event.ingestion-time>"}`, "s", "$.detail.state", []byte(`{"detail":{"state":"RUNNING"}}`))
	f.Add(`"<s> is in state \"<s>\""`, "s", "$.detail", []byte(`{"detail":{"a":"x\"y","b":[1,2.5,null]}}`))
	f.Add(`<s> and <aws.events.rule-name>`, "s", "$.resources[0]", []byte(`{"resources":["a\nb"]}`))
	f.Add(`[<aws.events.event>, <aws.events.event.json>, "<aws.events.event>"]`, "k", "$", []byte(`{"detail":{},"x":"\u00e9\ud83d\ude00"}`))
	f.Fuzz(func(t *testing.T, template, key, path string, event []byte) {
		spec := Spec{TargetID: "t", InputTransformer: &InputTransformer{
			InputPathsMap: map[string]string{key: path},
			InputTemplate: template,
		}}
		tr, err := Compile(spec)
		if err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("Compile error %T: %v", err, err)
			}
			return
		}
		out, err := tr.Apply(event, fuzzContext)
		trimmed := bytes.TrimSpace(event)
		isObject := json.Valid(event) && len(trimmed) > 0 && trimmed[0] == '{'
		if len(out) > MaxOutputBytes {
			t.Fatalf("output of %d bytes, over the bound", len(out))
		}
		var tooLarge *OutputTooLargeError
		if errors.As(err, &tooLarge) {
			return
		}
		if err != nil {
			if isObject {
				t.Fatalf("Apply on a JSON object failed: %v", err)
			}
			return
		}
		if isObject && mustBeJSON(spec) && !json.Valid(out) {
			t.Fatalf("template %q gave output that is not JSON: %q", template, out)
		}
	})
}

// FuzzInputPath checks InputPath against a reference walk done with
// fastjson (which, like Apply, takes the first of duplicate keys).
func FuzzInputPath(f *testing.F) {
	f.Add("$.detail.state", []byte(`{"detail":{"state":"RUNNING"}}`))
	f.Add("$.resources[1]", []byte(`{"resources":["a", {"b" : [ 1 , 2 ]}]}`))
	f.Add("$.a.b", []byte(`{"a":{"b":"\u00e9\/\"","b":2}}`))
	f.Add("$", []byte(" {\"x\": -1.5e3}\n"))
	f.Fuzz(func(t *testing.T, path string, event []byte) {
		tr, err := Compile(Spec{InputPath: &path})
		if err != nil {
			return
		}
		out, err := tr.Apply(event, Context{})
		if !json.Valid(event) {
			return
		}
		if err != nil {
			t.Fatalf("Apply on JSON failed: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("output is not JSON: %q", out)
		}
		var p fastjson.Parser
		v, perr := p.ParseBytes(event)
		if perr != nil {
			return // deeper than fastjson parses
		}
		want := []byte("null")
		steps, _ := parsePath(path)
		for _, st := range steps.steps {
			if st.index < 0 {
				if v.Type() != fastjson.TypeObject {
					v = nil
					break
				}
				v = v.GetObject().Get(st.name)
			} else {
				if v.Type() != fastjson.TypeArray || st.index >= len(v.GetArray()) {
					v = nil
					break
				}
				v = v.GetArray()[st.index]
			}
			if v == nil {
				break
			}
		}
		if v != nil {
			want = v.MarshalTo(nil)
		}
		if !sameJSON(t, out, want) {
			t.Fatalf("InputPath %q on %q = %q; want %q", path, event, out, want)
		}
	})
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	decode := func(x []byte) any {
		d := json.NewDecoder(bytes.NewReader(x))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("decode %q: %v", x, err)
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}

// TestStringContent checks that strings are written in one form whatever
// escapes the event used, against encoding/json's decoding.
func TestStringContent(t *testing.T) {
	for _, raw := range []string{
		`plain`, `a\"b`, `\\`, `\/`, `\u00e9`, `\ud83d\ude00`, `\ud83d`, `\ude00x`, `\u0000\u001f`,
		`\b\f\n\r\t`, `\u2028`, `é😀`,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &want); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		got := appendStringContent(nil, []byte(raw))
		var back string
		if err := json.Unmarshal([]byte(`"`+string(got)+`"`), &back); err != nil {
			t.Fatalf("%q gave %q, not valid string content: %v", raw, got, err)
		}
		if back != want {
			t.Errorf("%q gave %q = %q; want %q", raw, got, back, want)
		}
		if strings.Contains(string(got), `\u00e9`) || strings.Contains(string(got), `\/`) {
			t.Errorf("%q gave %q: escapes AWS does not write", raw, got)
		}
		if dec := string(appendUnescaped(nil, []byte(raw))); dec != want {
			t.Errorf("appendUnescaped(%q) = %q; want %q", raw, dec, want)
		}
	}
}

// FuzzFinder checks that finding several paths in one pass gives what
// finding each alone gives, and that neither panics.
func FuzzFinder(f *testing.F) {
	f.Add("$.detail.state\n$.detail\n$.resources[0]\n$.detail.state\n$", []byte(`{"detail":{"state":"RUNNING","x":[1,{"y":2}]},"resources":["a"]}`))
	f.Add("$.a[1].b\n$.a[0]\n$.a.b\n$.c", []byte(`{"a":[{"b":1},{"b":[2]}],"a":3,"c":{}}`))
	f.Add("$.a\n$.b\n$.c", []byte(`{"c":1,"b":"\"","a":[]}`))
	f.Fuzz(func(t *testing.T, pathList string, event []byte) {
		var paths []path
		for _, s := range strings.Split(pathList, "\n") {
			if p, err := parsePath(s); err == nil {
				paths = append(paths, p)
			}
		}
		if len(paths) == 0 || len(paths) > 100 {
			return
		}
		all := make([]span, len(paths))
		errAll := newFinder(paths).find(event, all)
		for i, p := range paths {
			one := make([]span, 1)
			errOne := newFinder([]path{p}).find(event, one)
			if errAll == nil && errOne != nil && json.Valid(event) {
				t.Fatalf("path %q alone failed on JSON: %v", p.text, errOne)
			}
			if errAll == nil && errOne == nil && one[0] != all[i] {
				t.Fatalf("path %q: alone %+v, with the others %+v", p.text, one[0], all[i])
			}
		}
		if json.Valid(event) && errAll != nil {
			t.Fatalf("find on JSON failed: %v", errAll)
		}
	})
}

// FuzzChecker checks the JSON validator Compile uses for Input and templates
// against encoding/json.
func FuzzChecker(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2.5e-3, true, null, "x\u00e9\n"]}`, `"str"`, `-0.0`, `01`, `[1,]`, `{"a" 1}`, "\"\x01\"", `nul`, `[`, ` `, `1 2`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := checker{s: s}
		if got, want := c.check() < 0, json.Valid([]byte(s)); got != want {
			t.Fatalf("check(%q) valid = %v; encoding/json says %v", s, got, want)
		}
	})
}
