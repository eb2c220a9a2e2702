package explain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/conveyor/conveyor/pattern"
)

// Field is one field of a pattern and how the event fared against it.
type Field struct {
	// Path is the field's path, its names joined by dots ("detail.state").
	Path string `json:"Path"`
	// Condition is the pattern's array at that path, as written.
	Condition json.RawMessage `json:"Condition"`
	// Values are the event's values at the path (arrays flattened, as matching sees them);
	// none when the event has nothing there.
	Values []json.RawMessage `json:"Values"`
	// Missing says the event has nothing at the path.
	Missing bool `json:"Missing"`
	// Matched says the event satisfies this field's condition.
	Matched bool `json:"Matched"`

	names []string
}

// Alternative is one way the pattern can match: the pattern itself, or one choice in each of
// its $or.
type Alternative struct {
	Matched bool    `json:"Matched"`
	Fields  []Field `json:"Fields"`
	// Note says why an alternative whose every field matched on its own still did not match
	// (the fields matched in different elements of an array).
	Note string `json:"Note,omitempty"`
}

// Explanation is the whole answer.
type Explanation struct {
	// Matched is the matcher's answer for the whole pattern.
	Matched bool `json:"Matched"`
	// Alternatives are the pattern without $or, or one per combination of its $or branches.
	Alternatives []Alternative `json:"Alternatives"`
}

// Failed returns the fields that did not match, in every alternative.
func (e *Explanation) Failed() []Field {
	var out []Field
	for _, a := range e.Alternatives {
		for _, f := range a.Fields {
			if !f.Matched {
				out = append(out, f)
			}
		}
	}
	return out
}

// maxAlternatives bounds how many $or combinations are explained.
const maxAlternatives = 256

// ErrNotObject is returned for an event that is not a JSON object.
var ErrNotObject = errors.New("explain: the event is not a JSON object")

// Explain explains how event fares against pattern. The pattern must be valid (the
// pattern package's error otherwise); the event must be a JSON object.
func Explain(pat, event []byte, opts ...pattern.Option) (*Explanation, error) {
	m := pattern.New(opts...)
	if err := m.Add("p", pat); err != nil {
		return nil, err
	}
	var ev any
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("explain: the event is not JSON: %w", err)
	}
	if _, ok := ev.(map[string]any); !ok {
		return nil, ErrNotObject
	}
	ids, err := m.Match(event)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(pat, &root); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	alts, err := expand(root, nil)
	if err != nil {
		return nil, err
	}
	out := &Explanation{Matched: len(ids) > 0}
	for _, fields := range alts {
		a := Alternative{Matched: true, Fields: fields}
		for i := range a.Fields {
			f := &a.Fields[i]
			f.Values = valuesAt(ev, f.Path)
			f.Missing = len(f.Values) == 0
			if f.Matched, err = fieldMatches(f, event, opts); err != nil {
				return nil, err
			}
			a.Matched = a.Matched && f.Matched
		}
		if a.Matched && !out.Matched {
			a.Matched = false
			a.Note = "each field matches on its own, but not within the same element of an array"
		}
		out.Alternatives = append(out.Alternatives, a)
	}
	return out, nil
}

// fieldMatches runs the matcher on the pattern of f alone.
func fieldMatches(f *Field, event []byte, opts []pattern.Option) (bool, error) {
	p := []byte(f.Condition)
	for i := len(f.names) - 1; i >= 0; i-- {
		name, _ := json.Marshal(f.names[i])
		p = slices.Concat([]byte("{"), name, []byte(":"), p, []byte("}"))
	}
	m := pattern.New(opts...)
	if err := m.Add("f", p); err != nil {
		return false, fmt.Errorf("explain: field %s: %w", f.Path, err)
	}
	ids, err := m.Match(event)
	if err != nil {
		return false, fmt.Errorf("explain: %w", err)
	}
	return len(ids) > 0, nil
}

// expand lists the $or-free alternatives of a pattern object under the path prefix: each a
// list of fields, in the order of their paths.
func expand(obj map[string]json.RawMessage, prefix []string) ([][]Field, error) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	alts := [][]Field{nil}
	for _, k := range keys {
		v := bytes.TrimSpace(obj[k])
		var choices [][]Field
		switch {
		case k == "$or":
			var branches []map[string]json.RawMessage
			if err := json.Unmarshal(v, &branches); err != nil {
				return nil, fmt.Errorf("explain: $or: %w", err)
			}
			for _, b := range branches {
				sub, err := expand(b, prefix)
				if err != nil {
					return nil, err
				}
				choices = append(choices, sub...)
			}
		case len(v) > 0 && v[0] == '{':
			var sub map[string]json.RawMessage
			if err := json.Unmarshal(v, &sub); err != nil {
				return nil, fmt.Errorf("explain: %w", err)
			}
			names := append(slices.Clone(prefix), k)
			var err error
			if choices, err = expand(sub, names); err != nil {
				return nil, err
			}
		default:
			names := append(slices.Clone(prefix), k)
			choices = [][]Field{{{Path: strings.Join(names, "."), Condition: json.RawMessage(v), names: names}}}
		}
		var next [][]Field
		for _, a := range alts {
			for _, c := range choices {
				if len(next) == maxAlternatives {
					return nil, fmt.Errorf("explain: the pattern has more than %d combinations of $or branches", maxAlternatives)
				}
				next = append(next, slices.Concat(a, c))
			}
		}
		alts = next
	}
	return alts, nil
}

// valuesAt returns the event's values at path, as matching sees them: the names of nested
// objects joined by dots (so "a.b" is both {"a":{"b":…}} and {"a.b":…}), arrays flattened on
// the way and at the end, only values that are not objects.
func valuesAt(ev any, path string) []json.RawMessage {
	var out []json.RawMessage
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, at)
			}
		case map[string]any:
			for k, e := range x {
				next := k
				if at != "" {
					next = at + "." + k
				}
				if next == path || strings.HasPrefix(path, next+".") {
					walk(e, next)
				}
			}
		default:
			if at == path {
				if b, err := json.Marshal(v); err == nil {
					out = append(out, b)
				}
			}
		}
	}
	walk(ev, "")
	return out
}
