package pattern

import (
	"math"
	"net/netip"
	"slices"
	"unsafe"
)

// A leaf holds the compiled conditions of every pattern field on one path.
// Each condition carries the id of the field it satisfies.
type leaf struct {
	uses int // fields on this path

	strs strTable         // exact strings
	nums map[uint64][]ref // exact numbers (and numeric "="), by numKey
	// numKeys lists the keys of nums in order, so that an approximate
	// event number can tell that no exact number is near it.
	numKeys []uint64
	fold    strTable // equals-ignore-case, by folded text
	nulls   []ref
	trues   []ref
	falses  []ref
	exists  []ref   // exists:true
	negs    []int32 // fields with exists:false: told when a leaf is present

	prefix     trie // prefixes
	prefixFold trie // folded prefixes
	suffix     trie // reversed suffixes
	suffixFold trie // reversed folded suffixes

	// Wildcards are indexed by their literal start (wildPre) or, when they
	// start with '*', by their reversed literal end (wildSuf): a trie walk
	// finds the candidates, which are then matched in full. Only wildcards
	// with '*' at both ends are tried one by one (wild).
	wild    []wildRef
	wildPre trie
	wildSuf trie
	wildOf  map[int32][]wildRef // by field: the wildcards in the tries
	abut    []abutCond
	ranges  []rangeRef
	rseg    *rangeSegs // ranges as segments, when they are few
	// nseg cuts the number line at the bounds of the ranges and around
	// every exact number, when they are few together: one search then
	// decides every numeric condition of the leaf but anything-but.
	nseg  *rangeSegs
	cidrs trie // CIDR blocks as address-byte prefixes (cidrKeys)

	// needFold is the number of conditions that read the folded text.
	needFold int
	// stringy is the number of conditions that look at string values at all.
	stringy int
}

// A ref is what a compiled condition carries: the field it satisfies and,
// when that field alone decides its pattern (a branch of one field without
// exists:false), the pattern's slot, so that a hit adds the pattern's id
// without touching any per-field state.
type ref struct {
	f, slot int32  // slot < 0: the branch needs more than this field
	id      string // the pattern's id, when slot >= 0
}

type wildRef struct {
	r ref
	w wildcard
	s string
}

type rangeRef struct {
	r      ref
	lo, hi uint64 // inclusive, as numKeys
}

// CIDR blocks live in a byte trie of addresses: the key of an address is
// its family (4 or 6) and its bytes; a block is the prefix of the keys of
// its addresses, expanded over the free bits of its last partial byte (a
// /20 is 16 keys of 1+3 bytes). An address then meets every block holding
// it on one walk of 5 or 17 bytes, whatever the number of blocks. Families
// never mix, as with netip.Prefix.Contains.

// cidrKeys returns the trie keys of block p.
func cidrKeys(p netip.Prefix) []string {
	a := p.Masked().Addr()
	fam := byte(6)
	if a.Is4() {
		fam = 4
	}
	b := append([]byte{fam}, a.AsSlice()...)
	n := p.Bits()
	full, rem := 1+n/8, n%8
	if rem == 0 {
		return []string{string(b[:full])}
	}
	var keys []string
	hi := b[full] >> (8 - rem)
	for v := 0; v < 256; v++ {
		if byte(v)>>(8-rem) == hi {
			keys = append(keys, string(append(b[:full:full], byte(v))))
		}
	}
	return keys
}

// addrKey writes the trie key of ip into buf and returns it.
func addrKey(buf *[17]byte, ip netip.Addr) []byte {
	if ip.Is4() {
		a := ip.As4()
		buf[0] = 4
		copy(buf[1:], a[:])
		return buf[:5]
	}
	a := ip.As16()
	buf[0] = 6
	copy(buf[1:], a[:])
	return buf[:17]
}

// An abutCond is one anything-but condition: it holds for every leaf value
// that its exclusions do not catch.
type abutCond struct {
	r     ref
	kind  kind
	strs  []string // strings, folded strings, prefixes or suffixes
	nums  []uint64
	wilds []wildcard
}

