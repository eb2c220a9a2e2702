package audit

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/jsonscan"
)

// paramWriter converts a request or response body into CloudTrail's form
// (see recordJSON) in one pass over its bytes, without decoding it into Go
// values: a management call's path converts its request twice (its intent,
// its record), and encoding/json's reflection cost more than the rest of
// the record together. It reads strict JSON and gives up (ok false) on
// anything else, and on the shapes it leaves to the reflective converter
// (a top-level scalar); recordJSON then uses that one, whose errors are
// encoding/json's. Its output is the reflective converter's, byte for byte
// (FuzzParamWriter checks it): members sorted by name, as encoding/json
// writes a map.
type paramWriter struct {
	in   []byte
	i    int
	out  []byte
	data bool
	// depth is the nesting of the value being converted.
	depth int
	// members is a stack of the members of the objects being converted;
	// names holds their names.
	members []paramMember
	names   []byte
	// scratch holds an object being written, text a string being decoded.
	scratch, text []byte
	// When capturing, fields is filled with the top-level members that
	// name resources as they are read (see memberCapture): names matched
	// exactly if exact; entries says a request's Entries was met.
	capturing, exact, entries bool
	fields                    members
}

// memberCapture asks a conversion for the members of the body that name
// resources (see members), read as members.scan reads them (exact: names
// matched exactly) in the conversion's own pass. entries says it met a
// request's Entries, which scan leaves to encoding/json. What it filled
// holds only if the body is JSON.
type memberCapture struct {
	m       *members
	exact   bool
	entries bool
}

// paramMember is a converted member: its name, names[nameStart:nameEnd],
// and its value, out[start:end].
type paramMember struct {
	nameStart, nameEnd, start, end int
}

// convertParams is recordJSON's fast path. whole says the body is that one
// value and whitespace: it is JSON.
// capture, if not nil, is filled as it reads (see memberCapture).
func (p *paramWriters) convertParams(body []byte, data bool, capture *memberCapture) (out json.RawMessage, ok, whole bool) {
	// The writer's working space is reused; out is the result, sized for
	// a body converted as it is (member names lose nothing but a capital).
	w := p.get()
	defer p.put(w)
	w.in, w.data, w.out = body, data, make([]byte, 0, len(body)+len(body)/8+16)
	if capture != nil {
		// Into the writer's own members, copied out at the end: the
		// caller's stay on its stack.
		w.capturing, w.exact = true, capture.exact
		defer func() { *capture.m, capture.entries = w.fields, w.entries }()
	}
	w.ws()
	if w.i >= len(w.in) || w.in[w.i] != '{' && w.in[w.i] != '[' {
		return nil, false, false
	}
	if !w.value(false, false) {
		return nil, false, false
	}
	w.ws()
	whole = w.i == len(w.in)
	if bytes.Equal(w.out, []byte("{}")) {
		return nil, true, whole
	}
	return w.out, true, whole
}

// paramWriters holds writers whose working space (members, names,
// scratch, text) is kept for the next conversion. The zero value is ready.
type paramWriters struct{ pool sync.Pool }

// maxKeptSpace bounds the working space a writer keeps in the pool: an
// odd request's large buffers are left to the collector.
const maxKeptSpace = 64 << 10

func (p *paramWriters) get() *paramWriter {
	if w, ok := p.pool.Get().(*paramWriter); ok {
		return w
	}
	return new(paramWriter)
}

// put empties w and keeps it for the next conversion.
func (p *paramWriters) put(w *paramWriter) {
	if cap(w.names)+cap(w.scratch)+cap(w.text) > maxKeptSpace || cap(w.members) > maxKeptSpace/32 {
		return
	}
	*w = paramWriter{members: w.members[:0], names: w.names[:0], scratch: w.scratch[:0], text: w.text[:0]}
	p.pool.Put(w)
}

