package delivery_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

var benchEvent = []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"111122223333","time":"2017-12-22T18:43:48Z","region":"us-west-1","resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],"detail":{"instance-id":"i-1234567890abcdef0","state":"terminated"}}`)

// BenchmarkEnqueue measures storing jobs in the delivery stream, 10 per call
// (one PutEvents' worth of matches).
func BenchmarkEnqueue(b *testing.B) {
	st := storetest.Open(b)
	q, err := delivery.NewQueue(context.Background(), st)
	if err != nil {
		b.Fatal(err)
	}
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "t"}
	jobs := make([]*delivery.Job, 10)
	b.SetBytes(int64(len(benchEvent)) * 10)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range jobs {
			n++
			j := job(key, destARN("x"), fmt.Sprint("e", n))
			j.Payload = benchEvent
			jobs[i] = j
		}
		if err := q.Enqueue(context.Background(), jobs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkDeliverHTTP measures jobs enqueued in batches of 10 and delivered
// to one HTTP target on loopback. At most `window` jobs are outstanding
// (enqueued, not yet received), so ns/op is the steady delivery rate; the
// events/s metric counts from the first enqueue to the last delivery.
func BenchmarkDeliverHTTP(b *testing.B) {
	for _, inflight := range []int{32, 128} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			var got atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				got.Add(1)
			}))
			defer srv.Close()
			arn := destARN("bench")
			st := storetest.Open(b)
			f := newFixture(b, st, dests{arn: {ARN: arn, InvocationEndpoint: srv.URL, HTTPMethod: "POST"}},
				func(c *delivery.Config) { c.MaxInFlight = inflight; c.MaxAckPending = 4 * inflight })
			key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "t"}
			if err := f.r.AddTarget(key); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			jobs := make([]*delivery.Job, 10)
			b.SetBytes(int64(len(benchEvent)) * 10)
			b.ReportAllocs()
			const window = 4096
			n := 0
			start := time.Now()
			for b.Loop() {
				for i := range jobs {
					n++
					j := job(key, arn, fmt.Sprint("e", n))
					j.Payload = benchEvent
					jobs[i] = j
				}
				if err := f.q.Enqueue(ctx, jobs...); err != nil {
					b.Fatal(err)
				}
				for int64(n)-got.Load() > window {
					time.Sleep(100 * time.Microsecond)
				}
			}
			deadline := time.Now().Add(2 * time.Minute)
			for got.Load() < int64(n) {
				if time.Now().After(deadline) {
					b.Fatalf("delivered %d of %d", got.Load(), n)
				}
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
		})
	}
}
