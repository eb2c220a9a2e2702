package jsonscan

import (
	"encoding/binary"
	"math/bits"
)

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// ZeroBytes has the high bit set in the lowest byte of w that is zero (and
// perhaps in higher bytes too: only the lowest flag is exact): w ^ c*lsb
// finds the bytes c of a word.
func ZeroBytes(w uint64) uint64 { return (w - lsb) & ^w & msb }

// Flags describe what String saw inside a string.
type Flags uint8

const (
	Escape  Flags = 1 << iota // a backslash escape
	High                      // a byte ≥ 0x80
	Control                   // a byte < 0x20 (invalid JSON)
)

// String finds the end of the string whose body starts at b[i] (just
// after the opening quote). It returns the index of the closing quote and
// flags for what the body holds, or -1 if the string does not end.
func String(b []byte, i int) (int, Flags) {
	var fl Flags
	for {
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			// quotes, backslashes, controls (< 0x20) and high bytes.
			m := ZeroBytes(w^0x2222222222222222) | ZeroBytes(w^0x5c5c5c5c5c5c5c5c) |
				((w - 0x2020202020202020) & ^w & msb) | (w & msb)
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		if i >= len(b) {
			return -1, fl
		}
		c := b[i]
		switch {
		case c == '"':
			return i, fl
		case c == '\\':
			fl |= Escape
			i += 2
		case c < 0x20:
			fl |= Control
			i++
		case c >= 0x80:
			fl |= High
			i++
		default:
			i++
		}
	}
}

// Skip is String without the flags: it only looks for quotes and
// backslashes.
func Skip(b []byte, i int) int {
	for {
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			m := ZeroBytes(w^0x2222222222222222) | ZeroBytes(w^0x5c5c5c5c5c5c5c5c)
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		if i >= len(b) {
			return -1
		}
		if b[i] == '"' {
			return i
		}
		if b[i] == '\\' {
			i += 2
			continue
		}
		i++
	}
}

// Plain returns the index of the first byte of s at or after i that a JSON
// string cannot hold as it is, or may not (a quote, a backslash, a control
// character, a byte ≥ 0x80); len(s) if there is none. String writers copy
// what lies before it whole.
func Plain[S ~string | ~[]byte](s S, i int) int {
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		m := ZeroBytes(w^0x2222222222222222) | ZeroBytes(w^0x5c5c5c5c5c5c5c5c) |
			((w - 0x2020202020202020) & ^w & msb) | (w & msb)
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return i
		}
	}
	return len(s)
}
