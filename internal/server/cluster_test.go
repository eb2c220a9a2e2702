package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestTwoProcessesOneNATS: two Conveyors on one external NATS server share
// buses, rules and queues: a rule made through one routes events put
// through the other, and each event reaches the target once (the routers
// share one durable consumer per bus, the runners one per target).
func TestTwoProcessesOneNATS(t *testing.T) {
	url := storetest.StartNATS(t, "").ClientURL()
	key := servertest.SecretsKey(t)
	ext := func(c *server.Config) { c.NATSURL, c.SecretsKeyFile = url, key }
	a := servertest.Start(t, ext)
	b := servertest.Start(t, ext)
	s := newSink(t)
	dest := servertest.APIDestination(t, a.Events, "shared", s.srv.URL)
	putRule(t, a.Events, "", "shared", `{"source":["app"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	// b learns of the rule through the catalog's watch.
	waitfor.Err(t, waitfor.Timeout, "the second process to list the rule", func() error {
		out, err := b.Events.ListRules(context.Background(), nil)
		if err == nil && len(out.Rules) != 1 {
			err = fmt.Errorf("rules %+v", out.Rules)
		}
		return err
	})
	var ids []string
	for i := 0; i < 10; i++ {
		c := a.Events
		if i%2 == 1 {
			c = b.Events
		}
		ids = append(ids, putEvent(t, c, "", "app", `{"i":1}`))
	}
	s.wait(t, len(ids))
	time.Sleep(200 * time.Millisecond) // duplicates, if any, would arrive by now
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		n := 0
		for _, b := range s.bodies {
			if strings.Contains(string(b), id) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("event %s delivered %d times, want once", id, n)
		}
	}
}

// threeNodes starts a NATS cluster of three servers and three Conveyors on
// it with replicated streams and buckets (R3), as a scaled-out deployment
// runs; each Conveyor is given every server's URL.
func threeNodes(t *testing.T, configure ...func(*server.Config)) (*storetest.Cluster, []*servertest.Instance) {
	t.Helper()
	nats := storetest.StartCluster(t, 3)
	key := servertest.SecretsKey(t)
	ext := append([]func(*server.Config){func(c *server.Config) {
		c.NATSURL, c.Replicas, c.SecretsKeyFile = nats.URLs(), 3, key
	}}, configure...)
	nodes := make([]*servertest.Instance, 3)
	for i := range nodes {
		nodes[i] = servertest.Start(t, ext...)
	}
	return nats, nodes
}

// idSink is an HTTP target that counts the events it receives by id.
type idSink struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int
}

func newIDSink(t *testing.T) *idSink {
	s := &idSink{seen: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.ID == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.seen[ev.ID]++
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

// missing returns how many of ids the sink has not received, and one of
// them.
func (s *idSink) missing(ids []string) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, one := 0, ""
	for _, id := range ids {
		if s.seen[id] == 0 {
			n, one = n+1, id
		}
	}
	return n, one
}

// duplicates returns how many events the sink received more than once.
func (s *idSink) duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.seen {
		if c > 1 {
			n++
		}
	}
	return n
}

// waitAll waits until the sink has received every one of ids.
func (s *idSink) waitAll(t *testing.T, ids []string) {
	t.Helper()
	waitfor.Err(t, waitfor.Timeout, "every acknowledged event delivered", func() error {
		if n, one := s.missing(ids); n > 0 {
			return fmt.Errorf("%d of %d missing, e.g. %s", n, len(ids), one)
		}
		return nil
	})
}

// TestThreeNodesShareTheCatalog: what is made through one of three
// Conveyors on an R3 cluster (a connection, an API destination, a rule and
// its target, a scheduled rule, an archive) is listed by the two others
// within a second, and the rule routes events put through any of them.
func TestThreeNodesShareTheCatalog(t *testing.T) {
	_, nodes := threeNodes(t)
	a := nodes[0].Events
	ctx := context.Background()
	s := newIDSink(t)
	dest := servertest.APIDestination(t, a, "shared", s.URL)
	putRule(t, a, "", "shared", `{"source":["app"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	if _, err := a.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 hour)")}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("all"),
		EventSourceArn: aws.String("arn:aws:events:us-east-1:000000000000:event-bus/default")}); err != nil {
		t.Fatal(err)
	}
	// The archive has a rule of its own, as on AWS.
	made, err := a.ListRules(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[1:] {
		c := n.Events
		waitfor.Err(t, time.Second, "another node to list what the first made", func() error {
			rules, err := c.ListRules(ctx, nil)
			if err != nil {
				return err
			}
			if len(rules.Rules) != len(made.Rules) {
				return fmt.Errorf("%d of %d rules", len(rules.Rules), len(made.Rules))
			}
			tick, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("tick")})
			if err != nil {
				return err
			}
			if aws.ToString(tick.ScheduleExpression) != "rate(1 hour)" {
				return fmt.Errorf("schedule %q", aws.ToString(tick.ScheduleExpression))
			}
			tg, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("shared")})
			if err != nil {
				return err
			}
			if len(tg.Targets) != 1 {
				return fmt.Errorf("%d targets", len(tg.Targets))
			}
			conns, err := c.ListConnections(ctx, nil)
			if err != nil {
				return err
			}
			dests, err := c.ListApiDestinations(ctx, nil)
			if err != nil {
				return err
			}
			archives, err := c.ListArchives(ctx, nil)
			if err != nil {
				return err
			}
			if len(conns.Connections) != 1 || len(dests.ApiDestinations) != 1 || len(archives.Archives) != 1 {
				return fmt.Errorf("%d connections, %d destinations, %d archives",
					len(conns.Connections), len(dests.ApiDestinations), len(archives.Archives))
			}
			return nil
		})
	}
	var ids []string
	for _, n := range nodes {
		ids = append(ids, putEvent(t, n.Events, "", "app", `{}`))
	}
	s.waitAll(t, ids)
}

