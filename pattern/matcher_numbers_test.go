package pattern

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// TestNumberKeys checks the number lexer, its exact keys and its
// approximations against strconv on many numbers.
func TestNumberKeys(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	nums := []string{"0", "-0", "0.0", "-0.0", "1", "-1", "300", "300.0", "3e2", "3E+2", "30000e-2",
		"-122.504078056993180", "37.736216555206525", "1234567890123456789", "12345678901234567890",
		"0.30000000000000004", "100.000000000000000001", "5e-324", "1.7976931348623157e308", "1e400",
		"-1e400", "123456789.12345678", "99999999", "100000000", "0.00000001", "4999999999.99999999"}
	for i := 0; i < 20000; i++ {
		var s string
		switch i % 4 {
		case 0:
			s = strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.Intn(20)-5)), 'f', -1, 64)
		case 1:
			s = fmt.Sprintf("%d.%0*d", r.Intn(1000)-500, 1+r.Intn(18), r.Int63n(1e18))
		case 2:
			s = fmt.Sprint(r.Int63() >> uint(r.Intn(60)))
		default:
			s = fmt.Sprintf("%.*f", r.Intn(20), r.Float64()*float64(r.Intn(1e6)))
		}
		nums = append(nums, s)
	}
	for _, s := range nums {
		var tok numTok
		// Pad so that the eight-byte paths run, and also test unpadded.
		for _, text := range []string{s, s + ",        ", s + "]", s + "}" + strings.Repeat(" ", 24)} {
			end, ok := lexNumber([]byte(text), 0, &tok)
			if !ok || end != len(s) {
				t.Fatalf("lexNumber(%q) = %d, %v", text, end, ok)
			}
			f, _ := strconv.ParseFloat(s, 64)
			want := numKey(f)
			if got := tok.key(); got != want {
				t.Fatalf("key(%q) = %x, want %x (%v)", s, got, want, f)
			}
			if lo, hi, ok := tok.lo, tok.hi, tok.win; ok {
				if lo == hi && want != lo {
					t.Fatalf("window(%q) = %x, want %x", s, lo, want)
				}
				// The slack keeps a margin: most of it is not spent.
				if lo != hi && (want < lo+approxSlack*3/4 || want > hi-approxSlack*3/4) {
					t.Fatalf("window(%q) = [%x, %x] does not hold %x with a margin", s, lo, hi, want)
				}
			}
		}
	}
	for _, bad := range []string{"", "-", "01", "1.", ".5", "1e", "1e+", "--1", "+1", "-a"} {
		var tok numTok
		if end, ok := lexNumber([]byte(bad), 0, &tok); ok && end == len(bad) {
			t.Errorf("lexNumber(%q) accepted", bad)
		}
	}
}

// TestLeadingDigits checks the eight-byte digit test on every byte value
// at every position.
func TestLeadingDigits(t *testing.T) {
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			w := []byte("12345678")
			w[pos] = byte(c)
			want := pos
			if isDigit[c] {
				want = 8
			}
			if got := leadingDigits(binary.LittleEndian.Uint64(w)); got != want {
				t.Fatalf("leadingDigits(%q) = %d, want %d", w, got, want)
			}
		}
	}
}

// TestHighBits checks the gathering of high bits on every byte mask.
func TestHighBits(t *testing.T) {
	for m := 0; m < 256; m++ {
		var w uint64
		for k := 0; k < 8; k++ {
			if m&(1<<k) != 0 {
				w |= 0x80 << (8 * k)
			}
		}
		if got := highBits(w); got != uint32(m) {
			t.Fatalf("highBits(%x) = %x, want %x", w, got, m)
		}
	}
}

// TestParseIP checks the matcher's address reader against netip.ParseAddr.
func TestParseIP(t *testing.T) {
	for _, s := range []string{"10.0.0.1", "10.0.0.256", "010.0.0.1", "0.0.0.0", "255.255.255.255", "1.2.3", "1.2.3.4.5",
		"1..2.3", ".1.2.3", "1.2.3.", "00.1.2.3", "1.2.3.04", "::1", "2001:db8::1", "::ffff:10.0.0.1", "fe80::1%eth0",
		"BEACH", "ABC", "1.2.3.4:80", "", "1", "1234", "a.b.c.d", "::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9"} {
		want, err := netip.ParseAddr(s)
		got, ok := parseIP([]byte(s))
		if strings.Contains(s, "%") {
			if ok {
				t.Errorf("parseIP(%q) accepted a zone", s)
			}
			continue
		}
		if ok != (err == nil) || (ok && got != want) {
			t.Errorf("parseIP(%q) = %v, %v; netip: %v, %v", s, got, ok, want, err)
		}
	}
}

