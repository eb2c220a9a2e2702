package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// BenchmarkClusterPutEvents puts events through 1, 2 and 3 Conveyors on one
// 3-server NATS JetStream cluster (R3 streams and buckets), all on this
// machine, with one rule whose target is an HTTP endpoint. An iteration is
// 2,000 events, put by 8 callers (PutEvents of 10, spread over the nodes)
// and waited for until all are delivered; events/s is put to delivered.
// One machine cannot show scaling (the nodes share its cores); the
// benchmark shows what a node's share costs.
func BenchmarkClusterPutEvents(b *testing.B) {
	for _, nodes := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			benchCluster(b, nodes)
		})
	}
}

func benchCluster(b *testing.B, nodes int) {
	nc := storetest.StartCluster(b, 3)
	key := servertest.SecretsKey(b)
	var ins []*servertest.Instance
	for range nodes {
		ins = append(ins, servertest.Start(b, func(c *server.Config) {
			c.NATSURL, c.Replicas, c.SecretsKeyFile = nc.URLs(), 3, key
		}))
	}
	var delivered, want atomic.Int64
	done := make(chan struct{}, 1)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if delivered.Add(1) >= want.Load() {
			select {
			case done <- struct{}{}:
			default:
			}
		}
	}))
	b.Cleanup(sink.Close)
	ctx := context.Background()
	dest := servertest.APIDestination(b, ins[0].Events, "bench", sink.URL)
	// Not the default 300 invocations a second (which each node applies).
	if _, err := ins[0].Events.UpdateApiDestination(ctx, &eventbridge.UpdateApiDestinationInput{Name: aws.String("bench"),
		InvocationRateLimitPerSecond: aws.Int32(1000000)}); err != nil {
		b.Fatal(err)
	}
	if _, err := ins[0].Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bench"),
		EventPattern: aws.String(`{"source":["bench"]}`)}); err != nil {
		b.Fatal(err)
	}
	if _, err := ins[0].Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("bench"),
		Targets: []types.Target{{Id: aws.String("h"), Arn: aws.String(dest)}}}); err != nil {
		b.Fatal(err)
	}
	entries := make([]types.PutEventsRequestEntry, 10)
	for i := range entries {
		entries[i] = types.PutEventsRequestEntry{Source: aws.String("bench"), DetailType: aws.String("tick"), Detail: aws.String(`{"n":1}`)}
	}
	// Every node has the rule before the clock starts.
	for _, in := range ins {
		waitfor.True(b, "every node to have the rule", func() bool {
			out, err := in.Events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("bench")})
			return err == nil && len(out.Targets) == 1
		})
	}
	const perIteration, callers = 2000, 8
	var put int64
	var elapsed, putTime time.Duration
	for b.Loop() {
		start := time.Now()
		want.Store(put + perIteration)
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := range callers {
			c := ins[w%len(ins)].Events
			wg.Go(func() {
				for next.Add(10) <= perIteration {
					out, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
					if err != nil || out.FailedEntryCount != 0 {
						b.Errorf("PutEvents: %v %+v", err, out)
						return
					}
				}
			})
		}
		wg.Wait()
		putTime += time.Since(start)
		put += perIteration
		for delivered.Load() < put {
			<-done
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(put)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(put)/putTime.Seconds(), "put/s")
	b.ReportMetric(0, "ns/op")
}
