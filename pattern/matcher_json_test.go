package pattern

import (
	"strings"
	"testing"
)

// TestSkipContainer checks where skipContainer ends a container (flat
// objects take a shorter path than the others) and that it refuses what
// does not close.
func TestSkipContainer(t *testing.T) {
	long := `{"MAPBLKLOT":"VACSTWIL","BLKLOT":"VACSTWIL","BLOCK_NUM":"0082","STREET":"OFARRELL","N":-1.5e3,"T":true}`
	for _, tc := range []struct {
		obj string // the container, followed in the test by each suffix
		bad bool   // no end: an error
	}{
		{obj: `{}`},
		{obj: `[]`},
		{obj: `{"a":"b"}`},
		{obj: `{"a":1,"b":null}`},
		{obj: long},
		{obj: `{"a":"}"}`},                   // a brace inside a string
		{obj: `{"a":"}","b":"}}}}}}}}}}}"}`}, // many
		{obj: `{"a":"\"}"}`},                 // an escaped quote before a brace
		{obj: `{"a":"\\"}`},                  // an escaped backslash before the quote
		{obj: `{"a":{"b":1}}`},
		{obj: `{"a":[1,{"b":"]"}]}`},
		{obj: `[{"a":"b"},{"c":"d"}]`},
		{obj: `{"k":"01234567890123456789"}`},
		{obj: `{"type":"Polygon","coordinates":[[[1,2],[3,4]]]}`}, // taken over at the first bracket
		{obj: `{"a":"b","c":[1,2],"d":"e"}`},
		{obj: `{"a":"[","b":[1],"c":"]"}`}, // a bracket inside a string first
		{obj: `{"a":"x\"","b":{}}`},
		{obj: `{"abcdefgh":"{","b":{"c":"}"}}`},
		{obj: `{"abcdefgh":1,"b":{"c":[1,"]"]}}`},
		{obj: `{"a":[1,2}`, bad: true},
		{obj: `{"a":"b"]`, bad: true},
		{obj: `{"a":1]`, bad: true},
		{obj: `[1,2}`, bad: true},
		{obj: `{"a":"b"`, bad: true},
		{obj: `{"a":"}`, bad: true},
		{obj: `{"a":{"b":1}`, bad: true},
	} {
		for _, suffix := range []string{"", ",", `,{"x":"y"}`, "}" + strings.Repeat(" ", 16), `],"z":["}"]}`} {
			text := tc.obj + suffix
			end, err := skipContainer([]byte(text), 0)
			switch {
			case tc.bad && err == nil && end <= len(tc.obj):
				t.Errorf("skipContainer(%q) = %d, want an error", text, end)
			case !tc.bad && err != nil:
				t.Errorf("skipContainer(%q): %v", text, err)
			case !tc.bad && end != len(tc.obj):
				t.Errorf("skipContainer(%q) = %d, want %d", text, end, len(tc.obj))
			}
		}
	}
}
