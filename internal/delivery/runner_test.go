package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/prom"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/targets"
	"github.com/conveyor/conveyor/internal/waitfor"
)

const (
	account = "000000000000"
	dlqARN  = "arn:aws:sqs:us-east-1:000000000000:my-dlq"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// endpoint is an HTTP target on loopback that records what it receives and
// answers with the status its respond function picks.
type endpoint struct {
	srv     *httptest.Server
	mu      sync.Mutex
	hits    map[string]int // event id → requests
	headers http.Header    // of the last request
	respond func(id string, hit int) int
}

func newEndpoint(t testing.TB, respond func(id string, hit int) int) *endpoint {
	e := &endpoint{hits: map[string]int{}, respond: respond}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := string(body)
		e.mu.Lock()
		e.hits[id]++
		n := e.hits[id]
		e.headers = r.Header.Clone()
		e.mu.Unlock()
		w.WriteHeader(e.respond(id, n))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) count(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hits[id]
}

func (e *endpoint) distinct() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.hits)
}

func (e *endpoint) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.hits {
		n += c
	}
	return n
}

// dests is a fixed set of API destinations.
type dests map[string]targets.Destination

func (d dests) Lookup(_ context.Context, arn string) (targets.Destination, error) {
	if x, ok := d[arn]; ok {
		return x, nil
	}
	return targets.Destination{}, fmt.Errorf("api destination %s: %w", arn, delivery.ErrNotFound)
}

func destARN(name string) string {
	return "arn:aws:events:us-east-1:" + account + ":api-destination/" + name + "/0d2a4b6c-1111-2222-3333-444455556666"
}

// fixture is a store, a queue and a runner delivering to API destinations.
type fixture struct {
	st     *store.Store
	q      *delivery.Queue
	r      *delivery.Runner
	reg    *prometheus.Registry
	dests  dests
	cfg    delivery.Config
	closed bool
}

func newFixture(t testing.TB, st *store.Store, d dests, tweak func(*delivery.Config)) *fixture {
	t.Helper()
	q, err := delivery.NewQueue(ctxT(t), st)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg := delivery.Config{
		Invoker:     targets.NewRegistry(targets.Config{Destinations: d}),
		Registerer:  reg,
		Logger:      quiet(),
		BackoffBase: 5 * time.Millisecond,
		BackoffMax:  20 * time.Millisecond,
		AckWait:     2 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	r, err := delivery.NewRunner(q, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, q: q, r: r, reg: reg, dests: d, cfg: cfg}
	t.Cleanup(func() { f.close(t) })
	return f
}

func (f *fixture) close(t testing.TB) {
	if f.closed {
		return
	}
	f.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.r.Close(ctx); err != nil {
		t.Errorf("close runner: %v", err)
	}
}

// metric returns the value of a counter (summed over its label sets), or a histogram's count.
func (f *fixture) metric(t testing.TB, name string) float64 {
	t.Helper()
	return prom.Sum(f.reg, name)
}

// submitModes are the two ways a job gets its first attempt: stored in the
// queue, or tried directly (Runner.TryDirect) and stored after a failure.
var submitModes = []string{"queued", "direct"}

// submit hands jobs to the runner the way mode says. In direct mode, the
// jobs the runner refuses (the target failed a moment ago) are stored, as
// the router does; the first must be taken, and every one taken must be
// settled without error.
func (f *fixture) submit(t testing.TB, mode string, jobs ...*delivery.Job) {
	t.Helper()
	switch mode {
	case "queued":
		if err := f.q.Enqueue(ctxT(t), jobs...); err != nil {
			t.Fatal(err)
		}
	case "direct":
		s := newSettler()
		taken := 0
		for i, j := range jobs {
			if f.r.TryDirect(j, s) {
				taken++
				continue
			}
			if i == 0 {
				t.Fatalf("TryDirect(%s) refused the first job", j.EventID)
			}
			if err := f.q.Enqueue(ctxT(t), j); err != nil {
				t.Fatal(err)
			}
		}
		for range taken {
			if err := s.wait(t); err != nil {
				t.Fatalf("direct job settled with %v", err)
			}
		}
	default:
		t.Fatalf("unknown mode %q", mode)
	}
}

// settler records the outcome of direct deliveries.
type settler chan error

func newSettler() settler { return make(settler, 1024) }

func (s settler) Settled(err error) { s <- err }

// wait returns the next outcome (failing the test after 20s).
func (s settler) wait(t testing.TB) error {
	t.Helper()
	select {
	case err := <-s:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("direct delivery not settled after 20s")
		return nil
	}
}

func job(key delivery.TargetKey, targetARN, id string) *delivery.Job {
	return &delivery.Job{
		Bus: key.Bus, RuleName: key.Rule, RuleARN: "arn:aws:events:us-east-1:" + account + ":rule/" + key.Rule,
		TargetID: key.ID, TargetARN: targetARN, EventID: id,
		EventTime: time.Now().Truncate(time.Second), IngestionTime: time.Now(),
		RetryPolicy: delivery.DefaultRetryPolicy(), DeadLetterARN: dlqARN,
		Payload: []byte(id),
	}
}

type dlqMsg struct {
	body    string
	headers map[string]string
}

// deadLetters returns the messages of the dead-letter stream of arn.
func deadLetters(t testing.TB, st *store.Store, arn string) []dlqMsg {
	t.Helper()
	ctx := ctxT(t)
	s, err := st.JetStream().Stream(ctx, store.QueueStream(arn))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []dlqMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{}
		for k := range m.Header {
			h[k] = m.Header.Get(k)
		}
		out = append(out, dlqMsg{body: string(m.Data), headers: h})
	}
	return out
}

