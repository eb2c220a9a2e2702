package ingest

import (
	"bytes"
	"encoding/json"
	"testing"
)

// PutEvents' answer writes what encoding/json writes.
func TestPutEventsOutputAppendsAsEncodingJSON(t *testing.T) {
	for _, o := range []*PutEventsOutput{
		{},
		{Entries: []PutEventsResultEntry{}},
		{Entries: []PutEventsResultEntry{{EventId: "e1"}, {ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed: \"x\" <&> \x01"}, {}}, FailedEntryCount: 2},
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(o); err != nil {
			t.Fatal(err)
		}
		if got := o.AppendJSON(nil); !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("AppendJSON\n%s\nencoding/json\n%s", got, want.Bytes())
		}
	}
}
