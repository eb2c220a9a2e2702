package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzScanValue: scanValue accepts what encoding/json accepts, and writes it
// as json.Compact does.
func FuzzScanValue(f *testing.F) {
	f.Add(`{ "a" : [ 1 , "x \" y\\\\" , { "b" :	null } ] ,` + "\n" + `"c":"\t"}`)
	f.Add(`"  "`)
	f.Add(`[-0.5e+7, 1E9, 0, true, false, null, "\u00e9\ud83d\ude00", {}] `)
	f.Add(`{"a":01}`)
	f.Add(`{"a":"\x"}`)
	f.Fuzz(func(t *testing.T, in string) {
		end, out, err := scanValue([]byte(in), nil)
		valid := json.Valid([]byte(in))
		switch {
		case err == nil:
			var want bytes.Buffer
			if json.Compact(&want, []byte(in[:end])) != nil {
				t.Fatalf("%q: scanValue took %q, not JSON", in, in[:end])
			}
			if !bytes.Equal(out, want.Bytes()) {
				t.Fatalf("%q: got %s, want %s", in, out, want.Bytes())
			}
			if valid && strings.TrimSpace(in[end:]) != "" {
				t.Fatalf("%q: scanValue stopped at %d", in, end)
			}
		case errors.Is(err, errIncomplete):
			// A number is complete once the byte after it is read.
			if trimmed := strings.TrimSpace(in); valid && !strings.ContainsAny(trimmed[len(trimmed)-1:], "0123456789") {
				t.Fatalf("%q: JSON, but incomplete for scanValue", in)
			}
		default:
			if valid {
				t.Fatalf("%q: JSON, but scanValue: %v", in, err)
			}
		}
	})
}

// oneByteReader reads one byte at a time.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1)]) }

// The reader finds the same values whatever the reads' sizes.
func TestLogReaderShortReads(t *testing.T) {
	const file = ` { "Other" : [1, {"x": "y"}] , "Records" : [ {"eventID" : "a", "n": 12} , {"eventID":"b\"c"} ] } `
	for _, r := range []io.Reader{strings.NewReader(file), oneByteReader{strings.NewReader(file)}} {
		lr := newLogReader(r, 1<<10)
		var got []string
		if err := lr.expect('{'); err != nil {
			t.Fatal(err)
		}
		for {
			k, err := lr.value(errValueTooLarge)
			if err != nil {
				t.Fatal(err)
			}
			if err := lr.expect(':'); err != nil {
				t.Fatal(err)
			}
			v, err := lr.value(errValueTooLarge)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(k)+"="+string(v))
			c, err := lr.peek()
			if err != nil {
				t.Fatal(err)
			}
			lr.off++
			if c == '}' {
				break
			}
		}
		want := `"Other"=[1,{"x":"y"}] "Records"=[{"eventID":"a","n":12},{"eventID":"b\"c"}]`
		if strings.Join(got, " ") != want {
			t.Fatalf("got %s", got)
		}
	}
}
