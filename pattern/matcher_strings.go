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

// A trie is a byte trie whose nodes carry the field ids of the prefixes that
// end there. Node 0 is the root (the empty prefix).
type trie struct {
	nodes []trieNode
	size  int // number of refs in the trie
}

type trieNode struct {
	// edges are kept in insertion order and searched linearly while few;
	// dense replaces them when a node grows many children.
	keys  []byte
	next  []int32
	dense *[256]int32
	refs  []int32
}

const trieDense = 12

func (t *trie) child(n int32, c byte) int32 {
	nd := &t.nodes[n]
	if nd.dense != nil {
		return nd.dense[c] - 1
	}
	for k, kc := range nd.keys {
		if kc == c {
			return nd.next[k]
		}
	}
	return -1
}

func (t *trie) add(s string, ref int32) {
	if len(t.nodes) == 0 {
		t.nodes = append(t.nodes, trieNode{})
	}
	n := int32(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		nx := t.child(n, c)
		if nx < 0 {
			nx = int32(len(t.nodes))
			t.nodes = append(t.nodes, trieNode{})
			nd := &t.nodes[n]
			if nd.dense != nil {
				nd.dense[c] = nx + 1
			} else {
				nd.keys = append(nd.keys, c)
				nd.next = append(nd.next, nx)
				if len(nd.keys) > trieDense {
					nd.dense = new([256]int32)
					for k, kc := range nd.keys {
						nd.dense[kc] = nd.next[k] + 1
					}
					nd.keys, nd.next = nil, nil
				}
			}
		}
		n = nx
	}
	t.nodes[n].refs = append(t.nodes[n].refs, ref)
	t.size++
}

// remove drops one occurrence of ref at s. Nodes stay (they are reused when
// the same text comes back); refs go.
func (t *trie) remove(s string, ref int32) {
	if len(t.nodes) == 0 {
		return
	}
	n := int32(0)
	for i := 0; i < len(s) && n >= 0; i++ {
		n = t.child(n, s[i])
	}
	if n < 0 {
		return
	}
	if removeRef(&t.nodes[n].refs, ref) {
		t.size--
	}
}

// removeRef removes one occurrence of ref from *refs.
func removeRef(refs *[]int32, ref int32) bool {
	s := *refs
	for i, r := range s {
		if r == ref {
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
