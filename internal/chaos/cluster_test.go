package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/secrets"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/syncbuf"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestClusterKills runs three `conveyor serve` processes on one three-server
// NATS JetStream cluster (R3 streams and buckets) under a steady PutEvents
// load through all three, with two targets: an HTTP endpoint that refuses
// the first attempt at one event in ten, and an SQS queue drained by a
// receiver on every Conveyor (ReceiveMessage of 10, then
// DeleteMessageBatch). One Conveyor is killed with SIGKILL (the messages
// its receiver held come back after their visibility timeout, to the
// others); then the NATS server leading the bus's stream is shut down and
// started again, and the killed Conveyor started again. Every acknowledged
// event reaches both targets; duplicates are logged. A scheduled rule
// (rate(1 minute)) fires once a minute through it all: the test lasts
// until one firing at least is delivered, and none is delivered twice.
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
	procs, dirs := make([]*proc, 3), make([]string, 3)
	flags := []string{"--nats", cluster.URLs(), "--replicas", "3", "--secrets-key", key}
	for i := range procs {
		dirs[i] = t.TempDir()
		procs[i] = start(t, dirs[i], log, flags...)
	}
	sk := newSink(t)
	ctx := context.Background()
	eb := procs[0].events()
	dest := servertest.APIDestination(t, eb, "sink", sk.URL+"/")
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("load"), EventPattern: aws.String(`{"source":["chaos.load"]}`)}); err != nil {
		t.Fatal(err)
	}
	ticks := newTickSink(t)
	tickDest := servertest.APIDestination(t, eb, "ticks", ticks.URL+"/")
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 minute)")}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("tick"),
		Targets: []types.Target{{Id: aws.String("ticks"), Arn: aws.String(tickDest)}}}); err != nil {
		t.Fatal(err)
	}
	q, err := procs[0].sqs().CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("load"),
		Attributes: map[string]string{"VisibilityTimeout": "5"}})
	if err != nil {
		t.Fatal(err)
	}
	queueARN := "arn:aws:sqs:us-east-1:000000000000:load"
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("load"),
		Targets: []types.Target{{Id: aws.String("sink"), Arn: aws.String(dest)}, {Id: aws.String("queue"), Arn: aws.String(queueARN)}}}); err != nil {
		t.Fatal(err)
	}
	// Every process routes with the target before the load begins.
	for i, p := range procs {
		c := p.events()
		waitfor.Err(t, waitfor.Timeout, fmt.Sprintf("process %d to list the rule's target", i), func() error {
			out, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("load")})
			if err == nil && len(out.Targets) != 2 {
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
	// A receiver on every process drains the queue until the end of the
	// test (after the load: until every acknowledged event is received).
	drained := &queueDrain{tally: tally{received: map[string]int{}}, from: map[string]map[string]bool{}}
	done := make(chan struct{})
	var receivers sync.WaitGroup
	defer func() {
		close(done)
		receivers.Wait()
	}()
	for _, p := range procs {
		c := p.sqs()
		receivers.Go(func() { drained.run(ctx, c, q.QueueUrl, p, done) })
	}
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
		t.Logf("%s: %d acknowledged, %d received, %d from the queue, failures %v", what, len(acked), sk.count(), drained.count(), failures)
	}

	more(600, "events acknowledged by three Conveyors")
	procs[2].kill()
	more(600, "events acknowledged after one Conveyor was killed")
	leader := cluster.StreamLeader(t, store.BusStream("default"))
	cluster.Shutdown(leader)
	more(600, "events acknowledged with the bus stream's NATS server down")
	cluster.Restart(leader)
	cluster.WaitLeader()
	more(600, "events acknowledged after the NATS server returned")
	procs[2] = start(t, dirs[2], log, flags...)
	restarted := procs[2]
	receivers.Go(func() { drained.run(ctx, restarted.sqs(), q.QueueUrl, restarted, done) })
	more(600, "events acknowledged after the killed Conveyor started again")
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
	defer func() {
		if !t.Failed() {
			return
		}
		// What the Conveyors logged of a few of the events missing, and
		// whether the queue's stream still has them.
		m := drained.missing(all)
		queueHas(t, cluster, queueARN, m)
		dups := drained.duplicates()
		drained.mu.Lock()
		n := 0
		for id, ms := range drained.from {
			if len(ms) > 1 {
				n++
				t.Logf("event %s received in %d messages", id, len(ms))
			}
		}
		drained.mu.Unlock()
		t.Logf("%d events received more than once, %d in more than one message", dups, n)
		for _, l := range strings.Split(log.String(), "\n") {
			for _, id := range m[:min(3, len(m))] {
				if strings.Contains(l, id) {
					t.Log(l)
				}
			}
			if strings.Contains(l, "not found in the stream") {
				t.Log(l)
			}
		}
	}()
	waitfor.Err(t, 90*time.Second, "every acknowledged event received from the queue", func() error {
		if m := drained.missing(all); len(m) > 0 {
			return fmt.Errorf("%d of %d missing, e.g. %v", len(m), len(all), m[:min(3, len(m))])
		}
		return nil
	})
	t.Logf("all %d acknowledged events received from the queue %v after the load stopped (%d more than once)",
		len(all), time.Since(stopped).Round(100*time.Millisecond), drained.duplicates())

	// The schedule: a firing at least (the test may end before the first
	// minute), each minute once.
	waitfor.Err(t, 90*time.Second, "a scheduled firing delivered", func() error {
		if ticks.count() == 0 {
			return errors.New("none yet")
		}
		return nil
	})
	time.Sleep(time.Second) // a second delivery of the same firing would be here by now
	for tm, n := range ticks.times() {
		if n != 1 {
			t.Errorf("the firing of %s delivered %d times", tm, n)
		}
	}
	t.Logf("scheduled firings delivered: %v", ticks.times())
}

