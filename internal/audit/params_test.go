package audit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/conveyor/conveyor/internal/awsapi"
)

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{
		"EventBusName": "eventBusName", "Arn": "arn", "ARN": "aRN", "MD5OfMessageBody": "mD5OfMessageBody",
		"name": "name", "": "", "Événement": "événement", "1st": "1st",
	} {
		if got := camel(in); got != want {
			t.Errorf("camel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRecordJSONEmpty(t *testing.T) {
	for _, in := range []string{"", " ", "null", "{}", " {} "} {
		got, _, err := new(paramWriters).recordJSON([]byte(in), false, nil)
		if err != nil || got != nil {
			t.Errorf("new(paramWriters).recordJSON(%q) = %s, %v; want null", in, got, err)
		}
	}
	if _, _, err := new(paramWriters).recordJSON([]byte(`{"a":`), false, nil); err == nil {
		t.Error("malformed body accepted")
	}
}

func FuzzRecordJSON(f *testing.F) {
	f.Add([]byte(`{"Name":"r","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"SECRETVALUE"}}}`), false)
	f.Add([]byte(`{"Entries":[{"Detail":"SECRETVALUE","Source":"s"}]}`), true)
	f.Add([]byte(`{"InvocationHttpParameters":{"HeaderParameters":[{"Key":"k","Value":"SECRETVALUE","IsValueSecret":true}]}}`), false)
	f.Add([]byte(`[1,2,{"A":{"B":null}}]`), false)
	f.Add([]byte(`{"authParameters":{"basicAuthParameters":{"PASSWORD":"SECRETVALUE"}},"Tags":{"Password":"x"}}`), false)
	f.Fuzz(func(t *testing.T, body []byte, data bool) {
		out, _, err := new(paramWriters).recordJSON(body, data, nil)
		if err != nil || out == nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("new(paramWriters).recordJSON(%q) = %q, not JSON", body, out)
		}
		// Every secret member outside a user-keyed map is hidden. (Numbers
		// are read as they are: one may be too large for a float64.)
		var v any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		checkHidden(t, v, false, out)
	})
}

func checkHidden(t *testing.T, v any, userKeys bool, out []byte) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			lk := awsapi.FoldName(k)
			if !userKeys && secretMembers[lk] && x != Hidden {
				t.Fatalf("secret member %s kept: %s", k, out)
			}
			checkHidden(t, x, !userKeys && userKeyedMaps[lk] && isObject(x), out)
		}
	case []any:
		for _, x := range v {
			checkHidden(t, x, false, out)
		}
	}
}

// FuzzParamWriter: the hand-written converter writes what the reflective one
// writes, converts every JSON object and list, and reads the members that
// name resources as members.scan does.
func FuzzParamWriter(f *testing.F) {
	f.Add([]byte(`{"Name":"r","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"SECRETVALUE"}}}`), false)
	f.Add([]byte(`{"Entries":[{"Detail":"SECRETVALUE","Source":"s"}]}`), true)
	f.Add([]byte(`{"InvocationHttpParameters":{"HeaderParameters":[{"Key":"k","Value":"SECRETVALUE","IsValueSecret":true}]}}`), false)
	f.Add([]byte(`[1,2,{"A":{"B":null}}, -0.5e+3, true, false, "\u2028\ud800x\"<&>"]`), false)
	f.Add([]byte(`{"b":1,"a":2,"B":3,"a":{"x":[]},"Tags":{"Password":"x","b":"y"},"Ünïcode":"\xff"}`), false)
	f.Add([]byte(` {"QueryStringParameters":[{"vALUE":"s","Key":"k"},{"Value":1}], "BodyParameters":[], "HeaderParameters":[1]} trailing`), false)
	f.Fuzz(func(t *testing.T, body []byte, data bool) {
		body = bytes.TrimSpace(body)
		if _, valid, _ := new(paramWriters).recordJSON(body, data, nil); valid && !json.Valid(body) {
			t.Fatalf("new(paramWriters).recordJSON(%q): valid, but it is not JSON", body)
		}
		// The members it reads on the way (names matched exactly, as for
		// a request, or not, as for a response) are what scan reads.
		var captured members
		capture := memberCapture{m: &captured, exact: data}
		got, ok, whole := new(paramWriters).convertParams(body, data, &capture)
		if ok && whole != json.Valid(body) {
			t.Fatalf("new(paramWriters).convertParams(%q): whole %t", body, whole)
		}
		if ok && whole {
			var want members
			switch {
			case !want.scan(body, data, true):
				if !capture.entries {
					t.Fatalf("convertParams(%q): scan gave up on Entries, the capture did not", body)
				}
			case capture.entries:
				t.Fatalf("convertParams(%q): Entries captured, scan read on", body)
			case !reflect.DeepEqual(captured, want):
				t.Fatalf("convertParams(%q, exact %t) captured\n%+v\nscan read\n%+v", body, data, captured, want)
			}
		}
		want, err := recordJSONReflect(body, data)
		if !ok {
			if len(body) > 0 && (body[0] == '{' || body[0] == '[') && json.Valid(body) && bytes.Count(body, []byte("[")) < 1000 {
				t.Fatalf("new(paramWriters).convertParams(%q) gave up on JSON", body)
			}
			return
		}
		if err != nil {
			t.Fatalf("new(paramWriters).convertParams(%q) = %q; the reflective converter: %v", body, got, err)
		}
		if !bytes.Equal(got, want) && !camelCollision(body) {
			t.Fatalf("new(paramWriters).convertParams(%q, %t)\n got %s\nwant %s", body, data, got, want)
		}
	})
}

// camelCollision says whether an object of body has two members whose
// names differ but are the same once camel-cased ("B" and "b"): which of
// them the reflective converter keeps depends on a map's order.
func camelCollision(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	type level struct {
		object bool
		key    bool // the next token is a key
		names  map[string]string
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.object && top.key {
				if k, ok := tok.(string); ok {
					c := camel(k)
					if prev, seen := top.names[c]; seen && prev != k {
						return true
					}
					top.names[c] = k
					top.key = false
					continue
				}
			} else if top.object {
				top.key = true
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{object: true, key: true, names: map[string]string{}})
		case json.Delim('['):
			stack = append(stack, &level{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].key = true
			}
		}
	}
}
