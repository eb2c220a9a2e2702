package delivery

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func sampleJobs() []*Job {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	return []*Job{
		{EventID: "e1"},
		{
			Bus: "default", RuleName: "r1", RuleARN: "arn:aws:events:us-east-1:000000000000:rule/r1",
			TargetID: "t1", TargetARN: "arn:aws:events:us-east-1:000000000000:api-destination/d/1234",
			EventID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718", EventTime: t0.Truncate(time.Second), IngestionTime: t0,
			RetryPolicy: DefaultRetryPolicy(), DeadLetterARN: "arn:aws:sqs:us-east-1:000000000000:dlq",
			Payload: []byte(`{"detail":{"a":1}}`),
		},
		{
			Bus: "orders.v1/eu", RuleName: "r.2", TargetID: "x", EventID: "e3",
			RetryPolicy: RetryPolicy{MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60},
			HTTP: &HTTPParameters{
				PathParameterValues:   []string{"a b", "c"},
				HeaderParameters:      map[string]string{"X-One": "1", "X-Two": "2"},
				QueryStringParameters: map[string]string{"q": "v"},
			},
			Payload: bytes.Repeat([]byte("z"), 300_000),
		},
		{
			Bus: "default", RuleName: "r3", TargetID: "t", EventID: "e4", IngestionTime: t0,
			RetryPolicy: DefaultRetryPolicy(), PriorAttempts: 1, RetryAt: t0.Add(750 * time.Millisecond),
			Payload: []byte(`{}`),
		},
		{
			Bus: "default", RuleName: "r4", TargetID: "q", TargetARN: "arn:aws:sqs:us-east-1:000000000000:o.fifo", EventID: "e5",
			RetryPolicy: DefaultRetryPolicy(), MessageGroupId: "orders", Payload: []byte(`{"n":1}`),
		},
	}
}

func TestJobRoundTrip(t *testing.T) {
	for _, j := range sampleJobs() {
		data, err := j.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Job
		if err := got.UnmarshalBinary(data); err != nil {
			t.Fatalf("unmarshal %s: %v", j.EventID, err)
		}
		if got.Payload == nil && j.Payload == nil {
			got.Payload = nil
		} else if len(got.Payload) == 0 && len(j.Payload) == 0 {
			got.Payload = j.Payload
		}
		if !reflect.DeepEqual(&got, j) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", j.EventID, got, *j)
		}
		// Compact: the fixed part is small next to the payload.
		if over := len(data) - len(j.Payload); over > 400 {
			t.Errorf("job %s: %d bytes of header", j.EventID, over)
		}
		// Every cut inside the header fails cleanly (the payload is the
		// tail: a cut there is a valid job with a shorter payload).
		for n := range len(data) - len(j.Payload) {
			var x Job
			if err := x.UnmarshalBinary(data[:n]); err == nil {
				t.Errorf("job %s truncated to %d bytes decoded without error", j.EventID, n)
			}
		}
	}
}

func TestJobBadVersion(t *testing.T) {
	var j Job
	if err := j.UnmarshalBinary([]byte{9, 0, 0}); err == nil {
		t.Error("version 9 accepted")
	}
	if err := j.UnmarshalBinary(nil); err == nil {
		t.Error("empty data accepted")
	}
}

func FuzzJobUnmarshal(f *testing.F) {
	for _, j := range sampleJobs()[:2] {
		data, _ := j.MarshalBinary()
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var j Job
		if err := j.UnmarshalBinary(data); err != nil {
			return
		}
		// What decodes re-encodes to the same bytes.
		again, err := j.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var k Job
		if err := k.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded job does not decode: %v", err)
		}
	})
}

func TestBackoff(t *testing.T) {
	r := &Runner{cfg: Config{BackoffBase: time.Second, BackoffMax: 5 * time.Minute}}
	cases := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{9, 128 * time.Second, 256 * time.Second},
		{10, 150 * time.Second, 5 * time.Minute},
		{185, 150 * time.Second, 5 * time.Minute},
	}
	for _, c := range cases {
		for range 50 {
			if d := r.backoff(c.attempt); d < c.min || d > c.max {
				t.Errorf("backoff(%d) = %v, want in [%v, %v]", c.attempt, d, c.min, c.max)
			}
		}
	}
}
