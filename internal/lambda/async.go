package lambda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
)

// AsyncStream is the stream of asynchronous invocations (Invoke with InvocationType Event,
// rule targets) waiting for their function, as Lambda's internal queue holds them: an
// invocation is answered 202 once it is stored there, and leaves only when it has run, has
// failed three times, or is older than the maximum event age.
const (
	AsyncStream   = "LAMBDA_ASYNC"
	asyncSubject  = "conveyor.lambda.async"
	asyncConsumer = "invoke"
)

// Lambda's defaults for asynchronous invocations: two retries after a function error, an event
// kept six hours at most.
const (
	asyncRetries     = 2
	asyncMaxEventAge = 6 * time.Hour
	// asyncPayloadLimit is Invoke's payload bound for InvocationType Event.
	asyncPayloadLimit = 1 << 20
)

// Headers of an asynchronous invocation's message (its body is the payload).
const (
	hdrFunction  = "Conveyor-Function-Arn"
	hdrRequestID = "Conveyor-Request-Id"
	hdrEnqueued  = "Conveyor-Enqueued"
)

// openAsync creates the stream of asynchronous invocations and its one durable consumer,
// shared by every Conveyor on the store so that each invocation runs once.
func openAsync(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.Consumer, error) {
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: AsyncStream, Subjects: []string{asyncSubject + ".>"},
		Description: "Conveyor Lambda asynchronous invocations", Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Replicas: replicas, MaxAge: asyncMaxEventAge + time.Hour})
	if err != nil {
		return nil, fmt.Errorf("lambda: open stream %s: %w", AsyncStream, err)
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: asyncConsumer,
		Description: "Conveyor Lambda asynchronous invocations", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: asyncAckWait, MaxDeliver: -1, MaxAckPending: 1000})
	if err != nil {
		return nil, fmt.Errorf("lambda: open consumer of %s: %w", AsyncStream, err)
	}
	return cons, nil
}

// asyncAckWait is how long an invocation taken by a process that died waits before another
// takes it; a running invocation reports progress every third of it.
const asyncAckWait = 30 * time.Second

// enqueue stores an asynchronous invocation of f and returns its request id.
func (s *Service) enqueue(ctx context.Context, f *Function, payload []byte) (string, error) {
	if len(payload) > asyncPayloadLimit {
		return "", awsapi.Errorf("RequestEntityTooLargeException", "%d byte payload is too large for the Event invocation type (limit %d bytes)", len(payload), asyncPayloadLimit)
	}
	// An Invoke's request id is its invocation's; an EventBridge delivery has its own.
	id := awsapi.CallerFrom(ctx).RequestID
	if id == "" {
		id = uuid.NewString()
	}
	msg := nats.NewMsg(asyncSubject + "." + store.Token(f.FunctionArn))
	msg.Header.Set(hdrFunction, f.FunctionArn)
	msg.Header.Set(hdrRequestID, id)
	msg.Header.Set(hdrEnqueued, s.cfg.Clock.Now().UTC().Format(time.RFC3339Nano))
	msg.Data = payload
	// What is stored is the payload and the invocation's headers: past the limit as a whole, it
	// is refused as Lambda refuses it, whatever the store's own bound.
	if msg.Size() > asyncPayloadLimit {
		return "", awsapi.Errorf("SerializedRequestEntityTooLargeException",
			"The processed request payload exceeded the Invoke request body size limit for asynchronous invocations.")
	}
	if _, err := s.cfg.Store.Publish(ctx, msg); err != nil {
		if errors.Is(err, nats.ErrMaxPayload) {
			return "", awsapi.Errorf("SerializedRequestEntityTooLargeException",
				"The processed request payload exceeded the Invoke request body size limit for asynchronous invocations.")
		}
		return "", awsapi.Errorf("ServiceException", "The asynchronous invocation could not be stored: %v", err)
	}
	return id, nil
}

// consumeAsync runs the stored asynchronous invocations until ctx ends, at most
// asyncConcurrency at once on this process.
func (s *Service) consumeAsync(ctx context.Context) {
	const asyncConcurrency = 32
	sem := make(chan struct{}, asyncConcurrency)
	var (
		inflight sync.WaitGroup
		mu       sync.Mutex
		ended    bool
	)
	store.Restart(ctx, s.log, "asynchronous invocations", func(ctx context.Context) error {
		cc, err := s.async.Consume(func(m jetstream.Msg) {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			mu.Lock()
			if ended {
				mu.Unlock()
				<-sem
				return
			}
			inflight.Add(1)
			mu.Unlock()
			go func() {
				defer func() { <-sem; inflight.Done() }()
				s.runAsync(ctx, m)
			}()
		}, jetstream.PullMaxMessages(asyncConcurrency))
		if err != nil {
			return err
		}
		<-ctx.Done()
		cc.Stop()
		return ctx.Err()
	})
	mu.Lock()
	ended = true
	mu.Unlock()
	inflight.Wait()
}

