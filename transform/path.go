package transform

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A path is a compiled JSON path in the form EventBridge accepts for InputPath
// and InputPathsMap values: "$" followed by any number of ".name" steps (JSON
// dot notation) and "[n]" array indexes, as in $.detail.state or
// $.resources[0]. Bracketed names, wildcards, deep scans, filters, slices and
// negative indexes are refused.
type path struct {
	text  string
	steps []step
}

// A step goes into the member name of an object, or, when index >= 0, into
// element index of an array.
type step struct {
	name  string
	index int
}

// maxIndex bounds array indexes so that arithmetic on them cannot overflow.
const maxIndex = 1 << 30

func parsePath(s string) (path, error) {
	p := path{text: s}
	if s == "" {
		return p, errors.New("the JSON path is empty")
	}
	if s[0] != '$' {
		return p, fmt.Errorf("JSON path %q must start with $", s)
	}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			start := i
			for i < len(s) && isNameByte(s[i]) {
				i++
			}
			if i == start {
				if i < len(s) && s[i] == '.' {
					return p, fmt.Errorf("JSON path %q: deep scan (..) is not supported", s)
				}
				if i < len(s) && s[i] == '*' {
					return p, fmt.Errorf("JSON path %q: wildcards are not supported", s)
				}
				return p, fmt.Errorf("JSON path %q: expected a member name at position %d", s, start+1)
			}
			p.steps = append(p.steps, step{name: s[start:i], index: -1})
		case '[':
			i++
			start := i
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			if i == start || i >= len(s) || s[i] != ']' {
				return p, fmt.Errorf("JSON path %q: only array indexes like [0] may be in brackets; use dot notation for names", s)
			}
			n, err := strconv.Atoi(s[start:i])
			if err != nil || n > maxIndex {
				return p, fmt.Errorf("JSON path %q: array index %s is too large", s, s[start:i])
			}
			p.steps = append(p.steps, step{index: n})
			i++
		default:
			return p, fmt.Errorf("JSON path %q: unexpected %q at position %d", s, s[i], i+1)
		}
	}
	return p, nil
}

// isNameByte reports whether c may be part of a member name in dot notation.
// Names of events hold letters, digits, '-', '_', ':', '@' and the like;
// what JSONPath gives a meaning to is refused.
func isNameByte(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	return !strings.ContainsRune(".[]*()'\"?$,\\", rune(c))
}

// ErrMalformedEvent is the error (wrapped) of an Apply whose event is not
// JSON where the transform had to read it. Retrying cannot help.
var ErrMalformedEvent = errors.New("event is not valid JSON")

// A finder finds the values of several paths in one pass over an event:
// the paths are merged into a tree of steps, the walk goes only into the
// members and elements some path names, and it stops as soon as every path
// has been resolved.
type finder struct {
	root  node
	paths int
}

// A node is the place in the event reached by some steps. out lists the
// paths that end here; the named and indexed children go one step further.
type node struct {
	out     []int
	below   int // paths ending under this node, not at it
	names   []string
	named   []*node
	indexes []int
	indexed []*node
}

// maxChildren bounds the children of a node (100 paths at most).
const maxChildren = 256

func newFinder(paths []path) *finder {
	f := &finder{paths: len(paths)}
	for i, p := range paths {
		n := &f.root
		for _, st := range p.steps {
			n = n.child(st)
		}
		n.out = append(n.out, i)
	}
	f.root.count()
	return f
}

// count sets below for n and its descendants and returns the paths ending at
// or under n.
func (n *node) count() int {
	n.below = 0
	for _, k := range n.named {
		n.below += k.count()
	}
	for _, k := range n.indexed {
		n.below += k.count()
	}
	return n.below + len(n.out)
}

func (n *node) child(st step) *node {
	if st.index < 0 {
		for i, name := range n.names {
			if name == st.name {
				return n.named[i]
			}
		}
		c := &node{}
		n.names = append(n.names, st.name)
		n.named = append(n.named, c)
		return c
	}
	for i, x := range n.indexes {
		if x == st.index {
			return n.indexed[i]
		}
	}
	c := &node{}
	n.indexes = append(n.indexes, st.index)
	n.indexed = append(n.indexed, c)
	return c
}

// A span is where the value of one path lies in the event; ok is false when
// the path selects nothing.
type span struct {
	start, end int
	ok         bool
}

// errDone ends a walk early once every path is resolved.
var errDone = errors.New("done")

