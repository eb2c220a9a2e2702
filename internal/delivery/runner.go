package delivery

import (
	"github.com/conveyor/conveyor/internal/clock"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/store"
)

// Invoker delivers one job to its target. A nil error means delivered. Other
// errors are retried unless they implement [Failure] and say otherwise.
type Invoker interface {
	Invoke(ctx context.Context, job *Job) error
}

// BatchInvoker is an [Invoker] that takes several jobs of one target at
// once (a queue's messages, written together): direct delivery hands it
// the jobs of a target waiting together, up to [MaxDirectBatch].
type BatchInvoker interface {
	Invoker
	// Batches reports whether the jobs of job's target go in batches.
	Batches(job *Job) bool
	// InvokeBatch attempts jobs, setting errs[i] to jobs[i]'s outcome as
	// Invoke would return it.
	InvokeBatch(ctx context.Context, jobs []*Job, errs []error)
}

// InvokerFunc adapts a function to [Invoker].
type InvokerFunc func(ctx context.Context, job *Job) error

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, job *Job) error { return f(ctx, job) }

// Failure is implemented by invocation errors that classify themselves: is a
// retry worth it, and which AWS-style error code (ERROR_CODE of the
// dead-letter message) names the failure. Errors that do not implement it
// are retried, with the code [CodeClientError].
type Failure interface {
	error
	Retryable() bool
	ErrorCode() string
}

// Dead-letter message headers, as EventBridge sets them as SQS message
// attributes.
const (
	HeaderErrorCode        = "ERROR_CODE"
	HeaderErrorMessage     = "ERROR_MESSAGE"
	HeaderExhaustedRetry   = "EXHAUSTED_RETRY_CONDITION"
	HeaderRetryAttempts    = "RETRY_ATTEMPTS"
	HeaderRuleARN          = "RULE_ARN"
	HeaderTargetARN        = "TARGET_ARN"
	HeaderEventID          = "Conveyor-Event-Id"
	HeaderTargetID         = "Conveyor-Target-Id"
	ExhaustedRetryAttempts = "MaximumRetryAttempts"
	ExhaustedEventAge      = "MaximumEventAgeInSeconds"
)

// DeadLetterQueues checks that a dead-letter queue exists and takes the
// dead letters of a rule.
type DeadLetterQueues interface {
	// CheckDeadLetterQueue returns nil when the queue with ARN arn exists
	// (its stream too) and takes dead letters from the rule with ARN
	// ruleARN, an error wrapping ErrNoDeadLetterQueue when it does not.
	CheckDeadLetterQueue(ctx context.Context, ruleARN, arn string) error
}

// ErrNoDeadLetterQueue means a job's dead-letter queue does not exist: as
// EventBridge does, the event is dropped and counted as failed to be sent to
// the dead-letter queue.
var ErrNoDeadLetterQueue = errors.New("dead-letter queue does not exist")

// Config configures a [Runner]. Only Invoker is required.
type Config struct {
	Invoker Invoker
	// Registerer receives the delivery metrics (none registered when nil).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Clock      clock.Clock
	// BackoffBase and BackoffMax shape the retry delay: attempt n waits
	// about min(BackoffMax, BackoffBase·2^(n-1)), with jitter (a random
	// point in its upper half). Defaults 1s and 5m.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxInFlight bounds concurrent invocations per target (default 32).
	MaxInFlight int
	// MaxAckPending bounds the jobs of one target that are out of the
	// stream and not yet acknowledged, waiting retries included (default
	// 1000). A target that is down holds at most this many.
	MaxAckPending int
	// AckWait is how long a job may stay unacknowledged before JetStream
	// delivers it again (after a crash, say). Default 30s; it must exceed
	// InvokeTimeout.
	AckWait time.Duration
	// InvokeTimeout bounds one invocation (default 10s; the HTTP target has
	// its own 5s limit).
	InvokeTimeout time.Duration
	// DeadLetterQueues, when set, says whether a dead-letter queue exists
	// before a job is dead-lettered into its stream (the SQS service, which
	// creates the streams); without it the runner creates missing streams.
	DeadLetterQueues DeadLetterQueues
	// DLQMaxAge is how long dead-letter streams keep messages (default 14
	// days, SQS's longest retention).
	DLQMaxAge time.Duration
	// DirectMaxInFlight bounds the direct invocations ([Runner.TryDirect])
	// running at once per target (default 64); a negative value turns
	// direct delivery off (every job goes through the queue).
	DirectMaxInFlight int
	// DirectQueue bounds the jobs of one target waiting for a direct
	// invocation (default 256); jobs beyond it go through the queue, as
	// do jobs that waited more than a second.
	DirectQueue int
	// Outcomes, when set, is told the outcome of every attempt (for the console's live tail).
	// It must not block.
	Outcomes func(Outcome)
}

