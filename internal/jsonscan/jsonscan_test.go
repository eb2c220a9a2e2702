package jsonscan

import "testing"

// reference is String byte by byte.
func reference(b []byte, i int) (int, Flags) {
	var fl Flags
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i, fl
		case c == '\\':
			fl |= Escape
			i++
		case c < 0x20:
			fl |= Control
		case c >= 0x80:
			fl |= High
		}
	}
	return -1, fl
}

// FuzzString checks String, Skip and Plain against reading byte by byte, from
// every start.
func FuzzString(f *testing.F) {
	for _, s := range []string{`abc"`, `a\"b" x`, "0123456789abcdef\"", "ab\x01cdefghij\"", `é long enough string"`, `\\\\"`, `abc`, `abcdefgh\`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := 0; i <= len(b); i++ {
			end, fl := String(b, i)
			wantEnd, wantFl := reference(b, i)
			if end != wantEnd || (end >= 0 && fl != wantFl) {
				t.Fatalf("String(%q, %d) = %d %b, want %d %b", b, i, end, fl, wantEnd, wantFl)
			}
			if got := Skip(b, i); got != wantEnd {
				t.Fatalf("Skip(%q, %d) = %d, want %d", b, i, got, wantEnd)
			}
			want := i
			for want < len(b) && b[want] >= 0x20 && b[want] != '"' && b[want] != '\\' && b[want] < 0x80 {
				want++
			}
			if got := Plain(b, i); got != want {
				t.Fatalf("Plain(%q, %d) = %d, want %d", b, i, got, want)
			}
			if got := Plain(string(b), i); got != want {
				t.Fatalf("Plain(string %q, %d) = %d, want %d", b, i, got, want)
			}
		}
	})
}