func addTo[K comparable](m *map[K][]ref, k K, f ref) {
	if *m == nil {
		*m = map[K][]ref{}
	}
	(*m)[k] = append((*m)[k], f)
}

func removeFrom[K comparable](m map[K][]ref, k K, f ref) {
	refs := m[k]
	removeRef(&refs, f)
	if len(refs) == 0 {
		delete(m, k)
	} else {
		m[k] = refs
	}
}

// rangeSegs cut the number line at every bound of a leaf's ranges (the
// keys where some range starts, or starts no longer holding): within one
// segment the same ranges hold. A window of keys decides the ranges when
// it lies in one segment, found with one binary search.
type rangeSegs struct {
	cuts []uint64 // sorted, distinct: each r.lo > 0 and r.hi+1 ≤ MaxUint64
	refs [][]ref  // by segment: segment k holds keys in [cuts[k-1], cuts[k])
	dec  *decBands
}

// maxSegRanges bounds the ranges of a leaf that segmentRanges indexes:
// building costs ranges × cuts; more ranges are checked one by one.
const maxSegRanges = 64

// segmentRanges rebuilds l.rseg after a change to l.ranges.
func (l *leaf) segmentRanges() {
	if len(l.ranges) == 0 || len(l.ranges) > maxSegRanges {
		l.rseg = nil
		return
	}
	l.rseg = newRangeSegs(l.ranges, nil, nil)
}

// newRangeSegs cuts the number line at the bounds of ranges and around the
// exact numbers keys (of nums): an exact number e becomes the segment
// [e, e+1), which only its own key falls in.
func newRangeSegs(ranges []rangeRef, keys []uint64, nums map[uint64][]ref) *rangeSegs {
	g := &rangeSegs{}
	cut := func(lo, hi uint64) {
		if lo > 0 {
			g.cuts = append(g.cuts, lo)
		}
		if hi < math.MaxUint64 {
			g.cuts = append(g.cuts, hi+1)
		}
	}
	for _, r := range ranges {
		cut(r.lo, r.hi)
	}
	for _, k := range keys {
		cut(k, k)
	}
	slices.Sort(g.cuts)
	g.cuts = slices.Compact(g.cuts)
	g.refs = make([][]ref, len(g.cuts)+1)
	for k := range g.refs {
		at := uint64(0) // the segment's first key
		if k > 0 {
			at = g.cuts[k-1]
		}
		for _, r := range ranges {
			if r.lo <= at && at <= r.hi {
				g.refs[k] = append(g.refs[k], r.r)
			}
		}
		if k == 0 || k == len(g.cuts) || g.cuts[k] == at+1 {
			g.refs[k] = append(g.refs[k], nums[at]...)
		}
	}
	return g
}

// numRange turns a Range into inclusive bounds on numKeys.
func numRange(r rangeCond) (lo, hi uint64) {
	lo, hi = 0, math.MaxUint64
	if r.HasLow {
		lo = numKey(r.Low)
		if r.LowOpen {
			lo++
		}
	}
	if r.HasHigh {
		hi = numKey(r.High)
		if r.HighOpen {
			hi--
		}
	}
	return lo, hi
}

// isPoint reports whether r holds exactly one number.
func isPoint(r rangeCond) bool {
	return r.HasLow && r.HasHigh && !r.LowOpen && !r.HighOpen && numKey(r.Low) == numKey(r.High)
}

// maxNumSegs bounds the exact numbers and ranges of a leaf that
// segmentNumbers indexes together.
const maxNumSegs = 32

// segmentNumbers rebuilds l.nseg after a change to l.nums or l.ranges.
func (l *leaf) segmentNumbers() {
	if len(l.numKeys)+len(l.ranges) == 0 || len(l.numKeys)+len(l.ranges) > maxNumSegs {
		l.nseg = nil
		return
	}
	g := newRangeSegs(l.ranges, l.numKeys, l.nums)
	g.dec = newDecBands(g)
	l.nseg = g
}

