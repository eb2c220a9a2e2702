package cloudtrail_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/awsapi"
	ct "github.com/conveyor/conveyor/internal/cloudtrail"
)

// The benchmark's history: CONVEYOR_BENCH_RECORDS records (default
// 1,000,000) over 90 days, built once per process in a temporary directory.
var (
	benchOnce  sync.Once
	benchIndex *audit.Index
	benchDir   string
	benchErr   error
	benchEnd   = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	// benchEventID is the eventID of one record in the middle of the history.
	benchEventID string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchIndex != nil {
		benchIndex.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

var (
	benchOps   = []string{"PutRule", "DescribeRule", "ListRules", "PutTargets", "DeleteRule", "ListTargetsByRule", "DescribeEventBus", "CreateQueue", "GetQueueAttributes", "LookupEvents"}
	benchUsers = []string{"AKIAALICE", "AKIABOB", "AKIACAROL", "AKIADAVE", "AKIAERIN", "AKIAFRANK", "AKIAGRACE", "AKIAHEIDI"}
)

func benchCall(r *rand.Rand, i int, t time.Time) audit.Call {
	op := benchOps[r.IntN(len(benchOps))]
	rule := "rule-" + strconv.Itoa(r.IntN(2000))
	c := audit.Call{Service: "events", Operation: op, AccessKeyID: benchUsers[r.IntN(len(benchUsers))],
		SourceIP:  "10.0." + strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(r.IntN(256)),
		UserAgent: "aws-cli/1.33.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.7",
		RequestID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, r.Int64N(1<<40)), Time: t}
	switch op {
	case "PutRule":
		c.Request = fmt.Appendf(nil, `{"Name":%q,"EventPattern":"{\"source\":[\"com.example.orders\"],\"detail-type\":[\"Order Placed\"],\"detail\":{\"amount\":[{\"numeric\":[\">\",100]}]}}","State":"ENABLED","Description":"Orders above 100"}`, rule)
		c.Response = fmt.Appendf(nil, `{"RuleArn":"arn:aws:events:us-east-1:123456789012:rule/%s"}`, rule)
	case "PutTargets":
		c.Request = fmt.Appendf(nil, `{"Rule":%q,"Targets":[{"Id":"hook","Arn":"arn:aws:events:us-east-1:123456789012:api-destination/hook/0c4e","RetryPolicy":{"MaximumRetryAttempts":3}}]}`, rule)
		c.Response = []byte(`{"FailedEntryCount":0,"FailedEntries":[]}`)
	case "DescribeRule", "DeleteRule", "ListTargetsByRule":
		c.Request = fmt.Appendf(nil, `{"Name":%q,"Rule":%q}`, rule, rule)
	case "ListRules":
		c.Request = []byte(`{"EventBusName":"default","Limit":100}`)
	case "CreateQueue", "GetQueueAttributes":
		c.Service = "sqs"
		c.Request = fmt.Appendf(nil, `{"QueueName":"jobs-%d","QueueUrl":"http://127.0.0.1:4010/123456789012/jobs-%d"}`, r.IntN(50), r.IntN(50))
	case "LookupEvents":
		c.Service = "cloudtrail"
		c.Request = []byte(`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"PutRule"}],"MaxResults":50}`)
	}
	if r.IntN(20) == 0 {
		c.ErrorCode, c.ErrorMessage = "ResourceNotFoundException", "Rule "+rule+" does not exist."
	}
	return c
}

func benchHistory(b *testing.B) *audit.Index {
	b.Helper()
	benchOnce.Do(func() {
		n := 1_000_000
		if s := os.Getenv("CONVEYOR_BENCH_RECORDS"); s != "" {
			n, benchErr = strconv.Atoi(s)
			if benchErr != nil {
				return
			}
		}
		benchDir, benchErr = os.MkdirTemp("", "conveyor-audit-bench-")
		if benchErr != nil {
			return
		}
		ctx := context.Background()
		benchIndex, benchErr = audit.OpenIndex(ctx, filepath.Join(benchDir, "audit.db"), nil)
		if benchErr != nil {
			return
		}
		builder, err := audit.NewBuilder(audit.Config{AccountID: "123456789012", Region: "us-east-1"})
		if err != nil {
			benchErr = err
			return
		}
		r := rand.New(rand.NewPCG(7, 7))
		span := 90 * 24 * time.Hour
		start := time.Now()
		var bytes int
		const batch = 5000
		entries := make([]audit.Entry, 0, batch)
		for i := range n {
			// Time grows with the sequence, as records arrive.
			t := benchEnd.Add(-span + time.Duration(float64(span)*float64(i)/float64(n)))
			rec, _ := builder.Build(benchCall(r, i, t))
			if i == n/2 {
				benchEventID = rec.EventID
			}
			raw, err := rec.Marshal()
			if err != nil {
				benchErr = err
				return
			}
			bytes += len(raw)
			entries = append(entries, audit.Entry{Seq: uint64(i + 1), Record: raw})
			if len(entries) == batch || i == n-1 {
				if benchErr = benchIndex.Apply(ctx, entries); benchErr != nil {
					return
				}
				entries = entries[:0]
			}
		}
		d := time.Since(start)
		st, _ := os.Stat(filepath.Join(benchDir, "audit.db"))
		var size int64
		if st != nil {
			size = st.Size()
		}
		fmt.Fprintf(os.Stderr, "audit bench: built an index of %d records (%.0f bytes each on average) in %v: %.0f records/s; file %d MB\n",
			n, float64(bytes)/float64(n), d.Round(time.Millisecond), float64(n)/d.Seconds(), size>>20)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchIndex
}

// BenchmarkLookupEvents measures the first page (50 events, as the API
// answers it, JSON-encoded) of a lookup by each attribute over the history.
func BenchmarkLookupEvents(b *testing.B) {
	ix := benchHistory(b)
	attrs := []struct{ key, value string }{
		{"", ""},
		{"EventId", benchEventID},
		{"EventName", "PutRule"},
		{"ReadOnly", "true"},
		{"Username", "AKIAALICE"},
		{"ResourceType", "AWS::Events::Rule"},
		{"ResourceName", "rule-42"},
		{"EventSource", "sqs.amazonaws.com"},
		{"AccessKeyId", "AKIAHEIDI"},
		{"EventName", "NoSuchCall"},
	}
	for _, a := range attrs {
		for _, window := range []string{"all", "day"} {
			in := &ct.LookupEventsInput{}
			if a.key != "" {
				in.LookupAttributes = []ct.LookupAttribute{{AttributeKey: aws.String(a.key), AttributeValue: aws.String(a.value)}}
			}
			if window == "day" {
				// A day in the middle of the history.
				in.StartTime = awsapi.TimestampPtr(benchEnd.Add(-46 * 24 * time.Hour))
				in.EndTime = awsapi.TimestampPtr(benchEnd.Add(-45 * 24 * time.Hour))
			}
			name := "attr=" + a.key + "/" + window
			if a.key == "" {
				name = "attr=none/" + window
			}
			if a.value == "NoSuchCall" {
				name = "attr=EventName-nomatch/" + window
			}
			b.Run(name, func(b *testing.B) {
				// The caller's account and region: the history of one scope.
				ctx := awsapi.ContextWithCaller(context.Background(), awsapi.Caller{Account: "123456789012", Region: "us-east-1"})
				for b.Loop() {
					out, err := ct.LookupEvents(ctx, ix, in)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := json.Marshal(out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
