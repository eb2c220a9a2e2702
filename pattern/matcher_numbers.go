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

// A numTok is a JSON number token of an event and the window of keys its
// key lies in, which settles nearly every range and rules out nearly every
// exact value; the exact key (key) is computed only for the numbers the
// window leaves open.
type numTok struct {
	tok []byte

	// The window of keys the number's key lies in (lo == hi: it is the
	// key), if win.
	lo, hi uint64
	win    bool

	// full tells that the fields below are filled (by lexNumberSlow, which
	// reads every digit); otherwise key reads the token again.
	full   bool
	neg    bool
	mant   uint64 // the value of the digits (wrapped past 19 digits)
	digits int    // digits read into mant (leading zeros included)
	frac   int    // digits of mant after the point
	exp    bool   // an exponent follows
}

// lexNumber checks the JSON number grammar at b[i:] and fills t: with the
// token and its window when numWindow reads it, in full otherwise.
func lexNumber(b []byte, i int, t *numTok) (int, bool) {
	j, lo, hi := numWindow(b, i)
	if j < 0 {
		return lexNumberSlow(b, i, t)
	}
	t.tok = b[i:j]
	t.lo, t.hi, t.win, t.full = lo, hi, true, false
	return j, true
}

// numWindow is the fast path of lexNumber: it returns the end of the number
// at b[i:] and the window of keys its key lies in, or an end of -1 if
// lexNumberSlow must read it (or find it no number).
func numWindow(b []byte, i int) (end int, lo, hi uint64) {
	j, x, p, n, neg := shortNumber(b, i)
	if j < 0 {
		return -1, 0, 0
	}
	if n == p {
		// An integer of at most eight digits: exact.
		k := signedKey(float64(int64(parseDigits(x, p))), neg)
		return j, k, k
	}
	// x holds eight digits, p of them before the point.
	mant := parseEight(x)
	more := n > 8
	if mant == 0 && !more {
		return j, numKey(0), numKey(0)
	}
	f := float64(int64(mant)) * invPow10[8-p] // int64: a cheaper conversion
	g := f
	if more {
		// |value| is in [mant, mant+1) × 10^(p-8).
		g = float64(int64(mant)+1) * invPow10[8-p]
	}
	if neg {
		return j, signedKey(g, true) - approxSlack, signedKey(f, true) + approxSlack
	}
	return j, signedKey(f, false) - approxSlack, signedKey(g, false) + approxSlack
}

// shortNumber reads the number at b[i:] if it has the common short form: a
// sign, one to eight integer digits and, unless there are eight, a point
// and fraction digits, no exponent, in at most 23 bytes after the sign.
// Three independent eight-byte loads (from a padded copy near the end of b)
// give a bitmap of the bytes that are no digits, and the token's structure
// follows from it with a few bit operations. (Finding the digits word after
// word instead makes every step wait for the one before, and that wait was
// the cost.) It returns the end of the number, or -1 if lexNumberSlow must
// read it (or find it no number), and its first eight digits as ASCII
// bytes in x, the first in the low byte, filled with '0's: the p integer
// digits, then fraction digits. n counts all its digits: more than eight
// follow those in x.
func shortNumber(b []byte, i int) (end int, x uint64, p, n int, neg bool) {
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	var win []byte
	if i+24 <= len(b) {
		win = b[i : i+24 : i+24]
	} else {
		// Near the end of the event: read a copy, padded with zero
		// bytes (no digits).
		var pad [24]byte
		copy(pad[:], b[i:])
		win = pad[:]
	}
	w0 := binary.LittleEndian.Uint64(win)
	w1 := binary.LittleEndian.Uint64(win[8:])
	w2 := binary.LittleEndian.Uint64(win[16:])
	// Bit k: byte i+k is no digit; bit 24 stands for what lies beyond.
	nd := highBits(nonDigits(w0)) | highBits(nonDigits(w1))<<8 | highBits(nonDigits(w2))<<16 | 1<<24
	p = bits.TrailingZeros32(nd) // integer digits
	if p == 0 || p > 8 || (p > 1 && byte(w0) == '0') {
		// No digit or a leading zero (errors), or a long integer part.
		return -1, 0, 0, 0, false
	}
	const zeros = 0x3030303030303030
	j := i + p
	n = p
	switch {
	case p == 8:
		if byte(w1) == '.' {
			return -1, 0, 0, 0, false // a long number: the slow path reads it
		}
		x = w0
	case byte(w0>>(8*p&63)) != '.':
		// (Shift counts masked to 63: p < 8 here, and the compiler then
		// needs no code for counts of 64 and more.)
		m := uint64(1)<<(8*p&63) - 1
		x = w0&m | zeros&^m
	default:
		q := bits.TrailingZeros32(nd >> (p + 1)) // fraction digits
		if q == 0 || p+1+q == 24 {
			return -1, 0, 0, 0, false // no fraction digit (an error), or an end beyond the loads
		}
		// The integer digits and the first fraction digits as one word:
		// the point is byte p of w0, and w1 continues it.
		frac := w0>>(8*p&63)>>8 | w1<<(56-8*p&63)
		m := uint64(1)<<(8*p&63) - 1
		x = w0&m | frac<<(8*p&63)
		if n = p + q; n < 8 {
			m := uint64(1)<<(8*n&63) - 1
			x = x&m | zeros&^m
		}
		j += 1 + q
	}
	if j < len(b) && b[j]|0x20 == 'e' {
		return -1, 0, 0, 0, false
	}
	return j, x, p, n, neg
}

