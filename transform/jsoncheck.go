package transform

// checker validates JSON text strictly (RFC 8259, as Jackson reads it by
// default) and says where it first fails. Templates are checked with their
// placeholders standing for values: holes maps the offset of each placeholder
// found outside strings to the offset just after it.
type checker struct {
	s     string
	holes map[int]int
}

// check returns -1 when s is one JSON value (surrounded by whitespace at
// most), or the offset of the first byte that makes it invalid (len(s) when
// the text ends too early).
func (c *checker) check() int {
	// An explicit stack of open containers keeps deep nesting off the Go stack.
	var stack []byte
	i := c.ws(0)
	for {
		// A value starts at i.
		if i >= len(c.s) {
			return len(c.s)
		}
		switch ch := c.s[i]; {
		case ch == '{':
			i = c.ws(i + 1)
			if i < len(c.s) && c.s[i] == '}' {
				i++
				break
			}
			stack = append(stack, '{')
			var bad int
			if i, bad = c.key(i); bad >= 0 {
				return bad
			}
			continue
		case ch == '[':
			i = c.ws(i + 1)
			if i < len(c.s) && c.s[i] == ']' {
				i++
				break
			}
			stack = append(stack, '[')
			continue
		case ch == '"':
			end, bad := c.str(i)
			if bad >= 0 {
				return bad
			}
			i = end
		case ch == '-' || (ch >= '0' && ch <= '9'):
			end, bad := c.number(i)
			if bad >= 0 {
				return bad
			}
			i = end
		case ch == 't' || ch == 'f' || ch == 'n':
			end, bad := c.literal(i)
			if bad >= 0 {
				return bad
			}
			i = end
		case ch == '<' && c.holes != nil:
			end, ok := c.holes[i]
			if !ok {
				return i
			}
			i = end
		default:
			return i
		}
		// A value ended at i: close containers or go to the next member.
		for {
			i = c.ws(i)
			if len(stack) == 0 {
				if i < len(c.s) {
					return i
				}
				return -1
			}
			if i >= len(c.s) {
				return len(c.s)
			}
			top := stack[len(stack)-1]
			ch := c.s[i]
			if ch == ',' {
				i = c.ws(i + 1)
				if top == '{' {
					var bad int
					if i, bad = c.key(i); bad >= 0 {
						return bad
					}
				}
				break
			}
			if (top == '{' && ch == '}') || (top == '[' && ch == ']') {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			return i
		}
	}
}

func (c *checker) ws(i int) int {
	for i < len(c.s) && isWS(c.s[i]) {
		i++
	}
	return i
}

// key checks `"name" :` at i and returns where the member's value starts.
func (c *checker) key(i int) (int, int) {
	if i >= len(c.s) {
		return 0, len(c.s)
	}
	if c.s[i] != '"' {
		return 0, i
	}
	end, bad := c.str(i)
	if bad >= 0 {
		return 0, bad
	}
	i = c.ws(end)
	if i >= len(c.s) {
		return 0, len(c.s)
	}
	if c.s[i] != ':' {
		return 0, i
	}
	return c.ws(i + 1), -1
}

func (c *checker) str(i int) (int, int) {
	for j := i + 1; j < len(c.s); j++ {
		ch := c.s[j]
		switch {
		case ch == '"':
			return j + 1, -1
		case ch == '\\':
			if j+1 >= len(c.s) {
				return 0, len(c.s)
			}
			switch c.s[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				for k := j + 2; k < j+6; k++ {
					if k >= len(c.s) {
						return 0, len(c.s)
					}
					if hexVal(c.s[k]) < 0 {
						return 0, k
					}
				}
				j += 5
			default:
				return 0, j + 1
			}
		case ch < 0x20:
			return 0, j
		}
	}
	return 0, len(c.s)
}

func (c *checker) digits(i int) int {
	for i < len(c.s) && c.s[i] >= '0' && c.s[i] <= '9' {
		i++
	}
	return i
}

func (c *checker) number(i int) (int, int) {
	if c.s[i] == '-' {
		i++
	}
	if i >= len(c.s) {
		return 0, len(c.s)
	}
	switch {
	case c.s[i] == '0':
		i++
	case c.s[i] >= '1' && c.s[i] <= '9':
		i = c.digits(i)
	default:
		return 0, i
	}
	if i < len(c.s) && c.s[i] == '.' {
		j := c.digits(i + 1)
		if j == i+1 {
			return 0, j
		}
		i = j
	}
	if i < len(c.s) && (c.s[i] == 'e' || c.s[i] == 'E') {
		i++
		if i < len(c.s) && (c.s[i] == '+' || c.s[i] == '-') {
			i++
		}
		j := c.digits(i)
		if j == i {
			return 0, j
		}
		i = j
	}
	// A number runs into the next token: "01" or "1x" is one bad token.
	if i < len(c.s) && (isAlnum(c.s[i]) || c.s[i] == '.') {
		return 0, i
	}
	return i, -1
}

func (c *checker) literal(i int) (int, int) {
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(c.s)-i >= len(lit) && c.s[i:i+len(lit)] == lit {
			end := i + len(lit)
			if end < len(c.s) && isAlnum(c.s[end]) {
				return 0, end
			}
			return end, -1
		}
	}
	j := i
	for j < len(c.s) && isAlnum(c.s[j]) {
		j++
	}
	if j == len(c.s) {
		return 0, len(c.s)
	}
	return 0, j
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
}

// lineCol turns the offset where JSON text s failed into Jackson's line and
// column: both 1-based, the column counting the offending character as read.
func lineCol(s string, off int) (line, col int) {
	line = 1
	lineStart := 0
	for i := 0; i < off && i < len(s); i++ {
		if s[i] == '\n' {
			line++
			lineStart = i + 1
		}
	}
	if off >= len(s) {
		return line, off - lineStart + 1
	}
	return line, off - lineStart + 2
}
