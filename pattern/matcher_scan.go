package pattern

import (
	"fmt"
	"unicode/utf8"

	"github.com/conveyor/conveyor/internal/jsonscan"
)

// scratch is the per-match state: which fields and branches the event has
// satisfied so far. Its arrays are indexed by field, branch and pattern slot
// and stamped with a generation number, so that a new event starts clean
// without clearing them. Scratches are pooled; matching allocates nothing.
type scratch struct {
	x    *index
	fhot []fieldHot
	need []int32
	ids  []string
	dst  []string // the ids matched so far

	gen    uint32
	fstate []fieldState // by field
	bstate []branchState
	pstamp []uint32 // by pattern slot: gen when its id was added

	cand  []int32 // branches whose needed fields have all been hit
	slots []int32 // the pattern slots matched, while fewer than fewMatches
	seen  uint64  // bit slot%64 of each slot in slots

	// Array positions: arr is the stack of arrays enclosing the current
	// value; hits records, for fields that may share arrays with others,
	// the positions at which they were hit.
	arr     []arrPos
	nextArr int32
	recs    []hitRec
	pos     []arrPos

	buf  []byte // decoded strings
	kbuf []byte // decoded keys
	fbuf []byte // folded strings
	cons []consField
	num  numTok
}

type fieldState struct {
	gen uint32
	st  uint8
}

type branchState struct {
	gen   uint32
	count int32
}

type arrPos struct {
	id, idx int32
}

type hitRec struct {
	f        int32
	presence bool // the leaf was present (for exists:false), not a hit
	off, n   int32
}

// Field states.
const (
	fMatched  uint8 = 1 << iota // some condition held
	fPresent                    // a leaf was present (exists:false fields)
	fFree                       // a hit outside any array
	fArr                        // a hit inside arrays, recorded in recs
	fFreePres                   // a presence outside any array
	fArrPres                    // a presence inside arrays, recorded
)

