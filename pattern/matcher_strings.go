package pattern

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Case-insensitive operators compare case-folded text: every rune is replaced
// by the smallest rune of its simple case-folding orbit (the orbits
// strings.EqualFold uses), so two strings are equal ignoring case exactly when
// their folded forms are equal byte for byte, and folded prefixes and suffixes
// can live in ordinary byte tries.

// asciiFold maps ASCII bytes to their folded form (upper case: 'A' < 'a').
var asciiFold = func() (t [128]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'a' && i <= 'z' {
			t[i] = byte(i) - 'a' + 'A'
		}
	}
	return t
}()

// foldRune returns the smallest rune of r's simple folding orbit.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(asciiFold[r])
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}

// appendFold appends the folded form of s to dst.
func appendFold(dst []byte, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, asciiFold[c])
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		i += size
		dst = utf8.AppendRune(dst, foldRune(r))
	}
	return dst
}

// foldString is appendFold for strings.
func foldString(s string) string {
	return string(appendFold(nil, []byte(s)))
}

// reverseString returns s with its bytes in reverse order.
func reverseString(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// removeRef removes one ref of field r.f from *refs.
func removeRef(refs *[]ref, r ref) bool {
	s := *refs
	for i, x := range s {
		if x.f == r.f {
			s[i] = s[len(s)-1]
			*refs = s[:len(s)-1]
			if len(*refs) == 0 {
				*refs = nil
			}
			return true
		}
	}
	return false
}

// A wildcard is a compiled wildcard pattern: the literal pieces between
// unescaped '*'s. A text matches when it starts with the first piece, ends
// with the last, and holds the middle ones in order between them.
type wildcard struct {
	pieces []string
	middle [][]byte // pieces[1:len-1] as bytes, for bytes.Index
	star   bool     // at least one '*': otherwise pieces[0] must equal the text
}

func compileWildcard(pat string) wildcard {
	var w wildcard
	var cur strings.Builder
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		if c == '\\' && i+1 < len(pat) {
			i++
			cur.WriteByte(pat[i])
			continue
		}
		if c == '*' {
			w.star = true
			w.pieces = append(w.pieces, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	w.pieces = append(w.pieces, cur.String())
	if len(w.pieces) > 2 {
		for _, p := range w.pieces[1 : len(w.pieces)-1] {
			w.middle = append(w.middle, []byte(p))
		}
	}
	return w
}

func (w *wildcard) match(s []byte) bool {
	if !w.star {
		return string(s) == w.pieces[0]
	}
	first, last := w.pieces[0], w.pieces[len(w.pieces)-1]
	if len(s) < len(first)+len(last) || string(s[:len(first)]) != first || string(s[len(s)-len(last):]) != last {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range w.middle {
		k := bytes.Index(s, p)
		if k < 0 {
			return false
		}
		s = s[k+len(p):]
	}
	return true
}

// removeField removes field f from *fs.
func removeField(fs *[]int32, f int32) {
	s := *fs
	for i, x := range s {
		if x == f {
			s[i] = s[len(s)-1]
			*fs = s[:len(s)-1]
			return
		}
	}
}