// runAsync runs one stored invocation: acknowledged when it ran (or can never run), retried
// after Config.RetryDelays when the function failed, dropped after its last retry.
func (s *Service) runAsync(ctx context.Context, m jetstream.Msg) {
	arn, id := m.Headers().Get(hdrFunction), m.Headers().Get(hdrRequestID)
	log := s.log.With("function", arn, "request_id", id)
	enqueued, err := time.Parse(time.RFC3339Nano, m.Headers().Get(hdrEnqueued))
	if err != nil {
		log.ErrorContext(ctx, "lambda: an asynchronous invocation without its time is dropped", "err", err)
		_ = m.Term()
		return
	}
	f, err := s.byARN(ctx, arn)
	if err != nil && ctx.Err() != nil {
		_ = m.Nak() // shutting down
		return
	}
	if err != nil {
		log.WarnContext(ctx, "lambda: function of an asynchronous invocation unreadable; retried", "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	if f == nil {
		log.WarnContext(ctx, "lambda: the function of an asynchronous invocation is gone; dropped")
		_, name, _, _ := functionOf(arn)
		s.m.dropped.WithLabelValues(name).Inc()
		_ = m.Ack()
		return
	}
	if age := s.cfg.Clock.Now().Sub(enqueued); age > asyncMaxEventAge {
		log.WarnContext(ctx, "lambda: an asynchronous invocation older than the maximum event age is dropped", "age", age.String())
		s.m.dropped.WithLabelValues(f.FunctionName).Inc()
		s.deadLetter(ctx, log, f, id, m.Data(), "", "the event is older than the maximum event age")
		_ = m.Ack()
		return
	}
	md, err := m.Metadata()
	attempt := 1
	if err == nil {
		attempt = int(md.NumDelivered)
	}
	stop := keepInProgress(ctx, m)
	res, err := s.rt.invoke(ctx, f, m.Data(), id, "") // every attempt under the invocation's id, as on Lambda
	stop()
	switch {
	case ctx.Err() != nil:
		// Shutting down: another process, or this one after its restart, runs it again.
		_ = m.Nak()
		return
	case err != nil:
		// Conveyor's own failure (the code could not be unpacked): retried, as Lambda retries
		// its system errors, until the event is too old.
		log.ErrorContext(ctx, "lambda: asynchronous invocation failed; retried", "attempt", attempt, "err", err)
		_ = m.NakWithDelay(s.cfg.RetryDelays[min(attempt, len(s.cfg.RetryDelays))-1])
		return
	case res.fnError == "":
		if err := m.Ack(); err != nil {
			log.WarnContext(ctx, "lambda: asynchronous invocation ran but could not be acknowledged; it may run again", "err", err)
		}
		return
	}
	if attempt <= asyncRetries {
		log.WarnContext(ctx, "lambda: asynchronous invocation ended in an error; retried", "attempt", attempt,
			"error", string(res.payload), "retry_in", s.cfg.RetryDelays[attempt-1].String())
		_ = m.NakWithDelay(s.cfg.RetryDelays[attempt-1])
		return
	}
	log.WarnContext(ctx, "lambda: asynchronous invocation ended in an error after its last retry; dropped", "attempts", attempt,
		"error", string(res.payload))
	s.m.dropped.WithLabelValues(f.FunctionName).Inc()
	s.deadLetter(ctx, log, f, id, m.Data(), "200", string(res.payload))
	_ = m.Ack()
}

// deadLetter sends the payload of f's asynchronous invocation id, failed for good, to f's
// dead-letter queue if it has one, with Lambda's message attributes: RequestID, ErrorCode
// (the invocation's HTTP status, 200 for a function error) and the first KB of ErrorMessage.
func (s *Service) deadLetter(ctx context.Context, log *slog.Logger, f *Function, id string, payload []byte, code, message string) {
	if f.DeadLetterConfig == nil || f.DeadLetterConfig.TargetArn == "" || s.cfg.Queues == nil {
		return
	}
	if len(message) > 1024 {
		message = strings.ToValidUTF8(message[:1024], "")
	}
	attrs := map[string]string{"RequestID": id}
	if code != "" {
		attrs["ErrorCode"] = code
	}
	if message != "" {
		attrs["ErrorMessage"] = message
	}
	if err := s.cfg.Queues.SendDeadLetter(ctx, f.DeadLetterConfig.TargetArn, payload, attrs); err != nil {
		log.WarnContext(ctx, "lambda: the dead-letter queue did not take a failed asynchronous invocation", "dead_letter_queue", f.DeadLetterConfig.TargetArn, "err", err)
		s.m.deadLetter.WithLabelValues(f.FunctionName).Inc()
	} else {
		log.InfoContext(ctx, "lambda: a failed asynchronous invocation went to the dead-letter queue", "dead_letter_queue", f.DeadLetterConfig.TargetArn)
	}
}

// keepInProgress tells JetStream every third of the ack wait that m is still running, until
// the returned stop is called.
func keepInProgress(ctx context.Context, m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(asyncAckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				_ = m.InProgress()
			}
		}
	}()
	return func() { close(done) }
}

// byARN returns the function an unqualified or $LATEST ARN names (a local one first), nil
// when there is none.
func (s *Service) byARN(ctx context.Context, arn string) (*Function, error) {
	sc, name, qualifier, ok := functionOf(arn)
	if !ok || (qualifier != "" && qualifier != latest) {
		return nil, nil
	}
	if f := s.local(sc, name); f != nil {
		return f, nil
	}
	return s.recs.get(ctx, sc, name)
}

// functionOf is the scope, name and qualifier ("" for none) of the function arn names; ok is
// false when arn names no function.
func functionOf(arn string) (sc scope.Scope, name, qualifier string, ok bool) {
	a, parsed := scope.ParseARN(arn)
	name, isFn := strings.CutPrefix(a.Resource, "function:")
	if !parsed || a.Service != "lambda" || !isFn {
		return scope.Scope{}, "", "", false
	}
	name, qualifier, _ = strings.Cut(name, ":")
	return a.Scope(), name, qualifier, true
}
