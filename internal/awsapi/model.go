package awsapi

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The input constraints of AWS's API models (botocore's service-2.json, reduced by
// internal/modelgen; regenerate with the commands in models/README.md).
//
//go:embed models/*.json
var modelFS embed.FS

// Model holds the input constraints of one service's AWS API model: required members, length
// and value ranges, patterns and enums, per operation. Validate checks a decoded input against
// them and words violations exactly as AWS's validation layer does. A Model is immutable and
// safe for concurrent use.
type Model struct {
	Service    string
	APIVersion string
	inputs     map[string]*mshape

	fieldCache sync.Map // reflect.Type → map[string][]int (json name → field index)
}

type mshape struct {
	name      string
	typ       string
	members   []mmember
	member    *mshape
	key       *mshape
	value     *mshape
	min, max  *float64
	pattern   string
	re        *regexp.Regexp // nil when the pattern has no RE2 equivalent (then unchecked)
	enum      []string
	sensitive bool
}

type mmember struct {
	name     string // as in the model, e.g. EventBusName
	wire     string // as in messages, e.g. eventBusName
	shape    *mshape
	required bool
}

type modelFile struct {
	Service    string            `json:"service"`
	APIVersion string            `json:"apiVersion"`
	Operations map[string]string `json:"operations"`
	Shapes     map[string]struct {
		Type      string     `json:"type"`
		Members   [][]string `json:"members"`
		Required  []string   `json:"required"`
		Member    string     `json:"member"`
		Key       string     `json:"key"`
		Value     string     `json:"value"`
		Min       *float64   `json:"min"`
		Max       *float64   `json:"max"`
		Pattern   string     `json:"pattern"`
		Enum      []string   `json:"enum"`
		Sensitive bool       `json:"sensitive"`
	} `json:"shapes"`
}

// LoadModel returns the embedded model of service: "events", "cloudtrail", "sqs" or "lambda".
func LoadModel(service string) (*Model, error) {
	data, err := modelFS.ReadFile("models/" + service + ".json")
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w", service, err)
	}
	return ParseModel(data)
}

// MustLoadModel is LoadModel for the embedded models, which always load (a test checks it).
func MustLoadModel(service string) *Model {
	m, err := LoadModel(service)
	if err != nil {
		panic(err)
	}
	return m
}

// ParseModel reads a model in the form internal/modelgen writes.
func ParseModel(data []byte) (*Model, error) {
	var f modelFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse model: %w", err)
	}
	shapes := make(map[string]*mshape, len(f.Shapes))
	for name, s := range f.Shapes {
		ms := &mshape{name: name, typ: s.Type, min: s.Min, max: s.Max, pattern: s.Pattern, enum: s.Enum, sensitive: s.Sensitive}
		if s.Pattern != "" {
			ms.re = compileJavaPattern(s.Pattern)
		}
		shapes[name] = ms
	}
	get := func(name string) (*mshape, error) {
		if name == "" {
			return nil, nil
		}
		s, ok := shapes[name]
		if !ok {
			return nil, fmt.Errorf("parse model: shape %q missing", name)
		}
		return s, nil
	}
	for name, s := range f.Shapes {
		ms := shapes[name]
		var err error
		if ms.member, err = get(s.Member); err != nil {
			return nil, err
		}
		if ms.key, err = get(s.Key); err != nil {
			return nil, err
		}
		if ms.value, err = get(s.Value); err != nil {
			return nil, err
		}
		required := map[string]bool{}
		for _, r := range s.Required {
			required[r] = true
		}
		for _, m := range s.Members {
			if len(m) != 2 {
				return nil, fmt.Errorf("parse model: shape %s: bad member %v", name, m)
			}
			sh, err := get(m[1])
			if err != nil {
				return nil, err
			}
			ms.members = append(ms.members, mmember{name: m[0], wire: lowerFirst(m[0]), shape: sh, required: required[m[0]]})
		}
	}
	m := &Model{Service: f.Service, APIVersion: f.APIVersion, inputs: map[string]*mshape{}}
	for op, in := range f.Operations {
		s, err := get(in)
		if err != nil {
			return nil, err
		}
		m.inputs[op] = s
	}
	return m, nil
}

// compileJavaPattern compiles an AWS (Java) pattern for whole-string matching, as AWS applies
// it. Patterns RE2 cannot express (look-ahead, surrogate ranges) yield nil and are not checked.
func compileJavaPattern(p string) *regexp.Regexp {
	p = javaUnicodeEscape.ReplaceAllString(p, `\x{$1}`)
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil
	}
	return re
}