// TestCIDRIndex checks the CIDR trie against netip.Prefix.Contains with many
// blocks at once.
func TestCIDRIndex(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	randAddr := func() netip.Addr {
		if r.Intn(3) == 0 {
			var a [16]byte
			a[0], a[1], a[2] = 0x20, 0x01, byte(r.Intn(4))
			a[15] = byte(r.Intn(256))
			return netip.AddrFrom16(a)
		}
		return netip.AddrFrom4([4]byte{10, byte(r.Intn(4)), byte(r.Intn(256)), byte(r.Intn(256))})
	}
	m := New()
	var prefixes []netip.Prefix
	for i := 0; i < 300; i++ {
		a := randAddr()
		p := netip.PrefixFrom(a, r.Intn(a.BitLen()+1)).Masked()
		prefixes = append(prefixes, p)
		m.addPattern(fmt.Sprint(i), pat(br(fld("ip", cCIDR(p.String())))))
	}
	for i := 0; i < 2000; i++ {
		a := randAddr()
		got, err := m.Match([]byte(`{"ip":"` + a.String() + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, p := range prefixes {
			if p.Contains(a) {
				want++
			}
		}
		if len(got) != want {
			t.Fatalf("%v: %d blocks match, want %d", a, len(got), want)
		}
	}
	for i := 0; i < 300; i += 2 {
		m.Delete(fmt.Sprint(i))
	}
	a := netip.MustParseAddr("10.1.2.3")
	got, _ := m.Match([]byte(`{"ip":"10.1.2.3"}`))
	want := 0
	for i, p := range prefixes {
		if i%2 == 1 && p.Contains(a) {
			want++
		}
	}
	if len(got) != want {
		t.Fatalf("after deletes: %d blocks match, want %d", len(got), want)
	}
}

// TestWildcardIndex checks indexed wildcards against the reference's
// wildcard matcher with many patterns on one field.
func TestWildcardIndex(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	alpha := "ab*"
	word := func(n int, star bool) string {
		b := make([]byte, n)
		for i := range b {
			if star {
				b[i] = alpha[r.Intn(3)]
			} else {
				b[i] = alpha[r.Intn(2)]
			}
		}
		return string(b)
	}
	m := New()
	var wilds []string
	for i := 0; i < 400; i++ {
		w := word(r.Intn(6), true)
		if strings.Contains(w, "**") {
			continue
		}
		m.addPattern(fmt.Sprint(len(wilds)), pat(br(fld("s", cK(kindWildcard, w)))))
		wilds = append(wilds, w)
	}
	for i := 0; i < 3000; i++ {
		v := word(r.Intn(8), false)
		got, err := m.Match([]byte(`{"s":"` + v + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, w := range wilds {
			if refWildcard(w, v) {
				want++
			}
		}
		if len(got) != want {
			t.Fatalf("%q: %d wildcards match, want %d", v, len(got), want)
		}
	}
	for i := range wilds {
		if i%3 != 0 {
			m.Delete(fmt.Sprint(i))
		}
	}
	got, _ := m.Match([]byte(`{"s":"abab"}`))
	want := 0
	for i, w := range wilds {
		if i%3 == 0 && refWildcard(w, "abab") {
			want++
		}
	}
	if len(got) != want {
		t.Fatalf("after deletes: %d match, want %d", len(got), want)
	}
}

// TestDecBands checks that the decimal bands, where they decide, put a
// number in the segment its exact key lies in, on random cut sets and
// numbers drawn near the cuts, near powers of ten and at random.
func TestDecBands(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	bounds := []float64{0, 1, -1, 10, -10, 100, 1e7, 1e8, -1e7, 0.5, -0.5, 37.75, 37.76, 37.8, -122.45, -122.44, -122.5,
		5e-324, -5e-324, 99999999, 9.99999999, 0.1, 0.3, 1234567.5, -1234567.5, 12345678}
	decided, total := 0, 0
	for round := 0; round < 300; round++ {
		var l leaf
		for k := 0; k < 1+r.Intn(6); k++ {
			var v float64
			if r.Intn(2) == 0 {
				v = bounds[r.Intn(len(bounds))]
			} else {
				v, _ = strconv.ParseFloat(strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.Intn(9)-2)), 'f', r.Intn(6), 64), 64)
			}
			if r.Intn(3) == 0 {
				l.addNum(numKey(v), ref{f: int32(k), slot: -1})
				continue
			}
			rg := rangeCond{HasLow: true, Low: v, LowOpen: r.Intn(2) == 0}
			if r.Intn(2) == 0 {
				rg = rangeCond{HasHigh: true, High: v, HighOpen: r.Intn(2) == 0}
			}
			lo, hi := numRange(rg)
			l.ranges = append(l.ranges, rangeRef{r: ref{f: int32(k), slot: -1}, lo: lo, hi: hi})
			l.segmentNumbers()
		}
		g := l.nseg
		if g == nil {
			continue
		}
		for n := 0; n < 300; n++ {
			var s string
			switch n % 4 {
			case 0: // near a cut
				c := keyValue(g.cuts[r.Intn(len(g.cuts))])
				s = strconv.FormatFloat(c, 'f', -1, 64)
				if r.Intn(2) == 0 {
					s = strconv.FormatFloat(math.Nextafter(c, math.Inf(2*r.Intn(2)-1)), 'f', -1, 64)
				}
				if r.Intn(2) == 0 {
					// Just off the cut, by far less than rounding moves a
					// number: the text is on one side, the float on it.
					// (A sixteenth of an ulp, in few enough digits for
					// the fast path's 24 bytes.)
					e := (math.Nextafter(math.Abs(c), math.Inf(1)) - math.Abs(c)) / 16
					decimals := int(math.Ceil(-math.Log10(e))) + 1
					eps := new(big.Float).SetPrec(300).SetFloat64(math.Pow10(-decimals + 1))
					if r.Intn(2) == 0 {
						eps.Neg(eps)
					}
					s = new(big.Float).SetPrec(300).Add(new(big.Float).SetPrec(300).SetFloat64(c), eps).Text('f', decimals)
				}
			case 1:
				s = fmt.Sprintf("%d.%0*d", r.Intn(2000)-1000, 1+r.Intn(17), r.Int63n(1e17))
			case 2:
				s = fmt.Sprint(r.Intn(200000000) - 100000000)
			default:
				s = strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.Intn(12)-3)), 'f', -1, 64)
			}
			text := []byte(s + "," + strings.Repeat(" ", 24))
			j, x, p, nd, neg := shortNumber(text, 0)
			if j < 0 {
				continue
			}
			if j != len(s) {
				t.Fatalf("shortNumber(%q) ends at %d", s, j)
			}
			total++
			k := g.dec.segment(x, p, nd, neg)
			if k < 0 {
				continue
			}
			decided++
			f, _ := strconv.ParseFloat(s, 64)
			if want := g.segment(numKey(f)); k != want {
				t.Fatalf("cuts %v: %s is in segment %d, bands say %d", g.cuts, s, want, k)
			}
		}
	}
	if decided < total/2 {
		t.Errorf("the bands decided %d numbers of %d", decided, total)
	}
}

