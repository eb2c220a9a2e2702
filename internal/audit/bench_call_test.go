package audit_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// BenchmarkPutEventsCallPath is what the audit trail costs a PutEvents call
// with data events off (the default): the intent check before the handler
// and the commit after it.
func BenchmarkPutEventsCallPath(b *testing.B) {
	st := storetest.Open(b)
	a, err := audit.New(b.Context(), audit.Options{Config: cfg, JetStream: st.JetStream(),
		IndexPath: filepath.Join(b.TempDir(), "index.db"), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close(context.Background()) })
	ctx := context.Background()
	c := &awsapi.Call{Service: "events", Operation: "PutEvents", Request: []byte(`{"Entries":[{"Source":"a","DetailType":"b","Detail":"{}"}]}`),
		Caller: awsapi.Caller{AccessKeyID: "AKID", RequestID: "8c2fd9a6-6f4e-4b1c-9d3a-2e7f5a1b0c4d"},
		Output: map[string]any{"Entries": []map[string]string{{"EventId": "8c2fd9a6-6f4e-4b1c-9d3a-2e7f5a1b0c4d"}}, "FailedEntryCount": 0},
		Start:  time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Journal().Intend(ctx, c); err != nil {
			b.Fatal(err)
		}
		a.Recorder().Commit(ctx, c)
	}
}