// segment returns the index of the segment that holds key k: the number of
// cuts at or below k.
func (g *rangeSegs) segment(k uint64) int {
	i, n := 0, len(g.cuts)
	for n > 0 {
		half := n >> 1
		if g.cuts[i+half] <= k {
			i += half + 1
			n -= half + 1
		} else {
			n = half
		}
	}
	return i
}

func (l *leaf) addNum(k uint64, f ref) {
	if _, ok := l.nums[k]; !ok {
		i, _ := slices.BinarySearch(l.numKeys, k)
		l.numKeys = slices.Insert(l.numKeys, i, k)
	}
	addTo(&l.nums, k, f)
	l.segmentNumbers()
}

func (l *leaf) removeNum(k uint64, f ref) {
	removeFrom(l.nums, k, f)
	if _, ok := l.nums[k]; !ok {
		if i, found := slices.BinarySearch(l.numKeys, k); found {
			l.numKeys = slices.Delete(l.numKeys, i, i+1)
		}
	}
	l.segmentNumbers()
}

func (l *leaf) add(c cond, f ref) {
	switch c.Kind {
	case kindString:
		l.strs.add(c.Str, f)
		l.stringy++
	case kindNumber:
		l.addNum(numKey(c.Num), f)
	case kindNull:
		l.nulls = append(l.nulls, f)
	case kindBool:
		if c.Bool {
			l.trues = append(l.trues, f)
		} else {
			l.falses = append(l.falses, f)
		}
	case kindPrefix:
		l.prefix.add(c.Str, f)
		l.stringy++
	case kindPrefixIgnoreCase:
		l.prefixFold.add(foldString(c.Str), f)
		l.stringy++
		l.needFold++
	case kindSuffix:
		l.suffix.add(reverseString(c.Str), f)
		l.stringy++
	case kindSuffixIgnoreCase:
		l.suffixFold.add(reverseString(foldString(c.Str)), f)
		l.stringy++
		l.needFold++
	case kindEqualsIgnoreCase:
		l.fold.add(foldString(c.Str), f)
		l.stringy++
		l.needFold++
	case kindWildcard:
		w := wildRef{r: f, w: compileWildcard(c.Str), s: c.Str}
		first, last := w.w.pieces[0], w.w.pieces[len(w.w.pieces)-1]
		switch {
		case first != "":
			l.wildPre.add(first, f)
		case last != "":
			l.wildSuf.add(reverseString(last), f)
		default:
			l.wild = append(l.wild, w)
		}
		if first != "" || last != "" {
			if l.wildOf == nil {
				l.wildOf = map[int32][]wildRef{}
			}
			l.wildOf[f.f] = append(l.wildOf[f.f], w)
		}
		l.stringy++
	case kindAnythingBut, kindAnythingButPrefix, kindAnythingButSuffix, kindAnythingButIgnoreCase, kindAnythingButWildcard:
		a := abutCond{r: f, kind: c.Kind}
		switch c.Kind {
		case kindAnythingBut:
			a.strs = c.Strs
			for _, n := range c.Nums {
				a.nums = append(a.nums, numKey(n))
			}
		case kindAnythingButIgnoreCase:
			for _, s := range c.Strs {
				a.strs = append(a.strs, foldString(s))
			}
			l.needFold++
		case kindAnythingButWildcard:
			for _, s := range c.Strs {
				a.wilds = append(a.wilds, compileWildcard(s))
			}
		default:
			a.strs = c.Strs
		}
		l.abut = append(l.abut, a)
		l.stringy++
	case kindNumeric:
		if isPoint(c.Range) {
			l.addNum(numKey(c.Range.Low), f)
			return
		}
		lo, hi := numRange(c.Range)
		l.ranges = append(l.ranges, rangeRef{r: f, lo: lo, hi: hi})
		l.segmentRanges()
		l.segmentNumbers()
	case kindExists:
		if c.Bool {
			l.exists = append(l.exists, f)
		}
	case kindCIDR:
		for _, k := range cidrKeys(c.Prefix) {
			l.cidrs.add(k, f)
		}
		l.stringy++
	}
}

