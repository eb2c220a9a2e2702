package transform

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the small JSON scanner the transform walks events with. It
// works on raw bytes, allocates nothing to skip values, and never recurses,
// so a deeply nested event cannot exhaust the stack. It trusts the event to
// be JSON (PutEvents checked it) but reports ErrMalformedEvent, rather than
// panicking, when what it walks is not.

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"').
// Short strings, the most common in events, are scanned byte by byte; a long
// one is left to bytes.IndexByte.
func skipString(b []byte, i int) (int, error) {
	n := 0
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, nil
		case '\\':
			j++
		}
		if n++; n == 32 {
			return skipLongString(b, i, j+1)
		}
	}
	return 0, ErrMalformedEvent
}

// skipLongString finishes skipString from b[j] for the string opened at b[i].
func skipLongString(b []byte, i, j int) (int, error) {
	for j < len(b) {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, ErrMalformedEvent
		}
		j += k
		// The quote ends the string unless an odd number of backslashes
		// escapes it.
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1, nil
		}
		j++
	}
	return 0, ErrMalformedEvent
}

// structural marks the bytes that matter when skipping a container. It is
// never written.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, ErrMalformedEvent
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			for j < len(b) && !structural[b[j]] {
				j++
			}
			if j == len(b) {
				break
			}
			switch b[j] {
			case '"':
				// Inline scan of the string; long ones go to skipString.
				k := j + 1
				for ; k < len(b) && k-j < 32; k++ {
					if c := b[k]; c == '"' || c == '\\' {
						break
					}
				}
				if k < len(b) && b[k] == '"' {
					j = k
					continue
				}
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			default:
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, ErrMalformedEvent
	case ',', ':', '}', ']':
		return 0, ErrMalformedEvent
	}
	j := i
	for j < len(b) && !isWS(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ':' {
		j++
	}
	if j == i {
		return 0, ErrMalformedEvent
	}
	return j, nil
}

// appendCompact appends the JSON text raw without the whitespace outside its
// strings, its strings written as appendStringContent writes them.
func appendCompact(dst, raw []byte) []byte {
	start := 0 // raw[start:i] is still to be copied as it is
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			dst = append(dst, raw[start:i]...)
			start = i + 1
		case '"':
			end, escaped, err := stringEnd(raw, i)
			if err != nil {
				end, escaped = len(raw)+1, true
			}
			if escaped {
				dst = append(dst, raw[start:i]...)
				dst = append(dst, '"')
				dst = appendStringContent(dst, raw[i+1:end-1])
				dst = append(dst, '"')
				start = min(end, len(raw))
			}
			i = end - 1
		}
	}
	return append(dst, raw[start:]...)
}

// stringEnd is skipString that also says whether the string holds a
// backslash.
func stringEnd(b []byte, i int) (int, bool, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j + 1, false, nil
		case '\\':
			end, err := skipString(b, i)
			return end, true, err
		}
	}
	return 0, false, ErrMalformedEvent
}

// appendStripped appends the object or array raw as it reads inside a JSON
// string: compact, with the quotes of its strings removed (AWS removes them so
// that the result stays a valid string). The contents of the strings stay
// escaped, so the result is valid string content.
func appendStripped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if isWS(c) {
			continue
		}
		if c == '"' {
			end, err := skipString(raw, i)
			if err != nil {
				end = len(raw) + 1
			}
			dst = appendStringContent(dst, raw[i+1:end-1])
			i = end - 1
			continue
		}
		if c < 0x20 || c == '\\' {
			dst = appendEscapedByte(dst, c)
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendStringContent appends the raw contents s of a JSON string (the text
// between its quotes) in the one form AWS writes strings in: only quotes,
// backslashes and control characters escaped, everything else (non-ASCII,
// '/') as UTF-8. What is not valid JSON in s (possible only in a malformed
// event) is escaped, so the result is always valid string content.
func appendStringContent(dst, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		if c != '\\' {
			dst = appendEscapedByte(dst, c)
			start = i + 1
			continue
		}
		r, n := decodeEscape(s, i)
		if n == 0 {
			dst = append(dst, '\\', '\\')
			start = i + 1
			continue
		}
		if r < 0x20 || r == '"' || r == '\\' {
			dst = appendEscapedByte(dst, byte(r))
		} else {
			dst = utf8.AppendRune(dst, r)
		}
		i += n - 1
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// decodeEscape decodes the escape sequence at s[i] ('\\') and returns the
// character and the number of bytes it took, 0 when it is not JSON. A lone
// surrogate decodes to U+FFFD.
func decodeEscape(s []byte, i int) (rune, int) {
	if i+1 >= len(s) {
		return 0, 0
	}
	switch s[i+1] {
	case '"', '\\', '/':
		return rune(s[i+1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := hex4(s[i+2:])
		if !ok {
			return 0, 0
		}
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if i+11 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
			if r2, ok := hex4(s[i+8:]); ok {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return d, 12
				}
			}
		}
		return utf8.RuneError, 6
	}
	return 0, 0
}

const hexDigits = "0123456789abcdef"

func appendEscapedByte(dst []byte, c byte) []byte {
	switch c {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendEscaped appends s escaped as the contents of a JSON string: quotes,
// backslashes and control characters escaped, everything else as it is.
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendEscapedByte(dst, c)
		start = i + 1
	}
	return append(dst, s[start:]...)
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		v := hexVal(c)
		if v < 0 {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// appendUnescaped appends the decoded contents of a JSON string (raw is the
// text between the quotes). Escapes that are not JSON are kept as they are.
func appendUnescaped(dst, raw []byte) []byte {
	start := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		dst = append(dst, raw[start:i]...)
		r, n := decodeEscape(raw, i)
		if n == 0 {
			dst = append(dst, '\\')
			start = i + 1
			continue
		}
		dst = utf8.AppendRune(dst, r)
		i += n - 1
		start = i + 1
	}
	return append(dst, raw[start:]...)
}