// Outcome is how one attempt to deliver an event to a target ended.
type Outcome struct {
	Bus       string `json:"bus"`
	Rule      string `json:"rule"`
	TargetID  string `json:"target_id"`
	TargetARN string `json:"target_arn"`
	EventID   string `json:"event_id"`
	Attempt   int    `json:"attempt"`
	// Result is OutcomeDelivered, OutcomeRetrying, OutcomeDeadLettered or OutcomeDropped.
	Result    string `json:"result"`
	ErrorCode string `json:"error_code,omitempty"`
	Error     string `json:"error,omitempty"`
}

// The results of an Outcome.
const (
	OutcomeDelivered    = "delivered"
	OutcomeRetrying     = "retrying"
	OutcomeDeadLettered = "dead-lettered"
	OutcomeDropped      = "dropped"
)

// report tells Config.Outcomes how an attempt of job ended.
func (r *Runner) report(job *Job, result, code string, err error) {
	if r.cfg.Outcomes == nil {
		return
	}
	o := Outcome{Bus: job.Bus, Rule: job.RuleName, TargetID: job.TargetID, TargetARN: job.TargetARN, EventID: job.EventID,
		Attempt: job.Attempt, Result: result, ErrorCode: code}
	if err != nil {
		o.Error = err.Error()
	}
	r.cfg.Outcomes(o)
}

// Runner runs one delivery loop per target: it fetches the target's jobs,
// invokes the target, and acks, retries with backoff, or dead-letters.
type Runner struct {
	q   *Queue
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger
	m   *metrics

	mu      sync.Mutex
	closed  bool
	workers map[TargetKey]*worker
	stopped sync.WaitGroup // workers that were removed but may still be running

	dlqMu sync.Mutex
	dlqs  map[string]bool // dead-letter streams known to exist

	directMu     sync.RWMutex
	direct       map[TargetKey]*direct
	directClosed bool
	directStop   atomic.Bool     // set with directClosed, read without the lock
	directDone   chan struct{}   // closed with directClosed: idle workers leave
	directWG     sync.WaitGroup  // direct invocations running
	invCtx       context.Context // cancelled when in-flight invocations must stop
	invEnd       context.CancelFunc
	batcher      BatchInvoker // cfg.Invoker, when it takes batches
}

type worker struct {
	key    TargetKey
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRunner returns a runner delivering jobs from q; it runs no target until
// told to ([Runner.SetTargets], [Runner.AddTarget]).
func NewRunner(q *Queue, cfg Config) (*Runner, error) {
	if cfg.Invoker == nil {
		return nil, errors.New("delivery: runner needs an Invoker")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 5 * time.Minute
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 32
	}
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = 1000
	}
	if cfg.MaxAckPending < cfg.MaxInFlight {
		cfg.MaxAckPending = cfg.MaxInFlight
	}
	if cfg.InvokeTimeout <= 0 {
		cfg.InvokeTimeout = 10 * time.Second
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.DLQMaxAge <= 0 {
		cfg.DLQMaxAge = 14 * 24 * time.Hour
	}
	if cfg.DirectMaxInFlight == 0 {
		cfg.DirectMaxInFlight = 64
	}
	if cfg.DirectQueue <= 0 {
		cfg.DirectQueue = 256
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	invCtx, invEnd := context.WithCancel(context.Background())
	r := &Runner{
		q: q, js: q.js, cfg: cfg, log: cfg.Logger, m: m,
		workers:    map[TargetKey]*worker{},
		dlqs:       map[string]bool{},
		direct:     map[TargetKey]*direct{},
		directDone: make(chan struct{}),
		invCtx:     invCtx, invEnd: invEnd,
	}
	r.batcher, _ = cfg.Invoker.(BatchInvoker)
	return r, nil
}

// SetTargets makes the runner deliver for exactly keys: loops start for new
// targets and stop for targets not listed. Consumers of stopped targets stay
// with their jobs ([Queue.DropTarget] removes them).
func (r *Runner) SetTargets(keys []TargetKey) error {
	want := make(map[TargetKey]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("delivery: runner closed")
	}
	for k, w := range r.workers {
		if !want[k] {
			r.stopLocked(w)
		}
	}
	for k := range want {
		r.startLocked(k)
	}
	return nil
}

// AddTarget starts delivering for k (no-op when it runs already).
func (r *Runner) AddTarget(k TargetKey) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("delivery: runner closed")
	}
	r.startLocked(k)
	return nil
}