// FuzzNumber checks the event number lexer on any text: it accepts exactly
// the JSON numbers, ends them where they end, and gives them the key
// strconv does, inside their window; the decimal bands, where they decide,
// agree with the key. Each text is tried alone, padded (the fast path) and
// cut short by the end of the event.
//
// Run it with: go test -run '^$' -fuzz FuzzNumber ./pattern
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-0.0", "37.736216555206525", "-122.504078056993180", "1e3", "12345678", "123456789.5",
		"0.000000001", "01", "1.", "-", "5e-324", "99999999.999999999", "1.7976931348623157e308", "37.7499999999999999"} {
		f.Add(s)
	}
	var l leaf
	for k, v := range []float64{0, 37.75, -122.45, 1e7, 0.5} {
		lo, hi := numRange(rangeCond{HasLow: true, Low: v, LowOpen: k%2 == 0})
		l.ranges = append(l.ranges, rangeRef{r: ref{f: int32(k), slot: -1}, lo: lo, hi: hi})
	}
	l.addNum(numKey(37.736216555206525), ref{f: 9, slot: -1})
	g := l.nseg
	f.Fuzz(func(t *testing.T, s string) {
		valid := json.Valid([]byte(s)) && s != "" && (s[0] == '-' || isDigit[s[0]]) && isDigit[s[len(s)-1]]
		for _, text := range []string{s, s + ",", s + "]" + strings.Repeat(" ", 24)} {
			var tok numTok
			end, ok := lexNumber([]byte(text), 0, &tok)
			whole := ok && end == len(s) && (end == len(text) || !isDigit[text[end]])
			if !valid {
				if ok && end == len(text) {
					t.Fatalf("lexNumber(%q) accepted what is no JSON number", text)
				}
				continue
			}
			if !whole {
				t.Fatalf("lexNumber(%q) = %d, %v; want %d, true", text, end, ok, len(s))
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				t.Fatalf("strconv: %v", err)
			}
			want := numKey(f)
			if got := tok.key(); got != want {
				t.Fatalf("key(%q) = %x, want %x", s, got, want)
			}
			if tok.win && (want < tok.lo || want > tok.hi) {
				t.Fatalf("window(%q) = [%x, %x] misses %x", s, tok.lo, tok.hi, want)
			}
			if j, x, p, n, neg := shortNumber([]byte(text), 0); j >= 0 {
				if j != len(s) {
					t.Fatalf("shortNumber(%q) ends at %d", text, j)
				}
				if k := g.dec.segment(x, p, n, neg); k >= 0 && k != g.segment(want) {
					t.Fatalf("bands put %q in segment %d, its key is in %d", s, k, g.segment(want))
				}
			}
		}
	})
}
