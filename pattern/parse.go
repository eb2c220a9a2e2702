package pattern

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxBranches is the most branches a pattern may expand to once its $or
// alternatives are multiplied out; beyond it Parse rejects the pattern as too
// complex.
const MaxBranches = 1000

// reasonTooComplex is the reason given for a pattern past MaxBranches.
const reasonTooComplex = "Rule is too complex"

// numericLimit bounds the operands of numeric and the numbers of
// anything-but: AWS matches numbers between -5.0e9 and +5.0e9 inclusive.
const numericLimit = 5e9

// parse parses and validates an event pattern given as JSON text and returns
// it in normal form (see Pattern). An invalid pattern gives an
// *InvalidPatternError carrying AWS's reason; a pattern longer than the limit
// (WithMaxLength, default DefaultMaxLength) gives a *PatternTooLongError.
func parse(data []byte, opts ...Option) (*patternTree, error) {
	o := newOptions(opts...)
	if o.MaxLength > 0 && len(data) > o.MaxLength {
		if n := charCount(data); n > o.MaxLength {
			return nil, &PatternTooLongError{Length: n, Max: o.MaxLength}
		}
	}
	p := parser{s: scanner{data: data}}
	t, err := p.s.next()
	if err != nil {
		return nil, err
	}
	if t.kind != tokObject {
		if err := p.s.skip(t); err != nil {
			return nil, err
		}
		return nil, invalid("Filter is not an object")
	}
	branches, err := p.object(nil)
	if err != nil {
		return nil, err
	}
	if err := p.s.end(); err != nil {
		return nil, err
	}
	pat := &patternTree{Branches: make([]branch, len(branches))}
	for i, b := range branches {
		slices.SortStableFunc(b, func(x, y field) int { return slices.Compare(x.Path, y.Path) })
		for j := 1; j < len(b); j++ {
			if slices.Equal(b[j-1].Path, b[j].Path) {
				return nil, invalidf("Duplicate field '%s'", strings.Join(b[j].Path, "."))
			}
		}
		pat.Branches[i] = branch(b)
	}
	if err := checkComplexity(pat); err != nil {
		return nil, err
	}
	return pat, nil
}