// RemoveTarget stops delivering for k; its in-flight invocations finish in
// the background.
func (r *Runner) RemoveTarget(k TargetKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.workers[k]; ok {
		r.stopLocked(w)
	}
}

// Targets returns the targets the runner delivers for.
func (r *Runner) Targets() []TargetKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TargetKey, 0, len(r.workers))
	for k := range r.workers {
		out = append(out, k)
	}
	return out
}

func (r *Runner) startLocked(k TargetKey) {
	if _, ok := r.workers[k]; ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{key: k, cancel: cancel, done: make(chan struct{})}
	r.workers[k] = w
	go r.run(ctx, w)
}

func (r *Runner) stopLocked(w *worker) {
	delete(r.workers, w.key)
	r.directMu.Lock()
	delete(r.direct, w.key)
	r.directMu.Unlock()
	w.cancel()
	r.stopped.Add(1)
	go func() { <-w.done; r.stopped.Done() }()
}

// Close stops every loop and waits for in-flight invocations (direct ones
// too) until ctx is done; those still running then are cancelled and their
// jobs released for redelivery (nothing is lost: an unacknowledged job
// stays in the stream, a direct one's event on its bus).
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	for _, w := range r.workers {
		r.stopLocked(w)
	}
	r.mu.Unlock()
	r.directMu.Lock()
	if !r.directClosed {
		r.directClosed = true
		r.directStop.Store(true)
		close(r.directDone)
	}
	r.directMu.Unlock()
	done := make(chan struct{})
	go func() { r.stopped.Wait(); r.directWG.Wait(); close(done) }()
	select {
	case <-done:
		r.invEnd()
		return nil
	case <-ctx.Done():
		r.invEnd()
		<-done
		return fmt.Errorf("delivery: close runner: %w", ctx.Err())
	}
}

func (r *Runner) consumerConfig(k TargetKey) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       k.Consumer(),
		Description:   "Conveyor deliveries to target " + k.String(),
		FilterSubject: k.Subject(),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.cfg.AckWait,
		// The runner decides when a job has had its last attempt; JetStream
		// must never drop one on its own.
		MaxDeliver:    -1,
		MaxAckPending: r.cfg.MaxAckPending,
		Metadata: map[string]string{
			"conveyor.bus": k.Bus, "conveyor.rule": k.Rule, "conveyor.target": k.ID,
		},
	}
}

// A pull request waits up to pullExpiry for jobs; the server sends a
// heartbeat every pullHeartbeat while one waits, so a request the server lost
// is noticed (two missed heartbeats) and replaced within seconds. The client
// stops that clock while our callback runs, so a callback waiting for a free
// slot never counts as a missed heartbeat.
const (
	pullExpiry    = 30 * time.Second
	pullHeartbeat = 5 * time.Second
)

