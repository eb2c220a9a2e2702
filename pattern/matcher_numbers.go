package pattern

import (
	"encoding/binary"
	"math"
	"strconv"
	"unsafe"
)

// Numbers are compared by value through a comparable encoding: numKey maps a
// float64 to a uint64 whose unsigned order (the byte order of its big-endian
// bytes) is the numeric order. 300, 300.0 and 3e2 all parse to the same
// float64, hence the same key, so equality is a hash lookup and a range is
// two integer comparisons.

// numKey returns the order-preserving encoding of f. -0 and +0 share a key.
func numKey(f float64) uint64 {
	if f == 0 {
		f = 0 // turns -0 into +0
	}
	u := math.Float64bits(f)
	if u>>63 != 0 {
		return ^u
	}
	return u | 1<<63
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// A numTok is a JSON number token of an event, lexed in one pass. Its key is
// computed only when a condition needs it: mantissas of up to 15 digits
// without exponent convert exactly with one division; mantissas of up to 19
// digits give an approximation within a few units in the last place, enough
// to settle most range checks; the rest goes through strconv.ParseFloat.
type numTok struct {
	tok    []byte
	mant   uint64
	digits int  // significant digits read into mant (leading zeros included)
	frac   int  // digits after the point
	simple bool // no exponent and digits <= 19
}

// lexNumber checks the JSON number grammar at b[i:] and returns the token.
func lexNumber(b []byte, i int, t *numTok) (int, bool) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	j := i
	mant := uint64(0)
	// Eight digits at a time while they last.
	for j+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[j:])
		if !eightDigits(w) {
			break
		}
		mant = mant*100000000 + parseEight(w)
		j += 8
	}
	for j < len(b) && isDigit[b[j]] {
		mant = mant*10 + uint64(b[j]-'0')
		j++
	}
	if j == i || (j-i > 1 && b[i] == '0') {
		return 0, false
	}
	t.digits = j - i
	t.frac = 0
	if j < len(b) && b[j] == '.' {
		j++
		k := j
		for j+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[j:])
			if !eightDigits(w) {
				break
			}
			mant = mant*100000000 + parseEight(w)
			j += 8
		}
		for j < len(b) && isDigit[b[j]] {
			mant = mant*10 + uint64(b[j]-'0')
			j++
		}
		t.frac = j - k
		if t.frac == 0 {
			return 0, false
		}
		t.digits += t.frac
	}
	t.simple = true
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		t.simple = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for j < len(b) && isDigit[b[j]] {
			j++
		}
		if j == k {
			return 0, false
		}
	}
	if t.digits > 19 {
		t.simple = false
	}
	t.mant = mant
	t.tok = b[start:j]
	return j, true
}

// eightDigits reports whether the 8 bytes of w are all ASCII digits.
func eightDigits(w uint64) bool {
	return w&0xf0f0f0f0f0f0f0f0 == 0x3030303030303030 &&
		(w+0x0606060606060606)&0xf0f0f0f0f0f0f0f0 == 0x3030303030303030
}

// parseEight converts 8 ASCII digits (the first in the low byte) to their value.
func parseEight(w uint64) uint64 {
	w -= 0x3030303030303030
	w = w*10 + w>>8
	w = ((w&0x000000ff000000ff)*(100+1000000<<32) + (w>>16&0x000000ff000000ff)*(1+10000<<32)) >> 32
	return w
}

// key returns the exact numKey of the number.
func (t *numTok) key() uint64 {
	if t.simple && t.digits <= 15 && t.frac <= 22 {
		f := float64(t.mant)
		if t.frac > 0 {
			f /= pow10[t.frac]
		}
		if t.tok[0] == '-' {
			f = -f
		}
		return numKey(f)
	}
	return slowNumber(t.tok)
}

// approx returns a numKey within approxSlack of the exact one, or false.
func (t *numTok) approx() (uint64, bool) {
	if !t.simple || t.frac > 22 {
		return 0, false
	}
	f := float64(t.mant)
	if t.frac > 0 {
		f /= pow10[t.frac]
	}
	if t.tok[0] == '-' {
		f = -f
	}
	return numKey(f), true
}

// approxSlack bounds the distance, in numKey units (ulps), between approx
// and key: float64(mant) and the division each round once (half an ulp
// each), and the exact value rounds once more.
const approxSlack = 4

func slowNumber(tok []byte) uint64 {
	// The string does not outlive the call: ParseFloat keeps nothing.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(tok), len(tok)), 64)
	if err != nil && !math.IsInf(f, 0) {
		// The grammar was checked before; only a range error is possible.
		f = 0
	}
	return numKey(f)
}
