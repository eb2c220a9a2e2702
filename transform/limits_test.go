package transform

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

// TestLimits checks the size limits of AWS's request shapes, which are too
// long to write out in testdata: at the limit a spec compiles, one past it
// Violations and Compile refuse it.
func TestLimits(t *testing.T) {
	keys := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = "$.detail"
		}
		return m
	}
	// A JSON string of exactly n characters ("aaa…").
	jsonText := func(n int) string { return `"` + strings.Repeat("a", n-2) + `"` }
	tests := []struct {
		name string
		spec Spec
		want string // the constraint broken, "" when none
	}{
		{"input at 8192", Spec{Input: ptr(jsonText(8192))}, ""},
		{"input over 8192", Spec{Input: ptr(jsonText(8193))}, "at 'targets.1.member.input' failed to satisfy constraint: Member must have length less than or equal to 8192"},
		{"input counts UTF-16 units", Spec{Input: ptr(`"` + strings.Repeat("😀", 4095) + `"`)}, ""},
		{"input over in UTF-16 units", Spec{Input: ptr(`"` + strings.Repeat("😀", 4096) + `"`)}, "Member must have length less than or equal to 8192"},
		{"input path at 256", Spec{InputPath: ptr("$." + strings.Repeat("a", 254))}, ""},
		{"input path over 256", Spec{InputPath: ptr("$." + strings.Repeat("a", 255))}, "at 'targets.1.member.inputPath' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"100 keys", Spec{InputTransformer: &InputTransformer{InputPathsMap: keys(100), InputTemplate: "<k1>"}}, ""},
		{"101 keys", Spec{InputTransformer: &InputTransformer{InputPathsMap: keys(101), InputTemplate: "<k1>"}}, "inputTransformer.inputPathsMap' failed to satisfy constraint: Member must have length less than or equal to 100"},
		{"key at 256", Spec{InputTransformer: &InputTransformer{InputPathsMap: map[string]string{strings.Repeat("k", 256): "$"}, InputTemplate: "x"}}, ""},
		{"key over 256", Spec{InputTransformer: &InputTransformer{InputPathsMap: map[string]string{strings.Repeat("k", 257): "$"}, InputTemplate: "x"}}, "Map keys must satisfy constraint: [Member must have length less than or equal to 256]"},
		{"empty key", Spec{InputTransformer: &InputTransformer{InputPathsMap: map[string]string{"": "$"}, InputTemplate: "x"}}, "Map keys must satisfy constraint: [Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+]"},
		{"template at 8192", Spec{InputTransformer: &InputTransformer{InputTemplate: jsonText(8192)}}, ""},
		{"template over 8192", Spec{InputTransformer: &InputTransformer{InputTemplate: jsonText(8193)}}, "at 'targets.1.member.inputTransformer.inputTemplate' failed to satisfy constraint: Member must have length less than or equal to 8192"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Violations(tt.spec, "targets.1.member")
			_, err := Compile(tt.spec)
			if tt.want == "" {
				if len(v) != 0 || err != nil {
					t.Fatalf("Violations = %q, Compile error = %v; want none", v, err)
				}
				return
			}
			if len(v) != 1 || !strings.Contains(v[0], tt.want) {
				t.Fatalf("Violations = %q; want one containing %q", v, tt.want)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.HasPrefix(ve.Message, "1 validation error detected: Value '") {
				t.Fatalf("Compile error = %v; want a ValidationError for the violation", err)
			}
		})
	}
}

func TestSeveralViolations(t *testing.T) {
	spec := Spec{
		Input:     ptr(`"` + strings.Repeat("a", 9000) + `"`),
		InputPath: ptr("$." + strings.Repeat("a", 300)),
	}
	_, err := Compile(spec)
	if err == nil || !strings.HasPrefix(err.Error(), "2 validation errors detected: Value '") || !strings.Contains(err.Error(), "; Value '") {
		t.Fatalf("Compile error = %v; want two violations", err)
	}
}

