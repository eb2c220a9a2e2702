package cloudtrail

import (
	"testing"

	"github.com/conveyor/conveyor/internal/audit"
)

func TestTokenRoundTrip(t *testing.T) {
	p := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	for _, c := range []audit.Cursor{{Time: 0, Seq: 1}, {Time: 1795693294, Seq: 1 << 40}, {Time: -1, Seq: 7}} {
		tok := encodeToken(c, p)
		got, ok := decodeToken(tok, p)
		if !ok || got != c {
			t.Errorf("decode(encode(%+v)) = %+v, %v", c, got, ok)
		}
		if _, ok := decodeToken(tok, [8]byte{}); ok {
			t.Errorf("token %s accepted for other parameters", tok)
		}
	}
}

func FuzzDecodeToken(f *testing.F) {
	f.Add(encodeToken(audit.Cursor{Time: 1795693294, Seq: 42}, [8]byte{}))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := decodeToken(s, [8]byte{})
		if !ok {
			return
		}
		if c.Seq == 0 {
			t.Fatalf("token %q accepted with sequence 0", s)
		}
		if again := encodeToken(c, [8]byte{}); again != s {
			// Only the canonical encoding of a cursor is a token.
			if c2, ok := decodeToken(again, [8]byte{}); !ok || c2 != c {
				t.Fatalf("token %q: cursor %+v does not survive re-encoding", s, c)
			}
		}
	})
}
