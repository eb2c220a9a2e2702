package paging

import (
	"slices"
	"testing"
)

func TestPage(t *testing.T) {
	items := []string{"a", "b", "c", "d", "e"}
	id := func(s string) string { return s }
	q := Query("test", "x")
	var got []string
	var token *string
	limit := 2
	for range 10 {
		after, err := After(token, q)
		if err != nil {
			t.Fatal(err)
		}
		pg, next := Page(items, id, &limit, q, after)
		got = append(got, pg...)
		if token = next; token == nil {
			break
		}
	}
	if !slices.Equal(got, items) {
		t.Fatalf("pages = %v, want %v", got, items)
	}
	// A token of another query is refused.
	tok := Token(Query("test", "y"), "b")
	if _, err := After(&tok, q); err == nil {
		t.Fatal("token of another query accepted")
	}
	// An item deleted between two pages does not break paging.
	pg, _ := Page([]string{"a", "c", "d"}, id, nil, q, "b")
	if !slices.Equal(pg, []string{"c", "d"}) {
		t.Fatalf("page after a deleted key = %v", pg)
	}
}

func FuzzPageToken(f *testing.F) {
	q := Query("ListRules", "default", "")
	f.Add(Token(q, "rule-1"))
	f.Add("")
	f.Add("e30")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, tok string) {
		after, err := After(&tok, q)
		if err != nil {
			return
		}
		if after == "" {
			t.Fatalf("token %q decoded to an empty key", tok)
		}
		again := Token(q, after)
		if a2, err := After(&again, q); err != nil || a2 != after {
			t.Fatalf("re-encoded token: %q, %v", a2, err)
		}
	})
}