// run is the loop of one target: (re)create its consumer and consume its
// jobs. The consume callback takes a slot (at most MaxInFlight) before it
// starts a goroutine for a job, and blocks while none is free: the client
// then pulls no more, so a slow target holds at most MaxInFlight jobs in
// invocation plus MaxInFlight prefetched on this process.
func (r *Runner) run(ctx context.Context, w *worker) {
	defer close(w.done)
	log := r.log.With("bus", w.key.Bus, "rule", w.key.Rule, "target_id", w.key.ID)
	tm := r.m.forTarget(w.key.Bus, w.key.Rule)
	sem := make(chan struct{}, r.cfg.MaxInFlight)
	// The consume callback may still run after Stop; ended (under mu) keeps
	// it from starting work once we wait for the work in flight.
	var (
		inflight sync.WaitGroup
		mu       sync.Mutex
		ended    bool
	)
	defer func() {
		mu.Lock()
		ended = true
		mu.Unlock()
		inflight.Wait()
	}()
	var (
		backoff store.Backoff
		retry   bool
	)
	for ctx.Err() == nil {
		if retry && !backoff.Wait(ctx) {
			return
		}
		retry = true
		cons, err := r.js.CreateOrUpdateConsumer(ctx, store.DeliveryStream, r.consumerConfig(w.key))
		if err != nil {
			if ctx.Err() == nil {
				log.Error("delivery: create consumer", "err", err)
			}
			continue
		}
		gone := make(chan error, 1)
		cc, err := cons.Consume(func(msg jetstream.Msg) {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				// Not started: let JetStream deliver it again at once.
				_ = msg.Nak()
				return
			}
			mu.Lock()
			if ended {
				mu.Unlock()
				<-sem
				_ = msg.Nak()
				return
			}
			inflight.Add(1)
			mu.Unlock()
			go func() {
				defer func() { <-sem; inflight.Done() }()
				r.handle(tm, log, msg)
			}()
		},
			jetstream.PullMaxMessages(r.cfg.MaxInFlight),
			jetstream.PullExpiry(pullExpiry),
			jetstream.PullHeartbeat(pullHeartbeat),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				switch {
				case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound),
					errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, jetstream.ErrConnectionClosed):
					select {
					case gone <- err:
					default:
					}
				case errors.Is(err, jetstream.ErrNoHeartbeat):
					log.Debug("delivery: pull missed heartbeats; pulling again", "err", err)
				default:
					if ctx.Err() == nil {
						log.Warn("delivery: consume jobs", "err", err)
					}
				}
			}))
		if err != nil {
			if ctx.Err() == nil {
				log.Error("delivery: consume", "err", err)
			}
			continue
		}
		consuming := time.Now()
		select {
		case <-ctx.Done():
			// Hand back the jobs pulled but not started (the callback naks
			// them), so that they need not wait out the ack wait.
			cc.Drain()
			select {
			case <-cc.Closed():
			case <-time.After(drainTimeout):
			}
		case err := <-gone:
			if ctx.Err() == nil {
				log.Warn("delivery: consumer gone; recreating", "err", err)
			}
		case <-cc.Closed():
		}
		cc.Stop()
		if time.Since(consuming) > 10*time.Second {
			backoff.Reset() // it ran well before it was closed under us
		}
	}
}

// drainTimeout bounds the hand-back of pulled jobs at shutdown.
const drainTimeout = 2 * time.Second

// handle makes one attempt at one job and settles the message: ack on
// success, nak with a delay for a retry, or dead-letter and ack.
func (r *Runner) handle(tm *targetMetrics, log *slog.Logger, msg jetstream.Msg) {
	var job Job
	if err := job.UnmarshalBinary(msg.Data()); err != nil {
		// A job we cannot read can never be delivered: count it, log it,
		// and take it out of the queue.
		log.Error("delivery: undecodable job removed", "subject", msg.Subject(), "err", err)
		tm.deadLetter.Inc()
		_ = msg.Term()
		return
	}
	delivered := 1
	if meta, err := msg.Metadata(); err == nil && meta.NumDelivered > 0 {
		delivered = int(meta.NumDelivered)
	}
	job.Attempt = delivered
	if job.PriorAttempts > 0 {
		// Stored after failed direct attempts: the first delivery only
		// waits for the retry's time; attempts go on from the prior ones.
		if delivered == 1 {
			if wait := job.RetryAt.Sub(r.cfg.Clock.Now()); wait > 0 {
				_ = msg.NakWithDelay(wait)
			} else {
				_ = msg.Nak()
			}
			return
		}
		job.Attempt = job.PriorAttempts + delivered - 1
	}
	tm.attempts.Inc()
	if job.Attempt > 1 {
		tm.retryAttempts.Inc()
	}

	ctx, cancel := context.WithTimeout(r.invCtx, r.cfg.InvokeTimeout)
	err := r.cfg.Invoker.Invoke(ctx, &job)
	cancel()
	now := r.cfg.Clock.Now()
	if err == nil {
		if aerr := msg.Ack(); aerr != nil {
			log.Warn("delivery: ack", "event_id", job.EventID, "err", aerr)
		}
		r.delivered(tm, &job, now)
		r.directFor(job.Key()).succeeded()
		return
	}
	if r.invCtx.Err() != nil {
		// Shutting down: the attempt was cut short, not failed. Another
		// process (or this one, restarted) delivers it again.
		_ = msg.Nak()
		return
	}
	v := r.judge(&job, err, now)
	if v.retry {
		r.report(&job, OutcomeRetrying, v.code, err)
		log.Info("delivery: attempt failed; will retry", "event_id", job.EventID, "target_arn", job.TargetARN,
			"attempt", job.Attempt, "retry_in", v.delay, "error_code", v.code, "err", err)
		if nerr := msg.NakWithDelay(v.delay); nerr != nil {
			log.Warn("delivery: nak", "event_id", job.EventID, "err", nerr)
		}
		return
	}
	switch r.fail(tm, log, &job, err, v.code, v.exhausted) {
	case nil:
		if aerr := msg.Ack(); aerr != nil {
			log.Warn("delivery: ack", "event_id", job.EventID, "err", aerr)
		}
	default:
		_ = msg.NakWithDelay(r.cfg.BackoffMax)
	}
}

