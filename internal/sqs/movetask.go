package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/scope"
)

// A message movement task (StartMessageMoveTask) moves the messages of a
// dead-letter queue back to the queues they were dead-lettered from, or to
// another queue, as SQS's dead-letter queue redrive does. Tasks run in the
// Conveyor that started them, and it keeps the ten newest of each queue.

// The statuses of a task.
const (
	moveRunning    = "RUNNING"
	moveCompleted  = "COMPLETED"
	moveCancelling = "CANCELLING"
	moveCancelled  = "CANCELLED"
	moveFailed     = "FAILED"
)

// maxMoveTasks is how many tasks of a queue ListMessageMoveTasks can show.
const maxMoveTasks = 10

// moveTasks are the tasks of this Conveyor, by source queue ARN, newest first.
type moveTasks struct {
	mu       sync.Mutex
	bySource map[string][]*moveTask
}

// forget stops the tasks of a queue that is gone and forgets them: a new queue of the same
// name has none.
func (m *moveTasks) forget(arn string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.bySource[arn] {
		if t.cancel != nil {
			t.cancel()
		}
	}
	delete(m.bySource, arn)
}

// moveTask is one task; its mutable fields are under moveTasks.mu.
type moveTask struct {
	id, source, dest string
	rate             int   // messages a second, 0 for as fast as they go
	started          int64 // unix ms
	toMove           int

	status  string
	moved   int
	failure string
	cancel  context.CancelFunc
}

// MessageMoveTask is SQS's ListMessageMoveTasksResultEntry.
type MessageMoveTask struct {
	TaskHandle                        string `json:"TaskHandle,omitempty"`
	Status                            string `json:"Status"`
	SourceArn                         string `json:"SourceArn"`
	DestinationArn                    string `json:"DestinationArn,omitempty"`
	MaxNumberOfMessagesPerSecond      *int   `json:"MaxNumberOfMessagesPerSecond,omitempty"`
	ApproximateNumberOfMessagesMoved  int    `json:"ApproximateNumberOfMessagesMoved"`
	ApproximateNumberOfMessagesToMove int    `json:"ApproximateNumberOfMessagesToMove"`
	FailureReason                     string `json:"FailureReason,omitempty"`
	StartedTimestamp                  int64  `json:"StartedTimestamp"`
}

// taskHandle is a task's handle as SQS makes it: its id and source queue, in base64 JSON.
type taskHandle struct {
	TaskID    string `json:"taskId"`
	SourceArn string `json:"sourceArn"`
}

func (t *moveTask) handle() string {
	b, _ := json.Marshal(taskHandle{TaskID: t.id, SourceArn: t.source})
	return base64.StdEncoding.EncodeToString(b)
}

// entry is the task as ListMessageMoveTasks shows it; the caller holds moveTasks.mu.
func (t *moveTask) entry() MessageMoveTask {
	e := MessageMoveTask{Status: t.status, SourceArn: t.source, DestinationArn: t.dest, ApproximateNumberOfMessagesMoved: t.moved,
		ApproximateNumberOfMessagesToMove: t.toMove, FailureReason: t.failure, StartedTimestamp: t.started}
	if t.status == moveRunning {
		e.TaskHandle = t.handle()
	}
	if t.rate > 0 {
		e.MaxNumberOfMessagesPerSecond = &t.rate
	}
	return e
}

// The errors of the task operations, in SQS's words (recorded against SQS), except those
// marked "style": Conveyor's texts in SQS's style where SQS's were not seen.
func errNoSource() error {
	return &awsapi.Error{Code: "ResourceNotFoundException", Status: 404, Message: "The resource that you specified for the SourceArn parameter doesn't exist."}
}

func errNoDestination() error {
	return &awsapi.Error{Code: "ResourceNotFoundException", Status: 404, Message: "The resource that you specified for the DestinationArn parameter doesn't exist."}
}

// failureNoQueue is a task's FailureReason when a queue it moves messages to is gone.
const failureNoQueue = "AWS.SimpleQueueService.NonExistentQueue"

type startMessageMoveTaskInput struct {
	SourceArn                    string `json:"SourceArn"`
	DestinationArn               string `json:"DestinationArn"`
	MaxNumberOfMessagesPerSecond *int   `json:"MaxNumberOfMessagesPerSecond"`
}

type startMessageMoveTaskOutput struct {
	TaskHandle string `json:"TaskHandle"`
}

// ownQueue is the queue with ARN arn, in the caller's region, when it is the caller's or
// its policy lets the caller do action (see lookupIn); nil otherwise.
func (s *Service) ownQueue(ctx context.Context, arn, action string) *queue {
	a, ok := scope.ParseARN(arn)
	if !ok || a.Service != "sqs" || a.Region != s.scopeOf(ctx).Region {
		return nil
	}
	q, err := s.lookupIn(ctx, a.Account, a.Resource, action, arn)
	if err != nil {
		return nil
	}
	return q
}

