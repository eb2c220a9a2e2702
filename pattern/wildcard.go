package pattern

import "unicode/utf8"

// checkWildcard validates a wildcard value as EventBridge does: '*' stands
// for any run of characters, "\*" is a literal star and "\\" a literal
// backslash; no other escape is allowed, and two wildcards may not follow
// each other. Positions count UTF-16 code units from 0, as AWS does (AWS
// case content_wildcard_repeating_star_EXC reports the second '*').
func checkWildcard(s string) error {
	pos := 0
	prevStar := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '*':
			if prevStar {
				return invalidf("Consecutive wildcard characters at pos %d", pos)
			}
			prevStar = true
		case '\\':
			prevStar = false
			i += n
			pos++
			if i >= len(s) || (s[i] != '*' && s[i] != '\\') {
				return invalidf("Invalid escape character at pos %d", pos)
			}
			n = 1
		default:
			prevStar = false
		}
		i += n
		if r >= 0x10000 {
			pos += 2
		} else {
			pos++
		}
	}
	return nil
}