// delivered counts a successful invocation.
func (r *Runner) delivered(tm *targetMetrics, job *Job, now time.Time) {
	r.report(job, OutcomeDelivered, "", nil)
	tm.successAttempts.Inc()
	tm.invocations.Inc()
	if !job.IngestionTime.IsZero() {
		tm.latency.Observe(now.Sub(job.IngestionTime).Seconds())
	}
}

// verdict is what follows a failed attempt: a retry after delay, or the end
// (exhausted names the retry condition that ran out, "" for a failure that
// is not retryable).
type verdict struct {
	code      string
	retry     bool
	delay     time.Duration
	exhausted string
}

// judge decides what follows the failure err of attempt job.Attempt.
func (r *Runner) judge(job *Job, err error, now time.Time) verdict {
	v := verdict{code: CodeClientError}
	retryable := true
	var f Failure
	if errors.As(err, &f) {
		v.code, retryable = f.ErrorCode(), f.Retryable()
	}
	if !retryable {
		return v
	}
	delay := r.backoff(job.Attempt)
	maxAge := time.Duration(job.RetryPolicy.MaximumEventAgeInSeconds) * time.Second
	if maxAge <= 0 {
		maxAge = DefaultMaximumEventAgeInSeconds * time.Second
	}
	switch {
	case job.Attempt-1 >= job.RetryPolicy.MaximumRetryAttempts:
		v.exhausted = ExhaustedRetryAttempts
	case !job.IngestionTime.IsZero() && now.Add(delay).Sub(job.IngestionTime) > maxAge:
		v.exhausted = ExhaustedEventAge
	default:
		v.retry, v.delay = true, delay
	}
	return v
}

// backoff is the delay before the retry that follows attempt n.
func (r *Runner) backoff(n int) time.Duration {
	d := r.cfg.BackoffBase
	for i := 1; i < n && d < r.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, r.cfg.BackoffMax)
	half := d / 2
	return half + rand.N(half+1)
}

// Reject ends a job that cannot be attempted (its payload could not be
// built): at once, as an attempt that may not be retried, to the job's
// dead-letter queue when it has one (with ERROR_CODE code and the cause as
// ERROR_MESSAGE), else counted and logged. The job's payload is what the
// dead-letter queue receives. An error means the dead-letter queue could not
// be written now.
func (r *Runner) Reject(job *Job, code string, cause error) error {
	if job.Attempt == 0 {
		job.Attempt = 1
	}
	log := r.log.With("bus", job.Bus, "rule", job.RuleName, "target_id", job.TargetID)
	return r.fail(r.m.forTarget(job.Bus, job.RuleName), log, job, cause, code, "")
}

