package pattern

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The scanner is a small streaming JSON tokenizer: the parser pulls one token
// at a time, as event-ruler does with Jackson, so that the first problem in
// document order is the one reported. It is strict JSON (RFC 8259): no
// comments, no single quotes, no trailing commas, valid UTF-8.

// maxDepth bounds the nesting of arrays and objects (Jackson's default).
const maxDepth = 1000

type tokKind uint8

const (
	tokObject tokKind = iota + 1 // '{' (consumed)
	tokArray                     // '[' (consumed)
	tokString
	tokNumber
	tokTrue
	tokFalse
	tokNull
	tokEndArray // ']' where a value was wanted (only from value lists)
)

// A token is one JSON value start. For strings, str holds the decoded text;
// for numbers, str holds the literal and num its float64 value.
type token struct {
	kind tokKind
	str  string
	num  float64
}

// text is what Jackson's getText returns for the token; AWS quotes it in
// several reasons.
func (t token) text() string {
	switch t.kind {
	case tokObject:
		return "{"
	case tokArray:
		return "["
	case tokEndArray:
		return "]"
	case tokTrue:
		return "true"
	case tokFalse:
		return "false"
	case tokNull:
		return "null"
	}
	return t.str
}

type scanner struct {
	data  []byte
	pos   int
	depth int
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// syntaxErr reports a JSON syntax error at byte offset off, in the words of
// this parser (AWS's own are Jackson's; any clear wording is right).
func (s *scanner) syntaxErr(off int, format string, args ...any) error {
	line, col := 1, 1
	for i := 0; i < off && i < len(s.data); i++ {
		if s.data[i] == '\n' {
			line, col = line+1, 1
		} else if s.data[i] < 0x80 || s.data[i] >= 0xC0 {
			col++
		}
	}
	return invalidf("%s at line %d, column %d", fmt.Sprintf(format, args...), line, col)
}

func (s *scanner) unexpected(what string) error {
	if s.pos >= len(s.data) {
		return s.syntaxErr(s.pos, "Unexpected end of input: expected %s", what)
	}
	r, _ := utf8.DecodeRune(s.data[s.pos:])
	return s.syntaxErr(s.pos, "Unexpected character %s: expected %s", quoteChar(r), what)
}

func quoteChar(r rune) string {
	if r == utf8.RuneError {
		return "(invalid UTF-8)"
	}
	if r < 0x20 || r == 0x7f {
		return fmt.Sprintf("(control character %#x)", r)
	}
	return fmt.Sprintf("'%c' (code %d)", r, r)
}

// enter and leave track nesting; next calls enter for '{' and '['.
func (s *scanner) enter() error {
	s.depth++
	if s.depth > maxDepth {
		return s.syntaxErr(s.pos, "Nesting depth exceeds the maximum allowed (%d)", maxDepth)
	}
	return nil
}

// next reads the start of the next value. For objects and arrays only the
// bracket is consumed: the caller goes on with objectNext or arrayNext.
func (s *scanner) next() (token, error) {
	s.ws()
	if s.pos >= len(s.data) {
		return token{}, s.unexpected("a JSON value")
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		s.pos++
		return token{kind: tokObject}, s.enter()
	case c == '[':
		s.pos++
		return token{kind: tokArray}, s.enter()
	case c == '"':
		str, err := s.str()
		return token{kind: tokString, str: str}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		start := s.pos
		for s.pos < len(s.data) && isWordByte(s.data[s.pos]) {
			s.pos++
		}
		switch string(s.data[start:s.pos]) {
		case "true":
			return token{kind: tokTrue}, nil
		case "false":
			return token{kind: tokFalse}, nil
		case "null":
			return token{kind: tokNull}, nil
		}
		return token{}, s.syntaxErr(start, "Unrecognized token '%s': expected a JSON value (string, number, array, object, true, false or null)", s.data[start:s.pos])
	}
	return token{}, s.unexpected("a JSON value")
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// objectNext moves to the next member of an object whose '{' was read: it
// returns the member's key (its ':' consumed), or done at the closing '}'.
// first says whether a member has been read yet.
func (s *scanner) objectNext(first bool) (key string, done bool, err error) {
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		s.depth--
		return "", true, nil
	}
	if !first {
		if s.pos >= len(s.data) || s.data[s.pos] != ',' {
			return "", false, s.unexpected("',' or '}'")
		}
		s.pos++
		s.ws()
		if s.pos < len(s.data) && s.data[s.pos] == '}' {
			return "", false, s.unexpected("a double-quoted field name")
		}
	}
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		if first {
			return "", false, s.unexpected("a double-quoted field name or '}'")
		}
		return "", false, s.unexpected("a double-quoted field name")
	}
	if key, err = s.str(); err != nil {
		return "", false, err
	}
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return "", false, s.unexpected("':' after a field name")
	}
	s.pos++
	return key, false, nil
}

// arrayNext moves to the next element of an array whose '[' was read: done
// at the closing ']', otherwise the caller reads the element with next.
func (s *scanner) arrayNext(first bool) (done bool, err error) {
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		s.depth--
		return true, nil
	}
	if first {
		return false, nil
	}
	if s.pos >= len(s.data) || s.data[s.pos] != ',' {
		return false, s.unexpected("',' or ']'")
	}
	s.pos++
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		return false, s.unexpected("a JSON value")
	}
	return false, nil
}

