package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// event is a typical small EventBridge event (~400 bytes).
var event = []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"111122223333","time":"2017-12-22T18:43:48Z","region":"us-west-1","resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],"detail":{"instance-id":"i-1234567890abcdef0","state":"terminated"}}`)

func BenchmarkPublishEvent(b *testing.B) {
	for _, par := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", par), func(b *testing.B) {
			s := storetest.Open(b)
			ctx := context.Background()
			if _, err := s.EnsureBus(ctx, "default"); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(event)))
			b.ReportAllocs()
			var mu sync.Mutex
			n := 0
			next := func() int { mu.Lock(); defer mu.Unlock(); n++; return n }
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.PublishEvent(ctx, "default", fmt.Sprint("id-", next()), event); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkPublishEvents publishes batches of 10 (one PutEvents call each)
// from several concurrent clients, as the API server would.
const batch = 10

func BenchmarkPublishEvents(b *testing.B) {
	for _, par := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", par), func(b *testing.B) {
			s := storetest.Open(b)
			ctx := context.Background()
			if _, err := s.EnsureBus(ctx, "default"); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(event)) * batch)
			b.ReportAllocs()
			var mu sync.Mutex
			n := 0
			next := func() int { mu.Lock(); defer mu.Unlock(); n++; return n }
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				msgs := make([]store.Message, batch)
				for pb.Next() {
					for i := range msgs {
						msgs[i] = store.Message{ID: fmt.Sprint("id-", next()), Data: event}
					}
					if _, err := s.PublishEvents(ctx, "default", msgs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