// lexNumberSlow is lexNumber for any number: it reads every digit into the
// mantissa.
func lexNumberSlow(b []byte, i int, t *numTok) (int, bool) {
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
	t.digits = j - i
	t.frac = 0
	if j < len(b) && b[j] == '.' {
		k := j + 1
		j, mant = digitRun(b, k, mant)
		if j == k {
			return 0, false
		}
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
	t.tok = b[start:j]
	t.full = true
	t.lo, t.hi, t.win = t.window()
	return j, true
}

// signedKey returns the numKey of a (≥ 0, not -0) or, if neg, of -a.
func signedKey(a float64, neg bool) uint64 {
	u := math.Float64bits(a) | 1<<63
	if neg && a != 0 {
		return ^u
	}
	return u
}

// nonDigits has the high bit set in every byte of w that is no ASCII digit.
func nonDigits(w uint64) uint64 {
	// Digits become 0 to 9; 0x76 added carries those above into the high
	// bit, as the high bit of a byte already set does.
	x := w ^ 0x3030303030303030
	return ((x&0x7f7f7f7f7f7f7f7f + 0x7676767676767676) | x) & msb
}

// highBits gathers the high bits of the bytes of m (which has no other
// bits set) into eight bits, the low byte's first.
func highBits(m uint64) uint32 {
	return uint32((m * 0x0002040810204081) >> 56)
}

// leadingDigits returns how many of the bytes of w, from the low one up,
// are ASCII digits before the first that is not (8: all are).
func leadingDigits(w uint64) int {
	return bits.TrailingZeros64(nonDigits(w)) >> 3
}

// parseDigits returns the value of the n (1 to 8) digits in the low bytes
// of w.
func parseDigits(w uint64, n int) uint64 {
	// Move the digits to the top and fill with '0's.
	return parseEight(w<<(8*(8-n)) | 0x3030303030303030>>(8*n))
}

// window computes, from the mantissa, keys lo <= hi between which the
// number's key lies (lo == hi: it is the key), or false when the mantissa
// cannot tell.
func (t *numTok) window() (lo, hi uint64, ok bool) {
	if t.exp || t.digits > 19 {
		return 0, 0, false
	}
	if t.mant == 0 || (t.frac == 0 && t.digits <= 15) {
		f := float64(t.mant) // exact
		if t.neg {
			f = -f
		}
		k := numKey(f)
		return k, k, true
	}
	f := float64(t.mant) * invPow10[t.frac] // a multiplication, much faster than a division
	if t.neg {
		f = -f
	}
	return numKey(f) - approxSlack, numKey(f) + approxSlack, true
}

// pow10u holds the powers of ten up to 10^8.
var pow10u = [9]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// digitRun reads the run of ASCII digits at b[j:], eight at a time, and
// returns its end and mant with the digits appended (mant wraps past 19
// digits; callers then use strconv).
func digitRun(b []byte, j int, mant uint64) (int, uint64) {
	for j+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[j:])
		k := leadingDigits(w)
		if k == 8 {
			mant = mant*100000000 + parseEight(w)
			j += 8
			continue
		}
		if k > 0 {
			mant = mant*pow10u[k] + parseDigits(w, k)
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
	if !t.full {
		// Read every digit: short mantissas convert without strconv.
		var full numTok
		lexNumberSlow(t.tok, 0, &full)
		return full.key()
	}
	if !t.exp && t.digits <= 15 {
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

// invPow10 holds the float64 nearest to 10^-k, for k ≤ 19.
var invPow10 = [20]float64{1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10,
	1e-11, 1e-12, 1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19}

// approxSlack bounds the distance, in numKey units (ulps), between a
// product float64(mant) × 10^-frac and the exact key of mant × 10^-frac:
// float64(mant), the constant 10^-frac and the product each round
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
