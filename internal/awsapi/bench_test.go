package awsapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/event"
	"github.com/conveyor/conveyor/internal/ingest"
)

type benchPutEventsInput struct {
	Entries    []ingest.Entry `json:"Entries"`
	EndpointId *string        `json:"EndpointId"`
}

type benchResultEntry struct {
	EventId      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

type benchPutEventsOutput struct {
	FailedEntryCount int                `json:"FailedEntryCount"`
	Entries          []benchResultEntry `json:"Entries"`
}

// BenchmarkPutEventsPipeline measures the protocol layer plus the event package for a
// PutEvents call of 10 entries, without storage: routing, decoding, validation (model and
// per entry), envelopes, response encoding. Observers: none or one.
func BenchmarkPutEventsPipeline(b *testing.B) {
	var body strings.Builder
	body.WriteString(`{"Entries":[`)
	for i := range 10 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"Source":"com.example.orders","DetailType":"Order Placed","Detail":"{\"order\":{\"id\":\"o-%d\",\"items\":[{\"sku\":\"a\",\"qty\":2}],\"total\":12.5}}","Resources":["arn:aws:s3:::bucket"],"Time":1704164645.5}`, i)
	}
	body.WriteString(`]}`)
	req := body.String()
	for _, withModel := range []bool{false, true} {
		for _, observed := range []bool{false, true} {
			b.Run(fmt.Sprintf("model=%v/observer=%v", withModel, observed), func(b *testing.B) {
				eb := awsapi.NewEventBridge()
				if withModel {
					eb.SetModel(awsapi.MustLoadModel("events"))
				}
				now := time.Now()
				awsapi.Handle(eb, "PutEvents", func(ctx context.Context, in *benchPutEventsInput) (*benchPutEventsOutput, error) {
					if err := ingest.ValidateRequest(in.Entries, in.EndpointId); err != nil {
						return nil, err
					}
					out := &benchPutEventsOutput{Entries: make([]benchResultEntry, len(in.Entries))}
					buf := make([]byte, 0, 1024)
					for i := range in.Entries {
						if err := in.Entries[i].Validate(false); err != nil {
							out.FailedEntryCount++
							out.Entries[i] = benchResultEntry{ErrorCode: err.Code, ErrorMessage: err.Message}
							continue
						}
						id := event.NewID()
						buf = in.Entries[i].Envelope(id, "000000000000", "us-east-1", now).AppendJSON(buf[:0])
						out.Entries[i].EventId = id
					}
					return out, nil
				})
				srv, err := awsapi.NewServer(awsapi.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, eb)
				if err != nil {
					b.Fatal(err)
				}
				if observed {
					srv.Observe(func(ctx context.Context, c *awsapi.Call) {})
				}
				b.SetBytes(int64(len(req)))
				b.ReportAllocs()
				for b.Loop() {
					r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(req))
					r.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
					r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=ab")
					w := httptest.NewRecorder()
					srv.ServeHTTP(w, r)
					if w.Code != 200 {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		}
	}
}
