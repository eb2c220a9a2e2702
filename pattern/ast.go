package pattern

import "net/netip"

// A patternTree is one parsed and validated event pattern. It is kept in
// disjunctive normal form: $or has been expanded, so the pattern matches an
// event when any one of its Branches matches.
//
// parse builds a patternTree; a Matcher compiles many of them into one automaton.
type patternTree struct {
	Branches []branch
}

// A branch is a conjunction of leaf conditions: it matches when every Field
// matches. Fields are sorted by Path (element-wise, byte order) and no two
// Fields of a branch share a Path.
type branch []field

// A field is the condition a pattern puts on one leaf of the event: the value
// found at Path must satisfy at least one of Conds (values OR).
//
// Path lists the object keys from the event root ("detail", "state"), split
// at dots. EventBridge flattens an event into dot-joined field names, so the
// pattern key "a.b" and the nesting {"a":{"b":…}} name the same field, and so
// do the event key "state.status" and the nesting {"state":{"status":…}} (AWS
// case dot_joining_event). parse splits every pattern key at '.', so a Path
// never holds a dot; a matcher must treat event keys the same way (split them,
// or compare dot-joined names).
//
// Arrays in the event are transparent: a path goes through an array (nested
// arrays too) into each of its elements, and a field matches when any element
// matches. The leaves of an event are its strings, numbers, booleans and nulls;
// an object or an empty array is not a leaf. Fields of one Branch that reach
// into the same array must match within the same element of that array (AWS's
// "array consistency"): all the leaves a Branch's match uses must agree on the
// element index of every event array they pass through.
type field struct {
	Path  []string
	Conds []cond
}

// kind says which operator a Cond applies.
type kind uint8

// The operators of the pattern language. The comment on each says which Cond
// fields it uses.
const (
	// kindString matches a JSON string equal to Str ([""] is kindString with Str "").
	kindString kind = iota + 1
	// kindNumber matches a JSON number equal in value to Num (300 = 300.0 = 3e2).
	kindNumber
	// kindNull matches JSON null.
	kindNull
	// kindBool matches the JSON literal true or false, as given by Bool.
	kindBool
	// kindPrefix matches a string that starts with Str.
	kindPrefix
	// kindPrefixIgnoreCase matches a string that starts with Str, ignoring case.
	kindPrefixIgnoreCase
	// kindSuffix matches a string that ends with Str.
	kindSuffix
	// kindSuffixIgnoreCase matches a string that ends with Str, ignoring case.
	kindSuffixIgnoreCase
	// kindEqualsIgnoreCase matches a string equal to Str, ignoring case.
	// "Ignoring case" means strings.EqualFold (Unicode simple folding, rune
	// by rune); the …IgnoreCase prefix and suffix kinds compare the first or
	// last utf8.RuneCountInString(Str) runes of the string with EqualFold.
	kindEqualsIgnoreCase
	// kindWildcard matches a string against the wildcard pattern Str: '*'
	// stands for any run of characters; Str is kept as written, with its
	// "\*" and "\\" escapes.
	kindWildcard
	// kindAnythingBut matches a present leaf that is none of Strs (compared
	// with strings only) and none of Nums (compared by value with numbers
	// only): a null, a boolean, the string "5" against Nums [5] all match.
	// parse fills exactly one of Strs and Nums. Like every anything-but kind,
	// it never matches an absent field.
	kindAnythingBut
	// kindAnythingButPrefix matches a present leaf that is not a string
	// starting with one of Strs (a number or null matches).
	kindAnythingButPrefix
	// kindAnythingButSuffix matches a present leaf that is not a string
	// ending with one of Strs.
	kindAnythingButSuffix
	// kindAnythingButIgnoreCase matches a present leaf that is not a string
	// equal to one of Strs, ignoring case.
	kindAnythingButIgnoreCase
	// kindAnythingButWildcard matches a present leaf that is not a string
	// matching one of the wildcard patterns in Strs.
	kindAnythingButWildcard
	// kindNumeric matches a JSON number inside Range.
	kindNumeric
	// kindExists matches when the leaf is present (Bool true) or absent
	// (Bool false). Only leaves count: an object or an empty array at Path is
	// not a present leaf; null is. {"exists": false} is judged on the whole
	// event: it holds when no leaf at Path exists anywhere in the event, and
	// it takes no part in array consistency (event-ruler checks absence
	// against the event's set of field names).
	kindExists
	// kindCIDR matches a string that netip.ParseAddr accepts as an address
	// inside Prefix (Prefix.Contains: an IPv4 address never matches an IPv6
	// prefix nor the reverse; a zoned address matches nothing).
	kindCIDR
)

// A cond is one value of a pattern's value list: an operator and its operands.
//
// Numbers, in patterns and events alike, compare as the float64 nearest to
// their JSON text (strconv.ParseFloat; a number too large for float64 is ±Inf;
// -0 equals 0, and parse stores it as 0).
//
// parse may share slices (Path, Conds, Strs…) between the Branches of one
// patternTree: treat it as read-only.
type cond struct {
	Kind   kind
	Str    string
	Strs   []string
	Num    float64
	Nums   []float64
	Bool   bool
	Range  rangeCond
	Prefix netip.Prefix
}

// A rangeCond is the interval of a numeric condition. A side that is not Has… is
// unbounded.
type rangeCond struct {
	HasLow, LowOpen   bool
	Low               float64
	HasHigh, HighOpen bool
	High              float64
}
