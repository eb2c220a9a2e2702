package pattern

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Wildcard complexity. EventBridge refuses a rule whose wildcards would make
// its matcher keep too many partial matches alive at once ("Rule is too
// complex - try using fewer wildcard characters or fewer repeating character
// sequences after a wildcard character"). AWS's engine scores each field's
// value automaton: the most (pattern, prefix) pairs that one input string can
// keep alive together. For the wildcard values on one field that is
//
//	max over non-empty strings x of
//	  Σ over the distinct values P (each wrapped in the JSON quotes '"')
//	    #{k ≥ 1 : the first k tokens of P match all of x}
//
// where a token is a byte or a '*' (which matches any run of bytes, none
// included). A rule's score is its highest field score, fields being
// grouped as the engine's automata are: the values of one field under the
// same conditions on the fields sorted before it (so $or branches that agree
// up to a field share that field's automaton). A rule scoring more than
// maxWildcardComplexity is refused.
//
// An anything-but wildcard's values are one pattern to the engine: its
// prefixes count once each, however many of its values share them, and its
// values' complete matches count once together (the engine gives the whole
// set one match, so an input that ends several of its values at once keeps
// that match alive once). Four "*token*" values score 12 as wildcards but 7
// as one anything-but set.
//
// Examples (values as written in the pattern): "*a*a*a*a*" scores 9 and is
// taken, "*a*a*a*a*a*" scores 11 and is refused; three "*token*" values on
// one field score 9, four score 12; ten "c*" values score 10, eleven 11;
// "*.png" and "Simple*Service" score 2.

// maxWildcardComplexity is the highest score EventBridge takes.
const maxWildcardComplexity = 10

// reasonWildcardTooComplex is AWS's reason for a rule past maxWildcardComplexity.
const reasonWildcardTooComplex = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character"

// maxComplexityStates bounds the search of one field's scores: a search that
// visits more states than this without reaching the limit is judged too
// complex (it has never happened with the patterns AWS takes).
const maxComplexityStates = 200_000

// wildStar is the '*' token of a parsed wildcard value; other tokens are bytes.
const wildStar = -1

// checkComplexity refuses p when its wildcards are too complex.
func checkComplexity(p *patternTree) error {
	if complexity(p, maxWildcardComplexity+1) > maxWildcardComplexity {
		return invalid(reasonWildcardTooComplex)
	}
	return nil
}

// complexity is p's wildcard score, or limit if it is limit or more.
func complexity(p *patternTree, limit int) int {
	if !hasWildcard(p) {
		return 0 // most patterns: no automaton keys to build
	}
	groups := map[string]*complexityGroup{}
	var order []string
	for _, b := range p.Branches {
		var key strings.Builder
		for _, f := range b {
			g := (*complexityGroup)(nil)
			k := key.String() + "\x00" + strings.Join(f.Path, "\x01")
			for _, c := range f.Conds {
				switch c.Kind {
				case kindWildcard:
					g = group(groups, &order, k, g)
					g.add([]string{c.Str})
				case kindAnythingButWildcard:
					g = group(groups, &order, k, g)
					g.add(c.Strs)
				}
			}
			// The fields after this one live in the automata its
			// conditions lead to.
			fmt.Fprintf(&key, "%s\x02%v\x03", strings.Join(f.Path, "\x01"), f.Conds)
		}
	}
	best := 0
	for _, k := range order {
		if best = max(best, groups[k].score(limit)); best >= limit {
			return limit
		}
	}
	return best
}

// hasWildcard says whether p has a wildcard or anything-but wildcard value.
func hasWildcard(p *patternTree) bool {
	for _, b := range p.Branches {
		for _, f := range b {
			for _, c := range f.Conds {
				if c.Kind == kindWildcard || c.Kind == kindAnythingButWildcard {
					return true
				}
			}
		}
	}
	return false
}

func group(groups map[string]*complexityGroup, order *[]string, k string, g *complexityGroup) *complexityGroup {
	if g != nil {
		return g
	}
	if g = groups[k]; g == nil {
		g = &complexityGroup{seen: map[string]bool{}}
		groups[k] = g
		*order = append(*order, k)
	}
	return g
}

// A complexityGroup is the wildcard patterns of one field automaton: each
// pattern one or more values (several for an anything-but set).
type complexityGroup struct {
	pats [][][]int16 // pattern → its values → tokens
	seen map[string]bool
}

// add adds a pattern made of values (as written, with "\*" and "\\"
// escapes); a pattern already there is not added again.
func (g *complexityGroup) add(values []string) {
	vs := slices.Clone(values)
	slices.Sort(vs)
	vs = slices.Compact(vs)
	k := strings.Join(vs, "\x00")
	if g.seen[k] {
		return
	}
	g.seen[k] = true
	toks := make([][]int16, len(vs))
	for i, v := range vs {
		toks[i] = wildcardTokens(v)
	}
	g.pats = append(g.pats, toks)
}