func (l *leaf) remove(c cond, f ref) {
	switch c.Kind {
	case kindString:
		l.strs.remove(c.Str, f)
		l.stringy--
	case kindNumber:
		l.removeNum(numKey(c.Num), f)
	case kindNull:
		removeRef(&l.nulls, f)
	case kindBool:
		if c.Bool {
			removeRef(&l.trues, f)
		} else {
			removeRef(&l.falses, f)
		}
	case kindPrefix:
		l.prefix.remove(c.Str, f)
		l.stringy--
	case kindPrefixIgnoreCase:
		l.prefixFold.remove(foldString(c.Str), f)
		l.stringy--
		l.needFold--
	case kindSuffix:
		l.suffix.remove(reverseString(c.Str), f)
		l.stringy--
	case kindSuffixIgnoreCase:
		l.suffixFold.remove(reverseString(foldString(c.Str)), f)
		l.stringy--
		l.needFold--
	case kindEqualsIgnoreCase:
		l.fold.remove(foldString(c.Str), f)
		l.stringy--
		l.needFold--
	case kindWildcard:
		w := compileWildcard(c.Str)
		first, last := w.pieces[0], w.pieces[len(w.pieces)-1]
		switch {
		case first != "":
			l.wildPre.remove(first, f)
		case last != "":
			l.wildSuf.remove(reverseString(last), f)
		default:
			for i := range l.wild {
				if l.wild[i].r.f == f.f && l.wild[i].s == c.Str {
					l.wild = append(l.wild[:i], l.wild[i+1:]...)
					break
				}
			}
		}
		if first != "" || last != "" {
			ws := l.wildOf[f.f]
			for i := range ws {
				if ws[i].s == c.Str {
					ws = append(ws[:i], ws[i+1:]...)
					break
				}
			}
			if len(ws) == 0 {
				delete(l.wildOf, f.f)
			} else {
				l.wildOf[f.f] = ws
			}
		}
		l.stringy--
	case kindAnythingBut, kindAnythingButPrefix, kindAnythingButSuffix, kindAnythingButIgnoreCase, kindAnythingButWildcard:
		for i := range l.abut {
			if l.abut[i].r.f == f.f && l.abut[i].kind == c.Kind {
				l.abut = append(l.abut[:i], l.abut[i+1:]...)
				break
			}
		}
		if c.Kind == kindAnythingButIgnoreCase {
			l.needFold--
		}
		l.stringy--
	case kindNumeric:
		if isPoint(c.Range) {
			l.removeNum(numKey(c.Range.Low), f)
			return
		}
		lo, hi := numRange(c.Range)
		for i := range l.ranges {
			if r := l.ranges[i]; r.r.f == f.f && r.lo == lo && r.hi == hi {
				l.ranges = append(l.ranges[:i], l.ranges[i+1:]...)
				break
			}
		}
		l.segmentRanges()
		l.segmentNumbers()
	case kindExists:
		if c.Bool {
			removeRef(&l.exists, f)
		}
	case kindCIDR:
		for _, k := range cidrKeys(c.Prefix) {
			l.cidrs.remove(k, f)
		}
		l.stringy--
	}
}

// Evaluation. Each function below gets one leaf value of the event and
// reports to s every field it satisfies.

// onAny handles what every kind of leaf value does: exists:true holds, and
// exists:false fields learn that the leaf is present.
func (s *scratch) onAny(l *leaf) {
	s.hits(l.exists)
	for _, f := range l.negs {
		s.present(f)
	}
}

