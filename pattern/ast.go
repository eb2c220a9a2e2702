package pattern

import "net/netip"

// A Pattern is one parsed and validated event pattern. It is kept in
// disjunctive normal form: $or has been expanded, so the pattern matches an
// event when any one of its Branches matches.
//
// Parse builds a Pattern; a Matcher compiles many of them into one automaton.
type Pattern struct {
	Branches []Branch
}

// A Branch is a conjunction of leaf conditions: it matches when every Field
// matches. Fields are sorted by Path (element-wise, byte order) and no two
// Fields of a Branch share a Path.
type Branch []Field

// A Field is the condition a pattern puts on one leaf of the event: the value
// found at Path must satisfy at least one of Conds (values OR).
//
// Path lists the object keys from the event root ("detail", "state"). Arrays
// in the event are transparent: a path goes through an array into each of its
// elements, and a field matches when any element matches. Fields of one Branch
// that reach into the same array of objects must match within the same element
// of that array (AWS's "array consistency").
type Field struct {
	Path  []string
	Conds []Cond
}

// Kind says which operator a Cond applies.
type Kind uint8

// The operators of the pattern language. The comment on each says which Cond
// fields it uses.
const (
	// KindString matches a JSON string equal to Str ([""] is KindString with Str "").
	KindString Kind = iota + 1
	// KindNumber matches a JSON number equal in value to Num (300 = 300.0 = 3e2).
	KindNumber
	// KindNull matches JSON null.
	KindNull
	// KindBool matches the JSON literal true or false, as given by Bool.
	KindBool
	// KindPrefix matches a string that starts with Str.
	KindPrefix
	// KindPrefixIgnoreCase matches a string that starts with Str, ignoring case.
	KindPrefixIgnoreCase
	// KindSuffix matches a string that ends with Str.
	KindSuffix
	// KindSuffixIgnoreCase matches a string that ends with Str, ignoring case.
	KindSuffixIgnoreCase
	// KindEqualsIgnoreCase matches a string equal to Str, ignoring case.
	KindEqualsIgnoreCase
	// KindWildcard matches a string against the wildcard pattern Str: '*'
	// stands for any run of characters; Str is kept as written, with its
	// "\*" and "\\" escapes.
	KindWildcard
	// KindAnythingBut matches a value (string or number) that is none of
	// Strs and none of Nums.
	KindAnythingBut
	// KindAnythingButPrefix matches a string that starts with none of Strs.
	KindAnythingButPrefix
	// KindAnythingButSuffix matches a string that ends with none of Strs.
	KindAnythingButSuffix
	// KindAnythingButIgnoreCase matches a string equal to none of Strs, ignoring case.
	KindAnythingButIgnoreCase
	// KindAnythingButWildcard matches a string that matches none of the
	// wildcard patterns in Strs.
	KindAnythingButWildcard
	// KindNumeric matches a JSON number inside Range.
	KindNumeric
	// KindExists matches when the leaf is present (Bool true) or absent
	// (Bool false). Only leaves count: an object or an empty array at Path is
	// not a present leaf.
	KindExists
	// KindCIDR matches a string holding an IP address inside Prefix.
	KindCIDR
)

// A Cond is one value of a pattern's value list: an operator and its operands.
type Cond struct {
	Kind   Kind
	Str    string
	Strs   []string
	Num    float64
	Nums   []float64
	Bool   bool
	Range  Range
	Prefix netip.Prefix
}

// A Range is the interval of a numeric condition. A side that is not Has… is
// unbounded.
type Range struct {
	HasLow, LowOpen   bool
	Low               float64
	HasHigh, HighOpen bool
	High              float64
}