// skip reads and checks the rest of a value whose first token is t.
func (s *scanner) skip(t token) error {
	switch t.kind {
	case tokObject:
		for first := true; ; first = false {
			_, done, err := s.objectNext(first)
			if err != nil || done {
				return err
			}
			v, err := s.next()
			if err != nil {
				return err
			}
			if err := s.skip(v); err != nil {
				return err
			}
		}
	case tokArray:
		for first := true; ; first = false {
			done, err := s.arrayNext(first)
			if err != nil || done {
				return err
			}
			v, err := s.next()
			if err != nil {
				return err
			}
			if err := s.skip(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// end checks that nothing but white space follows the top-level value.
func (s *scanner) end() error {
	s.ws()
	if s.pos < len(s.data) {
		return s.unexpected("end of input after the top-level value")
	}
	return nil
}

// str reads a string literal at s.pos (which holds '"') and decodes it.
func (s *scanner) str() (string, error) {
	start := s.pos + 1
	i := start
	ascii := true
	for i < len(s.data) {
		c := s.data[i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(s.data[start:i]) {
				return "", s.badUTF8(start, i)
			}
			s.pos = i + 1
			return string(s.data[start:i]), nil
		case c == '\\':
			return s.strSlow(start)
		case c < 0x20:
			return "", s.syntaxErr(i, "Illegal unquoted character (control character %#x): it must be escaped in a string", c)
		case c >= 0x80:
			ascii = false
		}
		i++
	}
	return "", s.syntaxErr(len(s.data), "Unexpected end of input in a string")
}

func (s *scanner) badUTF8(start, end int) error {
	for i := start; i < end; {
		r, n := utf8.DecodeRune(s.data[i:end])
		if r == utf8.RuneError && n == 1 {
			return s.syntaxErr(i, "Invalid UTF-8 byte %#x in a string", s.data[i])
		}
		i += n
	}
	return s.syntaxErr(start, "Invalid UTF-8 in a string")
}

// strSlow decodes a string with escapes. Lone surrogates in \u escapes become
// U+FFFD, as encoding/json does.
func (s *scanner) strSlow(start int) (string, error) {
	buf := make([]byte, 0, 32)
	i := start
	for i < len(s.data) {
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			return "", s.syntaxErr(i, "Illegal unquoted character (control character %#x): it must be escaped in a string", c)
		case c == '\\':
			if i+1 >= len(s.data) {
				return "", s.syntaxErr(len(s.data), "Unexpected end of input in a string")
			}
			e := s.data[i+1]
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, next, ok := unescapeU(s.data, i)
				if !ok {
					return "", s.syntaxErr(i, "Invalid \\u escape in a string: expected four hex digits")
				}
				buf = utf8.AppendRune(buf, r)
				i = next
				continue
			default:
				return "", s.syntaxErr(i, "Unrecognized character escape %s in a string", quoteChar(rune(e)))
			}
			i += 2
			continue
		case c >= 0x80:
			r, n := utf8.DecodeRune(s.data[i:])
			if r == utf8.RuneError && n == 1 {
				return "", s.syntaxErr(i, "Invalid UTF-8 byte %#x in a string", c)
			}
			buf = append(buf, s.data[i:i+n]...)
			i += n
			continue
		}
		buf = append(buf, c)
		i++
	}
	return "", s.syntaxErr(len(s.data), "Unexpected end of input in a string")
}

// unescapeU decodes the \uXXXX escape at b[i] (the backslash), joining a
// UTF-16 surrogate pair written as two escapes; a lone surrogate becomes
// U+FFFD. It returns the rune and the index after the escape(s). The parser
// and the matcher's string reader both use it.
func unescapeU(b []byte, i int) (r rune, next int, ok bool) {
	r, ok = hex4(b, i+2)
	if !ok {
		return 0, 0, false
	}
	i += 6
	if !utf16.IsSurrogate(r) {
		return r, i, true
	}
	if r < 0xDC00 && i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
		if r2, ok := hex4(b, i+2); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, i + 6, true
			}
		}
	}
	return utf8.RuneError, i, true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() (token, error) {
	d := s.data
	start := s.pos
	i := start
	if d[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	intStart := i
	n := digits()
	if n == 0 {
		return token{}, s.syntaxErr(i, "Invalid number: expected a digit")
	}
	if n > 1 && d[intStart] == '0' {
		return token{}, s.syntaxErr(intStart, "Invalid number: leading zeroes are not allowed")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			return token{}, s.syntaxErr(i, "Invalid number: expected a digit after the decimal point")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			return token{}, s.syntaxErr(i, "Invalid number: expected a digit in the exponent")
		}
	}
	if i < len(d) && (isWordByte(d[i]) || d[i] == '.' || d[i] >= 0x80) {
		return token{}, s.syntaxErr(i, "Invalid number: unexpected character after %q", d[start:i])
	}
	s.pos = i
	lit := string(d[start:i])
	return token{kind: tokNumber, str: lit, num: parseNumber(lit)}, nil
}

// parseNumber turns a valid JSON number literal into the float64 nearest to
// it; out of range it gives ±Inf (or 0), which is how events compare too.
// Negative zero becomes zero, so that no encoding of it can differ.
func parseNumber(lit string) float64 {
	f, _ := strconv.ParseFloat(lit, 64)
	if f == 0 {
		return 0
	}
	return f
}