func TestDeliverSuccess(t *testing.T) {
	ep := newEndpoint(t, func(string, int) int { return http.StatusOK })
	arn := destARN("ok")
	st := storetest.Open(t)
	f := newFixture(t, st, dests{arn: {
		ARN: arn, InvocationEndpoint: ep.srv.URL + "/hook", HTTPMethod: "POST",
		Connection: targets.Connection{AuthorizationType: targets.AuthAPIKey, APIKeyName: "X-Api-Key", APIKeyValue: "secret"},
	}}, nil)
	key := delivery.TargetKey{Bus: "default", Rule: "r1", ID: "t1"}
	ctx := ctxT(t)
	var jobs []*delivery.Job
	for i := range 20 {
		jobs = append(jobs, job(key, arn, fmt.Sprint("ev-", i)))
	}
	if err := f.q.Enqueue(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	// Enqueued before the runner knows the target: jobs wait for it.
	if err := f.r.SetTargets([]delivery.TargetKey{key}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "20 deliveries", func() bool { return ep.distinct() == 20 })
	waitfor.True(t, "acks", func() bool {
		n, err := f.q.Pending(ctx, key)
		return err == nil && n == 0
	})
	if got := ep.headers.Get("X-Api-Key"); got != "secret" {
		t.Errorf("API key header = %q", got)
	}
	if got := ep.headers.Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := f.metric(t, "conveyor_invocations_total"); got != 20 {
		t.Errorf("invocations = %v, want 20", got)
	}
	if got := f.metric(t, "conveyor_ingestion_to_invocation_success_latency_seconds"); got != 20 {
		t.Errorf("latency samples = %v, want 20", got)
	}
	if got := f.metric(t, "conveyor_failed_invocations_total"); got != 0 {
		t.Errorf("failed invocations = %v, want 0", got)
	}
	// Enqueueing the same event for the same target again is deduplicated.
	if err := f.q.Enqueue(ctx, job(key, arn, "ev-0")); err != nil {
		t.Fatal(err)
	}
	if err := f.q.Enqueue(ctx, job(key, arn, "ev-last")); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "ev-last", func() bool { return ep.count("ev-last") == 1 })
	if n := ep.count("ev-0"); n != 1 {
		t.Errorf("ev-0 delivered %d times after a duplicate enqueue, want 1", n)
	}
}