// find fills res (one span per path) from the JSON text b.
func (f *finder) find(b []byte, res []span) error {
	clear(res)
	w := walker{b: b, res: res, left: f.paths}
	i := skipWS(b, 0)
	if i >= len(b) {
		return ErrMalformedEvent
	}
	if _, err := w.walk(i, &f.root); err != nil && err != errDone {
		return err
	}
	return nil
}

type walker struct {
	b    []byte
	res  []span
	left int // paths not resolved yet
}

// walk goes through the value starting at b[i], which node n stands for,
// and returns the index after it.
func (w *walker) walk(i int, n *node) (int, error) {
	b := w.b
	end := -1
	if len(n.out) > 0 {
		var err error
		if end, err = skipValue(b, i); err != nil {
			return 0, err
		}
		for _, p := range n.out {
			w.res[p] = span{start: i, end: end, ok: true}
		}
		w.left -= len(n.out)
		if w.left == 0 {
			return 0, errDone
		}
	}
	switch {
	case len(n.names) > 0 && b[i] == '{':
		e, err := w.object(i, n)
		if err != nil || end >= 0 {
			return end, err
		}
		return e, nil
	case len(n.indexes) > 0 && b[i] == '[':
		e, err := w.array(i, n)
		if err != nil || end >= 0 {
			return end, err
		}
		return e, nil
	}
	if end >= 0 {
		return end, nil
	}
	// The paths below n select nothing here.
	w.left -= n.below
	if w.left == 0 {
		return 0, errDone
	}
	return skipValue(b, i)
}

// object walks the members of the object at b[i] ('{') that n names; the
// first of duplicate names counts, as fastjson and the pattern matcher read
// them.
func (w *walker) object(i int, n *node) (int, error) {
	b := w.b
	var seen [maxChildren / 64]uint64
	found := 0
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return w.missed(n.named, &seen, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, ErrMalformedEvent
		}
		kend, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		k := -1
		if found < len(n.names) {
			k = n.match(b[i+1 : kend-1])
		}
		i = skipWS(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, ErrMalformedEvent
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return 0, ErrMalformedEvent
		}
		if k >= 0 && seen[k/64]&(1<<(k%64)) == 0 {
			seen[k/64] |= 1 << (k % 64)
			found++
			i, err = w.walk(i, n.named[k])
		} else {
			i, err = skipValue(b, i)
		}
		if err != nil {
			return 0, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, ErrMalformedEvent
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return w.missed(n.named, &seen, i+1)
		default:
			return 0, ErrMalformedEvent
		}
	}
}

// missed resolves, as selecting nothing, the paths through the children of
// n that an object or array did not have, and returns end.
func (w *walker) missed(kids []*node, seen *[maxChildren / 64]uint64, end int) (int, error) {
	for k, c := range kids {
		if seen[k/64]&(1<<(k%64)) == 0 {
			w.left -= len(c.out) + c.below
		}
	}
	if w.left == 0 {
		return 0, errDone
	}
	return end, nil
}

// match returns the child of n named by the raw (still escaped) key, or -1.
func (n *node) match(raw []byte) int {
	if containsByte(raw, '\\') {
		var buf [64]byte
		raw = appendUnescaped(buf[:0], raw)
	}
	for k, name := range n.names {
		if string(raw) == name {
			return k
		}
	}
	return -1
}

// rawKeyIs reports whether the raw (still escaped) key is name.
func rawKeyIs(raw []byte, name string) bool {
	if containsByte(raw, '\\') {
		var buf [64]byte
		raw = appendUnescaped(buf[:0], raw)
	}
	return string(raw) == name
}

// array walks the elements of the array at b[i] ('[') that n indexes.
func (w *walker) array(i int, n *node) (int, error) {
	b := w.b
	var seen [maxChildren / 64]uint64
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return w.missed(n.indexed, &seen, i+1)
	}
	for e := 0; ; e++ {
		if i >= len(b) {
			return 0, ErrMalformedEvent
		}
		k := -1
		for x, idx := range n.indexes {
			if idx == e {
				k = x
				break
			}
		}
		var err error
		if k >= 0 {
			seen[k/64] |= 1 << (k % 64)
			i, err = w.walk(i, n.indexed[k])
		} else {
			i, err = skipValue(b, i)
		}
		if err != nil {
			return 0, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, ErrMalformedEvent
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return w.missed(n.indexed, &seen, i+1)
		default:
			return 0, ErrMalformedEvent
		}
	}
}

func containsByte(b []byte, c byte) bool {
	return bytes.IndexByte(b, c) >= 0
}
