package ingest

import (
	"reflect"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/conveyor/conveyor/internal/awsapi"
)

var putEventsBodies = []string{
	`{"Entries":[{"Source":"app","DetailType":"t","Detail":"{\"a\":1}","Resources":["r1","r2"],"EventBusName":"b","TraceHeader":"x"}]}`,
	`{"Entries":[],"EndpointId":"e"}`,
	`{"Entries":[{"Source":"a"},{"Detail":"{}"}]}`,
	`{"Entries":[{"Source":"a","Resources":[]}]}`,
	`{"Entries":[{"Source":"a","Time":1700000000}]}`,
	`{"Entries":[{"Source":"a","source":"b"}]}`,
	`{"Entries":[{"Source":"a","Source":"b"}]}`,
	`{"Entries":null}`,
	`{"Entries":[{"Source":null}]}`,
	`{"Entries":[{"Source":1}]}`,
	`{"Entries":[{"Source":"\u00e9\ud83d\ude00"}]}`,
	"{\"Entries\":[{\"Source\":\"a\x01\"}]}",
	"{\"Entries\":[{\"Source\":\"\xff\"}]}",
	`{"Entries":[{"Source":"a\/b\n"}]} `,
	"{\"Entries\":[{\"Source\":\"\x1b\\\\b\"}]}",
	`{"Entries":[{"Source":"a"}]}x`,
	`{"Unknown":1,"Entries":[]}`,
	`[]`, ``, `{`,
}

func TestPutEventsDecodeJSON(t *testing.T) {
	var read int
	for _, b := range putEventsBodies {
		if checkDecodeJSON(t, []byte(b)) {
			read++
		}
	}
	if read < 4 {
		t.Errorf("DecodeJSON read %d of the requests, want the usual ones", read)
	}
}

// FuzzPutEventsDecodeJSON: what DecodeJSON reads, it reads as the
// reflective decoder does.
func FuzzPutEventsDecodeJSON(f *testing.F) {
	for _, b := range putEventsBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkDecodeJSON(t, b) })
}

func checkDecodeJSON(t *testing.T, b []byte) bool {
	t.Helper()
	var fast PutEventsInput
	if !fast.DecodeJSON(new(fastjson.Parser), b) {
		return false
	}
	var slow PutEventsInput
	if err := awsapi.Unmarshal(b, &slow); err != nil {
		t.Fatalf("DecodeJSON read %q, the reflective decoder refuses it: %v", b, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q: DecodeJSON read %+v, the reflective decoder %+v", b, fast, slow)
	}
	return true
}