// TestThreeNodesDeliverOnce: events put through any of three Conveyors
// reach an HTTP target once each, and the routing and the deliveries are
// shared out among the nodes.
func TestThreeNodesDeliverOnce(t *testing.T) {
	_, nodes := threeNodes(t)
	s := newIDSink(t)
	dest := servertest.APIDestination(t, nodes[0].Events, "once", s.URL)
	putRule(t, nodes[0].Events, "", "once", `{"source":["app"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	ctx := context.Background()
	var ids []string
	for i := range 30 {
		c := nodes[i%3].Events
		entries := make([]types.PutEventsRequestEntry, 10)
		for j := range entries {
			entries[j] = types.PutEventsRequestEntry{Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}
		}
		out, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
		for _, e := range out.Entries {
			ids = append(ids, aws.ToString(e.EventId))
		}
	}
	s.waitAll(t, ids)
	time.Sleep(200 * time.Millisecond) // duplicates, if any, would arrive by now
	if d := s.duplicates(); d > 0 {
		t.Errorf("%d of %d events delivered more than once", d, len(ids))
	}
	var routed, delivered []float64
	for _, n := range nodes {
		routed = append(routed, n.Counter(t, "conveyor_matched_events_total"))
		delivered = append(delivered, n.Counter(t, "conveyor_successful_invocation_attempts_total"))
	}
	t.Logf("events routed per node %v, delivered per node %v", routed, delivered)
	if slices.Contains(routed, 0) || slices.Contains(delivered, 0) {
		t.Errorf("a node routed or delivered nothing: routed %v, delivered %v", routed, delivered)
	}
}

// TestThreeNodesShareTheHistory: LookupEvents on each of three Conveyors
// finds the calls made through the other two (each keeps its own index of
// the one audit stream): within a second on a quiet machine; the test gives
// them ten, as CI runs it beside every other package under the race
// detector, and logs how long they took.
func TestThreeNodesShareTheHistory(t *testing.T) {
	_, nodes := threeNodes(t)
	ctx := context.Background()
	for i, n := range nodes {
		if _, err := n.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(fmt.Sprintf("made-on-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	defer func() { t.Logf("every node found every call after %s", time.Since(began)) }()
	for i, n := range nodes {
		waitfor.Err(t, 10*time.Second, fmt.Sprintf("node %d to find every node's CreateEventBus", i), func() error {
			out, err := n.CloudTrail.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{{
				AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("CreateEventBus")}}})
			if err != nil {
				return err
			}
			found := map[string]bool{}
			for _, e := range out.Events {
				for _, r := range e.Resources {
					found[aws.ToString(r.ResourceName)] = true
				}
			}
			for j := range nodes {
				if name := fmt.Sprintf("made-on-%d", j); !found[name] {
					return fmt.Errorf("no record of %s in %d records", name, len(out.Events))
				}
			}
			return nil
		})
	}
}

// load puts events through every node, one caller per node, ten entries a
// call every loadPace (a steady 600 events a second in all, which the
// target keeps up with), until stop is called, and keeps the ids of the
// events acknowledged.
type load struct {
	mu       sync.Mutex
	acked    []string
	failures map[string]int // error code (or text) → how many calls or entries failed so
	stop     func()
	done     sync.WaitGroup
}

const loadPace = 50 * time.Millisecond

func startLoad(nodes []*servertest.Instance) *load {
	l := &load{failures: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = func() { cancel(); l.done.Wait() }
	for _, n := range nodes {
		l.done.Go(func() {
			tick := time.NewTicker(loadPace)
			defer tick.Stop()
			for ctx.Err() == nil {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				entries := make([]types.PutEventsRequestEntry, 10)
				for j := range entries {
					entries[j] = types.PutEventsRequestEntry{Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}
				}
				cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
				out, err := n.Events.PutEvents(cctx, &eventbridge.PutEventsInput{Entries: entries})
				ccancel()
				l.mu.Lock()
				switch {
				case err != nil && ctx.Err() == nil:
					var ae smithy.APIError
					if errors.As(err, &ae) {
						l.failures[ae.ErrorCode()]++
					} else {
						l.failures[err.Error()]++
					}
				case err == nil:
					for _, e := range out.Entries {
						if e.EventId != nil {
							l.acked = append(l.acked, *e.EventId)
						} else {
							l.failures[aws.ToString(e.ErrorCode)+": "+aws.ToString(e.ErrorMessage)]++
						}
					}
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// waitMore waits until n more events than now are acknowledged.
func (l *load) waitMore(t *testing.T, n int, what string) {
	t.Helper()
	before := l.count()
	waitfor.Err(t, waitfor.Timeout, what, func() error {
		if got := l.count() - before; got < n {
			return fmt.Errorf("%d of %d acknowledged; failures %v", got, n, l.failureSummary())
		}
		return nil
	})
}

func (l *load) failureSummary() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.failures)
}

// TestThreeNodesLoseNATSServers: three Conveyors on three NATS servers under
// a steady PutEvents load. With one server down (the default bus's stream
// leader) PutEvents keeps answering; with two down it fails with
// ServiceUnavailable (503) within seconds, and /healthz says 503, until the
// servers are back. Every event ever acknowledged reaches the target.
func TestThreeNodesLoseNATSServers(t *testing.T) {
	cluster, nodes := threeNodes(t)
	s := newIDSink(t)
	dest := servertest.APIDestination(t, nodes[0].Events, "loss", s.URL)
	putRule(t, nodes[0].Events, "", "loss", `{"source":["app"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	l := startLoad(nodes)
	defer l.stop()
	l.waitMore(t, 300, "events acknowledged with every server up")

	first := cluster.StreamLeader(t, store.BusStream("default"))
	cluster.Shutdown(first)
	l.waitMore(t, 300, "events acknowledged with one server down")
	t.Logf("one server down: %d acknowledged, failed calls %v", l.count(), l.failureSummary())

	second := (first + 1) % 3
	cluster.Shutdown(second)
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			began := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := n.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
				Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}})
			var re *awshttp.ResponseError
			var ae smithy.APIError
			switch {
			case err == nil:
				t.Errorf("node %d: PutEvents with two servers of three down answered 200: %d failed, first %s %s", i,
					out.FailedEntryCount, aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].EventId))
			case !errors.As(err, &re) || re.HTTPStatusCode() != 503 || !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailable":
				t.Errorf("node %d: PutEvents with two servers of three down: %v, want ServiceUnavailable (503)", i, err)
			case time.Since(began) > 15*time.Second:
				t.Errorf("node %d: PutEvents with two servers of three down answered after %v", i, time.Since(began))
			default:
				t.Logf("node %d, two servers down: %v after %v", i, err, time.Since(began).Round(time.Millisecond))
			}
		})
	}
	wg.Wait()
	for i, n := range nodes {
		waitfor.Err(t, 5*time.Second, fmt.Sprintf("node %d's /healthz to say 503", i), func() error {
			if status := healthz(n); status != http.StatusServiceUnavailable {
				return fmt.Errorf("/healthz %d", status)
			}
			return nil
		})
	}

	cluster.Restart(first)
	cluster.Restart(second)
	cluster.WaitLeader()
	for i, n := range nodes {
		waitfor.Err(t, waitfor.Timeout, fmt.Sprintf("node %d's /healthz to say 200", i), func() error {
			if status := healthz(n); status != http.StatusOK {
				return fmt.Errorf("/healthz %d", status)
			}
			return nil
		})
	}
	l.waitMore(t, 300, "events acknowledged after the servers returned")
	l.stop()
	t.Logf("end: %d acknowledged, failed calls %v", l.count(), l.failureSummary())
	s.waitAll(t, l.acked)
	t.Logf("%d of %d delivered more than once", s.duplicates(), l.count())
}