// fail ends a job that will not be delivered: to its dead-letter queue when
// it has one, else only a metric and a log line. It returns nil once the job
// is settled for good (the caller may forget it), an error when its
// dead-letter queue could not be written now (the job must be kept and
// failed again later).
func (r *Runner) fail(tm *targetMetrics, log *slog.Logger, job *Job, cause error, code, exhausted string) error {
	tm.invocations.Inc()
	tm.failed.Inc()
	attrs := []any{"event_id", job.EventID, "target_arn", job.TargetARN, "attempts", job.Attempt,
		"error_code", code, "err", cause}
	if exhausted != "" {
		attrs = append(attrs, "exhausted_retry_condition", exhausted)
	}
	if job.DeadLetterARN == "" {
		tm.deadLetter.Inc()
		r.report(job, OutcomeDropped, code, cause)
		log.Error("delivery: failed for good; no dead-letter queue, event dropped", attrs...)
		return nil
	}
	if err := r.deadLetter(job, cause, code, exhausted); err != nil {
		tm.failedToDLQ.Inc()
		if errors.Is(err, ErrNoDeadLetterQueue) {
			r.report(job, OutcomeDropped, code, cause)
			log.Error("delivery: failed for good and the dead-letter queue does not exist; event dropped",
				append(attrs, "dead_letter_arn", job.DeadLetterARN, "dlq_err", err)...)
			return nil
		}
		log.Error("delivery: failed for good and could not be sent to the dead-letter queue; will try again",
			append(attrs, "dead_letter_arn", job.DeadLetterARN, "dlq_err", err)...)
		return err
	}
	tm.sentToDLQ.Inc()
	r.report(job, OutcomeDeadLettered, code, cause)
	log.Warn("delivery: failed for good; sent to the dead-letter queue", append(attrs, "dead_letter_arn", job.DeadLetterARN)...)
	return nil
}

// deadLetter stores the job's payload in its dead-letter stream with the
// attributes EventBridge adds.
func (r *Runner) deadLetter(job *Job, cause error, code, exhausted string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.ensureDLQ(ctx, job.RuleARN, job.DeadLetterARN); err != nil {
		return err
	}
	h := nats.Header{
		HeaderErrorCode:     {code},
		HeaderErrorMessage:  {headerValue(cause.Error())},
		HeaderRetryAttempts: {strconv.Itoa(job.Attempt - 1)},
		HeaderRuleARN:       {job.RuleARN},
		HeaderTargetARN:     {job.TargetARN},
		HeaderEventID:       {job.EventID},
		HeaderTargetID:      {job.TargetID},
		// A crash between this publish and the ack must not store it twice.
		jetstream.MsgIDHeader: {"dlq " + msgID(job)},
	}
	if exhausted != "" {
		h[HeaderExhaustedRetry] = []string{exhausted}
	}
	_, err := r.q.st.Publish(ctx, &nats.Msg{Subject: store.QueueSubject(job.DeadLetterARN), Header: h, Data: job.Payload})
	if err != nil {
		return fmt.Errorf("publish to dead-letter queue %s: %w", job.DeadLetterARN, err)
	}
	return nil
}

// headerValue makes s safe as a NATS header value (no CR or LF).
func headerValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

func (r *Runner) ensureDLQ(ctx context.Context, ruleARN, arn string) error {
	if r.cfg.DeadLetterQueues != nil {
		return r.cfg.DeadLetterQueues.CheckDeadLetterQueue(ctx, ruleARN, arn)
	}
	r.dlqMu.Lock()
	ok := r.dlqs[arn]
	r.dlqMu.Unlock()
	if ok {
		return nil
	}
	_, err := r.q.st.EnsureStream(ctx, DLQStreamConfig(arn, r.q.st.Replicas(), r.cfg.DLQMaxAge))
	if err != nil {
		return fmt.Errorf("ensure dead-letter stream for %s: %w", arn, err)
	}
	r.dlqMu.Lock()
	r.dlqs[arn] = true
	r.dlqMu.Unlock()
	return nil
}

// DLQStreamConfig is the configuration of the stream that holds the messages
// of the queue with ARN arn.
func DLQStreamConfig(arn string, replicas int, maxAge time.Duration) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        store.QueueStream(arn),
		Description: "Conveyor queue " + arn,
		Subjects:    []string{store.QueueSubject(arn), store.QueueJournalSubject(arn)},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      maxAge,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Replicas:    replicas,
		Duplicates:  min(2*time.Minute, maxAge), // JetStream's bound: the max age
		Metadata:    map[string]string{store.QueueMetadataKey: arn},
	}
}