func (w *paramWriter) ws() {
	for w.i < len(w.in) {
		switch w.in[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// value converts one value. keepKeys is set for the value of a user-keyed
// map (its member names stay as they are, and are not secrets); hideValue
// for an element of a list whose "value" members are secrets.
func (w *paramWriter) value(keepKeys, hideValue bool) bool {
	w.ws()
	if w.i >= len(w.in) || w.depth >= maxParamDepth {
		return false
	}
	switch c := w.in[w.i]; {
	case c == '{':
		w.depth++
		ok := w.object(keepKeys, hideValue)
		w.depth--
		return ok
	case c == '[':
		w.depth++
		ok := w.array()
		w.depth--
		return ok
	case c == '"':
		start, end, value, raw, ok := w.str()
		switch {
		case !ok:
			return false
		case raw:
			w.out = append(w.out, w.in[start-1:end+1]...)
		default:
			w.out = appendString(w.out, value)
		}
		return true
	case c == 't':
		return w.literal("true")
	case c == 'f':
		return w.literal("false")
	case c == 'n':
		return w.literal("null")
	default:
		return w.number()
	}
}

func (w *paramWriter) literal(lit string) bool {
	if !bytes.HasPrefix(w.in[w.i:], []byte(lit)) {
		return false
	}
	w.out = append(w.out, lit...)
	w.i += len(lit)
	return true
}

// number copies a number, as JSON's grammar has it.
func (w *paramWriter) number() bool {
	start, b := w.i, w.in
	i := w.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() bool {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > s
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	w.out = append(w.out, b[start:i]...)
	w.i = i
	return true
}

// str reads a string and returns its text between the quotes in the
// input, in[start:end]. raw says the text is written back as it is: no
// control characters, valid UTF-8 without U+2028 or U+2029, and no escapes
// but those encoding/json writes (\", \\, \b, \f, \n, \r, \t); value is
// then the text when it has no escapes at all (a name), else nil. Otherwise
// value is the string's value (in w.text, valid until the next call).
func (w *paramWriter) str() (start, end int, value []byte, raw, ok bool) {
	b := w.in
	start = w.i + 1
	end, fl := jsonscan.String(b, start)
	switch {
	case end < 0 || fl&jsonscan.Control != 0:
		return 0, 0, nil, false, false
	case fl == 0:
		w.i = end + 1
		return start, end, b[start:end], true, true
	}
	w.i = end + 1
	raw = true
	for j := start; j < end; j++ {
		switch c := b[j]; {
		case c == '\\':
			if strings.IndexByte(`"\\bfnrt`, b[j+1]) < 0 {
				raw = false
			}
			j++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[j:end])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				raw = false
			}
			j += size - 1
		}
	}
	switch {
	case raw && fl&jsonscan.Escape == 0:
		return start, end, b[start:end], true, true
	case raw:
		return start, end, nil, true, true
	}
	w.text, ok = unquote(w.text[:0], b[start:end])
	return start, end, w.text, false, ok
}

// unquote appends the value of a JSON string's text s (between its quotes)
// as encoding/json decodes it: invalid UTF-8 and unpaired surrogates become
// U+FFFD. ok is false when s is not a JSON string's text.
func unquote(dst, s []byte) ([]byte, bool) {
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			r++
			if r >= len(s) {
				return dst, false
			}
			switch s[r] {
			case '"', '\\', '/':
				dst = append(dst, s[r])
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hex4(s[r+1:])
				if rr < 0 {
					return dst, false
				}
				r += 4
				if utf16.IsSurrogate(rr) {
					if len(s) >= r+7 && s[r+1] == '\\' && s[r+2] == 'u' {
						rr1 := hex4(s[r+3:])
						if dec := utf16.DecodeRune(rr, rr1); dec != utf8.RuneError {
							r += 6
							dst = utf8.AppendRune(dst, dec)
							break
						}
					}
					rr = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, rr)
			default:
				return dst, false
			}
			r++
		case c == '"' || c < ' ':
			return dst, false
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			dst = utf8.AppendRune(dst, rr)
		}
	}
	return dst, true
}

