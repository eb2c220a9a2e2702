package explain_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/explain"
)

// Every match and no-match case recorded against AWS gets the matcher's answer, and a
// no-match names a failed field (or says why none failed) in each alternative.
func TestAWSCases(t *testing.T) {
	data, err := os.ReadFile("../../pattern/testdata/eventbridge-patterns.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name    string
		Event   json.RawMessage
		Pattern json.RawMessage
		Expect  any
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cases {
		outcome, ok := c.Expect.(string)
		if !ok {
			continue
		}
		want := outcome == "match"
		n++
		t.Run(c.Name, func(t *testing.T) {
			e, err := explain.Explain(c.Pattern, c.Event)
			if err != nil {
				t.Fatal(err)
			}
			if e.Matched != want {
				t.Fatalf("Matched %v, AWS says %v", e.Matched, want)
			}
			some := false
			for _, a := range e.Alternatives {
				failed := 0
				for _, f := range a.Fields {
					if !f.Matched {
						failed++
					}
				}
				if a.Matched != (failed == 0 && a.Note == "") {
					t.Errorf("alternative %+v: Matched disagrees with its fields", a)
				}
				some = some || a.Matched
			}
			if some != e.Matched {
				t.Errorf("alternatives %+v against the whole answer %v", e.Alternatives, e.Matched)
			}
		})
	}
	if n < 30 {
		t.Fatalf("only %d match cases", n)
	}
}

// A non-match names each failed field, with its condition and the event's values or
// "missing".
func TestWhyNot(t *testing.T) {
	pat := `{"source":["aws.ec2"],"detail":{"state":["stopped","terminated"],"instance-id":[{"prefix":"i-"}],"zone":[{"exists":true}]}}`
	ev := `{"source":"aws.ec2","detail":{"state":"pending","instance-id":"i-0abc","tags":[{"k":"a"}]}}`
	e, err := explain.Explain([]byte(pat), []byte(ev))
	if err != nil {
		t.Fatal(err)
	}
	if e.Matched || len(e.Alternatives) != 1 {
		t.Fatalf("%+v", e)
	}
	var got []string
	for _, f := range e.Failed() {
		got = append(got, f.Path+" "+string(f.Condition)+" "+strings.Join(raw(f.Values), ",")+map[bool]string{true: " missing"}[f.Missing])
	}
	want := []string{`detail.state ["stopped","terminated"] "pending"`, `detail.zone [{"exists":true}]  missing`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failed fields:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// $or: one alternative per branch.
	e, err = explain.Explain([]byte(`{"$or":[{"a":["x"]},{"b":[{"numeric":[">",5]}]}]}`), []byte(`{"a":"y","b":[1,9]}`))
	if err != nil || !e.Matched || len(e.Alternatives) != 2 || e.Alternatives[0].Matched || !e.Alternatives[1].Matched {
		t.Errorf("$or: %+v %v", e, err)
	}
	// Fields that match one by one but not in the same array element.
	e, err = explain.Explain([]byte(`{"e":{"first":["Anna"],"last":["Doe"]}}`), []byte(`{"e":[{"first":"John","last":"Doe"},{"first":"Anna","last":"Smith"}]}`))
	if err != nil || e.Matched || e.Alternatives[0].Note == "" {
		t.Errorf("array consistency: %+v %v", e, err)
	}
}

func raw(vs []json.RawMessage) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