// tickSink counts the scheduled events it receives by their time.
type tickSink struct {
	*httptest.Server
	mu  sync.Mutex
	got map[string]int
}

func newTickSink(t testing.TB) *tickSink {
	s := &tickSink{got: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Time string `json:"time"`
		}
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &ev) != nil || ev.Time == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got[ev.Time]++
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *tickSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func (s *tickSink) times() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.got)
}

// queueDrain counts the events received from a queue by id.
type queueDrain struct {
	tally
	// from is, by event id, the message ids it was received in (guarded
	// by tally.mu).
	from map[string]map[string]bool
}

// run receives from the queue through c and deletes what it received,
// until done or p exits.
func (d *queueDrain) run(ctx context.Context, c *sqs.Client, url *string, p *proc, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		default:
		}
		if p.exited() {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, err := c.ReceiveMessage(rctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		cancel()
		if err != nil {
			time.Sleep(100 * time.Millisecond) // a NATS server is down, or this Conveyor: try again
			continue
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		d.mu.Lock()
		for i, m := range out.Messages {
			var ev struct {
				ID string `json:"id"`
			}
			if json.Unmarshal([]byte(aws.ToString(m.Body)), &ev) == nil {
				d.received[ev.ID]++
				if d.from[ev.ID] == nil {
					d.from[ev.ID] = map[string]bool{}
				}
				d.from[ev.ID][aws.ToString(m.MessageId)] = true
			}
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		d.mu.Unlock()
		if len(del) > 0 {
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, _ = c.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: url, Entries: del})
			cancel()
		}
	}
}

// queueHas logs which of ids the queue's stream (arn) holds.
func queueHas(t *testing.T, c *storetest.Cluster, arn string, ids []string) {
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Log(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, store.QueueStream(arn))
	if err != nil {
		t.Log(err)
		return
	}
	info := st.CachedInfo()
	t.Logf("queue stream: %d messages, sequences %d-%d", info.State.Msgs, info.State.FirstSeq, info.State.LastSeq)
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var ev struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(m.Data, &ev) == nil && want[ev.ID] {
			t.Logf("queue stream has %s at %d", ev.ID, seq)
		}
	}
}