// hex4 reads the four hex digits of a \u escape; -1 if they are not.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

func (w *paramWriter) array() bool {
	w.out = append(w.out, '[')
	w.i++
	w.ws()
	if w.i < len(w.in) && w.in[w.i] == ']' {
		w.i++
		w.out = append(w.out, ']')
		return true
	}
	for {
		if !w.value(false, false) {
			return false
		}
		w.ws()
		if w.i >= len(w.in) {
			return false
		}
		switch w.in[w.i] {
		case ',':
			w.out = append(w.out, ',')
			w.i++
		case ']':
			w.out = append(w.out, ']')
			w.i++
			return true
		default:
			return false
		}
	}
}

// objectList says whether the value at the reader is a non-empty list of
// objects, without moving.
func (w *paramWriter) objectList() bool {
	s := &fieldScanner{b: w.in, i: w.i}
	if s.peek() != '[' {
		return false
	}
	s.i++
	if s.peek() == ']' {
		return false
	}
	for {
		if s.peek() != '{' || s.skip() != nil {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			return true
		default:
			return false
		}
	}
}

// hiddenList converts a list of objects whose "value" members are hidden.
func (w *paramWriter) hiddenList() bool {
	w.out = append(w.out, '[')
	w.i++
	for {
		w.ws()
		if !w.object(false, true) {
			return false
		}
		w.ws()
		if w.i >= len(w.in) {
			return false
		}
		switch w.in[w.i] {
		case ',':
			w.out = append(w.out, ',')
			w.i++
		case ']':
			w.out = append(w.out, ']')
			w.i++
			return true
		default:
			return false
		}
	}
}

// maxParamDepth bounds the nesting paramWriter follows (encoding/json's
// decoder refuses deeper values too).
const maxParamDepth = 10000

var hiddenJSON = []byte(`"` + Hidden + `"`)

// object converts an object: its members' values are converted into out
// as they come, then written again in name order.
func (w *paramWriter) object(keepKeys, hideValue bool) bool {
	w.i++
	base, namesBase := len(w.members), len(w.names)
	defer func() { w.members, w.names = w.members[:base], w.names[:namesBase] }()
	start := len(w.out)
	w.ws()
	if w.i < len(w.in) && w.in[w.i] == '}' {
		w.i++
		w.out = append(w.out, "{}"...)
		return true
	}
	for {
		w.ws()
		if w.i >= len(w.in) || w.in[w.i] != '"' {
			return false
		}
		kstart, kend, k, _, ok := w.str()
		if ok && k == nil {
			w.text, ok = unquote(w.text[:0], w.in[kstart:kend])
			k = w.text
		}
		if !ok {
			return false
		}
		w.ws()
		if w.i >= len(w.in) || w.in[w.i] != ':' {
			return false
		}
		w.i++
		w.ws()
		nameStart, vstart := len(w.names), len(w.out)
		if keepKeys {
			w.names = append(w.names, k...)
		} else {
			w.names = appendCamel(w.names, k)
		}
		nameEnd := len(w.names)
		switch {
		case keepKeys:
			if !w.value(false, false) {
				return false
			}
		default:
			var field *string // a member resources are named from, at the top
			if w.capturing && w.depth == 1 {
				if w.exact && string(k) == "Entries" {
					w.entries = true
				} else if w.i < len(w.in) && w.in[w.i] == '"' {
					// Not a string: json.Unmarshal leaves the field.
					field = w.fields.field(k, w.exact)
				}
			}
			vin := w.i
			secret, payload, valueList, userKeyed := memberKind(k)
			switch {
			case secret || w.data && payload:
				if !w.value(false, false) {
					return false
				}
				w.out = append(w.out[:vstart], hiddenJSON...)
			case valueList && w.objectList():
				if !w.hiddenList() {
					return false
				}
			default:
				w.ws()
				userKeys := userKeyed && w.i < len(w.in) && w.in[w.i] == '{'
				if !w.value(userKeys, false) {
					return false
				}
			}
			if hideValue && bytes.EqualFold(w.names[nameStart:nameEnd], []byte("value")) {
				w.out = append(w.out[:vstart], hiddenJSON...)
			}
			if field != nil {
				// The string just read, decoded as members.scan decodes it.
				s := fieldScanner{b: w.in, i: vin}
				_ = s.str(field)
			}
		}
		w.members = append(w.members, paramMember{nameStart: nameStart, nameEnd: nameEnd, start: vstart, end: len(w.out)})
		w.ws()
		if w.i >= len(w.in) {
			return false
		}
		if w.in[w.i] == ',' {
			w.i++
			continue
		}
		if w.in[w.i] != '}' {
			return false
		}
		w.i++
		break
	}
	ms := w.members[base:]
	name := func(m paramMember) []byte { return w.names[m.nameStart:m.nameEnd] }
	// The last of members of one name wins, as in a decoded map.
	slices.SortStableFunc(ms, func(a, b paramMember) int { return bytes.Compare(name(a), name(b)) })
	obj := append(w.scratch[:0], '{')
	n := 0
	for i, m := range ms {
		if i+1 < len(ms) && bytes.Equal(name(ms[i+1]), name(m)) {
			continue
		}
		if n > 0 {
			obj = append(obj, ',')
		}
		n++
		obj = appendString(obj, name(m))
		obj = append(obj, ':')
		obj = append(obj, w.out[m.start:m.end]...)
	}
	obj = append(obj, '}')
	w.out = append(w.out[:start], obj...)
	w.scratch = obj
	return true
}