var javaUnicodeEscape = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// Operations returns the operations the model knows, sorted.
func (m *Model) Operations() []string {
	ops := make([]string, 0, len(m.inputs))
	for op := range m.inputs {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// Validate checks in (a pointer to the operation's decoded input struct, whose json tags name
// the model's members) against the model's constraints for op, and returns a
// ValidationException worded as AWS words it ("1 validation error detected: Value 'x' at
// 'name' failed to satisfy constraint: …"), or nil. Members the Go struct lacks are not
// checked. A zero non-pointer field counts as absent when the member is optional, and as the
// zero value sent when it is required (the SDKs and the CLI never send a request that lacks a
// required member); use pointer fields for exact "Value null" answers. Violations come in the
// model's member order. Unknown operations have no constraints.
func (m *Model) Validate(op string, in any) error {
	s, ok := m.inputs[op]
	if !ok || in == nil {
		return nil
	}
	v := NewValidator()
	m.check(v, reflect.ValueOf(in), s, make(vpath, 0, 8), false)
	return v.Err()
}

// CheckInput reports json member names of the input type t (a struct or pointer to one) that
// the model's input shape for op does not have, recursively: a typo there means a member the
// SDKs send is never read.
func (m *Model) CheckInput(op string, t reflect.Type) error {
	s, ok := m.inputs[op]
	if !ok {
		return fmt.Errorf("%s has no operation %s", m.Service, op)
	}
	var errs []error
	m.checkType(t, s, op, map[reflect.Type]bool{}, &errs)
	return errors.Join(errs...)
}

func (m *Model) checkType(t reflect.Type, s *mshape, path string, seen map[reflect.Type]bool, errs *[]error) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		switch t.Kind() {
		case reflect.Slice:
			if s.typ != "list" || t.Elem().Kind() == reflect.Uint8 {
				return
			}
			s, t = s.member, t.Elem()
		case reflect.Map:
			if s.typ != "map" {
				return
			}
			s, t = s.value, t.Elem()
		default:
			t = t.Elem()
		}
	}
	if t.Kind() != reflect.Struct || s == nil || s.typ != "structure" || seen[t] {
		return
	}
	seen[t] = true
	fields := m.fields(t)
	members := map[string]*mshape{}
	for _, mem := range s.members {
		members[mem.name] = mem.shape
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ms, ok := members[n]
		if !ok {
			*errs = append(*errs, fmt.Errorf("%s: member %s is not in the model's %s", path, n, s.name))
			continue
		}
		m.checkType(t.FieldByIndex(fields[n]).Type, ms, path+"."+n, seen, errs)
	}
}

// fields maps the json member names of struct type t to field indexes.
func (m *Model) fields(t reflect.Type) map[string][]int {
	if f, ok := m.fieldCache.Load(t); ok {
		return f.(map[string][]int)
	}
	f := jsonFields(t)
	m.fieldCache.Store(t, f)
	return f
}

// present dereferences v and reports whether it holds a value (nil pointers, nil slices and
// maps and zero non-pointer scalars are absent). The dereferenced value is returned.
func present(v reflect.Value) (reflect.Value, bool) {
	deref := false
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return v, false
		}
		v, deref = v.Elem(), true
	}
	switch v.Kind() {
	case reflect.Invalid:
		return v, false
	case reflect.Slice, reflect.Map:
		return v, !v.IsNil()
	case reflect.Struct:
		return v, true
	}
	return v, deref || !v.IsZero()
}

// isScalar reports whether k is a kind whose zero value is a value (not nil).
func isScalar(k reflect.Kind) bool {
	switch k {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map, reflect.Struct, reflect.Invalid:
		return false
	}
	return true
}

// vpath is the path of a member being checked, as segments ("entries",
// "1", "member", "id"); it is joined into AWS's form ("entries.1.member.id")
// only for a violation, so that a valid request builds no string. Segments
// are appended in place as check descends: a path is read only while its
// member is checked.
type vpath []string

func (p vpath) String() string { return strings.Join(p, ".") }

