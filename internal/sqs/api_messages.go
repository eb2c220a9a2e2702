package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
)

type sendMessageInput struct {
	QueueUrl                string                           `json:"QueueUrl"`
	MessageBody             *string                          `json:"MessageBody"`
	DelaySeconds            *int                             `json:"DelaySeconds"`
	MessageAttributes       map[string]MessageAttributeValue `json:"MessageAttributes"`
	MessageSystemAttributes map[string]MessageAttributeValue `json:"MessageSystemAttributes"`
	MessageDeduplicationId  string                           `json:"MessageDeduplicationId"`
	MessageGroupId          string                           `json:"MessageGroupId"`
}

type sendMessageOutput struct {
	MessageId                    string `json:"MessageId"`
	MD5OfMessageBody             string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
	SequenceNumber               string `json:"SequenceNumber,omitempty"`
}

// prepare validates one message for q and returns what to publish.
func (s *Service) prepare(ctx context.Context, rec *queueRecord, body *string, delay *int, attrs, sys map[string]MessageAttributeValue, dedup, group string) (*outgoing, error) {
	if body == nil || *body == "" {
		return nil, missingParameter("MessageBody")
	}
	if !validBody(*body) {
		return nil, invalidContents(*body)
	}
	fifo := rec.fifo()
	d := rec.intAttr(attrDelaySeconds)
	if delay != nil {
		if fifo {
			// A FIFO queue's messages are delayed by the queue only.
			return nil, invalidParameter("Value %d for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.", *delay)
		}
		if *delay < 0 || *delay > maxDelaySeconds {
			return nil, invalidParameter("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", *delay)
		}
		d = *delay
	}
	if !fifo && dedup != "" {
		return nil, invalidParameter("Value %s for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.", dedup)
	}
	if !fifo && group != "" {
		// Standard queues take a group (fair queues) and keep it.
		if err := checkFifoID("MessageGroupId", group); err != nil {
			return nil, err
		}
	}
	size, err := checkMessageAttributes(attrs)
	if err != nil {
		return nil, err
	}
	for name, v := range sys {
		if name != "AWSTraceHeader" {
			return nil, invalidParameter("Message system attribute name '%s' is invalid.", name)
		}
		if v.DataType != "String" || v.StringValue == nil || *v.StringValue == "" {
			return nil, invalidParameter("Message system attribute '%s' must use the data type 'String' and a non-empty value.", name)
		}
	}
	if n := len(*body) + size; n > rec.maxSize() {
		return nil, invalidParameter("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", rec.maxSize())
	}
	m := &outgoing{body: []byte(*body), delay: d, attrs: attrs, sysAttrs: sys, sender: senderID(ctx, s.scopeOf(ctx).Account), group: group}
	if fifo {
		if err := fifoMessage(rec, m, group, dedup); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// sendResult is what SendMessage answers for message m stored at seq in q.
func sendResult(q *queue, m *outgoing, seq uint64) sendMessageOutput {
	out := sendMessageOutput{MessageId: messageID(q.gen, seq), MD5OfMessageBody: md5Hex(m.body),
		MD5OfMessageAttributes: md5OfAttributes(m.attrs), MD5OfMessageSystemAttributes: md5OfAttributes(m.sysAttrs)}
	if m.msgID != "" {
		out.SequenceNumber = sequenceNumber(seq)
	}
	return out
}

func senderID(ctx context.Context, account string) string {
	if k := awsapi.CallerFrom(ctx).AccessKeyID; k != "" {
		return k
	}
	return account
}

func (s *Service) sendMessage(ctx context.Context, in *sendMessageInput) (*sendMessageOutput, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:SendMessage")
	if err != nil {
		return nil, err
	}
	m, err := s.prepare(ctx, q.record(), in.MessageBody, in.DelaySeconds, in.MessageAttributes, in.MessageSystemAttributes, in.MessageDeduplicationId, in.MessageGroupId)
	if err != nil {
		return nil, err
	}
	seq, err := q.publish(ctx, m)
	if err != nil {
		return nil, err
	}
	out := sendResult(q, m, seq)
	return &out, nil
}

var batchIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// checkBatch applies SQS's batch rules to the entry ids.
func checkBatch(ids []string, entryShape string) error {
	if len(ids) == 0 {
		return awsapi.Errorf(awsapi.CodeEmptyBatchRequest, "There should be at least one %s in the request.", entryShape)
	}
	if len(ids) > maxBatchEntries {
		return awsapi.Errorf(awsapi.CodeTooManyEntriesInBatchRequest, "Maximum number of entries per request are %d. You have sent %d.", maxBatchEntries, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !batchIDRE.MatchString(id) {
			return awsapi.Errorf(awsapi.CodeInvalidBatchEntryId, "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return awsapi.Errorf(awsapi.CodeBatchEntryIdsNotDistinct, "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

type batchFailure struct {
	Id          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message,omitempty"`
}

func failureOf(id string, err error) batchFailure {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		// A batch entry names SQS's common errors by their awsQuery codes
		// (InvalidParameterValue), as on SQS.
		code := ae.Code
		if info, ok := awsapi.LookupError("sqs", ae.Code); ok && (code == codeInvalidParameter || code == codeMissingParameter) {
			code = info.QueryCode
		}
		return batchFailure{Id: id, SenderFault: ae.Status < 500, Code: code, Message: ae.Message}
	}
	return batchFailure{Id: id, Code: awsapi.CodeInternalFailure, Message: "The request processing has failed because of an unknown error, exception or failure."}
}

type sendMessageBatchEntry struct {
	Id                      string                           `json:"Id"`
	MessageBody             *string                          `json:"MessageBody"`
	DelaySeconds            *int                             `json:"DelaySeconds"`
	MessageAttributes       map[string]MessageAttributeValue `json:"MessageAttributes"`
	MessageSystemAttributes map[string]MessageAttributeValue `json:"MessageSystemAttributes"`
	MessageDeduplicationId  string                           `json:"MessageDeduplicationId"`
	MessageGroupId          string                           `json:"MessageGroupId"`
}

type sendMessageBatchInput struct {
	QueueUrl string                  `json:"QueueUrl"`
	Entries  []sendMessageBatchEntry `json:"Entries"`
}

type sendMessageBatchResult struct {
	Id string `json:"Id"`
	sendMessageOutput
}

type sendMessageBatchOutput struct {
	Successful []sendMessageBatchResult `json:"Successful"`
	Failed     []batchFailure           `json:"Failed"`
}

func (s *Service) sendMessageBatch(ctx context.Context, in *sendMessageBatchInput) (*sendMessageBatchOutput, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:SendMessage")
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	total := 0
	for i, e := range in.Entries {
		ids[i] = e.Id
		if e.MessageBody != nil {
			total += len(*e.MessageBody)
		}
		if n, err := checkMessageAttributes(e.MessageAttributes); err == nil {
			total += n
		}
	}
	if err := checkBatch(ids, "SendMessageBatchRequestEntry"); err != nil {
		return nil, err
	}
	rec := q.record()
	if total > maxBatchSize {
		return nil, awsapi.Errorf(awsapi.CodeBatchRequestTooLong, "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxBatchSize, total)
	}
	out := &sendMessageBatchOutput{Successful: []sendMessageBatchResult{}, Failed: []batchFailure{}}
	// The good entries are stored together, in order.
	var ms []*outgoing
	var good []string
	for _, e := range in.Entries {
		m, err := s.prepare(ctx, rec, e.MessageBody, e.DelaySeconds, e.MessageAttributes, e.MessageSystemAttributes, e.MessageDeduplicationId, e.MessageGroupId)
		if err != nil {
			out.Failed = append(out.Failed, failureOf(e.Id, err))
			continue
		}
		ms, good = append(ms, m), append(good, e.Id)
	}
	seqs, errs := q.publishAll(ctx, ms)
	for i, m := range ms {
		if errs[i] != nil {
			s.log.ErrorContext(ctx, "sqs: send message", "queue", q.name, "err", errs[i])
			out.Failed = append(out.Failed, failureOf(good[i], errs[i]))
			continue
		}
		out.Successful = append(out.Successful, sendMessageBatchResult{Id: good[i], sendMessageOutput: sendResult(q, m, seqs[i])})
	}
	return out, nil
}

type receiveMessageInput struct {
	QueueUrl                    string   `json:"QueueUrl"`
	AttributeNames              nameList `json:"AttributeNames"`
	MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
	MessageAttributeNames       []string `json:"MessageAttributeNames"`
	MaxNumberOfMessages         *int     `json:"MaxNumberOfMessages"`
	VisibilityTimeout           *int     `json:"VisibilityTimeout"`
	WaitTimeSeconds             *int     `json:"WaitTimeSeconds"`
	ReceiveRequestAttemptId     string   `json:"ReceiveRequestAttemptId"`
	// wait, when set, is how long to wait for messages, to the nanosecond: Poll's, not a
	// member of the API (WaitTimeSeconds is ignored then).
	wait time.Duration
}

// Message is SQS's Message shape.
type Message struct {
	MessageId              string                           `json:"MessageId"`
	ReceiptHandle          string                           `json:"ReceiptHandle"`
	MD5OfBody              string                           `json:"MD5OfBody"`
	Body                   string                           `json:"Body"`
	Attributes             map[string]string                `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string                           `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]MessageAttributeValue `json:"MessageAttributes,omitempty"`
}

type receiveMessageOutput struct {
	Messages []Message `json:"Messages,omitempty"`
}

// System attribute names of received messages.
var systemAttributeNames = []string{"SenderId", "SentTimestamp", "ApproximateReceiveCount",
	"ApproximateFirstReceiveTimestamp", "AWSTraceHeader", "DeadLetterQueueSourceArn",
	"MessageGroupId", "MessageDeduplicationId", "SequenceNumber"}

func (s *Service) receiveMessage(ctx context.Context, in *receiveMessageInput) (*receiveMessageOutput, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:ReceiveMessage")
	if err != nil {
		return nil, err
	}
	rec := q.record()
	max := 1
	if in.MaxNumberOfMessages != nil {
		if *in.MaxNumberOfMessages < 1 || *in.MaxNumberOfMessages > maxBatchEntries {
			return nil, invalidParameter("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", *in.MaxNumberOfMessages)
		}
		max = *in.MaxNumberOfMessages
	}
	vt := rec.intAttr(attrVisibilityTimeout)
	if in.VisibilityTimeout != nil {
		if *in.VisibilityTimeout < 0 || *in.VisibilityTimeout > maxVisibilityTimeout {
			return nil, invalidParameter("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", *in.VisibilityTimeout)
		}
		vt = *in.VisibilityTimeout
	}
	wait := rec.intAttr(attrReceiveMessageWaitTime)
	if in.WaitTimeSeconds != nil {
		if *in.WaitTimeSeconds < 0 || *in.WaitTimeSeconds > maxWaitTimeSeconds {
			return nil, invalidParameter("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", *in.WaitTimeSeconds)
		}
		wait = *in.WaitTimeSeconds
	}
	sysWant := map[string]bool{}
	for _, n := range append(append([]string(nil), in.AttributeNames.names...), in.MessageSystemAttributeNames...) {
		switch {
		case n == attrAll:
			for _, a := range systemAttributeNames {
				sysWant[a] = true
			}
		case contains(systemAttributeNames, n):
			sysWant[n] = true
		case contains(readable, n):
			// Valid names that messages do not carry.
		default:
			return nil, unknownAttribute(n)
		}
	}
	attemptID := ""
	if rec.fifo() {
		attemptID = in.ReceiveRequestAttemptId
	}
	if attemptID != "" {
		if msgs, ok := s.retryAttempt(ctx, q, attemptID, s.now(), vt); ok {
			return &receiveMessageOutput{Messages: msgs}, nil
		}
	}
	deadline := s.now().Add(time.Duration(wait) * time.Second)
	if in.wait > 0 {
		deadline = s.now().Add(in.wait)
	}
	retries := 0
	for {
		now := s.now()
		w := q.enter()
		if w == nil {
			return nil, errNoQueue()
		}
		if q.overLimit(now) {
			q.leave(w)
			return nil, awsapi.Errorf(awsapi.CodeOverLimit, "%s", overLimitMessage)
		}
		got, next := q.take(now, max, time.Duration(vt)*time.Second, math.MaxUint64)
		msgs, err := s.materialize(ctx, q, got, now, vt, sysWant, in.MessageAttributeNames)
		if err != nil {
			q.leave(w)
			return nil, err
		}
		if len(msgs) == 0 && len(got) > 0 && retries < 3 {
			// Taken, and all claimed by other receives (on other processes)
			// first, moved or gone: there may be others to take at once.
			q.leave(w)
			retries++
			continue
		}
		if len(msgs) > 0 || !now.Before(deadline) || s.draining.Load() {
			q.leave(w)
			if len(msgs) == 0 && next > 0 {
				q.handOff() // another waiting receive watches for next
			}
			if attemptID != "" && len(msgs) > 0 {
				q.rememberAttempt(attemptID, msgs, now, now.UnixMilli()+int64(vt)*1000)
			}
			return &receiveMessageOutput{Messages: msgs}, nil
		}
		d := deadline.Sub(now)
		if next > 0 {
			d = min(d, time.Duration(next-now.UnixMilli())*time.Millisecond+time.Millisecond)
		}
		t := time.NewTimer(d)
		select {
		case <-w.ch:
		case <-t.C:
			q.leave(w)
		case <-ctx.Done():
			t.Stop()
			q.leave(w)
			return &receiveMessageOutput{}, nil
		}
		t.Stop()
	}
}

// materialize claims taken messages (see queue.claim), reads the bodies of
// those claimed, moves those past their queue's maxReceiveCount to the
// dead-letter queue, and builds the answer.
func (s *Service) materialize(ctx context.Context, q *queue, got []received, now time.Time, vt int, sysWant map[string]bool, attrNames []string) ([]Message, error) {
	if len(got) == 0 {
		return nil, nil
	}
	ok, err := q.claim(ctx, got, now.UnixMilli()+int64(vt)*1000)
	if err != nil {
		return nil, err
	}
	policy, hasPolicy := q.record().redrive()
	// The bodies are read together: their round trips overlap.
	raws, errs := make([]*jetstream.RawStreamMsg, len(got)), make([]error, len(got))
	var wg sync.WaitGroup
	for i, g := range got {
		if !ok[i] {
			continue
		}
		if raws[i] = g.stored(q); raws[i] == nil {
			wg.Go(func() { raws[i], errs[i] = q.readMsg(ctx, g.seq) })
		}
	}
	wg.Wait()
	var out []Message
	for i, g := range got {
		if !ok[i] {
			continue
		}
		raw, err := raws[i], errs[i]
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				q.notFound(g.seq, g.receives)
				continue
			}
			return nil, fmt.Errorf("sqs: read message %d of %s: %w", g.seq, q.name, err)
		}
		if hasPolicy && int(g.receives) > policy.MaxReceiveCount {
			if s.moveToDeadLetter(ctx, q, policy.DeadLetterTargetArn, raw) {
				continue
			}
		}
		out = append(out, s.message(q, raw, g, sysWant, attrNames))
	}
	return out, nil
}

// moveToDeadLetter moves a message to the queue's dead-letter queue; false
// when that queue does not exist (the message stays).
func (s *Service) moveToDeadLetter(ctx context.Context, q *queue, dlqARN string, raw *jetstream.RawStreamMsg) bool {
	dlq := s.queueByARN(dlqARN)
	if dlq == nil {
		return false
	}
	if err := move(ctx, q, dlq, raw, q.arn); err != nil {
		s.log.ErrorContext(ctx, "sqs: move to dead-letter queue", "queue", q.name, "dead_letter_queue", dlqARN, "err", err)
		return false
	}
	return true
}

// move stores message raw of queue from in queue to, visible at once, with its body,
// attributes and sender, and then removes it from from. sourceQueue is the ARN the moved
// message names as the queue it was dead-lettered from ("" for none). A store the message
// cannot reach is an error, and the message stays; one that could not remove it leaves it
// in both (at least once).
func move(ctx context.Context, from, to *queue, raw *jetstream.RawStreamMsg, sourceQueue string) error {
	m := &outgoing{body: raw.Data, delay: 0, sourceQueue: sourceQueue, extra: nats.Header{}}
	for k, v := range raw.Header {
		switch k {
		// Not the stream's deduplication id: the queue it goes back to may have
		// seen it, and would take the move for a duplicate.
		case headerDelay, headerSourceQueue, jetstream.MsgIDHeader:
		default:
			m.extra[k] = v
		}
	}
	if _, err := to.publish(ctx, m); err != nil {
		return err
	}
	if err := from.remove(ctx, raw.Sequence); err != nil {
		from.svc.log.ErrorContext(ctx, "sqs: remove a moved message", "queue", from.name, "to", to.name, "err", err)
	}
	return nil
}

// message builds a received message.
func (s *Service) message(q *queue, raw *jetstream.RawStreamMsg, g received, sysWant map[string]bool, attrNames []string) Message {
	m := Message{
		MessageId:     messageID(q.gen, raw.Sequence),
		ReceiptHandle: s.handle(receipt{gen: q.gen, seq: raw.Sequence, receives: g.receives}),
		MD5OfBody:     md5Hex(raw.Data),
		Body:          string(raw.Data),
	}
	if len(sysWant) > 0 {
		m.Attributes = map[string]string{}
		sys := map[string]MessageAttributeValue{}
		if v := raw.Header.Get(headerSystemAttributes); v != "" {
			_ = json.Unmarshal([]byte(v), &sys)
		}
		for n := range sysWant {
			switch n {
			case "SenderId":
				sender := raw.Header.Get(headerSender)
				if sender == "" {
					sender = q.account
				}
				m.Attributes[n] = sender
			case "SentTimestamp":
				m.Attributes[n] = strconv.FormatInt(raw.Time.UnixMilli(), 10)
			case "ApproximateReceiveCount":
				m.Attributes[n] = strconv.Itoa(int(g.receives))
			case "ApproximateFirstReceiveTimestamp":
				m.Attributes[n] = strconv.FormatInt(g.firstRecv, 10)
			case "AWSTraceHeader":
				if v, ok := sys[n]; ok && v.StringValue != nil {
					m.Attributes[n] = *v.StringValue
				}
			case "DeadLetterQueueSourceArn":
				if v := raw.Header.Get(headerSourceQueue); v != "" {
					m.Attributes[n] = v
				}
			case "MessageGroupId":
				if v := raw.Header.Get(headerGroup); v != "" {
					m.Attributes[n] = v
				}
			case "MessageDeduplicationId":
				if v := raw.Header.Get(headerDedup); v != "" {
					m.Attributes[n] = v
				}
			case "SequenceNumber":
				if raw.Header.Get(headerDedup) != "" {
					m.Attributes[n] = sequenceNumber(raw.Sequence)
				}
			}
		}
	}
	if len(attrNames) > 0 {
		all := storedAttributes(raw.Header)
		if sel := selectAttributes(all, attrNames); len(sel) > 0 {
			m.MessageAttributes = sel
			m.MD5OfMessageAttributes = md5OfAttributes(sel)
		}
	}
	return m
}

// storedAttributes returns the message attributes of a stream message: the
// Sqs-Attributes header and the runner's dead-letter headers.
func storedAttributes(h nats.Header) map[string]MessageAttributeValue {
	all := map[string]MessageAttributeValue{}
	if v := h.Get(headerAttributes); v != "" {
		_ = json.Unmarshal([]byte(v), &all)
	}
	for name, typ := range deadLetterHeaders {
		if v := h.Get(name); v != "" {
			all[name] = MessageAttributeValue{DataType: typ, StringValue: &v}
		}
	}
	return all
}

type deleteMessageInput struct {
	QueueUrl      string `json:"QueueUrl"`
	ReceiptHandle string `json:"ReceiptHandle"`
}

func (s *Service) deleteMessage(ctx context.Context, in *deleteMessageInput) (*struct{}, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:DeleteMessage")
	if err != nil {
		return nil, err
	}
	return nil, s.deleteOne(ctx, q, in.ReceiptHandle)
}

func (s *Service) deleteOne(ctx context.Context, q *queue, h string) error {
	seq, err := s.handleSeq(q, h)
	if err != nil {
		return err
	}
	return q.remove(ctx, seq)
}

// handleSeq is the message receipt handle h of q names.
func (s *Service) handleSeq(q *queue, h string) (uint64, error) {
	if h == "" {
		return 0, missingParameter("ReceiptHandle")
	}
	r, err := s.parseHandle(q, h)
	return r.seq, err
}

type deleteBatchEntry struct {
	Id            string `json:"Id"`
	ReceiptHandle string `json:"ReceiptHandle"`
}

type deleteMessageBatchInput struct {
	QueueUrl string             `json:"QueueUrl"`
	Entries  []deleteBatchEntry `json:"Entries"`
}

type batchID struct {
	Id string `json:"Id"`
}

type batchHandleOutput struct {
	Successful []batchID      `json:"Successful"`
	Failed     []batchFailure `json:"Failed"`
}

// runBatch checks a batch's ids and runs f on the entries, which sets
// errs[i] for entry i.
func (s *Service) runBatch(ctx context.Context, queueURL, action string, ids []string, shape string, f func(q *queue, errs []error)) (*batchHandleOutput, error) {
	q, err := s.lookupURL(ctx, queueURL, action)
	if err != nil {
		return nil, err
	}
	if err := checkBatch(ids, shape); err != nil {
		return nil, err
	}
	out := &batchHandleOutput{Successful: []batchID{}, Failed: []batchFailure{}}
	errs := make([]error, len(ids))
	f(q, errs)
	for i, id := range ids {
		if errs[i] != nil {
			out.Failed = append(out.Failed, failureOf(id, errs[i]))
			continue
		}
		out.Successful = append(out.Successful, batchID{Id: id})
	}
	return out, nil
}

func (s *Service) deleteMessageBatch(ctx context.Context, in *deleteMessageBatchInput) (*batchHandleOutput, error) {
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	return s.runBatch(ctx, in.QueueUrl, "sqs:DeleteMessage", ids, "DeleteMessageBatchRequestEntry", func(q *queue, errs []error) {
		seqs := make([]uint64, len(in.Entries))
		for i, e := range in.Entries {
			seqs[i], errs[i] = s.handleSeq(q, e.ReceiptHandle)
		}
		q.removeAll(ctx, seqs, errs)
	})
}

type changeVisibilityInput struct {
	QueueUrl          string `json:"QueueUrl"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout *int   `json:"VisibilityTimeout"`
}

func (s *Service) changeMessageVisibility(ctx context.Context, in *changeVisibilityInput) (*struct{}, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:ChangeMessageVisibility")
	if err != nil {
		return nil, err
	}
	return nil, s.changeOne(ctx, q, in.ReceiptHandle, in.VisibilityTimeout)
}

func (s *Service) changeOne(ctx context.Context, q *queue, h string, vt *int) error {
	if h == "" {
		return missingParameter("ReceiptHandle")
	}
	if vt == nil {
		return missingParameter("VisibilityTimeout")
	}
	if *vt < 0 || *vt > maxVisibilityTimeout {
		return invalidParameter("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.", *vt)
	}
	r, err := s.parseHandle(q, h)
	if err != nil {
		return err
	}
	now := s.now()
	err = q.setVisible(ctx, now, r.seq, r.receives, now.UnixMilli()+int64(*vt)*1000)
	switch {
	case errors.Is(err, errGone):
		return invalidParameter("Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", h)
	case errors.Is(err, errNotInFlight):
		return awsapi.Errorf(awsapi.CodeMessageNotInflight, "Message does not exist or is not available for visibility timeout change.")
	}
	return err
}

type changeBatchEntry struct {
	Id                string `json:"Id"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout *int   `json:"VisibilityTimeout"`
}

type changeMessageVisibilityBatchInput struct {
	QueueUrl string             `json:"QueueUrl"`
	Entries  []changeBatchEntry `json:"Entries"`
}

func (s *Service) changeMessageVisibilityBatch(ctx context.Context, in *changeMessageVisibilityBatchInput) (*batchHandleOutput, error) {
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	return s.runBatch(ctx, in.QueueUrl, "sqs:ChangeMessageVisibility", ids, "ChangeMessageVisibilityBatchRequestEntry", func(q *queue, errs []error) {
		// The entries are independent: their store round trips overlap.
		var wg sync.WaitGroup
		for i, e := range in.Entries {
			vt := e.VisibilityTimeout
			if vt == nil {
				vt = new(int)
			}
			wg.Go(func() { errs[i] = s.changeOne(ctx, q, e.ReceiptHandle, vt) })
		}
		wg.Wait()
	})
}