// appendCamel appends name with its first letter lowered (see camel).
func appendCamel(dst, name []byte) []byte {
	r, n := utf8.DecodeRune(name)
	if r == utf8.RuneError || !unicode.IsUpper(r) {
		return append(dst, name...)
	}
	return append(utf8.AppendRune(dst, unicode.ToLower(r)), name[n:]...)
}

// memberKind says what a member name is, as its fold matches the sets of
// names in params.go.
func memberKind(name []byte) (secret, payload, valueList, userKeyed bool) {
	var buf [48]byte
	folded := buf[:0]
	for _, c := range name {
		if c >= utf8.RuneSelf || len(folded) == len(buf) {
			// Not ASCII (Unicode folds), or long: awsapi folds it.
			return memberKinds[awsapi.FoldName(string(name))].of()
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		folded = append(folded, c)
	}
	if len(folded) == 0 || kindLengths[folded[0]]&(1<<len(folded)) == 0 {
		return false, false, false, false // no name of a set starts so and is so long
	}
	return memberKinds[string(folded)].of()
}

// kinds says which of the sets of names in params.go a name is in.
type kinds uint8

const (
	kindSecret kinds = 1 << iota
	kindPayload
	kindValueList
	kindUserKeyed
)

func (k kinds) of() (secret, payload, valueList, userKeyed bool) {
	return k&kindSecret != 0, k&kindPayload != 0, k&kindValueList != 0, k&kindUserKeyed != 0
}

// kindLengths has, for the first byte of each name in memberKinds, a bit
// for each of their lengths (all under 48, memberKind's fast path): most
// members are none of them, and are found so without a lookup.
var kindLengths = func() (l [256]uint64) {
	for n := range memberKinds {
		l[n[0]] |= 1 << len(n)
	}
	return l
}()

// memberKinds is the sets of names in params.go in one map (one lookup a
// member on the call's path).
var memberKinds = func() map[string]kinds {
	m := map[string]kinds{}
	for _, set := range []struct {
		names map[string]bool
		kind  kinds
	}{{secretMembers, kindSecret}, {dataPayloads, kindPayload}, {secretValueLists, kindValueList}, {userKeyedMaps, kindUserKeyed}} {
		for n := range set.names {
			m[n] |= set.kind
		}
	}
	return m
}()
