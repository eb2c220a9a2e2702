package awsapi

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// The helpers of the JSONDecoders: they read the usual shape of a request
// (members of the expected names and types, once each) and report false at
// anything else, which the reflective decoder then reads.

// ParseUsual parses a request body: false when it is not valid JSON, or has
// \u escapes (the reflective decoder reads those, lone surrogates and all)
// or control characters, even as white space (the SDKs send compact JSON).
func ParseUsual(p *fastjson.Parser, body []byte) (*fastjson.Value, bool) {
	// The parser takes what JSON does not (control characters in strings,
	// unknown escapes), and the validator misses control characters in a
	// string with an escape: the body is checked first.
	for _, c := range body {
		if c < 0x20 {
			return nil, false
		}
	}
	if bytes.Contains(body, []byte(`\u`)) || fastjson.ValidateBytes(body) != nil {
		return nil, false
	}
	v, err := p.ParseBytes(body)
	return v, err == nil
}

// Members visits the members of object v. f returns the member's bit (a
// distinct power of two for each name it takes) and whether it read the
// value; Members reports false when f did not, or does not know the name
// (bit 0), or a name comes twice, or v is not an object.
func Members(v *fastjson.Value, f func(name []byte, v *fastjson.Value) (bit uint64, ok bool)) bool {
	o, err := v.Object()
	if err != nil {
		return false
	}
	ok, seen := true, uint64(0)
	o.Visit(func(k []byte, v *fastjson.Value) {
		if !ok {
			return
		}
		bit, read := f(k, v)
		if !read || bit == 0 || seen&bit != 0 {
			ok = false
			return
		}
		seen |= bit
	})
	return ok
}

// UsualString is v's string, when it is one of valid UTF-8.
func UsualString(v *fastjson.Value) (string, bool) {
	b, err := v.StringBytes()
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// UsualStrings is v's list of strings.
func UsualStrings(v *fastjson.Value) ([]string, bool) {
	a, err := v.Array()
	if err != nil {
		return nil, false
	}
	out := make([]string, len(a))
	for i, e := range a {
		var ok bool
		if out[i], ok = UsualString(e); !ok {
			return nil, false
		}
	}
	return out, true
}

// UsualObjects is v's list of objects, each element's members read by
// member (as Members reads them).
func UsualObjects[T any](v *fastjson.Value, member func(e *T, name []byte, v *fastjson.Value) (bit uint64, ok bool)) ([]T, bool) {
	a, err := v.Array()
	if err != nil {
		return nil, false
	}
	out := make([]T, len(a))
	for i, ev := range a {
		e := &out[i]
		if !Members(ev, func(k []byte, v *fastjson.Value) (uint64, bool) { return member(e, k, v) }) {
			return nil, false
		}
	}
	return out, true
}

// UsualInt is v's number when it is an integer written plainly (digits,
// perhaps a minus) that an int holds.
func UsualInt(v *fastjson.Value) (int, bool) {
	if v.Type() != fastjson.TypeNumber {
		return 0, false
	}
	raw := v.String() // the number as written
	for i := range len(raw) {
		if c := raw[i]; (c < '0' || c > '9') && (c != '-' || i > 0) {
			return 0, false
		}
	}
	n, err := strconv.Atoi(raw)
	return n, err == nil
}