func (s *scratch) onString(l *leaf, v []byte) {
	s.onAny(l)
	if l.stringy == 0 {
		return
	}
	if l.strs.live > 0 {
		s.hits(l.strs.get(v))
	}
	if l.prefix.size > 0 {
		s.walkTrie(&l.prefix, v, false)
	}
	if l.suffix.size > 0 {
		s.walkTrie(&l.suffix, v, true)
	}
	var folded []byte
	if l.needFold > 0 {
		folded = appendFold(s.fbuf[:0], v)
		s.fbuf = folded
		if l.fold.live > 0 {
			s.hits(l.fold.get(folded))
		}
		if l.prefixFold.size > 0 {
			s.walkTrie(&l.prefixFold, folded, false)
		}
		if l.suffixFold.size > 0 {
			s.walkTrie(&l.suffixFold, folded, true)
		}
	}
	if l.wildPre.size > 0 {
		s.walkWild(l, &l.wildPre, v, false)
	}
	if l.wildSuf.size > 0 {
		s.walkWild(l, &l.wildSuf, v, true)
	}
	for i := range l.wild {
		if l.wild[i].w.match(v) {
			s.hitRef(l.wild[i].r)
		}
	}
	for i := range l.abut {
		if l.abut[i].matchString(v, folded) {
			s.hitRef(l.abut[i].r)
		}
	}
	if l.cidrs.size > 0 {
		if ip, ok := parseIP(v); ok {
			var key [17]byte
			s.walkTrie(&l.cidrs, addrKey(&key, ip), false)
		}
	}
}

func (s *scratch) onNumber(l *leaf, t *numTok) {
	s.onAny(l)
	if g := l.nseg; g != nil {
		s.segNumber(g, t)
		if len(l.abut) == 0 {
			return
		}
	} else if len(l.nums) == 0 && len(l.ranges) == 0 && len(l.abut) == 0 {
		return
	}
	// Settle what the window of the number's leading digits can settle,
	// and compute the exact value (costly for long mantissas, such as the
	// 18 digits of GeoJSON coordinates) only for the rest.
	lo, hi, ok := t.lo, t.hi, t.win
	k, haveKey := lo, ok && lo == hi
	getKey := func() uint64 {
		if !haveKey {
			k, haveKey = t.key(), true
		}
		return k
	}
	if l.nseg == nil {
		if len(l.nums) > 0 && (haveKey || !ok || nearKeys(l.numKeys, lo, hi)) {
			if refs, found := l.nums[getKey()]; found {
				s.hits(refs)
			}
		}
		if len(l.ranges) > 0 && (haveKey || !ok || !s.ranges(l, lo, hi)) {
			s.ranges(l, getKey(), getKey())
		}
	}
	for i := range l.abut {
		ab := &l.abut[i]
		if len(ab.nums) > 0 {
			if !haveKey && ok && !ab.nearKeys(lo, hi) {
				s.hitRef(ab.r) // no excluded number is near: not excluded
				continue
			}
			getKey()
		}
		if ab.matchNumber(k) {
			s.hitRef(ab.r)
		}
	}
}

// segNumber reports the exact numbers and ranges of segments g that the
// number t satisfies. Most numbers are settled by their window of keys
// lying in one segment.
func (s *scratch) segNumber(g *rangeSegs, t *numTok) {
	s.hits(g.refs[g.segmentOf(t)])
}

// segmentOf returns the segment that holds the key of t: from its window
// when that lies in one segment, from its exact key otherwise.
func (g *rangeSegs) segmentOf(t *numTok) int {
	if t.win {
		if k := g.segment(t.lo); k == len(g.cuts) || g.cuts[k] > t.hi {
			return k
		}
	}
	return g.segment(t.key())
}

// ranges checks the ranges of l against a number whose key lies in
// [lo, hi]. If the window straddles a bound it does nothing and reports
// false; otherwise it reports the ranges that hold.
func (s *scratch) ranges(l *leaf, lo, hi uint64) bool {
	if lo > hi {
		return false // the window wrapped around: ask for the exact key
	}
	if g := l.rseg; g != nil {
		// The segment of lo; the window decides if it ends before the
		// next cut.
		k, found := slices.BinarySearch(g.cuts, lo)
		if found {
			k++
		}
		if k < len(g.cuts) && g.cuts[k] <= hi {
			return false
		}
		s.hits(g.refs[k])
		return true
	}
	for _, r := range l.ranges {
		if (lo < r.lo && hi >= r.lo) || (lo <= r.hi && hi > r.hi) {
			return false
		}
	}
	for _, r := range l.ranges {
		if r.lo <= lo && lo <= r.hi {
			s.hitRef(r.r)
		}
	}
	return true
}