// Each event fails twice (500, then 429) and succeeds the third time, the
// first attempt made from the queue or directly (Runner.TryDirect): the
// counts are the same.
func TestRetryThenSuccess(t *testing.T) {
	for _, mode := range submitModes {
		t.Run(mode, func(t *testing.T) { testRetryThenSuccess(t, mode) })
	}
}

func testRetryThenSuccess(t *testing.T, mode string) {
	ep := newEndpoint(t, func(_ string, hit int) int {
		switch hit {
		case 1:
			return http.StatusInternalServerError
		case 2:
			return http.StatusTooManyRequests
		}
		return http.StatusNoContent
	})
	arn := destARN("flaky")
	st := storetest.Open(t)
	f := newFixture(t, st, dests{arn: {ARN: arn, InvocationEndpoint: ep.srv.URL, HTTPMethod: "PUT"}}, nil)
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "flaky"}
	if err := f.r.AddTarget(key); err != nil {
		t.Fatal(err)
	}
	var jobs []*delivery.Job
	for i := range 5 {
		jobs = append(jobs, job(key, arn, fmt.Sprint("e", i)))
	}
	f.submit(t, mode, jobs...)
	waitfor.True(t, "successes", func() bool { return f.metric(t, "conveyor_invocations_total") == 5 })
	for i := range 5 {
		if n := ep.count(fmt.Sprint("e", i)); n != 3 {
			t.Errorf("e%d requested %d times, want 3", i, n)
		}
	}
	for name, want := range map[string]float64{
		"conveyor_invocation_attempts_total":            15,
		"conveyor_retry_invocation_attempts_total":      10,
		"conveyor_successful_invocation_attempts_total": 5,
		"conveyor_failed_invocations_total":             0,
		"conveyor_invocations_sent_to_dlq_total":        0,
	} {
		if got := f.metric(t, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := deadLetters(t, st, dlqARN); len(got) != 0 {
		t.Errorf("dead letters: %v", got)
	}
}

// deadLetterCase is a failure that ends in the dead-letter queue (or, with
// none, in a dropped event).
type deadLetterCase struct {
	name      string
	status    int
	policy    delivery.RetryPolicy
	age       time.Duration // how old the event is when enqueued
	dlq       string
	requests  int
	code      string
	exhausted string
	retries   string
}

func TestDeadLetter(t *testing.T) {
	cases := []deadLetterCase{
		{name: "400 at once", status: 400, policy: delivery.DefaultRetryPolicy(), dlq: dlqARN,
			requests: 1, code: "SDK_CLIENT_ERROR", retries: "0"},
		{name: "404 at once", status: 404, policy: delivery.DefaultRetryPolicy(), dlq: dlqARN,
			requests: 1, code: "SDK_CLIENT_ERROR", retries: "0"},
		{name: "500 until attempts run out", status: 500, policy: delivery.RetryPolicy{MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600},
			dlq: dlqARN, requests: 4, code: "SDK_CLIENT_ERROR", exhausted: "MaximumRetryAttempts", retries: "3"},
		{name: "500 with one retry", status: 500, policy: delivery.RetryPolicy{MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 3600},
			dlq: dlqARN, requests: 2, code: "SDK_CLIENT_ERROR", exhausted: "MaximumRetryAttempts", retries: "1"},
		{name: "429 with no retries", status: 429, policy: delivery.RetryPolicy{MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 3600},
			dlq: dlqARN, requests: 1, code: "THROTTLING", exhausted: "MaximumRetryAttempts", retries: "0"},
		{name: "503 past the maximum age", status: 503, policy: delivery.RetryPolicy{MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 60},
			age: 2 * time.Minute, dlq: dlqARN, requests: 1, code: "SDK_CLIENT_ERROR", exhausted: "MaximumEventAgeInSeconds", retries: "0"},
		{name: "400 without a dead-letter queue", status: 400, policy: delivery.DefaultRetryPolicy(), requests: 1},
	}
	for _, c := range cases {
		for _, mode := range submitModes {
			t.Run(c.name+"/"+mode, func(t *testing.T) { testDeadLetter(t, mode, c) })
		}
	}
}

func testDeadLetter(t *testing.T, mode string, c deadLetterCase) {
	ep := newEndpoint(t, func(string, int) int { return c.status })
	arn := destARN("failing")
	st := storetest.Open(t)
	f := newFixture(t, st, dests{arn: {ARN: arn, InvocationEndpoint: ep.srv.URL, HTTPMethod: "POST"}}, nil)
	key := delivery.TargetKey{Bus: "b/1", Rule: "r.1", ID: "t-1"}
	if err := f.r.AddTarget(key); err != nil {
		t.Fatal(err)
	}
	j := job(key, arn, "ev-1")
	j.RetryPolicy, j.DeadLetterARN = c.policy, c.dlq
	j.IngestionTime = time.Now().Add(-c.age)
	ctx := ctxT(t)
	f.submit(t, mode, j)
	waitfor.True(t, "failure", func() bool { return f.metric(t, "conveyor_failed_invocations_total") == 1 })
	waitfor.True(t, "ack", func() bool {
		n, err := f.q.Pending(ctx, key)
		return err == nil && n == 0
	})
	if n := ep.count("ev-1"); n != c.requests {
		t.Errorf("requests = %d, want %d", n, c.requests)
	}
	if got := f.metric(t, "conveyor_invocation_attempts_total"); got != float64(c.requests) {
		t.Errorf("attempts = %v, want %d", got, c.requests)
	}
	dl := deadLetters(t, st, dlqARN)
	if c.dlq == "" {
		if len(dl) != 0 {
			t.Errorf("dead letters without a DLQ: %v", dl)
		}
		if got := f.metric(t, "conveyor_dead_letter_invocations_total"); got != 1 {
			t.Errorf("dead_letter_invocations = %v, want 1", got)
		}
		return
	}
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	d := dl[0]
	if d.body != "ev-1" {
		t.Errorf("dead letter body %q", d.body)
	}
	want := map[string]string{
		"ERROR_CODE":                c.code,
		"RULE_ARN":                  j.RuleARN,
		"TARGET_ARN":                arn,
		"RETRY_ATTEMPTS":            c.retries,
		"EXHAUSTED_RETRY_CONDITION": c.exhausted,
		"Conveyor-Event-Id":         "ev-1",
	}
	for k, v := range want {
		if d.headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, d.headers[k], v)
		}
	}
	if msg := d.headers["ERROR_MESSAGE"]; !strings.Contains(msg, fmt.Sprint(c.status)) {
		t.Errorf("ERROR_MESSAGE %q does not name status %d", msg, c.status)
	}
	if got := f.metric(t, "conveyor_invocations_sent_to_dlq_total"); got != 1 {
		t.Errorf("sent to DLQ = %v, want 1", got)
	}
}

