// Package pattern implements the event pattern language of Amazon
// EventBridge: parsing and validating patterns with AWS's own error reasons,
// and matching events against many patterns at once.
//
// Validate checks a pattern's JSON text and answers nil or an
// *InvalidPatternError whose message is the one EventBridge gives. Test
// answers TestEventPattern for one pattern and one event.
//
// A Matcher compiles any number of patterns, each under a caller's id, into
// one structure and returns the ids of the patterns an event matches. Its
// cost grows with the size of the event, not with the number of patterns: it
// walks the event's bytes once, skipping without decoding every value that no
// pattern names, and looks the values it reaches up in hash tables, byte
// tries and ordered number keys shared by all patterns. Adding and deleting
// patterns is safe while other goroutines match.
//
// The language: fields AND, values in a list OR, an array in the event
// matches when any element does; exact strings, numbers (by value: 300,
// 300.0 and 3e2 are equal), null and booleans; prefix, suffix, both with
// equals-ignore-case; equals-ignore-case; wildcard; anything-but with values,
// prefix, suffix, equals-ignore-case or wildcard; numeric ranges; exists;
// cidr; $or. Fields of one pattern that reach into the same array of objects
// must match within one element of it, as in EventBridge. As EventBridge
// does, Validate refuses wildcards too complex to match cheaply ("Rule is too
// complex - try using fewer wildcard characters or fewer repeating character
// sequences after a wildcard character"): a field's wildcard values may keep
// at most ten partial matches alive on one input (see complexity.go: three
// "*word*" values on a field are taken, four are not; as one anything-but
// wildcard list, eight "*x*" values are taken, nine are not).
//
// The package depends on the standard library only.
package pattern