// TestNilTransform checks that a nil Transform and an empty Spec send the
// event as it is, even one that is not JSON (nothing reads it).
func TestNilTransform(t *testing.T) {
	event := []byte(`not json`)
	var nilT *Transform
	if out, err := nilT.Apply(event, Context{}); err != nil || string(out) != string(event) {
		t.Fatalf("nil Transform: %q, %v", out, err)
	}
	tr, err := Compile(Spec{})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := tr.Apply(event, Context{}); err != nil || string(out) != string(event) {
		t.Fatalf("empty Spec: %q, %v", out, err)
	}
}

// TestMalformedEvent checks that Apply reports, and does not panic on, events
// that are not JSON where it has to read them.
func TestMalformedEvent(t *testing.T) {
	tr, err := Compile(Spec{InputTransformer: &InputTransformer{
		InputPathsMap: map[string]string{"s": "$.detail.state"},
		InputTemplate: `{"s": <s>, "e": <aws.events.event>}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{``, `{`, `{"detail"`, `{"detail":`, `{"detail":{"state"`, `{"detail":{"state":"x`, `[1,2`, `{"a" 1}`, `{"detail":{"x":1 "state":2}}`, `{"detail":{"state":]}}`} {
		if _, err := tr.Apply([]byte(ev), Context{}); !errors.Is(err, ErrMalformedEvent) {
			t.Errorf("Apply(%q) = %v; want ErrMalformedEvent", ev, err)
		}
	}
}

// TestDeepEvent checks that events nested as deep as PutEvents allows (1,000
// levels) and deeper are walked without recursion trouble.
func TestDeepEvent(t *testing.T) {
	const depth = 5000
	deep := strings.Repeat(`{"a":`, depth) + `"leaf"` + strings.Repeat(`}`, depth)
	event := []byte(`{"detail":` + deep + `,"after":"x"}`)
	tr, err := Compile(Spec{InputTransformer: &InputTransformer{
		InputPathsMap: map[string]string{"after": "$.after", "deep": "$.detail.a.a.a"},
		InputTemplate: `{"after": <after>, "text": "<aws.events.event>", "all": <aws.events.event.json>, "deep": "<deep>"}`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.Apply(event, Context{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), `{"after": "x", "text": "{after:x}", "all": {"detail":{"a":`) {
		t.Fatalf("output starts %.80q", out)
	}
	if !strings.Contains(string(out), `"deep": "{a:{a:`) {
		t.Fatalf("deep value missing from %.200q…", out)
	}
	if c := (checker{s: string(out)}); c.check() >= 0 {
		t.Fatal("output is not JSON")
	}
}

// A template that repeats a large value thousands of times fails with an
// *OutputTooLargeError having built no more than the bound and one value
// (in a buffer that grew by doubling);
// one whose output is just under the bound is built whole.
func TestOutputBound(t *testing.T) {
	big := strings.Repeat("x", 90_000)
	event := []byte(`{"detail":{"big":"` + big + `","small":"` + strings.Repeat("y", 1000) + `"}}`)
	compile := func(key string, n int) *Transform {
		t.Helper()
		tr, err := Compile(Spec{TargetID: "t", InputTransformer: &InputTransformer{
			InputPathsMap: map[string]string{"v": "$.detail." + key},
			InputTemplate: strings.Repeat("<v>", n),
		}})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	huge := compile("big", 2700)
	var tooLarge *OutputTooLargeError
	if _, err := huge.Apply(event, Context{}); !errors.As(err, &tooLarge) {
		t.Fatalf("2,700 copies of 90 KB: %v", err)
	}
	allocs := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = huge.Apply(event, Context{})
		}
	})
	// The output buffer grows by doubling up to just past the bound.
	if per := allocs.AllocedBytesPerOp(); per > 4*MaxOutputBytes {
		t.Errorf("a refused transform allocated %d bytes", per)
	}
	n := MaxOutputBytes / 1000 // copies of the 1,000-byte value that fit
	out, err := compile("small", n).Apply(event, Context{})
	if err != nil || len(out) != n*1000 {
		t.Fatalf("%d copies of 1,000 bytes: %d bytes, %v", n, len(out), err)
	}
	if _, err := compile("small", n+300).Apply(event, Context{}); !errors.As(err, &tooLarge) {
		t.Fatalf("over the bound by 300 KB: %v", err)
	}
}
