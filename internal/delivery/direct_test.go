package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/prom"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// Jobs tried directly reach a healthy target without touching the delivery
// stream.
func TestDirectDeliversWithoutStoring(t *testing.T) {
	ep := newEndpoint(t, func(string, int) int { return http.StatusOK })
	arn := destARN("ok")
	st := storetest.Open(t)
	f := newFixture(t, st, dests{arn: {ARN: arn, InvocationEndpoint: ep.srv.URL, HTTPMethod: "POST"}}, nil)
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "ok"}
	if err := f.r.AddTarget(key); err != nil {
		t.Fatal(err)
	}
	s := newSettler()
	const n = 200
	for i := range n {
		if !f.r.TryDirect(job(key, arn, fmt.Sprint("e", i)), s) {
			t.Fatalf("job %d refused by a healthy target", i)
		}
	}
	for range n {
		if err := s.wait(t); err != nil {
			t.Fatalf("settled with %v", err)
		}
	}
	if got := ep.distinct(); got != n {
		t.Errorf("%d events delivered, want %d", got, n)
	}
	if got := ep.total(); got != n {
		t.Errorf("%d requests, want %d", got, n)
	}
	stream, err := st.JetStream().Stream(ctxT(t), store.DeliveryStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != 0 {
		t.Errorf("delivery stream got %d jobs, want none", info.State.LastSeq)
	}
	for name, want := range map[string]float64{
		"conveyor_invocations_total":                               n,
		"conveyor_successful_invocation_attempts_total":            n,
		"conveyor_invocation_attempts_total":                       n,
		"conveyor_ingestion_to_invocation_success_latency_seconds": n,
	} {
		if got := f.metric(t, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// After a failed attempt the target is skipped (jobs go through the queue)
// until a stored job reaches it again.
func TestDirectSkipsFailingTarget(t *testing.T) {
	ep := newEndpoint(t, func(id string, hit int) int {
		if id == "first" && hit == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	arn := destARN("flaky")
	st := storetest.Open(t)
	f := newFixture(t, st, dests{arn: {ARN: arn, InvocationEndpoint: ep.srv.URL, HTTPMethod: "POST"}}, func(c *delivery.Config) {
		c.BackoffBase, c.BackoffMax = 300*time.Millisecond, 5*time.Second
	})
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "flaky"}
	if err := f.r.AddTarget(key); err != nil {
		t.Fatal(err)
	}
	s := newSettler()
	if !f.r.TryDirect(job(key, arn, "first"), s) {
		t.Fatal("first job refused")
	}
	if err := s.wait(t); err != nil {
		t.Fatalf("failed direct attempt settled with %v, want the job stored", err)
	}
	if f.r.TryDirect(job(key, arn, "second"), s) {
		t.Fatal("a job was taken right after the target failed")
	}
	// The failed job was attempted; the refused one is deferred.
	if got := prom.Sum(f.reg, "conveyor_deferred_invocations_total"); got != 1 {
		t.Errorf("deferred invocations %v, want 1", got)
	}
	// The stored job is retried from the queue (after its backoff) and
	// succeeds: the target is healthy again.
	waitfor.True(t, "retry of the first job", func() bool { return ep.count("first") == 2 })
	waitfor.True(t, "direct delivery again", func() bool {
		if !f.r.TryDirect(job(key, arn, "third"), s) {
			return false
		}
		if err := s.wait(t); err != nil {
			t.Fatalf("settled with %v", err)
		}
		return true
	})
	if got := ep.count("third"); got != 1 {
		t.Errorf("third delivered %d times, want 1", got)
	}
	if got := ep.count("second"); got != 0 {
		t.Errorf("refused job delivered %d times, want 0 (the caller stores it)", got)
	}
}

// hangingEndpoint holds each request until released, and records the most
// requests it held at once.
type hangingEndpoint struct {
	srv     *httptest.Server
	release chan struct{}
	mu      sync.Mutex
	now     int
	most    int
}

func newHangingEndpoint(t *testing.T) *hangingEndpoint {
	h := &hangingEndpoint{release: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.now++
		h.most = max(h.most, h.now)
		h.mu.Unlock()
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
		h.mu.Lock()
		h.now--
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hangingEndpoint) held() (now, most int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now, h.most
}

// A slow target gets at most DirectMaxInFlight direct requests at once and
// holds at most DirectQueue more; past that, jobs are refused (the caller
// stores them) instead of waiting.
func TestDirectBounds(t *testing.T) {
	h := newHangingEndpoint(t)
	arn := destARN("slow")
	st := storetest.Open(t)
	f := newFixture(t, st, dests{arn: {ARN: arn, InvocationEndpoint: h.srv.URL, HTTPMethod: "POST"}}, func(c *delivery.Config) {
		c.DirectMaxInFlight, c.DirectQueue = 2, 3
	})
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "slow"}
	s := newSettler()
	for i := range 5 {
		if !f.r.TryDirect(job(key, arn, fmt.Sprint("e", i)), s) {
			t.Fatalf("job %d refused", i)
		}
		if i == 1 {
			// The two workers hold their jobs before the queue fills.
			waitfor.True(t, "two requests held", func() bool { now, _ := h.held(); return now == 2 })
		}
	}
	start := time.Now()
	if f.r.TryDirect(job(key, arn, "e5"), s) {
		t.Fatal("job taken past DirectMaxInFlight + DirectQueue")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing a job took %v", d)
	}
	if got := prom.Sum(f.reg, "conveyor_deferred_invocations_total"); got != 1 {
		t.Errorf("deferred invocations %v, want 1 (the job past the queue)", got)
	}
	close(h.release)
	for range 5 {
		if err := s.wait(t); err != nil {
			t.Fatalf("settled with %v", err)
		}
	}
	if _, most := h.held(); most > 2 {
		t.Errorf("target held %d direct requests at once, want at most 2", most)
	}
}

// Closing the runner settles waiting and running direct jobs with an error
// (their events stay on the bus), and refuses new ones.
func TestDirectClose(t *testing.T) {
	h := newHangingEndpoint(t)
	defer close(h.release)
	arn := destARN("slow")
	st := storetest.Open(t)
	f := newFixture(t, st, dests{arn: {ARN: arn, InvocationEndpoint: h.srv.URL, HTTPMethod: "POST"}}, func(c *delivery.Config) {
		c.DirectMaxInFlight = 1
	})
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "slow"}
	s := newSettler()
	for i := range 4 {
		if !f.r.TryDirect(job(key, arn, fmt.Sprint("e", i)), s) {
			t.Fatalf("job %d refused", i)
		}
	}
	waitfor.True(t, "one request held", func() bool { now, _ := h.held(); return now == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = f.r.Close(ctx) // cut short: the held request is cancelled
	f.closed = true
	for range 4 {
		if err := s.wait(t); err == nil {
			t.Error("a job not delivered settled without error")
		}
	}
	if f.r.TryDirect(job(key, arn, "late"), s) {
		t.Error("closed runner took a job")
	}
}

// A target whose requests hang is skipped a second after they started,
// long before they time out.
func TestDirectSkipsHangingTarget(t *testing.T) {
	h := newHangingEndpoint(t)
	arn := destARN("hang")
	st := storetest.Open(t)
	f := newFixture(t, st, dests{arn: {ARN: arn, InvocationEndpoint: h.srv.URL, HTTPMethod: "POST"}}, func(c *delivery.Config) {
		c.BackoffBase, c.BackoffMax = 2*time.Second, 5*time.Second
	})
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "hang"}
	s := newSettler()
	if !f.r.TryDirect(job(key, arn, "first"), s) {
		t.Fatal("first job refused")
	}
	waitfor.True(t, "request held", func() bool { now, _ := h.held(); return now == 1 })
	if !f.r.TryDirect(job(key, arn, "second"), s) {
		t.Fatal("second job refused while the first has run for less than a second")
	}
	start := time.Now()
	taken := 2
	waitfor.True(t, "the hanging target skipped", func() bool {
		if f.r.TryDirect(job(key, arn, fmt.Sprint("late-", taken)), s) {
			taken++
			return false
		}
		return true
	})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("hanging target skipped after %v", d)
	}
	close(h.release)
	// Every job taken is settled (delivered, or stored after waiting).
	for range taken {
		if err := s.wait(t); err != nil {
			t.Fatalf("settled with %v", err)
		}
	}
}

// batchTarget is a BatchInvoker that records its batches. Its first batch
// waits for release; a job whose payload is "retry" fails (retryably) at
// its first attempt.
type batchTarget struct {
	release chan struct{}
	// started, when set, is closed as the first batch arrives.
	started chan struct{}
	mu      sync.Mutex
	first   bool
	sizes   []int
	tries   map[string]int
	// batches holds each target's batches (by target ID): their event IDs.
	batches map[string][][]string
}

func (b *batchTarget) Batches(*delivery.Job) bool { return true }

func (b *batchTarget) Invoke(ctx context.Context, job *delivery.Job) error {
	errs := make([]error, 1)
	b.InvokeBatch(ctx, []*delivery.Job{job}, errs)
	return errs[0]
}

func (b *batchTarget) InvokeBatch(_ context.Context, jobs []*delivery.Job, errs []error) {
	b.mu.Lock()
	wait := !b.first
	b.first = true
	b.mu.Unlock()
	if wait {
		if b.started != nil {
			close(b.started)
		}
		<-b.release
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sizes = append(b.sizes, len(jobs))
	ids := make([]string, 0, len(jobs))
	for _, j := range jobs {
		ids = append(ids, j.EventID)
	}
	if b.batches == nil {
		b.batches = map[string][][]string{}
	}
	b.batches[jobs[0].TargetID] = append(b.batches[jobs[0].TargetID], ids)
	for i, j := range jobs {
		b.tries[j.EventID]++
		if string(j.Payload) == "retry" && b.tries[j.EventID] == 1 {
			errs[i] = delivery.Errorf(delivery.CodeClientError, true, "try again")
		}
	}
}

// A target whose invoker takes batches gets the jobs that waited together
// in one call, at most MaxDirectBatch; each job is settled on its own, and
// a failed one is retried from the queue alone.
func TestDirectBatches(t *testing.T) {
	bt := &batchTarget{release: make(chan struct{}), tries: map[string]int{}}
	st := storetest.Open(t)
	f := newFixture(t, st, nil, func(c *delivery.Config) {
		c.Invoker = bt
		c.DirectMaxInFlight = 1 // one worker: the jobs wait for it together
	})
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "q"}
	if err := f.r.AddTarget(key); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:sqs:us-east-1:" + account + ":q"
	s := newSettler()
	const n = 26
	for i := range n {
		j := job(key, arn, fmt.Sprint("e", i))
		if i == 7 {
			j.Payload = []byte("retry")
		}
		if !f.r.TryDirect(j, s) {
			t.Fatalf("job %d refused", i)
		}
	}
	close(bt.release)
	for range n {
		if err := s.wait(t); err != nil {
			t.Fatalf("settled with %v", err)
		}
	}
	waitfor.True(t, "the failed job's retry", func() bool {
		bt.mu.Lock()
		defer bt.mu.Unlock()
		return bt.tries["e7"] == 2
	})
	bt.mu.Lock()
	defer bt.mu.Unlock()
	// While the first batch is held, the rest wait: full batches follow.
	sum, most := 0, 0
	for _, k := range bt.sizes {
		sum, most = sum+k, max(most, k)
	}
	if sum != n+1 || most != delivery.MaxDirectBatch {
		t.Errorf("batches of %v, want %d attempts in batches of at most %d, one of them full", bt.sizes, n+1, delivery.MaxDirectBatch)
	}
	for i := range n {
		if want, got := 1+btoi(i == 7), bt.tries[fmt.Sprint("e", i)]; got != want {
			t.Errorf("e%d attempted %d times, want %d", i, got, want)
		}
	}
	if got := f.metric(t, "conveyor_invocation_attempts_total"); got != n+1 {
		t.Errorf("conveyor_invocation_attempts_total = %v, want %d", got, n+1)
	}
}

// TryDirectAll hands a batching target's jobs over in groups of up to
// MaxDirectBatch, grouped by target and in their order, each taken or
// refused whole: a worker attempts a group as one batch, and gathers whole
// groups until its batch holds MaxDirectBatch jobs.
func TestDirectAllGroups(t *testing.T) {
	bt := &batchTarget{release: make(chan struct{}), started: make(chan struct{}), tries: map[string]int{}}
	st := storetest.Open(t)
	f := newFixture(t, st, nil, func(c *delivery.Config) {
		c.Invoker = bt
		c.DirectMaxInFlight, c.DirectQueue = 1, 25
	})
	arn := "arn:aws:sqs:us-east-1:" + account + ":q"
	q1 := delivery.TargetKey{Bus: "default", Rule: "r", ID: "q1"}
	q2 := delivery.TargetKey{Bus: "default", Rule: "r", ID: "q2"}
	s := newSettler()
	offer := func(jobs ...*delivery.Job) []bool {
		settlers := make([]delivery.Settler, len(jobs))
		for i := range settlers {
			settlers[i] = s
		}
		taken := make([]bool, len(jobs))
		f.r.TryDirectAll(jobs, settlers, taken)
		return taken
	}
	// The first job holds q1's only worker.
	if taken := offer(job(q1, arn, "a0")); !taken[0] {
		t.Fatal("first job refused")
	}
	<-bt.started
	// 12 jobs for each target, interleaved: q1 keeps 10 and 2 waiting,
	// q2's worker takes its 10, then its 2.
	var jobs []*delivery.Job
	for i := range 12 {
		jobs = append(jobs, job(q1, arn, fmt.Sprint("b", i)), job(q2, arn, fmt.Sprint("c", i)))
	}
	for i, ok := range offer(jobs...) {
		if !ok {
			t.Fatalf("job %d (%s) refused", i, jobs[i].EventID)
		}
	}
	// 14 more for q1: a group of 10 fits (22 waiting), the group of the
	// other 4 would pass DirectQueue and is refused whole.
	jobs = jobs[:0]
	for i := range 14 {
		jobs = append(jobs, job(q1, arn, fmt.Sprint("d", i)))
	}
	taken := offer(jobs...)
	for i, ok := range taken {
		if ok != (i < 10) {
			t.Errorf("job d%d taken %v, want %v", i, ok, i < 10)
		}
	}
	close(bt.release)
	for range 1 + 24 + 10 {
		if err := s.wait(t); err != nil {
			t.Fatalf("settled with %v", err)
		}
	}
	ids := func(prefix string, from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprint(prefix, i))
		}
		return out
	}
	bt.mu.Lock()
	defer bt.mu.Unlock()
	want := map[string][][]string{
		"q1": {{"a0"}, ids("b", 0, 10), append(ids("b", 10, 12), ids("d", 0, 10)...)},
		"q2": {ids("c", 0, 10), ids("c", 10, 12)},
	}
	for target, w := range want {
		if got := bt.batches[target]; fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s's batches:\n got %v\nwant %v", target, got, w)
		}
	}
	if got := prom.Sum(f.reg, "conveyor_deferred_invocations_total"); got != 4 {
		t.Errorf("deferred invocations %v, want 4 (the group refused)", got)
	}
}

