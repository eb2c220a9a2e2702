package sqs

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

type peekInput struct {
	QueueUrl string `json:"QueueUrl"`
	// MaxMessages is how many messages to show (default 10, at most 100).
	MaxMessages *int `json:"MaxMessages"`
	// NextToken continues after the last message of the previous answer.
	NextToken *string `json:"NextToken"`
}

// PeekedMessage is a message shown without being received: its body, attributes and state.
type PeekedMessage struct {
	Message
	// State is "visible", "in flight" (received, not deleted, invisible) or "delayed".
	State string `json:"State"`
}

type peekOutput struct {
	Messages  []PeekedMessage `json:"Messages"`
	NextToken *string         `json:"NextToken,omitempty"`
}

// peekMessages (ConveyorQueues.PeekMessages) shows a queue's messages in the order they were
// sent, without receiving them: no visibility changes, no receive counted. It shows the
// messages of the queue's index (all received ones, and the first 10,000 waiting).
func (s *Service) peekMessages(ctx context.Context, in *peekInput) (*peekOutput, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:ReceiveMessage")
	if err != nil {
		return nil, err
	}
	n := 10
	if in.MaxMessages != nil {
		if *in.MaxMessages < 1 || *in.MaxMessages > 100 {
			return nil, invalidParameter("Value %d for parameter MaxMessages is invalid. Reason: Must be between 1 and 100, if provided.", *in.MaxMessages)
		}
		n = *in.MaxMessages
	}
	var after uint64
	if in.NextToken != nil {
		if after, err = strconv.ParseUint(*in.NextToken, 10, 64); err != nil {
			return nil, invalidParameter("Invalid NextToken value.")
		}
	}
	now := s.now().UnixMilli()
	type peeked struct {
		r     received
		state string
	}
	var picked []peeked
	more := false
	q.mu.Lock()
	for _, seq := range q.order {
		e, ok := q.msgs[seq]
		if !ok || !idBefore(after, seq) {
			continue
		}
		if len(picked) == n {
			more = true
			break
		}
		state := "visible"
		switch {
		case e.visibleAt > now && e.receives > 0:
			state = "in flight"
		case e.visibleAt > now:
			state = "delayed"
		}
		picked = append(picked, peeked{received{seq: seq, sentMs: e.sentMs, receives: e.receives, firstRecv: e.firstRecv}, state})
	}
	q.mu.Unlock()
	out := &peekOutput{Messages: []PeekedMessage{}}
	sys := map[string]bool{"SenderId": true, "SentTimestamp": true, "ApproximateReceiveCount": true,
		"ApproximateFirstReceiveTimestamp": true, "AWSTraceHeader": true, "DeadLetterQueueSourceArn": true}
	for _, p := range picked {
		raw, err := q.readMsg(ctx, p.r.seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted since
		}
		if err != nil {
			return nil, fmt.Errorf("sqs: peek %s: read message %d: %w", q.name, p.r.seq, err)
		}
		m := s.message(q, raw, p.r, sys, []string{"All"})
		m.ReceiptHandle = "" // shown, not received: it cannot be deleted or hidden through this
		out.Messages = append(out.Messages, PeekedMessage{Message: m, State: p.state})
	}
	if more && len(picked) > 0 {
		t := strconv.FormatUint(picked[len(picked)-1].r.seq, 10)
		out.NextToken = &t
	}
	return out, nil
}
