package awsapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Unmarshal decodes JSON into v (a pointer) as AWS's JSON protocol reads a request: an object
// member fills a struct field only when its name is exactly the field's name. Go's
// encoding/json also accepts any spelling that folds onto the name ("PASSWORD", or
// "Paſsword" with U+017F), and the last of several such spellings wins; AWS treats those as
// unknown members and ignores them, and so does Unmarshal: it drops them before decoding.
// Keys of maps (user-named) are not struct members and are kept as they are. Errors are
// encoding/json's.
func Unmarshal(data []byte, v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		sc := memberScanner{data: data}
		// Cutting members out of malformed JSON could make it well formed: a text that is
		// not JSON is decoded as it is, and refused.
		if _, ok := sc.value(0, shapeOf(rv.Type().Elem()), 0); ok && len(sc.drops) > 0 && json.Valid(data) {
			data = sc.without()
		}
	}
	return json.Unmarshal(data, v)
}

// A jsonShape is what the decoder does with the JSON value bound for a Go type, as far as
// member names matter: the members of a struct, the elements of a list, the values of a map;
// nil for everything else (scalars, and types that decode themselves).
type jsonShape struct {
	fields map[string]*jsonShape // a struct's members by exact name; nil for lists and maps
	folded map[string]bool       // foldName of every member name
	elem   *jsonShape            // a list's element or a map's value
	list   bool
}

var shapeCache sync.Map // reflect.Type → *jsonShape (nil for types without members)

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shapeOf returns the shape of t (nil when no struct member is decoded anywhere in it).
func shapeOf(t reflect.Type) *jsonShape {
	if s, ok := shapeCache.Load(t); ok {
		return s.(*jsonShape)
	}
	s := buildShape(t, map[reflect.Type]*jsonShape{})
	shapeCache.Store(t, s)
	return s
}

func buildShape(t reflect.Type, building map[reflect.Type]*jsonShape) *jsonShape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := building[t]; ok {
		return s
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &jsonShape{fields: map[string]*jsonShape{}, folded: map[string]bool{}}
		building[t] = s
		for name, idx := range jsonFields(t) {
			s.fields[name] = buildShape(t.FieldByIndex(idx).Type, building)
			s.folded[foldName(name)] = true
		}
		return s
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return nil // base64
		}
		s := &jsonShape{list: true}
		building[t] = s
		s.elem = buildShape(t.Elem(), building)
		if s.elem == nil {
			delete(building, t)
			return nil
		}
		return s
	case reflect.Map:
		s := &jsonShape{}
		building[t] = s
		s.elem = buildShape(t.Elem(), building)
		if s.elem == nil {
			delete(building, t)
			return nil
		}
		return s
	}
	return nil
}

// jsonFields maps the JSON member names of struct type t to field indexes, as encoding/json
// names them: the json tag's name, else the field's; promoted fields of embedded structs
// included; "-" and unexported fields left out.
func jsonFields(t reflect.Type) map[string][]int {
	f := map[string][]int{}
	for _, sf := range reflect.VisibleFields(t) {
		if !sf.IsExported() || sf.Anonymous {
			continue
		}
		name := sf.Name
		if tag, ok := sf.Tag.Lookup("json"); ok {
			n, _, _ := strings.Cut(tag, ",")
			if n == "-" {
				continue
			}
			if n != "" {
				name = n
			}
		}
		f[name] = sf.Index
	}
	return f
}

// FoldName returns the form of name that every spelling encoding/json (and strings.EqualFold,
// Unicode simple folding) takes for the same name maps to: ASCII letters in upper case, every
// other rune the smallest of its fold orbit ("Paſsword" and "PASSWORD" give "PASSWORD").
func FoldName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= utf8.RuneSelf || 'a' <= c && c <= 'z' {
			return string(appendFolded(make([]byte, 0, len(name)+4), name))
		}
	}
	return name
}

func foldName(name string) string { return FoldName(name) }

func appendFolded(out []byte, in string) []byte {
	for _, r := range in {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			out = append(out, byte(r))
			continue
		}
		out = utf8.AppendRune(out, foldRune(r))
	}
	return out
}

// foldRune returns the smallest rune of r's simple fold orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// maxScanDepth matches encoding/json's nesting limit: deeper input is refused by the decoder
// anyway.
const maxScanDepth = 10000

// memberScanner walks a JSON text along a shape and collects the byte ranges of object
// members to drop: those whose name is not a member's but folds onto one. It never fails
// loudly: on malformed input it stops (ok false) and the decoder reports the error.
type memberScanner struct {
	data  []byte
	drops [][2]int // [start, end) ranges, increasing, not overlapping
}

