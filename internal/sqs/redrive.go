package sqs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/delivery"
)

type redriveInput struct {
	QueueUrl string `json:"QueueUrl"`
	// MaxMessages bounds how many dead letters are moved (default: all that
	// are visible).
	MaxMessages *int `json:"MaxMessages"`
}

// RedriveSkipped is a dead letter RedriveDeadLetters left in the queue.
type RedriveSkipped struct {
	MessageId string `json:"MessageId"`
	Reason    string `json:"Reason"`
}

type redriveOutput struct {
	Redriven int              `json:"Redriven"`
	Skipped  []RedriveSkipped `json:"Skipped,omitempty"`
}

// redriveVisibility hides a dead letter while it is redriven; a redrive that
// dies half way leaves it to come back after this.
const redriveVisibility = 30 * time.Second

// redriveDeadLetters moves the visible dead letters of a queue back to the
// rule targets they failed for: each becomes a delivery job of the target
// named by its RULE_ARN and Conveyor-Target-Id (or TARGET_ARN) headers, with
// the target's current retry policy and dead-letter queue, and is deleted
// from the queue once the job is stored. Messages that do not name an
// existing rule target stay (visible again at once) and are reported.
func (s *Service) redriveDeadLetters(ctx context.Context, in *redriveInput) (*redriveOutput, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:StartMessageMoveTask")
	if err != nil {
		return nil, err
	}
	if s.cfg.Catalog == nil || s.cfg.Deliveries == nil {
		return nil, awsapi.Errorf(awsapi.CodeUnsupportedOperation, "Redrive is not configured on this server.")
	}
	limit := -1
	if in.MaxMessages != nil {
		if *in.MaxMessages < 1 {
			return nil, invalidParameter("Value %d for parameter MaxMessages is invalid. Reason: Must be at least 1, if provided.", *in.MaxMessages)
		}
		limit = *in.MaxMessages
	}
	st := q.st
	// Only the dead letters there now: a redriven event that fails again
	// comes back to this queue, and is not taken again by this redrive.
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqs: redrive %s: stream info: %w", q.name, err)
	}
	last := info.State.LastSeq
	out := &redriveOutput{}
	var skipped []uint64
	defer func() {
		// Skipped messages are visible again at once.
		now := s.now()
		for _, seq := range skipped {
			if e, ok := q.entryState(seq); ok {
				if err := q.setVisible(context.WithoutCancel(ctx), now, seq, e.receives, now.UnixMilli()); err != nil {
					s.log.DebugContext(ctx, "sqs: make a skipped dead letter visible", "queue", q.name, "err", err)
				}
			}
		}
	}()
	for limit < 0 || out.Redriven+len(out.Skipped) < limit {
		n := maxBatchEntries
		if limit >= 0 {
			n = min(n, limit-out.Redriven-len(out.Skipped))
		}
		now := s.now()
		got, _ := q.take(now, n, redriveVisibility, last)
		if len(got) == 0 {
			break
		}
		// Claimed like a receive: no other process hands them out meanwhile.
		claimed, err := q.claim(ctx, got, now.Add(redriveVisibility).UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("sqs: redrive %s: %w", q.name, err)
		}
		for i, g := range got {
			if !claimed[i] {
				continue
			}
			raw, err := q.readMsg(ctx, g.seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				q.notFound(g.seq, g.receives)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("sqs: redrive %s: read message %d: %w", q.name, g.seq, err)
			}
			id := messageID(q.gen, g.seq)
			job, reason := s.redriveJob(ctx, raw, id)
			if reason != "" {
				out.Skipped = append(out.Skipped, RedriveSkipped{MessageId: id, Reason: reason})
				skipped = append(skipped, g.seq)
				continue
			}
			if err := s.cfg.Deliveries.Enqueue(ctx, job); err != nil {
				skipped = append(skipped, g.seq)
				return nil, fmt.Errorf("sqs: redrive %s: %w", q.name, err)
			}
			if err := q.remove(ctx, g.seq); err != nil {
				return nil, err
			}
			out.Redriven++
		}
	}
	return out, nil
}

// redriveJob builds the delivery job of a dead letter, or says why it has
// none.
func (s *Service) redriveJob(ctx context.Context, raw *jetstream.RawStreamMsg, messageID string) (*delivery.Job, string) {
	ruleARN := raw.Header.Get(delivery.HeaderRuleARN)
	targetARN := raw.Header.Get(delivery.HeaderTargetARN)
	if ruleARN == "" || targetARN == "" {
		return nil, "the message has no RULE_ARN and TARGET_ARN attributes (not a dead-lettered event)"
	}
	sc, ref, ok := catalog.ParseResourceARN(ruleARN)
	if !ok || ref.Kind != catalog.KindRule {
		return nil, "RULE_ARN " + ruleARN + " is not a rule ARN"
	}
	rule, err := s.cfg.Catalog.In(sc).Rule(ctx, ref.Bus, ref.Name)
	if err != nil {
		return nil, "rule " + ruleARN + " does not exist"
	}
	var t *catalog.Target
	if id := raw.Header.Get(delivery.HeaderTargetID); id != "" {
		t = rule.Target(id)
	}
	if t == nil {
		for i := range rule.Targets {
			if rule.Targets[i].Arn == targetARN {
				t = &rule.Targets[i]
				break
			}
		}
	}
	if t == nil || t.Arn != targetARN {
		return nil, "rule " + ruleARN + " has no target " + targetARN
	}
	attempts, age := t.RetryPolicy.Effective()
	job := &delivery.Job{
		Bus: s.cfg.Catalog.BusID(sc, ref.Bus), RuleName: rule.Name, RuleARN: rule.ARN, TargetID: t.Id, TargetARN: t.Arn,
		// A new id: the delivery stream and the dead-letter queue deduplicate
		// by event id, and this is a new delivery of the event.
		EventID:       raw.Header.Get(delivery.HeaderEventID) + "/redrive/" + messageID,
		IngestionTime: s.now().UTC(),
		RetryPolicy:   delivery.RetryPolicy{MaximumRetryAttempts: attempts, MaximumEventAgeInSeconds: int(age / time.Second)},
		Payload:       raw.Data,
	}
	if t.DeadLetterConfig != nil {
		job.DeadLetterARN = t.DeadLetterConfig.Arn
	}
	if t.SqsParameters != nil {
		job.MessageGroupId = t.SqsParameters.MessageGroupId
	}
	if hp := t.HttpParameters; hp != nil {
		job.HTTP = &delivery.HTTPParameters{PathParameterValues: hp.PathParameterValues,
			HeaderParameters: hp.HeaderParameters, QueryStringParameters: hp.QueryStringParameters}
	}
	return job, ""
}