// nearKeys reports whether a sorted key list holds a key in [lo, hi].
func nearKeys(keys []uint64, lo, hi uint64) bool {
	if lo > hi {
		return true
	}
	i, _ := slices.BinarySearch(keys, lo)
	return i < len(keys) && keys[i] <= hi
}

// onLiteral handles null (0), false (1) and true (2).
func (s *scratch) onLiteral(l *leaf, lit int) {
	s.onAny(l)
	switch lit {
	case 0:
		s.hits(l.nulls)
	case 1:
		s.hits(l.falses)
	case 2:
		s.hits(l.trues)
	}
	// Every anything-but holds for a value that is neither string nor number.
	for i := range l.abut {
		s.hitRef(l.abut[i].r)
	}
}

// walkWild walks a wildcard index trie along v and matches the wildcards
// of the fields it meets in full.
func (s *scratch) walkWild(l *leaf, t *trie, v []byte, backwards bool) {
	n := int32(0)
	for i := range v {
		c := v[i]
		if backwards {
			c = v[len(v)-1-i]
		}
		if n = t.child(n, c); n == 0 {
			return
		}
		if t.hasRefs(n) {
			for _, r := range t.refsOf(n) {
				for _, w := range l.wildOf[r.f] {
					if w.w.match(v) {
						s.hitRef(r)
						break
					}
				}
			}
		}
	}
}

func (a *abutCond) matchString(v, folded []byte) bool {
	switch a.kind {
	case kindAnythingBut:
		for _, s := range a.strs {
			if string(v) == s {
				return false
			}
		}
	case kindAnythingButIgnoreCase:
		for _, s := range a.strs {
			if string(folded) == s {
				return false
			}
		}
	case kindAnythingButPrefix:
		for _, s := range a.strs {
			if len(v) >= len(s) && string(v[:len(s)]) == s {
				return false
			}
		}
	case kindAnythingButSuffix:
		for _, s := range a.strs {
			if len(v) >= len(s) && string(v[len(v)-len(s):]) == s {
				return false
			}
		}
	case kindAnythingButWildcard:
		for i := range a.wilds {
			if a.wilds[i].match(v) {
				return false
			}
		}
	}
	return true
}

// nearKeys reports whether an excluded number has its key in [lo, hi].
func (a *abutCond) nearKeys(lo, hi uint64) bool {
	if lo > hi {
		return true
	}
	for _, n := range a.nums {
		if lo <= n && n <= hi {
			return true
		}
	}
	return false
}

func (a *abutCond) matchNumber(k uint64) bool {
	for _, n := range a.nums {
		if n == k {
			return false
		}
	}
	return true
}

// parseIP reads an IP address from an event string as netip.ParseAddr
// does (AWS's cidr accepts what it accepts), without allocating for IPv4
// text or for text that is no address. Zones are not addresses a CIDR holds.
func parseIP(v []byte) (netip.Addr, bool) {
	if len(v) < 2 || len(v) > 64 {
		return netip.Addr{}, false
	}
	colon := false
	for _, c := range v {
		if !isIPByte[c] {
			return netip.Addr{}, false
		}
		colon = colon || c == ':'
	}
	if !colon {
		return parseIPv4(v)
	}
	// The string does not outlive the call: without a zone ('%' was
	// rejected above) ParseAddr keeps nothing of it.
	ip, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(v), len(v)))
	return ip, err == nil
}

// parseIPv4 follows netip's rules for dotted quads: four fields of one to
// three digits, at most 255, no leading zeros.
func parseIPv4(v []byte) (netip.Addr, bool) {
	var fields [4]byte
	var val, digits, pos int
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return netip.Addr{}, false
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if i == 0 || i == len(v)-1 || v[i-1] == '.' || pos == 3 {
				return netip.Addr{}, false
			}
			fields[pos] = byte(val)
			pos++
			val, digits = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if pos < 3 {
		return netip.Addr{}, false
	}
	fields[3] = byte(val)
	return netip.AddrFrom4(fields), true
}

var isIPByte = func() (t [256]bool) {
	for _, c := range []byte("0123456789abcdefABCDEF.:") {
		t[c] = true
	}
	return t
}()
