package server

import (
	"errors"
	"fmt"
	"io"

	"github.com/conveyor/conveyor/internal/jsonscan"
)

// logReader reads a CloudTrail log file ({"Records":[…]}) from a stream,
// value by value, and hands each record over compacted (no whitespace
// between its tokens) and checked to be JSON, in one pass over its bytes:
// encoding/json's Decoder, which it replaces, scanned every record twice
// and then compactJSON a third time. It holds at most limit bytes of one
// value (and a read's worth more) at a time.
type logReader struct {
	r     io.Reader
	buf   []byte // buf[off:] is read and not yet consumed
	off   int
	eof   bool
	limit int
}

// readChunk is how much logReader asks its reader for at a time.
const readChunk = 64 << 10

// errIncomplete: the value goes on past what is read so far.
var errIncomplete = errors.New("incomplete value")

// maxImportDepth bounds the nesting of a value, as encoding/json's decoder
// bounds it.
const maxImportDepth = 10000

func newLogReader(r io.Reader, limit int) *logReader {
	return &logReader{r: r, limit: limit, buf: make([]byte, 0, readChunk)}
}

// more reads more of the stream, keeping buf[off:]; false at the end of
// the stream (err is nil then) or on an error.
func (l *logReader) more() (bool, error) {
	if l.eof {
		return false, nil
	}
	if l.off > 0 {
		n := copy(l.buf, l.buf[l.off:])
		l.buf, l.off = l.buf[:n], 0
	}
	if cap(l.buf)-len(l.buf) < readChunk {
		nb := make([]byte, len(l.buf), 2*cap(l.buf)+readChunk)
		copy(nb, l.buf)
		l.buf = nb
	}
	n, err := l.r.Read(l.buf[len(l.buf):cap(l.buf)])
	l.buf = l.buf[:len(l.buf)+n]
	switch {
	case errors.Is(err, io.EOF):
		l.eof = true
	case err != nil:
		return false, err
	}
	return n > 0 || !l.eof, nil
}

// peek skips whitespace and returns the next byte; io.ErrUnexpectedEOF at
// the end of the stream.
func (l *logReader) peek() (byte, error) {
	for {
		for l.off < len(l.buf) {
			switch c := l.buf[l.off]; c {
			case ' ', '\t', '\n', '\r':
				l.off++
			default:
				return c, nil
			}
		}
		ok, err := l.more()
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, io.ErrUnexpectedEOF
		}
	}
}

// expect consumes the byte c, next after whitespace.
func (l *logReader) expect(c byte) error {
	got, err := l.peek()
	if err != nil {
		return err
	}
	if got != c {
		return fmt.Errorf("found %q where %q was expected", got, c)
	}
	l.off++
	return nil
}

// value reads the next value and returns it compacted (a new slice). A
// value over limit bytes is tooLarge's error.
func (l *logReader) value(tooLarge error) ([]byte, error) {
	if _, err := l.peek(); err != nil {
		return nil, err
	}
	for {
		end, out, err := scanValue(l.buf[l.off:], nil)
		if err == nil {
			if end > l.limit {
				return nil, tooLarge
			}
			l.off += end
			return out, nil
		}
		if !errors.Is(err, errIncomplete) {
			return nil, err
		}
		if len(l.buf)-l.off > l.limit {
			return nil, tooLarge
		}
		ok, rerr := l.more()
		if rerr != nil {
			return nil, rerr
		}
		if !ok {
			return nil, io.ErrUnexpectedEOF
		}
	}
}

// scanValue checks that b starts with one JSON value and returns where it
// ends and the value appended to out without whitespace; errIncomplete
// when b ends before the value does.
func scanValue(b, out []byte) (int, []byte, error) {
	s := valueScanner{b: b, out: out}
	if err := s.value(0); err != nil {
		return 0, nil, err
	}
	return s.i, append(s.out, b[s.run:s.i]...), nil
}

