package event

// ValidDetail reports whether d is one JSON object (surrounding whitespace allowed) nested no
// deeper than MaxDetailDepth, the outer object being level 1. It is a single pass without
// recursion or allocation, so hostile input can neither exhaust the stack nor cost more than
// a scan.
func ValidDetail(d string) bool {
	i := skipSpace(d, 0)
	if i == len(d) || d[i] != '{' {
		return false
	}
	// kinds holds one bit per open container: 1 for an array, 0 for an object.
	var kinds [MaxDetailDepth/64 + 1]uint64
	depth := 0
	const (
		wantValue  = iota // a value must come next
		wantKey           // a member name must come next (after '{' or ',' in an object)
		afterValue        // a value ended: ',', a closing bracket, or the end
	)
	state := wantValue
	for {
		i = skipSpace(d, i)
		switch state {
		case wantValue:
			if i == len(d) {
				return false
			}
			switch c := d[i]; {
			case c == '{' || c == '[':
				if depth == MaxDetailDepth {
					return false
				}
				w, bit := depth/64, uint64(1)<<(depth%64)
				depth++
				i = skipSpace(d, i+1)
				if c == '{' {
					kinds[w] &^= bit
					if i < len(d) && d[i] == '}' {
						depth--
						i++
						state = afterValue
					} else {
						state = wantKey
					}
				} else {
					kinds[w] |= bit
					if i < len(d) && d[i] == ']' {
						depth--
						i++
						state = afterValue
					}
				}
			case c == '"':
				if i = scanString(d, i); i < 0 {
					return false
				}
				state = afterValue
			case c == 't':
				if !hasAt(d, i, "true") {
					return false
				}
				i += 4
				state = afterValue
			case c == 'f':
				if !hasAt(d, i, "false") {
					return false
				}
				i += 5
				state = afterValue
			case c == 'n':
				if !hasAt(d, i, "null") {
					return false
				}
				i += 4
				state = afterValue
			case c == '-' || (c >= '0' && c <= '9'):
				if i = scanNumber(d, i); i < 0 {
					return false
				}
				state = afterValue
			default:
				return false
			}
		case wantKey:
			if i == len(d) || d[i] != '"' {
				return false
			}
			if i = scanString(d, i); i < 0 {
				return false
			}
			i = skipSpace(d, i)
			if i == len(d) || d[i] != ':' {
				return false
			}
			i++
			state = wantValue
		case afterValue:
			if depth == 0 {
				return i == len(d)
			}
			if i == len(d) {
				return false
			}
			top := depth - 1
			isArray := kinds[top/64]&(uint64(1)<<(top%64)) != 0
			switch d[i] {
			case ',':
				i++
				if isArray {
					state = wantValue
				} else {
					state = wantKey
				}
			case '}':
				if isArray {
					return false
				}
				depth--
				i++
			case ']':
				if !isArray {
					return false
				}
				depth--
				i++
			default:
				return false
			}
		}
	}
}

func skipSpace(d string, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

func hasAt(d string, i int, lit string) bool {
	return len(d)-i >= len(lit) && d[i:i+len(lit)] == lit
}

// scanString returns the index after the string starting at d[i] == '"', or -1 if it is not a
// valid JSON string.
func scanString(d string, i int) int {
	for i++; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i == len(d) {
				return -1
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(d)-i < 5 || !isHex(d[i+1]) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) {
					return -1
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber returns the index after the number starting at d[i], or -1 if it is not a valid
// JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(d string, i int) int {
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digits(d, i)
	default:
		return -1
	}
	if i < len(d) && d[i] == '.' {
		j := digits(d, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(d, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(d string, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// MaxDetailDepth is how deeply an event's detail may nest (the outer object is level 1).
const MaxDetailDepth = 1000

// Depth returns the deepest nesting of objects and arrays in the JSON text d (0 for a scalar),
// skipping brackets inside strings. It does not check that d is valid JSON.
func Depth(d string) int {
	depth, maxDepth := 0, 0
	for i := 0; i < len(d); i++ {
		switch d[i] {
		case '{', '[':
			depth++
			if depth > maxDepth {
				maxDepth = depth
			}
		case '}', ']':
			depth--
		case '"':
			for i++; i < len(d) && d[i] != '"'; i++ {
				if d[i] == '\\' {
					i++
				}
			}
		}
	}
	return maxDepth
}
