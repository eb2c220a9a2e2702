package audit

import (
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
)

// BenchmarkPutRuleRecordCompute is what a PutRule call's path computes for
// the audit trail, without JetStream: its intent (before the call) and its
// record's message (after it). BenchmarkPutRuleCallPath adds the two
// JetStream round trips.
func BenchmarkPutRuleRecordCompute(b *testing.B) {
	bld, err := NewBuilder(Config{AccountID: "123456789012", Region: "us-east-1"})
	if err != nil {
		b.Fatal(err)
	}
	r := &Recorder{b: bld}
	j := &Journal{rec: r}
	c := &awsapi.Call{Service: "events", Operation: "PutRule",
		Request: []byte(`{"Name":"orders","EventPattern":"{\"source\":[\"com.example.orders\"],\"detail-type\":[\"Order Placed\"]}","State":"ENABLED","Description":"Orders"}`),
		Caller:  awsapi.Caller{AccessKeyID: "AKID", RequestID: "8c2fd9a6-6f4e-4b1c-9d3a-2e7f5a1b0c4d", SourceIP: "127.0.0.1", UserAgent: "aws-cli/2.15.30"},
		Start:   time.Now()}
	// The answer as the server makes it before the record (see
	// awsapi.Call.Response).
	out := map[string]any{"RuleArn": "arn:aws:events:us-east-1:123456789012:rule/orders"}
	resp := []byte(`{"RuleArn":"arn:aws:events:us-east-1:123456789012:rule/orders"}`)
	b.ReportAllocs()
	for b.Loop() {
		c.Output, c.Response = nil, nil
		c.Intent = j.intentOf(FromAPICall(c))
		c.Output, c.Response = out, resp
		if _, err := r.message(committed(c)); err != nil {
			b.Fatal(err)
		}
	}
}
