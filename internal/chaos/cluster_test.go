package chaos

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/secrets"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/syncbuf"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestClusterKills runs three `conveyor serve` processes on one three-server
// NATS JetStream cluster (R3 streams and buckets) under a steady PutEvents
// load through all three, with an HTTP target that refuses the first
// attempt at one event in ten. One Conveyor is killed with SIGKILL; then
// the NATS server leading the bus's stream is shut down and started again.
// Every acknowledged event reaches the target; duplicates are logged.
func TestClusterKills(t *testing.T) {
	if conveyorBin == "" {
		t.Skip("chaos tests start server processes (skipped with -short)")
	}
	cluster := storetest.StartCluster(t, 3)
	key := filepath.Join(t.TempDir(), "secrets.key")
	if _, err := secrets.LoadOrCreateKey(key); err != nil {
		t.Fatal(err)
	}
	log := &syncbuf.Buffer{}
	procs := make([]*proc, 3)
	for i := range procs {
		procs[i] = start(t, t.TempDir(), log, "--nats", cluster.URLs(), "--replicas", "3", "--secrets-key", key)
	}
	sk := newSink(t)
	ctx := context.Background()
	eb := procs[0].events()
	conn, err := eb.CreateConnection(ctx, &eventbridge.CreateConnectionInput{
		Name:              aws.String("sink"),
		AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("chaos")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := eb.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{
		Name: aws.String("sink"), ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String(sk.URL + "/"),
		HttpMethod: types.ApiDestinationHttpMethodPost,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("load"), EventPattern: aws.String(`{"source":["chaos.load"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("load"),
		Targets: []types.Target{{Id: aws.String("sink"), Arn: dest.ApiDestinationArn}}}); err != nil {
		t.Fatal(err)
	}
	// Every process routes with the target before the load begins.
	for i, p := range procs {
		c := p.events()
		waitfor.Err(t, waitfor.Timeout, fmt.Sprintf("process %d to list the rule's target", i), func() error {
			out, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("load")})
			if err == nil && len(out.Targets) != 1 {
				err = fmt.Errorf("%d targets", len(out.Targets))
			}
			return err
		})
	}

	// The load: one caller per process, ten entries a call every 50 ms
	// (600 events a second in all), until stop.
	var (
		mu       sync.Mutex
		acked    []string
		failures = map[string]int{}
		seq      atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range procs {
		c := p.events()
		wg.Go(func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if p.exited() {
					continue
				}
				entries := make([]types.PutEventsRequestEntry, 10)
				for i := range entries {
					entries[i] = types.PutEventsRequestEntry{Source: aws.String("chaos.load"), DetailType: aws.String("load"),
						Detail: aws.String(fmt.Sprintf(`{"seq":%d}`, seq.Add(1)))}
				}
				cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				out, err := c.PutEvents(cctx, &eventbridge.PutEventsInput{Entries: entries})
				cancel()
				mu.Lock()
				switch {
				case err != nil:
					var ae smithy.APIError
					if errors.As(err, &ae) {
						failures[ae.ErrorCode()]++
					} else if !p.exited() {
						failures["no answer"]++
					}
				default:
					for _, e := range out.Entries {
						if e.EventId != nil {
							acked = append(acked, *e.EventId)
						} else {
							failures[aws.ToString(e.ErrorCode)]++
						}
					}
				}
				mu.Unlock()
			}
		})
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	more := func(n int, what string) {
		t.Helper()
		before := count()
		waitfor.Err(t, 60*time.Second, what, func() error {
			if got := count() - before; got < n {
				return fmt.Errorf("%d of %d acknowledged", got, n)
			}
			return nil
		})
		mu.Lock()
		defer mu.Unlock()
		t.Logf("%s: %d acknowledged, %d received, failures %v", what, len(acked), sk.count(), failures)
	}

	more(600, "events acknowledged by three Conveyors")
	procs[2].kill()
	more(600, "events acknowledged after one Conveyor was killed")
	leader := busLeader(t, cluster)
	cluster.Shutdown(leader)
	more(600, "events acknowledged with the bus stream's NATS server down")
	cluster.Restart(leader)
	cluster.WaitLeader()
	more(600, "events acknowledged after the NATS server returned")
	close(stop)
	wg.Wait()

	mu.Lock()
	all := append([]string(nil), acked...)
	mu.Unlock()
	stopped := time.Now()
	// Jobs the killed process held come back after the delivery
	// consumer's ack wait (30 s), events it was routing after the bus's
	// (10 s).
	waitfor.Err(t, 90*time.Second, "every acknowledged event delivered", func() error {
		if m := sk.missing(all); len(m) > 0 {
			return fmt.Errorf("%d of %d missing, e.g. %v", len(m), len(all), m[:min(3, len(m))])
		}
		return nil
	})
	t.Logf("all %d acknowledged events delivered %v after the load stopped (%d more than once)",
		len(all), time.Since(stopped).Round(100*time.Millisecond), sk.duplicates())
}

// busLeader returns the index in c of the server that leads the default
// bus's stream.
func busLeader(t *testing.T, c *storetest.Cluster) int {
	t.Helper()
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, store.BusStream("default"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if srv := c.Server(i); srv != nil && srv.Name() == st.CachedInfo().Cluster.Leader {
			return i
		}
	}
	t.Fatalf("no server leads the bus stream")
	return -1
}
