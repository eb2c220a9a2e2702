package function_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/function"
)

// quote writes w so that SplitWords reads it back as one word.
func quote(w string) string {
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// FuzzSplitWords: SplitWords never panics, and the words it finds, quoted
// again, read back the same. ParseSpecs never panics and returns only
// valid specs.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{"./notify.sh", `python3 r.py --size "100 px"`, `a 'b c' d\ e "f\"g"`, `x;y`, "a=b; c=d\ne=f", `'`, `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := function.SplitWords(s)
		if err == nil {
			q := make([]string, len(words))
			for i, w := range words {
				q[i] = quote(w)
			}
			again, err := function.SplitWords(strings.Join(q, " "))
			if err != nil || !slices.Equal(again, words) {
				t.Fatalf("SplitWords(%q) = %q; quoted again: %q, %v", s, words, again, err)
			}
		}
		specs, err := function.ParseSpecs(s)
		if err != nil {
			return
		}
		for _, sp := range specs {
			if !function.ValidName(sp.Name) || len(sp.Command) == 0 {
				t.Fatalf("ParseSpecs(%q) returned %+v", s, sp)
			}
		}
	})
}