// valueScanner reads one value. Its tokens are copied to out in runs: a
// run ends where whitespace begins (and at the value's end), so a compact
// value is copied once, whole.
type valueScanner struct {
	b   []byte
	i   int
	out []byte
	run int // b[run:i] is read and not yet copied
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *valueScanner) ws() {
	if s.i >= len(s.b) || !isJSONSpace(s.b[s.i]) {
		return
	}
	s.out = append(s.out, s.b[s.run:s.i]...)
	for s.i < len(s.b) && isJSONSpace(s.b[s.i]) {
		s.i++
	}
	s.run = s.i
}

func (s *valueScanner) syntax(what string) error {
	if s.i >= len(s.b) {
		return errIncomplete
	}
	return fmt.Errorf("invalid character %q %s", s.b[s.i], what)
}

func (s *valueScanner) value(depth int) error {
	s.ws()
	if s.i >= len(s.b) {
		return errIncomplete
	}
	if depth > maxImportDepth {
		return errors.New("exceeded max depth")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return nil
		}
		for {
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return s.syntax("looking for beginning of object key string")
			}
			if err := s.str(); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return s.syntax("after object key")
			}
			s.i++
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) {
				return errIncomplete
			}
			switch s.b[s.i] {
			case ',':
				s.i++
			case '}':
				s.i++
				return nil
			default:
				return s.syntax("after object key:value pair")
			}
		}
	case c == '[':
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) {
				return errIncomplete
			}
			switch s.b[s.i] {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return s.syntax("after array element")
			}
		}
	case c == '"':
		return s.str()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	default:
		return s.syntax("looking for beginning of value")
	}
}

func (s *valueScanner) literal(lit string) error {
	for k := 0; k < len(lit); k++ {
		if s.i+k >= len(s.b) {
			return errIncomplete
		}
		if s.b[s.i+k] != lit[k] {
			s.i += k
			return s.syntax("in literal " + lit)
		}
	}
	s.i += len(lit)
	return nil
}

// number reads a number; one that reaches the end of b is incomplete (the
// byte after it decides).
func (s *valueScanner) number() error {
	b, i := s.b, s.i
	if b[i] == '-' {
		i++
	}
	digits := func() (int, error) {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		if i >= len(b) {
			return n, errIncomplete
		}
		return n, nil
	}
	if i >= len(b) {
		return errIncomplete
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		if _, err := digits(); err != nil {
			return err
		}
	default:
		s.i = i
		return s.syntax("in numeric literal")
	}
	if i >= len(b) {
		return errIncomplete
	}
	if b[i] == '.' {
		i++
		n, err := digits()
		if err != nil {
			return err
		}
		if n == 0 {
			s.i = i
			return s.syntax("after decimal point in numeric literal")
		}
	}
	if b[i] == 'e' || b[i] == 'E' {
		i++
		if i >= len(b) {
			return errIncomplete
		}
		if b[i] == '+' || b[i] == '-' {
			i++
		}
		n, err := digits()
		if err != nil {
			return err
		}
		if n == 0 {
			s.i = i
			return s.syntax("in exponent of numeric literal")
		}
	}
	s.i = i
	return nil
}

// str reads a string, escapes and all (its bytes are not checked to be
// UTF-8: encoding/json's decoder does not either, and decodes them as
// U+FFFD).
func (s *valueScanner) str() error {
	b := s.b
	// Most strings are plain: found whole a word at a time. The rest are
	// read byte by byte, their escapes checked.
	if j, fl := jsonscan.String(b, s.i+1); j >= 0 && fl&(jsonscan.Escape|jsonscan.Control) == 0 {
		s.i = j + 1
		return nil
	}
	for j := s.i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s.i = j + 1
			return nil
		case c < 0x20:
			s.i = j
			return s.syntax("in string literal")
		case c == '\\':
			j++
			if j >= len(b) {
				return errIncomplete
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for k := 1; k <= 4; k++ {
					if j+k >= len(b) {
						return errIncomplete
					}
					if !isHex(b[j+k]) {
						s.i = j + k
						return s.syntax("in \\u hexadecimal character escape")
					}
				}
				j += 4
			default:
				s.i = j
				return s.syntax("in string escape code")
			}
		}
	}
	return errIncomplete
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
