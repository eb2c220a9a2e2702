package pattern

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf8"

	"github.com/conveyor/conveyor/internal/jsonscan"
)

// This file holds the byte-level JSON scanning the matcher does on events:
// finding the end of strings, skipping whole values that no pattern names,
// decoding the strings some pattern does name. It never builds a tree.

// errSyntax is returned (wrapped in a *SyntaxError-like message by Match) for
// bytes that are not JSON.
var errSyntax = errors.New("event is not valid JSON")

// errNotObject is returned for JSON that is not an object.
var errNotObject = errors.New("event is not a JSON object")

// msb is the high bit of every byte of a word (see jsonscan.ZeroBytes).
const msb = 0x8080808080808080

// isSpace marks JSON whitespace.
var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace[b[i]] {
		i++
	}
	return i
}

// skipContainer skips the array or object starting at b[i] ('[' or '{') and
// returns the index just after its end. It checks that brackets balance,
// that the closing bracket matches the opening one and that strings end,
// nothing more: values no pattern names are not decoded (nor is "[{]}" told
// from "[{}]" inside them).
//
// This is where matching spends most of its time on big events, so it works
// a word at a time and without branching on the data: bytes.IndexByte finds
// the next quote; up to it, each 8-byte word gives masks of its opening and
// closing brackets ('[' and '{' differ only in bit 5, as do ']' and '}'),
// and the depth moves by their population counts. Only a word with as many
// closing brackets as the depth, where the container may end, is looked at
// byte by byte.
func skipContainer(b []byte, start int) (int, error) {
	depth := 1
	i := start + 1
	if b[start] == '{' {
		end, at := flatObjectEnd(b, start)
		if end > 0 {
			return end, nil
		}
		i = at
	}
	for {
		q := len(b)
		if k := bytes.IndexByte(b[i:], '"'); k >= 0 {
			q = i + k
		}
		for i+8 <= q {
			w := binary.LittleEndian.Uint64(b[i:])
			if w&0x4040404040404040 == 0 {
				// No byte with bit 6 set: no bracket (nor letter). Runs
				// of numbers, such as GeoJSON coordinates, go by here
				// a word at a time with one test.
				i += 8
				continue
			}
			x := w | 0x2020202020202020
			opens := exactZero(x ^ 0x7b7b7b7b7b7b7b7b)
			closes := exactZero(x ^ 0x7d7d7d7d7d7d7d7d)
			nc := bits.OnesCount64(closes)
			if depth <= nc {
				break // the container may end in this word
			}
			depth += bits.OnesCount64(opens) - nc
			i += 8
		}
		for ; i < q; i++ {
			switch b[i] {
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					if b[i] != b[start]+2 { // '[' + 2 is ']', '{' + 2 is '}'
						return 0, errSyntax
					}
					return i + 1, nil
				}
			}
		}
		if q >= len(b) {
			return 0, errSyntax
		}
		// Strings often follow each other as "key":"value","key":…;
		// go from one to the next without searching.
		for {
			j := jsonscan.Skip(b, i+1)
			if j < 0 {
				return 0, errSyntax
			}
			i = j + 1
			if i+1 < len(b) && (b[i] == ':' || b[i] == ',') && b[i+1] == '"' {
				i++
				continue
			}
			break
		}
	}
}

// flatObjectEnd returns the index just after the object at b[start] if it
// is flat: nothing between its braces opens a container or escapes a
// character. Then its end is the first '}', if an even number of quotes
// precede it; one pass of a few tests per word finds it. (Objects of short
// strings and numbers, such as the properties of GeoJSON features, are
// common.) Otherwise it returns an end of 0 and where the long way may take
// over: at the first bracket if it lies outside strings (the bytes before
// it hold no bracket), or else just after the opening brace.
func flatObjectEnd(b []byte, start int) (end, at int) {
	quotes := 0
	i := start + 1
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		x := w | 0x2020202020202020 // '[' → '{', ']' → '}'
		// The lowest flag of each mask is exact.
		opens := jsonscan.ZeroBytes(x ^ 0x7b7b7b7b7b7b7b7b)
		escapes := jsonscan.ZeroBytes(w ^ 0x5c5c5c5c5c5c5c5c)
		closes := jsonscan.ZeroBytes(x ^ 0x7d7d7d7d7d7d7d7d)
		q := exactZero(w ^ 0x2222222222222222)
		if opens|escapes|closes == 0 {
			quotes += bits.OnesCount64(q)
			continue
		}
		first := (opens | escapes | closes) & -(opens | escapes | closes)
		pos := bits.TrailingZeros64(first) >> 3
		outside := (quotes+bits.OnesCount64(q&(first-1)))%2 == 0
		switch {
		case opens&first != 0 && outside:
			return 0, i + pos // a container inside: the long way from here
		case closes&first != 0 && outside && b[i+pos] == '}':
			return i + pos + 1, 0
		}
		return 0, start + 1 // an escape, a ']', or a bracket inside a string
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			quotes++
		case '{', '[':
			if quotes%2 == 0 {
				return 0, i
			}
			return 0, start + 1
		case '}':
			if quotes%2 == 0 {
				return i + 1, 0
			}
			return 0, start + 1
		case ']', '\\':
			return 0, start + 1
		}
	}
	return 0, start + 1
}

// skipValue skips any JSON value starting at b[i] (no leading space).
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch c := b[i]; c {
	case '{', '[':
		return skipContainer(b, i)
	case '"':
		j := jsonscan.Skip(b, i+1)
		if j < 0 {
			return 0, errSyntax
		}
		return j + 1, nil
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			_, j, ok := scanNumber(b, i)
			if !ok {
				return 0, errSyntax
			}
			return j, nil
		}
		return 0, errSyntax
	}
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// isDigit marks ASCII digits.
var isDigit = [256]bool{'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true}

// scanNumber checks the JSON number grammar from b[i] and returns the end of
// the number token. It returns frac, the index of the first byte after the
// integer part, for callers that want it.
func scanNumber(b []byte, i int) (frac, end int, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0, 0, false
	}
	if b[i] == '0' {
		i++
	} else if b[i] >= '1' && b[i] <= '9' {
		i++
		for i < len(b) && isDigit[b[i]] {
			i++
		}
	} else {
		return 0, 0, false
	}
	frac = i
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit[b[i]] {
			return 0, 0, false
		}
		for i < len(b) && isDigit[b[i]] {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit[b[i]] {
			return 0, 0, false
		}
		for i < len(b) && isDigit[b[i]] {
			i++
		}
	}
	return frac, i, true
}

// decodeString appends to dst the text of the JSON string body s (without
// quotes), decoded as encoding/json does: escapes resolved, invalid UTF-8 and
// lone surrogates replaced by U+FFFD. It reports false for a bad escape or a
// control character.
func decodeString(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return dst, false
			}
			switch s[i+1] {
			case '"', '\\', '/':
				dst = append(dst, s[i+1])
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
				r, next, ok := unescapeU(s, i)
				if !ok {
					return dst, false
				}
				dst = utf8.AppendRune(dst, r)
				i = next
				continue
			default:
				return dst, false
			}
			i += 2
		case c < 0x20:
			return dst, false
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return dst, true
}
