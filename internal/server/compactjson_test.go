package server

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzCompactJSON: compactJSON is json.Compact on valid JSON.
func FuzzCompactJSON(f *testing.F) {
	f.Add(`{ "a" : [ 1 , "x \" y\\\\" , { "b" :	null } ] ,` + "\n" + `"c":"\t"}`)
	f.Add(`"  "`)
	f.Fuzz(func(t *testing.T, in string) {
		var want bytes.Buffer
		if json.Compact(&want, []byte(in)) != nil {
			return
		}
		if got := compactJSON([]byte(in)); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%q: got %s, want %s", in, got, want.Bytes())
		}
	})
}
