package pattern

import (
	"encoding/json"
	"strings"
	"testing"
)

// wildcards is a pattern with one field holding the wildcard values vs.
func wildcards(vs ...string) string {
	var items []string
	for _, v := range vs {
		b, _ := json.Marshal(v)
		items = append(items, `{"wildcard":`+string(b)+`}`)
	}
	return `{"detail":{"f":[` + strings.Join(items, ",") + `]}}`
}

// TestWildcardComplexity: the scores of event-ruler's complexity evaluator (its tests' and
// worked cases at the JSON level), and EventBridge's limit of 10.
func TestWildcardComplexity(t *testing.T) {
	for _, c := range []struct {
		name    string
		pattern string
		score   int
	}{
		{"four a's after stars", wildcards("*a*a*a*a*"), 9},
		{"five a's after stars", wildcards("*a*a*a*a*a*"), 11},
		{"a*a*a*a*a*", wildcards("a*a*a*a*a*"), 9},
		{"a*a*a*a*a*a*", wildcards("a*a*a*a*a*a*"), 11},
		{"star then nine a's", wildcards("*" + strings.Repeat("a", 9)), 10},
		{"star then ten a's", wildcards("*" + strings.Repeat("a", 10)), 11},
		{"distinct letters", wildcards("*a*b*c*d*e*f*g*h*"), 10},
		{"three *token*", wildcards("*red*", "*green*", "*blue*"), 9},
		{"four *token*", wildcards("*red*", "*green*", "*blue*", "*pink*"), 12},
		{"three *token* and a prefix", wildcards("*red*", "*green*", "*blue*", "abc*"), 11},
		{"five suffixes", wildcards("*.a", "*.b", "*.c", "*.d", "*.e"), 10},
		{"six suffixes", wildcards("*.a", "*.b", "*.c", "*.d", "*.e", "*.f"), 12},
		{"ten prefixes", wildcards("c0*", "c1*", "c2*", "c3*", "c4*", "c5*", "c6*", "c7*", "c8*", "c9*"), 10},
		{"eleven prefixes", wildcards("c0*", "c1*", "c2*", "c3*", "c4*", "c5*", "c6*", "c7*", "c8*", "c9*", "d*"), 11},
		{"a file type", wildcards("*.png"), 2},
		{"a middle star", wildcards("Simple*Service"), 2},
		{"directories", wildcards("*/lib/*"), 4},
		{"*a*a*a*", wildcards("*a*a*a*"), 7},
		{"*z*", wildcards("*z*"), 3},
		{"abc*def", wildcards("abc*def"), 2},
		{"the same value twice counts once", wildcards("*a*a*", "*a*a*"), 5},
		{"an escaped star is a character", wildcards(`\*a\*`), 1},
		{"no wildcard", `{"detail":{"f":["a",{"prefix":"b"}]}}`, 0},
		{"fields score apart: the highest counts", `{"detail":{"a":[{"wildcard":"*x*"}],"b":[{"wildcard":"*y*"}]}}`, 3},
		{"$or branches on one field add up", `{"$or":[{"detail":{"f":[{"wildcard":"*a*a*"}]}},{"detail":{"f":[{"wildcard":"*b*b*"}]}}]}`, 8},
		{"$or branches under different conditions score apart",
			`{"$or":[{"account":["1"],"detail":{"f":[{"wildcard":"*a*a*"}]}},{"account":["2"],"detail":{"f":[{"wildcard":"*b*b*"}]}}]}`, 5},
		{"$or branches with a condition after the field share it",
			`{"$or":[{"source":["s1"],"detail":{"f":[{"wildcard":"*a*a*"}]}},{"source":["s2"],"detail":{"f":[{"wildcard":"*b*b*"}]}}]}`, 8},
		// An anything-but set is one pattern with one match: shared prefixes and complete
		// values count once (event-ruler's MachineComplexityEvaluatorCorpus scores the
		// "leading-star-anything-but-set" 7 and the same four strings as wildcards 12).
		{"event-ruler's leading-star anything-but set",
			`{"detail":{"f":[{"anything-but":{"wildcard":["*kiwi*","*BASE_QuxB*","*Delta*","*a/example-lake-abc98765432*"]}}]}}`, 7},
		{"event-ruler's leading-star strings as wildcards",
			wildcards("*kiwi*", "*BASE_QuxB*", "*Delta*", "*a/example-lake-abc98765432*"), 12},
		{"an anything-but set counts shared prefixes and its match once",
			`{"detail":{"f":[{"anything-but":{"wildcard":["*red*","*green*","*blue*","*pink*"]}}]}}`, 7},
		{"a two-value anything-but set", `{"detail":{"f":[{"anything-but":{"wildcard":["*red*","*green*"]}}]}}`, 5},
		{"a one-value anything-but set scores as the wildcard", `{"detail":{"f":[{"anything-but":{"wildcard":"*a*a*a*a*"}}]}}`, 9},
		{"eight *x* values in an anything-but set",
			`{"detail":{"f":[{"anything-but":{"wildcard":["*a*","*b*","*c*","*d*","*e*","*f*","*g*","*h*"]}}]}}`, 10},
		{"nine *x* values in an anything-but set",
			`{"detail":{"f":[{"anything-but":{"wildcard":["*a*","*b*","*c*","*d*","*e*","*f*","*g*","*h*","*i*"]}}]}}`, 11},
		{"eight *xy* values in an anything-but set",
			`{"detail":{"f":[{"anything-but":{"wildcard":["*ab*","*cd*","*ef*","*gh*","*ij*","*kl*","*mn*","*op*"]}}]}}`, 10},
		{"nine *xy* values in an anything-but set",
			`{"detail":{"f":[{"anything-but":{"wildcard":["*ab*","*cd*","*ef*","*gh*","*ij*","*kl*","*mn*","*op*","*qr*"]}}]}}`, 11},
		{"an anything-but set and a wildcard on one field add up",
			`{"detail":{"f":[{"anything-but":{"wildcard":["*red*","*green*"]}},{"wildcard":"*blue*"}]}}`, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := parse([]byte(c.pattern), WithMaxLength(0))
			if c.score > maxWildcardComplexity {
				var ip *InvalidPatternError
				if !asInvalid(err, &ip) || ip.Reason != reasonWildcardTooComplex {
					t.Fatalf("parse = %v, want %q", err, reasonWildcardTooComplex)
				}
				if got := Validate([]byte(c.pattern)); got == nil || got.Error() != "Event pattern is not valid. Reason: "+reasonWildcardTooComplex {
					t.Errorf("Validate = %v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := complexity(p, 1000); got != c.score {
				t.Errorf("score %d, want %d", got, c.score)
			}
		})
	}
}

func asInvalid(err error, ip **InvalidPatternError) bool {
	e, ok := err.(*InvalidPatternError)
	*ip = e
	return ok
}

// BenchmarkComplexityLongValues: the check on patterns as long as EventBridge takes (2,048
// characters): a long value ending in a star (taken: the search walks all of it), and a
// repeating one with stars (refused).
func BenchmarkComplexityLongValues(b *testing.B) {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%'()+,-./:;=?@[]^_`{|}~"
	var long, cyclic strings.Builder
	cyclic.WriteString("*")
	for i := 0; long.Len() < 1990; i++ {
		long.WriteByte(chars[i%len(chars)])
		cyclic.WriteByte(chars[i%len(chars)])
		if i%300 == 299 {
			cyclic.WriteByte('*')
		}
	}
	long.WriteString("*")
	taken, refused := []byte(wildcards(long.String())), []byte(wildcards(cyclic.String()))
	for b.Loop() {
		if err := Validate(taken); err != nil {
			b.Fatal(err)
		}
		if err := Validate(refused); err == nil {
			b.Fatal("a repeating value with stars was taken")
		}
	}
}