// startMessageMoveTask starts moving the visible messages of a dead-letter queue to
// DestinationArn, or each back to the queue it was dead-lettered from.
func (s *Service) startMessageMoveTask(ctx context.Context, in *startMessageMoveTaskInput) (*startMessageMoveTaskOutput, error) {
	if in.SourceArn == "" {
		return nil, missingParameter("SourceArn")
	}
	if r := in.MaxNumberOfMessagesPerSecond; r != nil && (*r < 1 || *r > 500) {
		// style
		return nil, invalidParameter("Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500, if provided.", *r)
	}
	src := s.ownQueue(ctx, in.SourceArn, "sqs:StartMessageMoveTask")
	if src == nil {
		return nil, errNoSource()
	}
	// The queues that dead-letter to it, by ARN: where its messages go back to.
	back := map[string]*queue{}
	for _, q := range s.queuesIn(s.scopeOf(ctx)) {
		if p, ok := q.record().redrive(); ok && p.DeadLetterTargetArn == src.arn {
			back[q.arn] = q
		}
	}
	if len(back) == 0 {
		return nil, invalidParameter("Source queue must be configured as a Dead Letter Queue.")
	}
	var dest *queue
	if in.DestinationArn != "" {
		if dest = s.ownQueue(ctx, in.DestinationArn, "sqs:SendMessage"); dest == nil {
			return nil, errNoDestination()
		}
		if dest.record().fifo() != src.record().fifo() {
			// style
			return nil, invalidParameter("The source queue and destination queue must be of the same queue type.")
		}
	}
	visible, _, _ := src.counts(ctx, s.now())
	info, err := src.st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqs: move task of %s: stream info: %w", src.name, err)
	}
	t := &moveTask{id: uuid.NewString(), source: src.arn, dest: in.DestinationArn, started: s.now().UnixMilli(),
		toMove: visible, status: moveRunning}
	if in.MaxNumberOfMessagesPerSecond != nil {
		t.rate = *in.MaxNumberOfMessagesPerSecond
	}
	s.moves.mu.Lock()
	if slices.ContainsFunc(s.moves.bySource[src.arn], func(o *moveTask) bool { return o.status == moveRunning || o.status == moveCancelling }) {
		s.moves.mu.Unlock()
		return nil, invalidParameter("There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
	}
	tasks := append([]*moveTask{t}, s.moves.bySource[src.arn]...)
	s.moves.bySource[src.arn] = tasks[:min(len(tasks), maxMoveTasks)]
	s.moves.mu.Unlock()
	last := info.State.LastSeq
	s.background(func(bg context.Context) {
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		s.moves.mu.Lock()
		t.cancel = cancel
		cancelled := t.status == moveCancelling
		s.moves.mu.Unlock()
		if cancelled {
			cancel()
		}
		s.runMoveTask(ctx, t, src, dest, back, last)
	})
	return &startMessageMoveTaskOutput{TaskHandle: t.handle()}, nil
}

// moveVisibility hides the messages a task has taken until it has moved them; a task that
// dies half way leaves them to come back after this.
const moveVisibility = 30 * time.Second

// runMoveTask moves the messages of src there were at the start (up to stream sequence
// last) to dest, or each to the queue of back it was dead-lettered from, at t's rate, until
// none is left, the task is cancelled, or a queue to move to is gone.
func (s *Service) runMoveTask(ctx context.Context, t *moveTask, src, dest *queue, back map[string]*queue, last uint64) {
	status, failure := moveCompleted, ""
	end := func(st, f string) { status, failure = st, f }
	// pending are taken and not moved yet, skipped taken and left: visible again when the
	// task ends.
	var pending, skipped []uint64
	defer func() {
		// The messages not moved are visible again before the task says it has ended.
		now := s.now()
		for _, seq := range append(pending, skipped...) {
			if e, ok := src.entryState(seq); ok {
				if err := src.setVisible(context.WithoutCancel(ctx), now, seq, e.receives, now.UnixMilli()); err != nil {
					s.log.Debug("sqs: make a message a move task left visible", "queue", src.name, "err", err)
				}
			}
		}
		s.moves.mu.Lock()
		t.status, t.failure = status, failure
		s.moves.mu.Unlock()
	}()
	batch := maxBatchEntries
	if t.rate > 0 {
		batch = min(batch, t.rate)
	}
	start, moved := time.Now(), 0
	for {
		if ctx.Err() != nil {
			end(moveCancelled, "")
			return
		}
		now := s.now()
		got, _ := src.take(now, batch, moveVisibility, last)
		if len(got) == 0 {
			end(moveCompleted, "")
			return
		}
		claimed, err := src.claim(ctx, got, now.Add(moveVisibility).UnixMilli())
		if err != nil {
			if ctx.Err() != nil {
				end(moveCancelled, "")
			} else {
				s.log.Warn("sqs: a move task failed", "queue", src.name, "err", err)
				end(moveFailed, "AWS.SimpleQueueService.InternalError")
			}
			return
		}
		pending = pending[:0]
		for i, g := range got {
			if claimed[i] {
				pending = append(pending, g.seq)
			}
		}
		for len(pending) > 0 {
			seq := pending[0]
			if t.rate > 0 {
				// The rate: message n leaves no sooner than n/rate seconds after the start.
				due := start.Add(time.Duration(moved) * time.Second / time.Duration(t.rate))
				select {
				case <-ctx.Done():
				case <-time.After(time.Until(due)):
				}
			}
			if ctx.Err() != nil {
				end(moveCancelled, "")
				return
			}
			raw, err := src.readMsg(ctx, seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				pending = pending[1:]
				continue
			}
			to := dest
			if err == nil && to == nil {
				from := raw.Header.Get(headerSourceQueue)
				if to = back[from]; to == nil {
					// Sent to the dead-letter queue itself, or dead-lettered by a queue
					// that no longer does: it has nowhere to go back to, and stays.
					s.log.Warn("sqs: a move task leaves a message that no source queue of the dead-letter queue sent", "queue", src.name,
						"message_id", messageID(src.gen, seq), "dead_letter_source", from)
					skipped = append(skipped, seq)
					pending = pending[1:]
					continue
				}
			}
			if err == nil {
				err = move(ctx, src, to, raw, "")
			}
			if err != nil {
				if ctx.Err() != nil {
					end(moveCancelled, "")
				} else {
					// The dead-letter queue, or a queue to move to, is gone.
					s.log.Warn("sqs: a move task failed", "queue", src.name, "err", err)
					end(moveFailed, failureNoQueue)
				}
				return
			}
			pending = pending[1:]
			moved++
			s.moves.mu.Lock()
			t.moved = moved
			s.moves.mu.Unlock()
		}
	}
}