func TestUnknownDestinationDeadLetters(t *testing.T) {
	st := storetest.Open(t)
	f := newFixture(t, st, dests{}, nil)
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "gone"}
	if err := f.r.AddTarget(key); err != nil {
		t.Fatal(err)
	}
	if err := f.q.Enqueue(ctxT(t), job(key, destARN("gone"), "e")); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "dead letter", func() bool { return len(deadLetters(t, st, dlqARN)) == 1 })
	if got := deadLetters(t, st, dlqARN)[0].headers["ERROR_CODE"]; got != "RESOURCE_NOT_FOUND" {
		t.Errorf("ERROR_CODE = %q", got)
	}
}

// A target that hangs or refuses connections must not hold up another
// target: the healthy one gets all its jobs while the others are stuck.
func TestDownTargetDoesNotDelayOthers(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// net/http notices a closed connection only once the body is
		// read: without this, the client's timeouts go unseen.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done(): // the client's 5s timeout
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer hang.Close()
	defer close(release)
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close() // connections to it are refused

	ok := newEndpoint(t, func(string, int) int { return http.StatusOK })
	d := dests{
		destARN("hang"):    {ARN: destARN("hang"), InvocationEndpoint: hang.URL, HTTPMethod: "POST"},
		destARN("refused"): {ARN: destARN("refused"), InvocationEndpoint: refusedURL, HTTPMethod: "POST"},
		destARN("ok"):      {ARN: destARN("ok"), InvocationEndpoint: ok.srv.URL, HTTPMethod: "POST"},
	}
	st := storetest.Open(t)
	const inflight = 4
	// Requests to the hanging target in flight, counted as the runner
	// makes them (a server cannot tell exactly when a client gave up).
	hangHost := strings.TrimPrefix(hang.URL, "http://")
	counter := &inFlightTransport{host: hangHost, base: http.DefaultTransport}
	f := newFixture(t, st, d, func(c *delivery.Config) {
		c.Invoker = targets.NewRegistry(targets.Config{Destinations: d, HTTPClient: &http.Client{Transport: counter,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}})
		c.MaxInFlight = inflight
		c.MaxAckPending = 8
		c.BackoffBase, c.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	})
	keys := map[string]delivery.TargetKey{}
	for _, name := range []string{"hang", "refused", "ok"} {
		keys[name] = delivery.TargetKey{Bus: "default", Rule: "r", ID: name}
	}
	if err := f.r.SetTargets([]delivery.TargetKey{keys["hang"], keys["refused"], keys["ok"]}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	const n = 300
	var jobs []*delivery.Job
	for i := range n {
		for _, name := range []string{"hang", "refused", "ok"} {
			jobs = append(jobs, job(keys[name], destARN(name), fmt.Sprintf("%s-%d", name, i)))
		}
	}
	if err := f.q.Enqueue(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "all jobs of the healthy target", func() bool { return ok.distinct() == n })
	if h := counter.max.Load(); h > inflight {
		t.Errorf("hanging target got %d concurrent requests, want at most %d", h, inflight)
	}
	pending, err := f.q.Pending(ctx, keys["refused"])
	if err != nil {
		t.Fatal(err)
	}
	if pending == 0 {
		t.Error("refused target has no pending jobs: its failures were not retried")
	}
	if got := f.metric(t, "conveyor_failed_invocations_total"); got != 0 {
		t.Errorf("failed invocations = %v while retries remain", got)
	}
}

// Jobs enqueued before a restart are all delivered (at least once) after it,
// whether the runner shut down cleanly or the connection went away under it.
func TestRestartDeliversEverything(t *testing.T) {
	for _, mode := range []string{"clean", "abrupt"} {
		t.Run(mode, func(t *testing.T) {
			// Every third request fails, so some jobs are waiting for a
			// retry when the store goes away.
			var mu sync.Mutex
			reqs := 0
			ep := newEndpoint(t, func(string, int) int {
				mu.Lock()
				defer mu.Unlock()
				reqs++
				if reqs%3 == 0 {
					return http.StatusBadGateway
				}
				return http.StatusOK
			})
			arn := destARN("r")
			d := dests{arn: {ARN: arn, InvocationEndpoint: ep.srv.URL, HTTPMethod: "POST"}}
			dir := t.TempDir()
			key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "t"}
			tweak := func(c *delivery.Config) {
				c.AckWait = time.Second
				c.MaxInFlight = 4
				c.Logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
			}

			st := storetest.OpenDir(t, dir)
			f := newFixture(t, st, d, tweak)
			if err := f.r.AddTarget(key); err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			const n = 400
			var ids []string
			for i := range n {
				ids = append(ids, fmt.Sprint("e", i))
			}
			for i := 0; i < n; i += 50 {
				var jobs []*delivery.Job
				for _, id := range ids[i : i+50] {
					jobs = append(jobs, job(key, arn, id))
				}
				if err := f.q.Enqueue(ctx, jobs...); err != nil {
					t.Fatal(err)
				}
			}
			waitfor.True(t, "some deliveries", func() bool { return ep.distinct() >= 40 })
			t.Logf("%s closing", time.Now().Format("15:04:05.000"))
			closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if mode == "clean" {
				f.close(t)
				if err := st.Close(closeCtx); err != nil {
					t.Fatal(err)
				}
			} else {
				// The store goes first: acks and naks in flight are lost.
				if err := st.Close(closeCtx); err != nil {
					t.Fatal(err)
				}
				f.close(t)
			}
			before := ep.distinct()
			if before == n {
				t.Log("every job was delivered before the restart; the test proves less")
			}

			t.Logf("%s restarting", time.Now().Format("15:04:05.000"))
			st2 := storetest.OpenConfig(t, store.Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			f2 := newFixture(t, st2, d, tweak)
			if err := f2.r.AddTarget(key); err != nil {
				t.Fatal(err)
			}
			waitfor.Err(t, waitfor.Timeout, "every job after restart", func() error {
				if got := ep.distinct(); got != n {
					p, _ := f2.q.Pending(ctx, key)
					err := fmt.Errorf("%d of %d delivered, %d pending", got, n, p)
					if c, cerr := f2.st.JetStream().Consumer(ctx, store.DeliveryStream, key.Consumer()); cerr == nil {
						if ci, cerr := c.Info(ctx); cerr == nil {
							err = fmt.Errorf("%w; consumer: %d ack pending, %d redelivered, %d pending", err, ci.NumAckPending, ci.NumRedelivered, ci.NumPending)
						}
					}
					return err
				}
				return nil
			})
			var missing []string
			for _, id := range ids {
				if ep.count(id) == 0 {
					missing = append(missing, id)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("never delivered: %v", missing)
			}
			waitfor.True(t, "queue empty", func() bool {
				p, err := f2.q.Pending(ctx, key)
				return err == nil && p == 0
			})
			t.Logf("%d of %d delivered before the restart; %d requests in all", before, n, ep.total())
		})
	}
}

func TestDropTarget(t *testing.T) {
	st := storetest.Open(t)
	f := newFixture(t, st, dests{}, nil)
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "x"}
	other := delivery.TargetKey{Bus: "default", Rule: "r", ID: "y"}
	ctx := ctxT(t)
	if err := f.q.Enqueue(ctx, job(key, destARN("x"), "1"), job(key, destARN("x"), "2"), job(other, destARN("y"), "3")); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.q.Pending(ctx, key); n != 2 {
		t.Fatalf("pending = %d, want 2", n)
	}
	if err := f.q.DropTarget(ctx, key); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.q.Pending(ctx, key); n != 0 {
		t.Errorf("pending after drop = %d, want 0", n)
	}
	if n, _ := f.q.Pending(ctx, other); n != 1 {
		t.Errorf("other target's pending after drop = %d, want 1", n)
	}
}

func TestRunnerNeedsInvoker(t *testing.T) {
	st := storetest.Open(t)
	q, err := delivery.NewQueue(ctxT(t), st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := delivery.NewRunner(q, delivery.Config{}); err == nil {
		t.Error("NewRunner without an Invoker succeeded")
	}
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// inFlightTransport counts the requests to host in flight, and the most at
// once.
type inFlightTransport struct {
	host     string
	base     http.RoundTripper
	now, max atomic.Int32
}

func (t *inFlightTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != t.host {
		return t.base.RoundTrip(r)
	}
	n := t.now.Add(1)
	for m := t.max.Load(); n > m && !t.max.CompareAndSwap(m, n); m = t.max.Load() {
	}
	defer t.now.Add(-1)
	return t.base.RoundTrip(r)
}