func (m *Model) check(vr *Validator, v reflect.Value, s *mshape, path vpath, zeroPresent bool) {
	v, ok := present(v)
	if !ok && !(zeroPresent && v.IsValid() && isScalar(v.Kind())) {
		return
	}
	switch s.typ {
	case "structure":
		if v.Kind() != reflect.Struct {
			return
		}
		fields := m.fields(v.Type())
		for _, mem := range s.members {
			idx, ok := fields[mem.name]
			if !ok {
				continue
			}
			fv, err := v.FieldByIndexErr(idx)
			if err != nil {
				continue
			}
			p := append(path, mem.wire)
			if d, ok := present(fv); !ok {
				if mem.required && !isScalar(d.Kind()) {
					vr.Violation(p.String(), nil, "Member must not be null")
				} else if mem.required {
					m.check(vr, d, mem.shape, p, true)
				}
				continue
			}
			m.check(vr, fv, mem.shape, p, false)
		}
	case "string":
		if v.Kind() != reflect.String {
			return
		}
		str := v.String()
		n := Len(str)
		if s.min != nil && float64(n) < *s.min {
			m.violation(vr, path, v, s, "Member must have length greater than or equal to "+num(*s.min))
		}
		if s.max != nil && float64(n) > *s.max {
			m.violation(vr, path, v, s, "Member must have length less than or equal to "+num(*s.max))
		}
		if s.re != nil && !s.re.MatchString(str) {
			m.violation(vr, path, v, s, "Member must satisfy regular expression pattern: "+s.pattern)
		}
		if len(s.enum) > 0 {
			found := false
			for _, e := range s.enum {
				found = found || e == str
			}
			if !found {
				values := s.enum
				if o, ok := enumOrder[s.name]; ok {
					values = o
				}
				m.violation(vr, path, v, s, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
			}
		}
	case "integer", "long", "float", "double":
		var f float64
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f = float64(v.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f = float64(v.Uint())
		case reflect.Float32, reflect.Float64:
			f = v.Float()
		default:
			return
		}
		if s.min != nil && f < *s.min {
			m.violation(vr, path, v, s, "Member must have value greater than or equal to "+num(*s.min))
		}
		if s.max != nil && f > *s.max {
			m.violation(vr, path, v, s, "Member must have value less than or equal to "+num(*s.max))
		}
	case "list":
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
			return
		}
		n := v.Len()
		if s.min != nil && float64(n) < *s.min {
			m.violation(vr, path, v, s, "Member must have length greater than or equal to "+num(*s.min))
		}
		if s.max != nil && float64(n) > *s.max {
			m.violation(vr, path, v, s, "Member must have length less than or equal to "+num(*s.max))
		}
		for i := range n {
			m.check(vr, v.Index(i), s.member, append(path, strconv.Itoa(i+1), "member"), true)
		}
	case "map":
		if v.Kind() != reflect.Map {
			return
		}
		n := v.Len()
		if s.min != nil && float64(n) < *s.min {
			m.violation(vr, path, v, s, "Member must have length greater than or equal to "+num(*s.min))
		}
		if s.max != nil && float64(n) > *s.max {
			m.violation(vr, path, v, s, "Member must have length less than or equal to "+num(*s.max))
		}
		m.checkMapEntries(vr, v, s, path)
	}
}

