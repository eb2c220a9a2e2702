package pattern

import (
	"fmt"
	"unicode/utf8"
)

// scratch is the per-match state: which fields and branches the event has
// satisfied so far. Its arrays are indexed by field, branch and pattern slot
// and stamped with a generation number, so that a new event starts clean
// without clearing them. Scratches are pooled; matching allocates nothing.
type scratch struct {
	x      *index
	fields []fieldInfo

	gen    uint32
	fstamp []uint32
	fstate []uint8
	bstamp []uint32
	bcount []int32
	pstamp []uint32

	cand []int32 // branches whose needed fields have all been hit

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
	s.fields = x.fields
	if len(s.fstamp) < len(x.fields) {
		s.fstamp = grow(s.fstamp, len(x.fields))
		s.fstate = grow(s.fstate, len(x.fields))
	}
	if len(s.bstamp) < len(x.branches) {
		s.bstamp = grow(s.bstamp, len(x.branches))
		s.bcount = grow(s.bcount, len(x.branches))
	}
	if len(s.pstamp) < len(x.ids) {
		s.pstamp = grow(s.pstamp, len(x.ids))
	}
	s.gen++
	if s.gen == 0 {
		clear(s.fstamp)
		clear(s.bstamp)
		clear(s.pstamp)
		s.gen = 1
	}
	s.cand = s.cand[:0]
	s.arr = s.arr[:0]
	s.nextArr = 0
	s.recs = s.recs[:0]
	s.pos = s.pos[:0]
}

func (s *scratch) state(f int32) *uint8 {
	if s.fstamp[f] != s.gen {
		s.fstamp[f] = s.gen
		s.fstate[f] = 0
	}
	return &s.fstate[f]
}

func (s *scratch) stateOf(f int32) uint8 {
	if s.fstamp[f] != s.gen {
		return 0
	}
	return s.fstate[f]
}

func (s *scratch) hits(refs []int32) {
	for _, f := range refs {
		s.hit(f)
	}
}

// hit records that a condition of field f holds for the current value.
func (s *scratch) hit(f int32) {
	st := s.state(f)
	fi := &s.fields[f]
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
	if s.bstamp[b] != s.gen {
		s.bstamp[b] = s.gen
		s.bcount[b] = 0
	}
	s.bcount[b]++
	if s.bcount[b] == s.x.branches[b].need {
		s.cand = append(s.cand, b)
	}
}

// present records that exists:false field f has a leaf in the event.
func (s *scratch) present(f int32) {
	st := s.state(f)
	*st |= fPresent
	if s.fields[f].mem {
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
	i := skipSpace(ev, 0)
	if i >= len(ev) {
		return dst, fmt.Errorf("pattern: match: %w", errNotObject)
	}
	if ev[i] != '{' {
		if _, err := skipValue(ev, i); err == nil {
			return dst, fmt.Errorf("pattern: match: %w", errNotObject)
		}
		return dst, fmt.Errorf("pattern: match: %w", errSyntax)
	}
	end, err := s.object(ev, i, x.root)
	if err != nil {
		return dst, fmt.Errorf("pattern: match: %w", err)
	}
	if skipSpace(ev, end) != len(ev) {
		return dst, fmt.Errorf("pattern: match: %w", errSyntax)
	}
	for _, b := range s.cand {
		dst = s.finish(b, dst)
	}
	for _, b := range x.always {
		dst = s.finish(b, dst)
	}
	return dst, nil
}

// finish checks the rest of branch b, whose needed fields were all hit, and
// adds its pattern's id to dst if it matches.
func (s *scratch) finish(b int32, dst []string) []string {
	bi := &s.x.branches[b]
	if s.pstamp[bi.slot] == s.gen {
		return dst
	}
	for _, f := range bi.negs {
		if st := s.stateOf(f); st&fPresent != 0 && st&fMatched == 0 {
			return dst
		}
	}
	if bi.mem && !s.consistent(bi) {
		return dst
	}
	s.pstamp[bi.slot] = s.gen
	return append(dst, s.x.ids[bi.slot])
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
		j, fl := scanString(ev, i+1)
		if j < 0 || fl&strControl != 0 {
			return 0, errSyntax
		}
		key := ev[i+1 : j]
		if fl&strEscape != 0 || (fl&strHigh != 0 && !utf8.Valid(key)) {
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
			j := skipString(ev, i+1)
			if j < 0 {
				return 0, errSyntax
			}
			return j + 1, nil
		}
		j, fl := scanString(ev, i+1)
		if j < 0 || fl&strControl != 0 {
			return 0, errSyntax
		}
		v := ev[i+1 : j]
		if fl&strEscape != 0 || (fl&strHigh != 0 && !utf8.Valid(v)) {
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
	for {
		var err error
		if i, err = s.value(ev, i, n); err != nil {
			return 0, err
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
