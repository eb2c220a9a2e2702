package pattern

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestAWSCasesCompiled runs the match and nomatch cases of
// testdata/eventbridge-patterns.json through Test (the compiled matcher);
// TestAWSCases checks the error cases against Parse and CheckEvent, and here
// Test must return those same errors.
func TestAWSCasesCompiled(t *testing.T) {
	for _, c := range loadAWSCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			outcome, code, _ := c.expectation(t)
			got, err := Test(c.pattern(), c.event())
			switch outcome {
			case "match", "nomatch":
				if err != nil {
					t.Fatalf("Test: %v", err)
				}
				if got != (outcome == "match") {
					t.Errorf("Test(%s, %s) = %v, want %s", c.pattern(), c.event(), got, outcome)
				}
			default:
				var ip *InvalidPatternError
				var ie *InvalidEventError
				switch {
				case code == "InvalidEventPatternException" && errors.As(err, &ip):
				case code == "ValidationException" && errors.As(err, &ie):
				default:
					t.Errorf("Test = %v, %v; want a %s error", got, err, code)
				}
			}
		})
	}
}

// TestMatcherOperators checks each operator through pattern text, several
// patterns loaded at once, against expected id sets.
func TestMatcherOperators(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string // id i is the i-th pattern
		event    string
		want     []int
	}{
		{"exact", []string{`{"a":["x"]}`, `{"a":["y"]}`, `{"a":["x","z"]}`}, `{"a":"x"}`, []int{0, 2}},
		{"exact array", []string{`{"a":["x"]}`, `{"a":["y"]}`, `{"a":["q"]}`}, `{"a":["y","x"]}`, []int{0, 1}},
		{"numbers by value", []string{`{"n":[300]}`, `{"n":[3e2]}`, `{"n":[300.5]}`, `{"n":["300"]}`}, `{"n":300.0}`, []int{0, 1}},
		{"null bool", []string{`{"n":[null]}`, `{"n":[true]}`, `{"n":[false]}`}, `{"n":[true,null]}`, []int{0, 1}},
		{"prefix", []string{`{"s":[{"prefix":"ab"}]}`, `{"s":[{"prefix":"abd"}]}`, `{"s":[{"prefix":""}]}`, `{"s":[{"prefix":"abc"}]}`}, `{"s":"abc"}`, []int{0, 2, 3}},
		{"prefix ignore case", []string{`{"s":[{"prefix":{"equals-ignore-case":"AB"}}]}`, `{"s":[{"prefix":{"equals-ignore-case":"abd"}}]}`}, `{"s":"aBc"}`, []int{0}},
		{"suffix", []string{`{"s":[{"suffix":".png"}]}`, `{"s":[{"suffix":".PNG"}]}`, `{"s":[{"suffix":{"equals-ignore-case":".PNG"}}]}`}, `{"s":"a.png"}`, []int{0, 2}},
		{"equals-ignore-case", []string{`{"s":[{"equals-ignore-case":"ABC"}]}`, `{"s":[{"equals-ignore-case":"AB"}]}`}, `{"s":"abc"}`, []int{0}},
		{"wildcard", []string{`{"s":[{"wildcard":"a*c"}]}`, `{"s":[{"wildcard":"*b*"}]}`, `{"s":[{"wildcard":"a\\*c"}]}`, `{"s":[{"wildcard":"*d"}]}`}, `{"s":"abc"}`, []int{0, 1}},
		{"anything-but", []string{`{"s":[{"anything-but":"x"}]}`, `{"s":[{"anything-but":["a","b"]}]}`, `{"s":[{"anything-but":[1,2]}]}`, `{"s":[{"anything-but":{"prefix":"a"}}]}`}, `{"s":"a"}`, []int{0, 2}},
		{"anything-but forms", []string{`{"s":[{"anything-but":{"suffix":".txt"}}]}`, `{"s":[{"anything-but":{"equals-ignore-case":["A.TXT"]}}]}`, `{"s":[{"anything-but":{"wildcard":"*.t*"}}]}`}, `{"s":"a.txt"}`, nil},
		{"anything-but on null", []string{`{"s":[{"anything-but":"x"}]}`, `{"s":[{"anything-but":{"wildcard":"*"}}]}`}, `{"s":null}`, []int{0, 1}},
		{"numeric", []string{`{"n":[{"numeric":[">",0,"<=",5]}]}`, `{"n":[{"numeric":["<",5]}]}`, `{"n":[{"numeric":["=",5]}]}`, `{"n":[{"numeric":[">=",5]}]}`}, `{"n":5}`, []int{0, 2, 3}},
		{"numeric long decimals", []string{`{"n":[{"numeric":[">",-122.45,"<",-122.44]}]}`, `{"n":[{"numeric":[">",-122.44]}]}`}, `{"n":[-122.449999999999999,-122.440000000000001]}`, nil},
		{"numeric long decimals inside", []string{`{"n":[{"numeric":[">",-122.45,"<",-122.44]}]}`, `{"n":[{"numeric":[">",-122.44]}]}`}, `{"n":[-122.449999999999,-122.440000000000001]}`, []int{0}},
		{"numeric long mantissas", []string{`{"n":[{"numeric":["=",-122.504078056993180]}]}`, `{"n":[-122.50407805699318]}`, `{"n":[{"anything-but":[-122.504078056993180]}]}`, `{"n":[{"numeric":["<",-122.504078056993180]}]}`, `{"n":[{"numeric":[">=",-122.504078056993180]}]}`}, `{"n":-122.504078056993181}`, []int{0, 1, 4}},
		{"numeric long mantissas apart", []string{`{"n":[{"numeric":["=",-122.504078056993180]}]}`, `{"n":[-122.50407805699318]}`, `{"n":[{"anything-but":[-122.504078056993180]}]}`, `{"n":[{"numeric":["<",-122.504078056993180]}]}`}, `{"n":-122.504078056994}`, []int{2, 3}},
		{"exists", []string{`{"a":[{"exists":true}]}`, `{"a":[{"exists":false}]}`, `{"b":[{"exists":false}]}`}, `{"a":1}`, []int{0, 2}},
		{"cidr", []string{`{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":[{"cidr":"10.1.0.0/16"}]}`, `{"ip":[{"cidr":"2001:db8::/32"}]}`}, `{"ip":"10.2.3.4"}`, []int{0}},
		{"or", []string{`{"$or":[{"a":["x"]},{"b":["y"]}]}`, `{"a":["x"],"$or":[{"b":["z"]},{"c":["w"]}]}`}, `{"a":"x","c":"w"}`, []int{0, 1}},
		{"nested and dotted", []string{`{"d":{"s":{"t":["x"]}}}`, `{"d.s.t":["x"]}`, `{"d":{"s.t":["y"]}}`}, `{"d":{"s.t":"x"}}`, []int{0, 1}},
		{"array consistency", []string{`{"e":{"first":["Anna"],"last":["Smith"]}}`, `{"e":{"first":["Anna"],"last":["Doe"]}}`}, `{"e":[{"first":"John","last":"Doe"},{"first":"Anna","last":"Smith"}]}`, []int{0}},
		{"mixed operators", []string{`{"n":[{"numeric":[">",100]},{"anything-but":"101"}]}`}, `{"n":"101"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			for i, p := range tc.patterns {
				if err := m.Add(fmt.Sprint(i), []byte(p)); err != nil {
					t.Fatalf("Add(%s): %v", p, err)
				}
			}
			got, err := m.Match([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tc.want {
				want = append(want, fmt.Sprint(i))
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("Match(%s) = %v, want %v", tc.event, got, want)
			}
			// Each pattern alone, through the reference too.
			ev, err := decodeJSON([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range tc.patterns {
				pv, _ := decodeJSON([]byte(p))
				if refMatch(pv, ev) != slices.Contains(tc.want, i) {
					t.Errorf("reference disagrees with the table on pattern %s", p)
				}
			}
		})
	}
}

func TestMatcherAddErrors(t *testing.T) {
	m := New(WithMaxLength(30))
	if err := m.Add("a", []byte(`{"a":["x"]}`)); err != nil {
		t.Fatal(err)
	}
	var ip *InvalidPatternError
	if err := m.Add("a", []byte(`{"a":[]}`)); !errors.As(err, &ip) {
		t.Fatalf("Add(invalid) = %v, want *InvalidPatternError", err)
	}
	var tl *PatternTooLongError
	if err := m.Add("b", []byte(`{"a":["`+strings.Repeat("x", 40)+`"]}`)); !errors.As(err, &tl) {
		t.Fatalf("Add(long) = %v, want *PatternTooLongError", err)
	}
	// A failed Add leaves the old pattern in place.
	got, _ := m.Match([]byte(`{"a":"x"}`))
	if !slices.Equal(got, []string{"a"}) {
		t.Fatalf("Match = %v, want [a]", got)
	}
}

func TestMatcherNotObject(t *testing.T) {
	m := New()
	if err := m.Add("a", []byte(`{"a":["x"]}`)); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{`[{"a":"x"}]`, `"a"`, `null`, `{"a":"x"`, `{"a":"x"}}`, "{\"a\":\"x\xff\"}"} {
		if _, err := m.Match([]byte(ev)); err == nil && !strings.Contains(ev, "\xff") {
			t.Errorf("Match(%q): no error", ev)
		}
	}
	// Invalid UTF-8 is replaced, as encoding/json does, not an error.
	if err := m.Add("r", []byte(`{"a":["x\ufffd"]}`)); err != nil {
		t.Fatal(err)
	}
	got, err := m.Match([]byte("{\"a\":\"x\xff\"}"))
	if err != nil || !slices.Equal(got, []string{"r"}) {
		t.Errorf("Match(invalid UTF-8) = %v, %v; want [r]", got, err)
	}
}

// TestMatcherMany loads thousands of patterns, checks every id against the
// reference on sample events, then deletes and replaces patterns.
func TestMatcherMany(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	words := []string{"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"}
	m := New()
	pats := map[string]any{}
	add := func(id string) {
		var p string
		switch r.Intn(4) {
		case 0:
			p = fmt.Sprintf(`{"detail":{"k%d":["%s"]}}`, r.Intn(5), words[r.Intn(len(words))])
		case 1:
			p = fmt.Sprintf(`{"detail":{"k%d":[{"prefix":"%s"}]},"source":["s%d"]}`, r.Intn(5), words[r.Intn(len(words))][:2], r.Intn(3))
		case 2:
			p = fmt.Sprintf(`{"detail":{"n":[{"numeric":[">",%d,"<=",%d]}]}}`, r.Intn(50), 50+r.Intn(50))
		default:
			p = fmt.Sprintf(`{"$or":[{"source":["s%d"]},{"detail":{"k%d":[{"suffix":"%s"}]}}]}`, r.Intn(3), r.Intn(5), words[r.Intn(len(words))][2:])
		}
		if err := m.Add(id, []byte(p)); err != nil {
			t.Fatalf("Add(%s): %v", p, err)
		}
		pats[id], _ = decodeJSON([]byte(p))
	}
	for i := 0; i < 1200; i++ {
		add(fmt.Sprint("p", i))
	}
	events := make([]string, 25)
	for i := range events {
		k := r.Intn(5)
		events[i] = fmt.Sprintf(`{"source":"s%d","detail":{"k%d":"%s","k%d":["%s","x"],"n":%d}}`,
			r.Intn(4), k, words[r.Intn(len(words))], (k+1+r.Intn(4))%5, words[r.Intn(len(words))], r.Intn(120))
	}
	check := func(stage string) {
		t.Helper()
		for _, ev := range events {
			got, err := m.Match([]byte(ev))
			if err != nil {
				t.Fatal(err)
			}
			e, _ := decodeJSON([]byte(ev))
			var want []string
			for id, p := range pats {
				if refMatch(p, e) {
					want = append(want, id)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: Match(%s): got %d ids, want %d", stage, ev, len(got), len(want))
			}
		}
	}
	check("added")
	for i := 0; i < 1200; i += 2 {
		m.Delete(fmt.Sprint("p", i))
		delete(pats, fmt.Sprint("p", i))
	}
	check("deleted")
	for i := 1; i < 1200; i += 4 {
		add(fmt.Sprint("p", i)) // replace
	}
	check("replaced")
	if m.Len() != len(pats) {
		t.Fatalf("Len = %d, want %d", m.Len(), len(pats))
	}
}

// TestMatcherConcurrent matches from several goroutines while others add,
// replace and delete patterns (run with -race).
func TestMatcherConcurrent(t *testing.T) {
	m := New()
	if err := m.Add("fixed", []byte(`{"source":["s"]}`)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []string
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				dst, err = m.AppendMatch(dst[:0], []byte(fmt.Sprintf(`{"source":"s","detail":{"k":"v%d","n":%d}}`, i%50, i%100)))
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Contains(dst, "fixed") {
					t.Errorf("the fixed pattern did not match: %v", dst)
					return
				}
			}
		}()
	}
	var writers sync.WaitGroup
	for w := 0; w < 2; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; i < 600; i++ {
				id := fmt.Sprint(w, "-", i%100)
				if i%3 == 2 {
					m.Delete(id)
					continue
				}
				p := fmt.Sprintf(`{"detail":{"k":["v%d"],"n":[{"numeric":["<",%d]}]}}`, i%50, i%100)
				if err := m.Add(id, []byte(p)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()
}