// With fewer jobs waiting allowed (Config.DirectQueue) than a group holds,
// groups are that small: a DirectQueue of 3 still takes 3 jobs directly.
func TestDirectAllSmallQueue(t *testing.T) {
	bt := &batchTarget{release: make(chan struct{}), started: make(chan struct{}), tries: map[string]int{}}
	st := storetest.Open(t)
	f := newFixture(t, st, nil, func(c *delivery.Config) {
		c.Invoker = bt
		c.DirectMaxInFlight, c.DirectQueue = 1, 3
	})
	arn := "arn:aws:sqs:us-east-1:" + account + ":q"
	key := delivery.TargetKey{Bus: "default", Rule: "r", ID: "q"}
	s := newSettler()
	if !f.r.TryDirect(job(key, arn, "a"), s) {
		t.Fatal("first job refused")
	}
	<-bt.started
	jobs := make([]*delivery.Job, 7)
	settlers := make([]delivery.Settler, len(jobs))
	for i := range jobs {
		jobs[i], settlers[i] = job(key, arn, fmt.Sprint("b", i)), s
	}
	taken := make([]bool, len(jobs))
	f.r.TryDirectAll(jobs, settlers, taken)
	if want := []bool{true, true, true, false, false, false, false}; fmt.Sprint(taken) != fmt.Sprint(want) {
		t.Errorf("taken %v, want %v", taken, want)
	}
	close(bt.release)
	for range 4 {
		if err := s.wait(t); err != nil {
			t.Fatalf("settled with %v", err)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
