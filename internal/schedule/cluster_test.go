package schedule_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/clock/clocktest"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestTwoProcessesFireOnce: two Conveyors on one external NATS server, on
// one injected clock, fire a scheduled rule once per due minute between
// them, and the one left fires alone once the other is gone.
func TestTwoProcessesFireOnce(t *testing.T) {
	ns := storetest.StartNATS(t, "")
	clock := clocktest.New(time.Now().UTC())
	key := servertest.SecretsKey(t)
	cfg := func(c *server.Config) { c.NATSURL, c.SecretsKeyFile = ns.ClientURL(), key; c.Clock = clock }
	a := servertest.Start(t, cfg)
	servertest.Start(t, cfg)

	var (
		mu    sync.Mutex
		times []string
	)
	got := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Time string `json:"time"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &ev)
		mu.Lock()
		times = append(times, ev.Time)
		mu.Unlock()
		got <- struct{}{}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := a.Events
	conn := must(c.CreateConnection(ctx, &eventbridge.CreateConnectionInput{
		Name: aws.String("c"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("k"), ApiKeyValue: aws.String("v")}},
	}))
	dest := must(c.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("d"), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String(srv.URL), HttpMethod: types.ApiDestinationHttpMethodPost}))
	must(c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 minute)")}))
	must(c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("tick"), Targets: []types.Target{{Id: aws.String("t"), Arn: dest.ApiDestinationArn}}}))

	const minutes = 5
	for i := range minutes {
		if i == 3 {
			if err := a.Stop(); err != nil {
				t.Fatal(err)
			}
		}
		var due time.Time
		waitfor.True(t, fmt.Sprintf("firing %d armed", i), func() bool {
			var ok bool
			due, ok = clock.NextTimer()
			return ok
		})
		// Let the other process arm too: the clock shows the earliest timer
		// only, so nothing tells that the second one is there.
		time.Sleep(50 * time.Millisecond)
		clock.Set(due)
		select {
		case <-got:
		case <-time.After(20 * time.Second):
			t.Fatalf("firing %d (%s) not delivered", i, due)
		}
	}
	time.Sleep(500 * time.Millisecond) // a double firing would arrive by now
	mu.Lock()
	defer mu.Unlock()
	if len(times) != minutes {
		t.Fatalf("%d deliveries for %d firings: %v", len(times), minutes, times)
	}
	seen := map[string]bool{}
	for _, tm := range times {
		if seen[tm] {
			t.Fatalf("fired twice at %s: %v", tm, times)
		}
		seen[tm] = true
	}
}

// must returns v, or panics on err: for calls whose failure is a broken
// test rig.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
