package pattern

import (
	"fmt"
	"math/rand"
	"testing"
)

// TestStrTable checks the string table against a map through adds and
// removes.
func TestStrTable(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	var tab strTable
	want := map[string]map[int32]bool{}
	keys := []string{"", "a", "ab", "abcdefghijklmnop", "abcdefghijklmnopq", "abcdefghijklmnopr", "x\x00", "x"}
	for i := 0; i < 2000; i++ {
		keys = append(keys, fmt.Sprint("k", r.Intn(3000)))
	}
	for step := 0; step < 20000; step++ {
		k := keys[r.Intn(len(keys))]
		f := int32(r.Intn(5))
		if r.Intn(3) == 0 {
			if want[k][f] {
				tab.remove(k, ref{f: f})
				delete(want[k], f)
			}
		} else if !want[k][f] {
			tab.add(k, ref{f: f})
			if want[k] == nil {
				want[k] = map[int32]bool{}
			}
			want[k][f] = true
		}
	}
	live := 0
	for _, k := range keys {
		got := map[int32]bool{}
		for _, x := range tab.get([]byte(k)) {
			got[x.f] = true
		}
		if len(got) != len(want[k]) {
			t.Fatalf("get(%q) = %v, want %v", k, got, want[k])
		}
		for f := range want[k] {
			if !got[f] {
				t.Fatalf("get(%q) lacks %d", k, f)
			}
		}
	}
	for _, m := range want {
		if len(m) > 0 {
			live++
		}
	}
	if tab.len() != live {
		t.Fatalf("len = %d, want %d", tab.len(), live)
	}
}
