package transform

import (
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

// A step goes into the member Name of an object, or, when Index >= 0, into
// element Index of an array.
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

// errMalformed reports an event that is not JSON where the scanner walked.
var errMalformed = errors.New("event is not valid JSON")

// lookup finds the value p selects in the JSON text b and returns its bounds,
// or found=false when the path selects nothing.
func (p *path) lookup(b []byte) (start, end int, found bool, err error) {
	i := skipWS(b, 0)
	for _, st := range p.steps {
		if i >= len(b) {
			return 0, 0, false, errMalformed
		}
		if st.index < 0 {
			if b[i] != '{' {
				if err := checkValueStart(b, i); err != nil {
					return 0, 0, false, err
				}
				return 0, 0, false, nil
			}
			i, found, err = findMember(b, i, st.name)
		} else {
			if b[i] != '[' {
				if err := checkValueStart(b, i); err != nil {
					return 0, 0, false, err
				}
				return 0, 0, false, nil
			}
			i, found, err = findElement(b, i, st.index)
		}
		if err != nil || !found {
			return 0, 0, false, err
		}
	}
	if i >= len(b) {
		return 0, 0, false, errMalformed
	}
	end, err = skipValue(b, i)
	if err != nil {
		return 0, 0, false, err
	}
	return i, end, true, nil
}

func checkValueStart(b []byte, i int) error {
	switch b[i] {
	case '"', '-', 't', 'f', 'n', '[', '{':
		return nil
	}
	if b[i] >= '0' && b[i] <= '9' {
		return nil
	}
	return errMalformed
}

// findMember looks in the object starting at b[i] ('{') for the member name
// and returns where its value starts. When a name occurs twice the first is
// taken.
func findMember(b []byte, i int, name string) (int, bool, error) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return 0, false, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false, errMalformed
		}
		kend, err := skipString(b, i)
		if err != nil {
			return 0, false, err
		}
		match := keyEquals(b[i+1:kend-1], name)
		i = skipWS(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, false, errMalformed
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return 0, false, errMalformed
		}
		if match {
			return i, true, nil
		}
		if i, err = skipValue(b, i); err != nil {
			return 0, false, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, false, errMalformed
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return 0, false, nil
		default:
			return 0, false, errMalformed
		}
	}
}

// findElement returns where element n of the array starting at b[i] ('[')
// starts.
func findElement(b []byte, i int, n int) (int, bool, error) {
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return 0, false, nil
	}
	for k := 0; ; k++ {
		if i >= len(b) {
			return 0, false, errMalformed
		}
		if k == n {
			return i, true, checkValueStart(b, i)
		}
		var err error
		if i, err = skipValue(b, i); err != nil {
			return 0, false, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, false, errMalformed
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return 0, false, nil
		default:
			return 0, false, errMalformed
		}
	}
}

// keyEquals compares the raw (still escaped) key text with name.
func keyEquals(raw []byte, name string) bool {
	if !containsByte(raw, '\\') {
		return string(raw) == name
	}
	return string(appendUnescaped(nil, raw)) == name
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