func grow[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

func (s *scratch) reset(x *index) {
	s.x = x
	s.fhot = x.fhot
	s.need = x.need
	s.ids = x.ids
	s.fstate = grow(s.fstate, len(x.fields))
	s.bstate = grow(s.bstate, len(x.branches))
	s.pstamp = grow(s.pstamp, len(x.ids))
	s.gen++
	if s.gen == 0 {
		clear(s.fstate)
		clear(s.bstate)
		clear(s.pstamp)
		s.gen = 1
	}
	s.cand = s.cand[:0]
	s.slots = s.slots[:0]
	s.seen = 0
	s.arr = s.arr[:0]
	s.nextArr = 0
	s.recs = s.recs[:0]
	s.pos = s.pos[:0]
}

func (s *scratch) state(f int32) *uint8 {
	fs := &s.fstate[f]
	if fs.gen != s.gen {
		fs.gen = s.gen
		fs.st = 0
	}
	return &fs.st
}

func (s *scratch) stateOf(f int32) uint8 {
	if fs := &s.fstate[f]; fs.gen == s.gen {
		return fs.st
	}
	return 0
}

func (s *scratch) hits(refs []ref) {
	for _, r := range refs {
		s.hitRef(r)
	}
}

// hitRef records that a condition holds for the current value.
func (s *scratch) hitRef(r ref) {
	if r.slot >= 0 {
		s.addID(r.slot, r.id)
		return
	}
	s.hit(r.f)
}

// addID adds the id of pattern slot to the result, once. While the matches
// are few, a scan of the short list of their slots tells duplicates, which
// keeps the per-pattern stamps (a cache miss each) out of the common case.
func (s *scratch) addID(slot int32, id string) {
	if len(s.slots) < fewMatches {
		// seen has bit slot%64 set for each slot in the list: a clear bit
		// spares the scan.
		bit := uint64(1) << (uint32(slot) & 63)
		if s.seen&bit != 0 {
			for _, x := range s.slots {
				if x == slot {
					return
				}
			}
		}
		s.seen |= bit
		s.slots = append(s.slots, slot)
		s.dst = append(s.dst, id)
		if len(s.slots) == fewMatches {
			for _, x := range s.slots {
				s.pstamp[x] = s.gen
			}
		}
		return
	}
	if s.pstamp[slot] != s.gen {
		s.pstamp[slot] = s.gen
		s.dst = append(s.dst, id)
	}
}

const fewMatches = 16

// added reports whether the id of pattern slot is in the result.
func (s *scratch) added(slot int32) bool {
	if len(s.slots) < fewMatches {
		if s.seen&(uint64(1)<<(uint32(slot)&63)) == 0 {
			return false
		}
		for _, x := range s.slots {
			if x == slot {
				return true
			}
		}
		return false
	}
	return s.pstamp[slot] == s.gen
}

// hit records that a condition of field f holds for the current value.
func (s *scratch) hit(f int32) {
	st := s.state(f)
	fi := &s.fhot[f]
	if fi.mem {
		if len(s.arr) > 0 {
			s.record(f, false)
			*st |= fArr
		} else {
			*st |= fFree
		}
	}
	if *st&fMatched != 0 {
		return
	}
	*st |= fMatched
	if fi.neg {
		return
	}
	b := fi.branch
	bs := &s.bstate[b]
	if bs.gen != s.gen {
		bs.gen = s.gen
		bs.count = 0
	}
	bs.count++
	if bs.count == s.need[b] {
		s.cand = append(s.cand, b)
	}
}

// present records that exists:false field f has a leaf in the event.
func (s *scratch) present(f int32) {
	st := s.state(f)
	*st |= fPresent
	if s.fhot[f].mem {
		if len(s.arr) > 0 {
			s.record(f, true)
			*st |= fArrPres
		} else {
			*st |= fFreePres
		}
	}
}

func (s *scratch) record(f int32, presence bool) {
	s.recs = append(s.recs, hitRec{f: f, presence: presence, off: int32(len(s.pos)), n: int32(len(s.arr))})
	s.pos = append(s.pos, s.arr...)
}

func (s *scratch) match(x *index, dst []string, ev []byte) ([]string, error) {
	s.reset(x)
	n := len(dst)
	s.dst = dst
	err := s.walk(ev)
	dst = s.dst
	s.dst = nil
	if err != nil {
		return dst[:n], fmt.Errorf("pattern: match: %w", err)
	}
	return dst, nil
}

func (s *scratch) walk(ev []byte) error {
	i := skipSpace(ev, 0)
	if i >= len(ev) {
		return errNotObject
	}
	if ev[i] != '{' {
		if j, err := skipValue(ev, i); err == nil && skipSpace(ev, j) == len(ev) {
			return errNotObject
		}
		return errSyntax
	}
	end, err := s.object(ev, i, s.x.root)
	if err != nil {
		return err
	}
	if skipSpace(ev, end) != len(ev) {
		return errSyntax
	}
	for _, b := range s.cand {
		s.finish(b)
	}
	for _, b := range s.x.always {
		s.finish(b)
	}
	return nil
}

// finish checks the rest of branch b, whose needed fields were all hit, and
// adds its pattern's id if it matches.
func (s *scratch) finish(b int32) {
	bi := &s.x.branches[b]
	if s.added(bi.slot) {
		return
	}
	for _, f := range bi.negs {
		if st := s.stateOf(f); st&fPresent != 0 && st&fMatched == 0 {
			return
		}
	}
	if bi.mem && !s.consistent(bi) {
		return
	}
	s.addID(bi.slot, s.ids[bi.slot])
}

// object walks the object at ev[i] ('{') whose path is n.
func (s *scratch) object(ev []byte, i int, n *pathNode) (int, error) {
	i = skipSpace(ev, i+1)
	if i < len(ev) && ev[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(ev) || ev[i] != '"' {
			return 0, errSyntax
		}
		j, fl := jsonscan.String(ev, i+1)
		if j < 0 || fl&jsonscan.Control != 0 {
			return 0, errSyntax
		}
		key := ev[i+1 : j]
		if fl&jsonscan.Escape != 0 || (fl&jsonscan.High != 0 && !utf8.Valid(key)) {
			var ok bool
			if s.kbuf, ok = decodeString(s.kbuf[:0], key); !ok {
				return 0, errSyntax
			}
			key = s.kbuf
		}
		child := n.child(key)
		i = j + 1
		for i < len(ev) && isSpace[ev[i]] {
			i++
		}
		if i >= len(ev) || ev[i] != ':' {
			return 0, errSyntax
		}
		i++
		for i < len(ev) && isSpace[ev[i]] {
			i++
		}
		var err error
		if child == nil {
			i, err = skipValue(ev, i)
		} else {
			i, err = s.value(ev, i, child)
		}
		if err != nil {
			return 0, err
		}
		for i < len(ev) && isSpace[ev[i]] {
			i++
		}
		if i >= len(ev) {
			return 0, errSyntax
		}
		if ev[i] == ',' {
			i = skipSpace(ev, i+1)
			continue
		}
		if ev[i] == '}' {
			return i + 1, nil
		}
		return 0, errSyntax
	}
}

// value handles the value at ev[i] whose path is n.
func (s *scratch) value(ev []byte, i int, n *pathNode) (int, error) {
	if i >= len(ev) {
		return 0, errSyntax
	}
	switch c := ev[i]; c {
	case '{':
		if len(n.children) > 0 {
			return s.object(ev, i, n)
		}
		return skipContainer(ev, i)
	case '[':
		return s.array(ev, i, n)
	case '"':
		if n.leaf == nil {
			j := jsonscan.Skip(ev, i+1)
			if j < 0 {
				return 0, errSyntax
			}
			return j + 1, nil
		}
		j, fl := jsonscan.String(ev, i+1)
		if j < 0 || fl&jsonscan.Control != 0 {
			return 0, errSyntax
		}
		v := ev[i+1 : j]
		if fl&jsonscan.Escape != 0 || (fl&jsonscan.High != 0 && !utf8.Valid(v)) {
			var ok bool
			if s.buf, ok = decodeString(s.buf[:0], v); !ok {
				return 0, errSyntax
			}
			v = s.buf
		}
		s.onString(n.leaf, v)
		return j + 1, nil
	case 't', 'f', 'n':
		lit, word := 2, "true"
		if c == 'f' {
			lit, word = 1, "false"
		} else if c == 'n' {
			lit, word = 0, "null"
		}
		j, err := skipLiteral(ev, i, word)
		if err != nil {
			return 0, err
		}
		if n.leaf != nil {
			s.onLiteral(n.leaf, lit)
		}
		return j, nil
	default:
		if n.leaf == nil {
			_, j, ok := scanNumber(ev, i)
			if !ok {
				return 0, errSyntax
			}
			return j, nil
		}
		j, ok := lexNumber(ev, i, &s.num)
		if !ok {
			return 0, errSyntax
		}
		s.onNumber(n.leaf, &s.num)
		return j, nil
	}
}

// array walks the array at ev[i] ('['): each element is a value of path n.
func (s *scratch) array(ev []byte, i int, n *pathNode) (int, error) {
	i = skipSpace(ev, i+1)
	if i < len(ev) && ev[i] == ']' {
		return i + 1, nil
	}
	s.arr = append(s.arr, arrPos{id: s.nextArr})
	s.nextArr++
	top := len(s.arr) - 1
	// Arrays of numbers (GeoJSON coordinates, say) on a leaf whose only
	// conditions are exact numbers and ranges take a short path.
	var g *rangeSegs
	if l := n.leaf; l != nil && len(l.exists) == 0 && len(l.negs) == 0 && len(l.abut) == 0 {
		g = l.nseg
	}
	for {
		if g != nil && i < len(ev) && (ev[i] == '-' || isDigit[ev[i]]) {
			// The decimal bands settle most numbers from their digits.
			j, x, p, nd, neg := shortNumber(ev, i)
			k := -1
			if j >= 0 {
				k = g.dec.segment(x, p, nd, neg)
			}
			if k < 0 {
				t := &s.num
				var ok bool
				if j, ok = lexNumber(ev, i, t); !ok {
					return 0, errSyntax
				}
				k = g.segmentOf(t)
			}
			i = j
			if refs := g.refs[k]; len(refs) > 0 {
				s.hits(refs)
			}
		} else {
			var err error
			if i < len(ev) && ev[i] == '[' {
				i, err = s.array(ev, i, n) // nested arrays (of numbers, often)
			} else {
				i, err = s.value(ev, i, n)
			}
			if err != nil {
				return 0, err
			}
		}
		if i < len(ev) && ev[i] == ',' && i+1 < len(ev) && !isSpace[ev[i+1]] {
			s.arr[top].idx++
			i++
			continue
		}
		i = skipSpace(ev, i)
		if i >= len(ev) {
			return 0, errSyntax
		}
		if ev[i] == ',' {
			s.arr[top].idx++
			i = skipSpace(ev, i+1)
			continue
		}
		if ev[i] == ']' {
			s.arr = s.arr[:top]
			return i + 1, nil
		}
		return 0, errSyntax
	}
}

// Array consistency. A branch's fields that reach into the same array of
// objects must be satisfied within one element of it. consistent looks for
// one hit per field such that, for every array two chosen hits both sit in,
// they sit in the same element.

type consField struct {
	f    int32
	recs []hitRec
}

func (s *scratch) consistent(bi *branchInfo) bool {
	cs := s.cons[:0]
	for _, f := range bi.fields {
		st := s.stateOf(f)
		if st&fArr == 0 || st&fFree != 0 {
			continue // no hit, or a hit outside arrays: consistent with anything
		}
		cs = append(cs, consField{f: f})
	}
	s.cons = cs
	if len(cs) < 2 {
		return true
	}
	for _, r := range s.recs {
		if r.presence {
			continue
		}
		for k := range cs {
			if cs[k].f == r.f {
				cs[k].recs = append(cs[k].recs, r)
			}
		}
	}
	chosen := make([]hitRec, len(cs))
	return s.search(cs, chosen, 0)
}

func (s *scratch) search(cs []consField, chosen []hitRec, k int) bool {
	if k == len(cs) {
		return true
	}
next:
	for _, r := range cs[k].recs {
		for _, c := range chosen[:k] {
			if !s.agree(r, c) {
				continue next
			}
		}
		chosen[k] = r
		if s.search(cs, chosen, k+1) {
			return true
		}
	}
	return false
}

// agree reports whether two hits are in the same element of every array
// that holds them both. Positions run from the outermost array inwards, so
// the arrays they share come first.
func (s *scratch) agree(a, b hitRec) bool {
	pa := s.pos[a.off : a.off+a.n]
	pb := s.pos[b.off : b.off+b.n]
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i].id != pb[i].id {
			return true
		}
		if pa[i].idx != pb[i].idx {
			return false
		}
	}
	return true
}
