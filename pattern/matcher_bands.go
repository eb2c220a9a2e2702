package pattern

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"
	"strconv"
)

// Decimal bands decide the segment of a number of an event from its text,
// without computing its value. Numbers of the same sign and with the same
// count of integer digits (a band) compare as their digit strings do, so
// the first eight digits of a number, byte-swapped into a big-endian word,
// compare with one instruction against the first eight digits of the cuts
// that lie in the band. Only a number whose first eight digits equal those
// of a cut, or fall just below (above, for negative numbers), is left to
// the exact conversion: that margin covers both the digits that follow and
// the rounding to the nearest float64, which is what keys compare.
//
// On GeoJSON coordinates this takes the float conversions and the search
// over all the cuts off the path of each number.

// A bandCut is a cut as the numbers of one band see it: X (a number's
// digit word, complemented in negative bands) above hi lies at or above
// the cut; X in [lo, hi] is undecided; below lo, under the cut.
type bandCut struct{ lo, hi uint64 }

type band struct {
	below int // cuts below every number of the band
	cuts  []bandCut
}

type decBands struct {
	bands [2][9]band // by sign (1: negative), then integer digits 1 to 8
	zero  int        // the segment of 0
}

// zeroWord is the digit word of 0.
const zeroWord = 0x3030303030303030

// newDecBands computes the bands of the cuts of segments g.
func newDecBands(g *rangeSegs) *decBands {
	d := &decBands{zero: g.segment(numKey(0))}
	for sign := range 2 {
		for p := 1; p <= 8; p++ {
			lo, hi := math.Pow10(p-1), math.Pow10(p)
			if p == 1 {
				lo = 0
			}
			keyLo, keyHi := numKey(lo), numKey(hi)
			if sign == 1 {
				keyLo, keyHi = numKey(-hi), numKey(-lo)
			}
			bd := &d.bands[sign][p]
			for _, c := range g.cuts {
				switch {
				case c < keyLo:
					bd.below++
				case c <= keyHi:
					bd.cuts = append(bd.cuts, newBandCut(keyValue(c), p, sign == 1))
				}
			}
		}
	}
	return d
}

// newBandCut returns the cut at value v as numbers with p integer digits
// and sign neg see it.
func newBandCut(v float64, p int, neg bool) bandCut {
	// D: the first eight digits of |v|, exactly (floor of |v| × 10^(8-p)).
	f := new(big.Float).SetPrec(256).SetFloat64(math.Abs(v))
	f.Mul(f, new(big.Float).SetPrec(256).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(8-p)), nil)))
	d, _ := f.Int(nil)
	if !d.IsInt64() || d.Int64() > 1e8 {
		d.SetInt64(1e8) // the band holds no value above 10^p
	}
	D := d.Int64()
	if !neg {
		// A number's digits N: N > D is at or above the cut (v < (D+1)
		// units ≤ the number); N < D-1 is under it (the number is at
		// least a unit below v, far more than rounding moves it).
		return bandCut{lo: digitWord(D - 1), hi: digitWord(D)}
	}
	// Negative numbers: N < D is at or above the cut, N > D+1 under it;
	// complemented, the order turns over.
	return bandCut{lo: ^digitWord(D + 1), hi: ^digitWord(D)}
}

// digitWord returns the big-endian word of the eight digits of n, 0 for n
// below 0 and the largest word for n of more than eight digits.
func digitWord(n int64) uint64 {
	switch {
	case n < 0:
		return 0
	case n >= 1e8:
		return math.MaxUint64
	}
	var b [8]byte
	s := strconv.AppendInt(b[:0], n, 10)
	var w [8]byte
	for i := range w {
		w[i] = '0'
	}
	copy(w[8-len(s):], s)
	return binary.BigEndian.Uint64(w[:])
}

// keyValue inverts numKey.
func keyValue(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// segment returns the segment of the number whose first eight digits are
// x (as shortNumber reads them: the first in the low byte), with p integer
// digits and n digits in all, or -1 if its digits cannot tell.
func (d *decBands) segment(x uint64, p, n int, neg bool) int {
	w := bits.ReverseBytes64(x)
	if w == zeroWord && n <= 8 {
		return d.zero // 0, 0.0, -0.00: exactly zero
	}
	sign := 0
	if neg {
		sign = 1
		w = ^w
	}
	bd := &d.bands[sign][p]
	k := bd.below
	for _, c := range bd.cuts {
		if w > c.hi {
			k++
		} else if w >= c.lo {
			return -1
		}
	}
	return k
}