// checkMapEntries words key and value violations as AWS does for maps:
// "Map keys must satisfy constraint: [Member must have length less than or equal to 256]".
func (m *Model) checkMapEntries(vr *Validator, v reflect.Value, s *mshape, path vpath) {
	keys := v.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, part := range []struct {
		label string
		shape *mshape
		pick  func(k reflect.Value) reflect.Value
	}{
		{"Map keys", s.key, func(k reflect.Value) reflect.Value { return k }},
		{"Map value", s.value, func(k reflect.Value) reflect.Value { return v.MapIndex(k) }},
	} {
		if part.shape == nil {
			continue
		}
		var msgs []string
		for _, k := range keys {
			inner := NewValidator()
			m.check(inner, part.pick(k), part.shape, path, true)
			for _, msg := range inner.msgs {
				_, c, _ := strings.Cut(msg, "failed to satisfy constraint: ")
				if !containsString(msgs, c) {
					msgs = append(msgs, c)
				}
			}
		}
		if len(msgs) > 0 {
			m.violation(vr, path, v, s, part.label+" must satisfy constraint: ["+strings.Join(msgs, ", ")+"]")
		}
	}
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// violation records a failed constraint; sensitive members are reported without their value,
// as AWS does ("Value at 'x' failed to satisfy constraint: …").
func (m *Model) violation(vr *Validator, path vpath, v reflect.Value, s *mshape, constraint string) {
	if s.sensitive || m.hasSensitive(s) {
		vr.msgs = append(vr.msgs, "Value at '"+path.String()+"' failed to satisfy constraint: "+constraint)
		return
	}
	r := m.render(v, s, 0)
	vr.Violation(path.String(), &r, constraint)
}

// hasSensitive reports whether a list or map shape holds sensitive values directly (a
// structure's sensitive members are redacted when it is rendered).
func (m *Model) hasSensitive(s *mshape) bool {
	switch {
	case s == nil:
		return false
	case s.typ == "list":
		return s.member != nil && s.member.sensitive
	case s.typ == "map":
		return (s.key != nil && s.key.sensitive) || (s.value != nil && s.value.sensitive)
	}
	return s.sensitive
}

// render prints a value the way AWS's Java model objects print in validation messages:
// strings bare, lists "[a, b]", maps "{k=v}", structures "Shape(Member=value, …)".
func (m *Model) render(v reflect.Value, s *mshape, depth int) string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "null"
		}
		v = v.Elem()
	}
	if !v.IsValid() || depth > 16 || ((v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.IsNil()) {
		return "null"
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return num(v.Float())
	case reflect.Slice, reflect.Array:
		var elem *mshape
		if s != nil {
			elem = s.member
		}
		items := make([]string, v.Len())
		for i := range items {
			items[i] = m.render(v.Index(i), elem, depth+1)
		}
		return RenderList(items)
	case reflect.Map:
		var val *mshape
		if s != nil {
			val = s.value
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = fmt.Sprint(k) + "=" + m.render(v.MapIndex(k), val, depth+1)
		}
		return "{" + strings.Join(items, ", ") + "}"
	case reflect.Struct:
		if ts, ok := v.Interface().(Timestamp); ok {
			return ts.UTC().Format("Mon Jan 02 15:04:05 UTC 2006")
		}
		if s == nil || s.typ != "structure" {
			return fmt.Sprint(v.Interface())
		}
		fields := m.fields(v.Type())
		parts := make([]string, 0, len(s.members))
		style, styled := internalShapes[s.name]
		for _, mem := range s.members {
			name := mem.name
			if styled {
				if !slices.Contains(style.members, name) {
					continue
				}
				name = strings.ToLower(name[:1]) + name[1:]
			}
			val := "null"
			if idx, ok := fields[mem.name]; ok {
				if fv, err := v.FieldByIndexErr(idx); err == nil {
					// A zero non-pointer field of an optional member is absent (see Validate).
					if d, ok := present(fv); ok || (mem.required && isScalar(d.Kind())) {
						val = m.render(fv, mem.shape, depth+1)
					}
				}
			}
			if mem.shape.sensitive && val != "null" {
				val = "*** Sensitive Data Redacted ***"
			}
			parts = append(parts, name+"="+val)
		}
		parts = append(parts, style.extra...)
		return s.name + "(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprint(v.Interface())
}

// enumOrder is the order AWS lists an enum's values in its validation messages where it is
// not the model's (the service's own enum set prints them in its order).
var enumOrder = map[string][]string{
	"ApiDestinationHttpMethod": {"HEAD", "POST", "PATCH", "DELETE", "PUT", "GET", "OPTIONS"},
}

// internalShape is how AWS prints a structure whose validation messages show its service's
// internal model rather than the API's: some members, named in lower camel case, then fields
// no caller sets.
type internalShape struct {
	members []string
	extra   []string
}

// internalShapes are the structures AWS prints so (PutEvents' "more than 10 entries" lists
// each entry this way).
var internalShapes = map[string]internalShape{
	"PutEventsRequestEntry": {
		members: []string{"Time", "Source", "DetailType", "EventBusName", "TraceHeader"},
		extra:   []string{"kmsKeyIdentifier=null", "internalMetadata=null"},
	},
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Redact returns the JSON request body of op with the values of the model's sensitive members
// (connection secrets, OAuth client secrets, …) replaced by replacement, for records such as
// CloudTrail's requestParameters. Members are re-encoded in sorted order. A body that is not a
// JSON object is returned unchanged with an error.
func (m *Model) Redact(op string, body []byte, replacement string) ([]byte, error) {
	s, ok := m.inputs[op]
	if !ok || !m.hasSensitiveDeep(s, map[*mshape]bool{}) {
		return body, nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return body, fmt.Errorf("redact %s request: %w", op, err)
	}
	v = redact(v, s, replacement, 0)
	out, err := json.Marshal(v)
	if err != nil {
		return body, fmt.Errorf("redact %s request: %w", op, err)
	}
	return out, nil
}

func redact(v any, s *mshape, replacement string, depth int) any {
	if s == nil || v == nil || depth > 64 {
		return v
	}
	if s.sensitive {
		return replacement
	}
	switch s.typ {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		for _, mem := range s.members {
			if x, ok := obj[mem.name]; ok {
				obj[mem.name] = redact(x, mem.shape, replacement, depth+1)
			}
		}
	case "list":
		if l, ok := v.([]any); ok {
			for i := range l {
				l[i] = redact(l[i], s.member, replacement, depth+1)
			}
		}
	case "map":
		if obj, ok := v.(map[string]any); ok {
			for k, x := range obj {
				obj[k] = redact(x, s.value, replacement, depth+1)
			}
		}
	}
	return v
}

// hasSensitiveDeep reports whether any shape reachable from s is sensitive.
func (m *Model) hasSensitiveDeep(s *mshape, seen map[*mshape]bool) bool {
	if s == nil || seen[s] {
		return false
	}
	seen[s] = true
	if s.sensitive {
		return true
	}
	for _, mem := range s.members {
		if m.hasSensitiveDeep(mem.shape, seen) {
			return true
		}
	}
	return m.hasSensitiveDeep(s.member, seen) || m.hasSensitiveDeep(s.key, seen) || m.hasSensitiveDeep(s.value, seen)
}