// wildcardTokens is value as the engine sees it: its bytes between JSON
// quotes, '*' a wildcard, "\*" and "\\" the literal characters.
func wildcardTokens(v string) []int16 {
	t := []int16{'"'}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '*':
			t = append(t, wildStar)
		case c == '\\' && i+1 < len(v):
			i++
			t = append(t, int16(v[i]))
		default:
			t = append(t, int16(c))
		}
	}
	return append(t, '"')
}

// score returns the group's score, or limit as soon as it reaches limit.
//
// The search runs over the sets of live prefixes: for each value, which of
// its prefix lengths match the input read so far. Bytes that no value names
// behave alike, so the alphabet is the named bytes and one other.
func (g *complexityGroup) score(limit int) int {
	var vals [][]int16 // every value of every pattern, in order
	var owner []int    // the pattern of each value
	alpha := map[int16]bool{}
	for pi, p := range g.pats {
		for _, v := range p {
			vals = append(vals, v)
			owner = append(owner, pi)
			for _, t := range v {
				if t != wildStar {
					alpha[t] = true
				}
			}
		}
	}
	if len(vals) == 0 {
		return 0
	}
	letters := make([]int16, 0, len(alpha)+1)
	for t := range alpha {
		letters = append(letters, t)
	}
	slices.Sort(letters)
	letters = append(letters, 256) // a byte no value names

	// A state: for each value, the matching prefix lengths (bit k: the
	// first k tokens match the input).
	type state [][]uint64
	start := make(state, len(vals))
	for i, v := range vals {
		start[i] = closure(v, setBit(make([]uint64, len(v)/64+1), 0))
	}
	var kb []byte
	key := func(s state) string {
		kb = kb[:0]
		for _, words := range s {
			for _, w := range words {
				kb = binary.LittleEndian.AppendUint64(kb, w)
			}
		}
		return string(kb)
	}
	seen := map[string]bool{key(start): true}
	queue := []state{start}
	best := 0
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range letters {
			next := make(state, len(vals))
			alive := false
			for i, v := range vals {
				next[i] = step(v, cur[i], c)
				alive = alive || anyBit(next[i])
			}
			if !alive {
				continue
			}
			k := key(next)
			if seen[k] {
				continue
			}
			seen[k] = true
			if len(seen) > maxComplexityStates {
				return limit
			}
			if s := liveCount(g.pats, vals, owner, next); s > best {
				best = s
				if best >= limit {
					return limit
				}
			}
			queue = append(queue, next)
		}
	}
	return best
}

// step is the prefix lengths of v that match the input read so far followed
// by byte c (256 for a byte no value names), given those (cur) that matched
// the input before it.
func step(v []int16, cur []uint64, c int16) []uint64 {
	next := make([]uint64, len(cur))
	for wi, w := range cur {
		for ; w != 0; w &= w - 1 {
			k := wi*64 + bits.TrailingZeros64(w)
			if k >= 1 && v[k-1] == wildStar { // the star takes c too
				setBit(next, k)
			}
			if k < len(v) && v[k] == c {
				setBit(next, k+1)
			}
		}
	}
	return closure(v, next)
}

// closure adds to bits the prefixes that end in a star matching nothing.
func closure(v []int16, b []uint64) []uint64 {
	for wi := range b {
		for w := b[wi]; w != 0; w &= w - 1 {
			for k := wi*64 + bits.TrailingZeros64(w); k < len(v) && v[k] == wildStar && !hasBit(b, k+1); k++ {
				setBit(b, k+1)
			}
		}
	}
	return b
}

// liveCount scores a state: the live prefixes (k ≥ 1) of each pattern, a
// prefix shared by several values of one anything-but pattern counted once
// and the complete values of one such pattern (its one match) counted once
// together.
func liveCount(pats [][][]int16, vals [][]int16, owner []int, s [][]uint64) int {
	n := 0
	for pi, p := range pats {
		if len(p) == 1 {
			for i := range vals {
				if owner[i] == pi {
					n += countBits(s[i]) - boolInt(hasBit(s[i], 0))
				}
			}
			continue
		}
		prefixes := map[string]bool{}
		matched := false
		for i, v := range vals {
			if owner[i] != pi {
				continue
			}
			for k := 1; k < len(v); k++ {
				if hasBit(s[i], k) {
					prefixes[fmt.Sprint(v[:k])] = true
				}
			}
			matched = matched || hasBit(s[i], len(v))
		}
		n += len(prefixes) + boolInt(matched)
	}
	return n
}

func setBit(b []uint64, k int) []uint64 { b[k/64] |= 1 << (k % 64); return b }
func hasBit(b []uint64, k int) bool     { return b[k/64]&(1<<(k%64)) != 0 }

func anyBit(b []uint64) bool {
	for _, w := range b {
		if w != 0 {
			return true
		}
	}
	return false
}

func countBits(b []uint64) int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