func (s *memberScanner) ws(i int) int {
	for i < len(s.data) {
		switch s.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value scans the value at i (after white space) for shape sh, returning the index after it.
func (s *memberScanner) value(i int, sh *jsonShape, depth int) (int, bool) {
	i = s.ws(i)
	if i >= len(s.data) || depth > maxScanDepth {
		return i, false
	}
	switch {
	case sh == nil:
		return s.skip(i)
	case sh.list && s.data[i] == '[':
		return s.array(i, sh.elem, depth)
	case !sh.list && s.data[i] == '{':
		return s.object(i, sh, depth)
	}
	return s.skip(i) // a type mismatch: the decoder reports it
}

func (s *memberScanner) array(i int, elem *jsonShape, depth int) (int, bool) {
	i = s.ws(i + 1)
	if i < len(s.data) && s.data[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = s.value(i, elem, depth+1); !ok {
			return i, false
		}
		i = s.ws(i)
		if i >= len(s.data) {
			return i, false
		}
		switch s.data[i] {
		case ',':
			i++
		case ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// object scans an object: a struct's (sh.fields set) or a map's. A run of dropped members is
// removed from its first key to the next kept key; a run that ends the object from the end of
// the last kept value (taking the comma before the run), or whole when nothing is kept.
func (s *memberScanner) object(i int, sh *jsonShape, depth int) (int, bool) {
	i = s.ws(i + 1)
	if i < len(s.data) && s.data[i] == '}' {
		return i + 1, true
	}
	lastKeptEnd, runStart, lastEnd := -1, -1, -1
	for {
		if i >= len(s.data) || s.data[i] != '"' {
			return i, false
		}
		keyStart := i
		keyEnd, ok := s.skipString(i + 1)
		if !ok {
			return keyEnd, false
		}
		i = s.ws(keyEnd)
		if i >= len(s.data) || s.data[i] != ':' {
			return i, false
		}
		drop := false
		valShape := sh.elem
		if sh.fields != nil {
			f, exact := sh.fields[string(s.data[keyStart+1:keyEnd-1])] // no allocation
			if !exact {
				// Escaped, not ASCII, or not a member: as the decoder reads it.
				name, ok := s.key(keyStart, keyEnd)
				if !ok {
					return keyEnd, false
				}
				f, exact = sh.fields[name]
				drop = !exact && sh.folded[foldName(name)]
			}
			valShape = f
		}
		if runStart >= 0 && !drop {
			s.drops = append(s.drops, [2]int{runStart, keyStart})
			runStart = -1
		}
		if drop {
			if runStart < 0 {
				runStart = keyStart
			}
			i, ok = s.skip(s.ws(i + 1))
		} else {
			i, ok = s.value(i+1, valShape, depth+1)
		}
		if !ok {
			return i, false
		}
		lastEnd = i
		if !drop {
			lastKeptEnd = i
		}
		i = s.ws(i)
		if i >= len(s.data) {
			return i, false
		}
		switch s.data[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			if runStart >= 0 {
				if lastKeptEnd >= 0 {
					s.drops = append(s.drops, [2]int{lastKeptEnd, lastEnd})
				} else {
					s.drops = append(s.drops, [2]int{runStart, lastEnd})
				}
			}
			return i + 1, true
		default:
			return i, false
		}
	}
}

// key returns the name of the key quoted at data[start:end], unescaped as the decoder
// unescapes it.
func (s *memberScanner) key(start, end int) (string, bool) {
	raw := s.data[start+1 : end-1]
	plain := true
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf || c < ' ' {
			plain = false
			break
		}
	}
	if plain {
		return string(raw), true
	}
	var name string
	if err := json.Unmarshal(s.data[start:end], &name); err != nil {
		return "", false
	}
	return name, true
}

// skipString returns the index after the string whose contents start at i.
func (s *memberScanner) skipString(i int) (int, bool) {
	for {
		j := bytes.IndexByte(s.data[i:], '"')
		if j < 0 {
			return len(s.data), false
		}
		j += i
		k := j
		for k > i && s.data[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return j + 1, true
		}
		i = j + 1
	}
}

// skip returns the index after the value at i, whatever it holds.
func (s *memberScanner) skip(i int) (int, bool) {
	if i >= len(s.data) {
		return i, false
	}
	switch c := s.data[i]; c {
	case '"':
		return s.skipString(i + 1)
	case '{', '[':
		depth := 0
		for i < len(s.data) {
			switch s.data[i] {
			case '"':
				var ok bool
				if i, ok = s.skipString(i + 1); !ok {
					return i, false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return i, false
	default:
		start := i
		for i < len(s.data) {
			switch s.data[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i, i > start
			}
			i++
		}
		return i, i > start
	}
}

// without returns the data with the dropped ranges cut out.
func (s *memberScanner) without() []byte {
	out := make([]byte, 0, len(s.data))
	prev := 0
	for _, d := range s.drops {
		out = append(out, s.data[prev:d[0]]...)
		prev = d[1]
	}
	return append(out, s.data[prev:]...)
}