// charCount counts characters as Java (and so AWS) does: UTF-16 code units.
func charCount(data []byte) int {
	n := 0
	for i := 0; i < len(data); {
		if data[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

type parser struct {
	s scanner
}

// object parses the members of an object whose '{' was read, at path prefix,
// and returns its branches: the disjunctive normal form of its $or members.
func (p *parser) object(prefix []string) ([][]field, error) {
	branches := [][]field{nil}
	var keys keySet
	for first := true; ; first = false {
		key, done, err := p.s.objectNext(first)
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
		if !keys.add(key) {
			return nil, invalidf("Duplicate field '%s'", key)
		}
		if key == "$or" {
			alts, err := p.or(prefix)
			if err != nil {
				return nil, err
			}
			if branches, err = cross(branches, alts); err != nil {
				return nil, err
			}
			continue
		}
		var path []string
		if strings.IndexByte(key, '.') < 0 {
			path = append(prefix[:len(prefix):len(prefix)], key)
		} else {
			path = append(prefix[:len(prefix):len(prefix)], strings.Split(key, ".")...)
		}
		t, err := p.s.next()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tokObject:
			sub, err := p.object(path)
			if err != nil {
				return nil, err
			}
			if branches, err = cross(branches, sub); err != nil {
				return nil, err
			}
		case tokArray:
			conds, err := p.values()
			if err != nil {
				return nil, err
			}
			f := field{Path: path, Conds: conds}
			for i := range branches {
				branches[i] = append(branches[i], f)
			}
		default:
			return nil, invalid(`"` + key + `" must be an object or an array`)
		}
	}
	if keys.n == 0 {
		return nil, invalid("Empty objects are not allowed")
	}
	return branches, nil
}

// A keySet holds the keys of one object, to reject a duplicate. Objects are
// small: a slice until they are not.
type keySet struct {
	n     int
	small []string
	large map[string]struct{}
}

// add adds key and reports whether it was new.
func (k *keySet) add(key string) bool {
	if k.large == nil {
		if slices.Contains(k.small, key) {
			return false
		}
		k.n++
		if len(k.small) < 16 {
			k.small = append(k.small, key)
			return true
		}
		k.large = make(map[string]struct{}, 32)
		for _, s := range k.small {
			k.large[s] = struct{}{}
		}
		k.large[key] = struct{}{}
		return true
	}
	if _, ok := k.large[key]; ok {
		return false
	}
	k.large[key] = struct{}{}
	k.n++
	return true
}

// cross returns every union of one branch of a with one branch of b. Each
// result has its own backing array, so later appends do not alias.
func cross(a, b [][]field) ([][]field, error) {
	if len(a) == 1 && len(b) == 1 {
		// No $or on either side: the common case, without copies.
		a[0] = append(a[0], b[0]...)
		return a, nil
	}
	if len(a)*len(b) > MaxBranches {
		return nil, invalid(reasonTooComplex)
	}
	out := make([][]field, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			f := make([]field, 0, len(x)+len(y))
			out = append(out, append(append(f, x...), y...))
		}
	}
	return out, nil
}

// or parses the value of a "$or" member: an array of at least two objects,
// each a pattern at the same path. Its branches are the union of theirs.
func (p *parser) or(prefix []string) ([][]field, error) {
	t, err := p.s.next()
	if err != nil {
		return nil, err
	}
	if t.kind != tokArray {
		return nil, invalid("It must be an Array followed with $or.")
	}
	var alts [][]field
	n := 0
	for first := true; ; first = false {
		done, err := p.s.arrayNext(first)
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
		t, err := p.s.next()
		if err != nil {
			return nil, err
		}
		if t.kind != tokObject {
			return nil, invalid("Only JSON object is allowed in array of $or relationship.")
		}
		sub, err := p.object(prefix)
		if err != nil {
			return nil, err
		}
		n++
		if len(alts)+len(sub) > MaxBranches {
			return nil, invalid(reasonTooComplex)
		}
		alts = append(alts, sub...)
	}
	if n < 2 {
		return nil, invalid("There must have at least 2 Objects in $or relationship.")
	}
	return alts, nil
}

// values parses a value list (its '[' read): the conditions of one field.
func (p *parser) values() ([]cond, error) {
	var conds []cond
	for first := true; ; first = false {
		done, err := p.s.arrayNext(first)
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
		t, err := p.s.next()
		if err != nil {
			return nil, err
		}
		var c cond
		switch t.kind {
		case tokString:
			c = cond{Kind: kindString, Str: t.str}
		case tokNumber:
			c = cond{Kind: kindNumber, Num: t.num}
		case tokNull:
			c = cond{Kind: kindNull}
		case tokTrue, tokFalse:
			c = cond{Kind: kindBool, Bool: t.kind == tokTrue}
		case tokObject:
			if c, err = p.matchExpr(); err != nil {
				return nil, err
			}
		default:
			return nil, invalid("Match value must be String, number, true, false, or null")
		}
		conds = append(conds, c)
	}
	if len(conds) == 0 {
		return nil, invalid("Empty arrays are not allowed")
	}
	return conds, nil
}

// matchExpr parses an operator object such as {"prefix": "a"} (its '{'
// read).
func (p *parser) matchExpr() (cond, error) {
	name, done, err := p.s.objectNext(true)
	if err != nil {
		return cond{}, err
	}
	if done {
		return cond{}, invalid("Match expression name not found")
	}
	switch name {
	case "prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr":
	default:
		return cond{}, invalidf("Unrecognized match type %s", name)
	}
	t, err := p.s.next()
	if err != nil {
		return cond{}, err
	}
	var c cond
	switch name {
	case "prefix", "suffix":
		c, err = p.prefixSuffix(name, t)
	case "equals-ignore-case":
		if t.kind != tokString {
			return cond{}, invalid("equals-ignore-case match pattern must be a string")
		}
		c = cond{Kind: kindEqualsIgnoreCase, Str: t.str}
	case "wildcard":
		if t.kind != tokString {
			return cond{}, invalid("wildcard match pattern must be a string")
		}
		err = checkWildcard(t.str)
		c = cond{Kind: kindWildcard, Str: t.str}
	case "anything-but":
		c, err = p.anythingBut(t)
	case "numeric":
		if t.kind != tokArray {
			return cond{}, invalid("Value of numeric must be an array.")
		}
		c, err = p.numeric()
	case "exists":
		if t.kind != tokTrue && t.kind != tokFalse {
			return cond{}, invalid("exists match pattern must be either true or false.")
		}
		c = cond{Kind: kindExists, Bool: t.kind == tokTrue}
	case "cidr":
		// AWS's reason names prefix here: event-ruler shares the check.
		if t.kind != tokString {
			return cond{}, invalid("prefix match pattern must be a string")
		}
		var prefix, err = parseCIDR(t.str)
		if err != nil {
			return cond{}, err
		}
		c = cond{Kind: kindCIDR, Prefix: prefix}
	}
	if err != nil {
		return cond{}, err
	}
	return c, p.closeExpr()
}

// closeExpr checks that an operator object has no second member.
func (p *parser) closeExpr() error {
	_, done, err := p.s.objectNext(false)
	if err != nil {
		return err
	}
	if !done {
		return invalid("Only one key allowed in match expression")
	}
	return nil
}

// prefixSuffix parses the value of "prefix" or "suffix": a string, or
// {"equals-ignore-case": string}.
func (p *parser) prefixSuffix(name string, t token) (cond, error) {
	plain, folded := kindPrefix, kindPrefixIgnoreCase
	exprName, unsupported := "Prefix expression name not found", "Unsupported prefix pattern: "
	if name == "suffix" {
		plain, folded = kindSuffix, kindSuffixIgnoreCase
		exprName, unsupported = "Suffix expression name not found", "Unsupported suffix pattern: "
	}
	switch t.kind {
	case tokString:
		return cond{Kind: plain, Str: t.str}, nil
	case tokObject:
		op, done, err := p.s.objectNext(true)
		if err != nil {
			return cond{}, err
		}
		if done {
			return cond{}, invalid(exprName)
		}
		if op != "equals-ignore-case" {
			return cond{}, invalid(unsupported + op)
		}
		v, err := p.s.next()
		if err != nil {
			return cond{}, err
		}
		if v.kind != tokString {
			return cond{}, invalid("equals-ignore-case match pattern must be a string")
		}
		return cond{Kind: folded, Str: v.str}, p.closeExpr()
	}
	return cond{}, invalidf("%s match pattern must be a string", name)
}

// anythingBut parses the value of "anything-but", whose first token is t.
func (p *parser) anythingBut(t token) (cond, error) {
	switch t.kind {
	case tokString:
		return cond{Kind: kindAnythingBut, Strs: []string{t.str}}, nil
	case tokNumber:
		if err := checkNumericLimit(t.num); err != nil {
			return cond{}, err
		}
		return cond{Kind: kindAnythingBut, Nums: []float64{t.num}}, nil
	case tokArray:
		return p.anythingButList()
	case tokObject:
	default:
		return cond{}, invalid("Value of anything-but must be an array or single string/number value.")
	}
	op, done, err := p.s.objectNext(true)
	if err != nil {
		return cond{}, err
	}
	if done {
		return cond{}, invalid("Anything-But expression name not found")
	}
	var kind kind
	var typeReason string
	switch op {
	case "prefix":
		kind, typeReason = kindAnythingButPrefix, "prefix/suffix match pattern must be a string"
	case "suffix":
		kind, typeReason = kindAnythingButSuffix, "prefix/suffix match pattern must be a string"
	case "equals-ignore-case":
		kind, typeReason = kindAnythingButIgnoreCase, "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
	case "wildcard":
		kind, typeReason = kindAnythingButWildcard, "wildcard match pattern must be a string"
	default:
		return cond{}, invalidf("Unsupported anything-but pattern: %s", op)
	}
	v, err := p.s.next()
	if err != nil {
		return cond{}, err
	}
	// AWS first applies anything-but's own type check to the operand
	// (content_anything_suffix_ignorecase_EXC: an object), then the
	// operator's (content_anything_prefix_int_EXC,
	// content_anything_but_ignorecase_EXC: a number).
	if v.kind != tokString && v.kind != tokNumber && v.kind != tokArray {
		return cond{}, invalid("Value of anything-but must be an array or single string/number value.")
	}
	var strs []string
	switch v.kind {
	case tokString:
		strs = []string{v.str}
	case tokArray:
		for first := true; ; first = false {
			done, err := p.s.arrayNext(first)
			if err != nil {
				return cond{}, err
			}
			if done {
				break
			}
			e, err := p.s.next()
			if err != nil {
				return cond{}, err
			}
			if e.kind != tokString {
				return cond{}, invalid(typeReason)
			}
			strs = append(strs, e.str)
		}
		if len(strs) == 0 {
			return cond{}, invalid("Empty arrays are not allowed")
		}
	default:
		return cond{}, invalid(typeReason)
	}
	for _, s := range strs {
		switch kind {
		case kindAnythingButPrefix, kindAnythingButSuffix:
			if s == "" {
				return cond{}, invalid("Null prefix/suffix not allowed")
			}
		case kindAnythingButWildcard:
			if err := checkWildcard(s); err != nil {
				return cond{}, err
			}
		}
	}
	return cond{Kind: kind, Strs: strs}, p.closeExpr()
}

// anythingButList parses anything-but's list form (its '[' read): all
// strings or all numbers.
func (p *parser) anythingButList() (cond, error) {
	c := cond{Kind: kindAnythingBut}
	for first := true; ; first = false {
		done, err := p.s.arrayNext(first)
		if err != nil {
			return cond{}, err
		}
		if done {
			break
		}
		e, err := p.s.next()
		if err != nil {
			return cond{}, err
		}
		switch e.kind {
		case tokString:
			c.Strs = append(c.Strs, e.str)
		case tokNumber:
			if err := checkNumericLimit(e.num); err != nil {
				return cond{}, err
			}
			c.Nums = append(c.Nums, e.num)
		default:
			return cond{}, invalid("Inside anything but list, start|null|boolean is not supported.")
		}
	}
	if (len(c.Strs) == 0) == (len(c.Nums) == 0) {
		return cond{}, invalid("Inside anything but list, either all values are number or string, mixed type is not supported")
	}
	return c, nil
}

// numeric parses the operand list of "numeric" (its '[' read):
// ["=", x], [">" or ">=", x], ["<" or "<=", x], or a lower bound followed by
// an upper bound: [">", 0, "<=", 5].
func (p *parser) numeric() (cond, error) {
	op, val, done, err := p.numericTerm(true, "Invalid member in numeric match: ", func(op string) error {
		switch op {
		case "=", "<", "<=", ">", ">=":
			return nil
		}
		return invalidf("Unrecognized numeric range operator: %s", op)
	})
	if err != nil {
		return cond{}, err
	}
	if done {
		return cond{}, invalid("Invalid member in numeric match: ]")
	}
	var r rangeCond
	switch op {
	case "=":
		r = rangeCond{HasLow: true, Low: val, HasHigh: true, High: val}
	case "<", "<=":
		r = rangeCond{HasHigh: true, High: val, HighOpen: op == "<"}
	case ">", ">=":
		r = rangeCond{HasLow: true, Low: val, LowOpen: op == ">"}
		op2, val2, done, err := p.numericTerm(false, "Bad value in numeric range: ", func(op string) error {
			if op != "<" && op != "<=" {
				return invalidf("Bad numeric range operator: %s", op)
			}
			return nil
		})
		if err != nil {
			return cond{}, err
		}
		if done {
			return cond{Kind: kindNumeric, Range: r}, nil
		}
		if val >= val2 {
			return cond{}, invalid("Bottom must be less than top")
		}
		r.HasHigh, r.High, r.HighOpen = true, val2, op2 == "<"
		done, err = p.s.arrayNext(false)
		if err != nil {
			return cond{}, err
		}
		if !done {
			return cond{}, invalid("Too many terms in numeric range expression")
		}
		return cond{Kind: kindNumeric, Range: r}, nil
	}
	done, err = p.s.arrayNext(false)
	if err != nil {
		return cond{}, err
	}
	if !done {
		return cond{}, invalid("Too many elements in numeric expression")
	}
	return cond{Kind: kindNumeric, Range: r}, nil
}

// numericTerm reads an operator and its number, or done at the list's end.
// badOp prefixes the reason when the operator is not a string; checkOp
// rejects an operator that is not allowed at this place.
func (p *parser) numericTerm(first bool, badOp string, checkOp func(string) error) (op string, val float64, done bool, err error) {
	done, err = p.s.arrayNext(first)
	if err != nil || done {
		return "", 0, done, err
	}
	t, err := p.s.next()
	if err != nil {
		return "", 0, false, err
	}
	if t.kind != tokString {
		return "", 0, false, invalid(badOp + t.text())
	}
	op = t.str
	if err := checkOp(op); err != nil {
		return "", 0, false, err
	}
	v := token{kind: tokEndArray}
	end, err := p.s.arrayNext(false)
	if err != nil {
		return "", 0, false, err
	}
	if !end {
		if v, err = p.s.next(); err != nil {
			return "", 0, false, err
		}
	}
	if v.kind != tokNumber {
		return "", 0, false, invalidf("Value of %s must be numeric", op)
	}
	if err := checkNumericLimit(v.num); err != nil {
		return "", 0, false, err
	}
	return op, v.num, false, nil
}

func checkNumericLimit(f float64) error {
	if f < -numericLimit || f > numericLimit {
		return invalid("Value must be between -5.0E9 and 5.0E9, inclusive")
	}
	return nil
}

// Validate checks that pattern is a valid event pattern, as PutRule does:
// nil, or an *InvalidPatternError (or *PatternTooLongError) with AWS's
// message.
func Validate(pattern []byte, opts ...Option) error {
	_, err := parse(pattern, opts...)
	return err
}
