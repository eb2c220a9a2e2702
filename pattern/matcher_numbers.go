package pattern

import (
	"encoding/binary"
	"math"
	"math/bits"
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

// A numTok is a JSON number token of an event, lexed in one pass that
// also reads its digits (eight at a time). Its value is computed only as far
// as a condition needs it, in three steps of growing cost:
//
//   - bounds: the integer part alone puts the number between two
//     consecutive integers (or is the number, without fraction), which
//     settles most range checks and rules out most exact values;
//   - approx: mantissas of up to 19 digits give a float64 within a few
//     units in the last place;
//   - key: the exact value (one division for mantissas of up to 15 digits,
//     strconv.ParseFloat otherwise).
type numTok struct {
	tok     []byte
	neg     bool
	intEnd  int    // tok[sign:intEnd] are the integer digits
	fracEnd int    // tok[intEnd+1:fracEnd] are the fraction digits, if fracEnd > intEnd
	exp     bool   // an exponent follows
	intMant uint64 // the integer digits' value (wrapped past 19 digits)
	mant    uint64 // all the digits' value (wrapped past 19 digits)
	digits  int    // digits read into mant (leading zeros included)
	frac    int    // digits after the point
	simple  bool   // no exponent, at most 19 digits: mant is exact
}

// lexNumber checks the JSON number grammar at b[i:] and fills t, reading
// the digits into the mantissa on the way (eight at a time).
func lexNumber(b []byte, i int, t *numTok) (int, bool) {
	start := i
	t.neg = false
	if i < len(b) && b[i] == '-' {
		t.neg = true
		i++
	}
	j, mant := digitRun(b, i, 0)
	if j == i || (j-i > 1 && b[i] == '0') {
		return 0, false
	}
	t.intMant = mant
	t.intEnd = j - start
	t.fracEnd = t.intEnd
	t.digits = j - i
	t.frac = 0
	if j < len(b) && b[j] == '.' {
		k := j + 1
		j, mant = digitRun(b, k, mant)
		if j == k {
			return 0, false
		}
		t.fracEnd = j - start
		t.frac = j - k
		t.digits += t.frac
	}
	t.exp = false
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		t.exp = true
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
	t.mant = mant
	t.simple = !t.exp && t.digits <= 19
	t.tok = b[start:j]
	return j, true
}

// bounds returns keys lo <= hi such that the number's key lies in [lo, hi]
// (lo == hi: it is the key), from the integer part alone.
func (t *numTok) bounds() (lo, hi uint64, ok bool) {
	sign := 0
	if t.neg {
		sign = 1
	}
	n := t.intEnd - sign
	if t.exp || n > 15 {
		return 0, 0, false
	}
	f := float64(t.intMant)
	if t.fracEnd == t.intEnd {
		if t.neg {
			f = -f
		}
		k := numKey(f)
		return k, k, true
	}
	if t.neg {
		return numKey(-f - 1), numKey(-f), true
	}
	return numKey(f), numKey(f + 1), true
}

// pow10u holds the powers of ten up to 10^8.
var pow10u = [9]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// digitRun reads the run of ASCII digits at b[j:], eight at a time, and
// returns its end and mant with the digits appended (mant wraps past 19
// digits; callers then use strconv).
func digitRun(b []byte, j int, mant uint64) (int, uint64) {
	for j+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[j:])
		bad := (w&0xf0f0f0f0f0f0f0f0 ^ 0x3030303030303030) | ((w&0x0f0f0f0f0f0f0f0f + 0x0606060606060606) & 0xf0f0f0f0f0f0f0f0)
		k := bits.TrailingZeros64(^exactZero(bad)&msb) >> 3 // leading digits in w
		if k == 8 {
			mant = mant*100000000 + parseEight(w)
			j += 8
			continue
		}
		if k > 0 {
			// Keep the k digits, moved to the top, and fill with '0's.
			sh := uint(8 * (8 - k))
			mant = mant*pow10u[k] + parseEight(w<<sh|0x3030303030303030>>uint(8*k))
		}
		return j + k, mant
	}
	for j < len(b) && isDigit[b[j]] {
		mant = mant*10 + uint64(b[j]-'0')
		j++
	}
	return j, mant
}

// exactZero has the high bit set in every byte of x that is zero.
func exactZero(x uint64) uint64 {
	return ^(((x & 0x7f7f7f7f7f7f7f7f) + 0x7f7f7f7f7f7f7f7f) | x) & msb
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
	if t.simple && t.digits <= 15 {
		f := float64(t.mant)
		if t.frac > 0 {
			f /= pow10[t.frac]
		}
		if t.neg {
			f = -f
		}
		return numKey(f)
	}
	return slowNumber(t.tok)
}

// approx returns a numKey within approxSlack of the exact one, or false.
func (t *numTok) approx() (uint64, bool) {
	if !t.simple {
		return 0, false
	}
	f := float64(t.mant)
	if t.frac > 0 {
		f *= invPow10[t.frac] // a multiplication, much faster than a division
	}
	if t.neg {
		f = -f
	}
	return numKey(f), true
}

// invPow10 holds the float64 nearest to 10^-k, for k ≤ 19.
var invPow10 = [20]float64{1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10,
	1e-11, 1e-12, 1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19}

// approxSlack bounds the distance, in numKey units (ulps), between approx
// and key: float64(mant), the constant 10^-frac and the product each round
// once (half an ulp each), and the exact value rounds once more: at most 2
// ulps, or 4 where a power of two lies between them (the ulp halves below
// it). 16 leaves a wide margin and costs nothing: a window that straddles
// a bound only sends the number to the exact conversion.
const approxSlack = 16

func slowNumber(tok []byte) uint64 {
	// The string does not outlive the call: ParseFloat keeps nothing.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(tok), len(tok)), 64)
	if err != nil && !math.IsInf(f, 0) {
		// The grammar was checked before; only a range error is possible.
		f = 0
	}
	return numKey(f)
}