type listMessageMoveTasksInput struct {
	SourceArn  string `json:"SourceArn"`
	MaxResults *int   `json:"MaxResults"`
}

type listMessageMoveTasksOutput struct {
	Results []MessageMoveTask `json:"Results"`
}

// listMessageMoveTasks lists the newest tasks of a queue (MaxResults, 1 by default, at most 10).
func (s *Service) listMessageMoveTasks(ctx context.Context, in *listMessageMoveTasksInput) (*listMessageMoveTasksOutput, error) {
	if in.SourceArn == "" {
		return nil, missingParameter("SourceArn")
	}
	n := 1
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxMoveTasks {
			// style
			return nil, invalidParameter("Value %d for parameter MaxResults is invalid. Reason: Must be between 1 and 10, if provided.", *in.MaxResults)
		}
		n = *in.MaxResults
	}
	if s.ownQueue(ctx, in.SourceArn, "sqs:ListMessageMoveTasks") == nil {
		return nil, errNoSource()
	}
	s.moves.mu.Lock()
	defer s.moves.mu.Unlock()
	out := &listMessageMoveTasksOutput{Results: []MessageMoveTask{}}
	for _, t := range s.moves.bySource[in.SourceArn] {
		if len(out.Results) == n {
			break
		}
		out.Results = append(out.Results, t.entry())
	}
	return out, nil
}

type cancelMessageMoveTaskInput struct {
	TaskHandle string `json:"TaskHandle"`
}

type cancelMessageMoveTaskOutput struct {
	ApproximateNumberOfMessagesMoved int `json:"ApproximateNumberOfMessagesMoved"`
}

// cancelMessageMoveTask stops a running task: the messages it moved stay moved.
func (s *Service) cancelMessageMoveTask(ctx context.Context, in *cancelMessageMoveTaskInput) (*cancelMessageMoveTaskOutput, error) {
	if in.TaskHandle == "" {
		return nil, missingParameter("TaskHandle")
	}
	var h taskHandle
	b, err := base64.StdEncoding.DecodeString(in.TaskHandle)
	if err != nil || json.Unmarshal(b, &h) != nil || h.TaskID == "" || h.SourceArn == "" {
		return nil, invalidParameter("Value for parameter TaskHandle is invalid.")
	}
	if s.ownQueue(ctx, h.SourceArn, "sqs:CancelMessageMoveTask") == nil {
		return nil, errNoSource()
	}
	s.moves.mu.Lock()
	defer s.moves.mu.Unlock()
	i := slices.IndexFunc(s.moves.bySource[h.SourceArn], func(t *moveTask) bool { return t.id == h.TaskID })
	if i < 0 {
		return nil, &awsapi.Error{Code: "ResourceNotFoundException", Status: 404, Message: "Task does not exist."}
	}
	t := s.moves.bySource[h.SourceArn][i]
	if t.status != moveRunning {
		// style
		return nil, invalidParameter("Only a task with the status RUNNING can be cancelled; this one is %s.", t.status)
	}
	t.status = moveCancelling
	if t.cancel != nil {
		t.cancel()
	}
	return &cancelMessageMoveTaskOutput{ApproximateNumberOfMessagesMoved: t.moved}, nil
}
