package sqs

import (
	"github.com/conveyor/conveyor/internal/policy"
	"github.com/conveyor/conveyor/internal/scope"
	"regexp"

	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/store"
)

// nameList is a list of attribute names. It is its own type so that the
// model's enum of queue attribute names is not applied to it before the
// handler answers unknown names as SQS does (InvalidAttributeName), and
// ReceiveMessage's AttributeNames may hold message system attribute names.
type nameList struct{ names []string }

func (l *nameList) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &l.names) }

// attributeMap is a map of queue attributes, its own type for the reason
// nameList is: SQS answers unknown names with InvalidAttributeName.
type attributeMap struct{ m map[string]string }

func (a *attributeMap) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &a.m) }

type createQueueInput struct {
	QueueName  string            `json:"QueueName"`
	Attributes attributeMap      `json:"Attributes"`
	Tags       map[string]string `json:"tags"`
}

type queueURLOutput struct {
	QueueUrl string `json:"QueueUrl"`
}

func (s *Service) createQueue(ctx context.Context, in *createQueueInput) (*queueURLOutput, error) {
	fifo := false
	if v, ok := in.Attributes.m[attrFifoQueue]; ok && v == "true" {
		fifo = true
	}
	if err := checkQueueName(in.QueueName, fifo); err != nil {
		return nil, err
	}
	arn := QueueARN(s.scopeOf(ctx), in.QueueName)
	attrs, err := s.normalizeAttributes(in.Attributes.m, arn, fifo)
	if err != nil {
		return nil, err
	}
	if fifo {
		if err := checkFifoAttributes(&queueRecord{Attributes: attrs}); err != nil {
			return nil, err
		}
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("sqs: service closed")
	}
	q, ok := s.queues[arn]
	if !ok {
		var created bool
		if q, created, err = s.newQueueLocked(ctx, in.QueueName, arn, attrs, in.Tags); err != nil {
			return nil, err
		}
		if created {
			return &queueURLOutput{QueueUrl: s.queueURL(ctx, q)}, nil
		}
	}
	rec := q.record()
	for _, name := range sortedKeys(settable) {
		cur, curOK := rec.attrValue(name)
		want, wantOK := attrs[name]
		if !wantOK {
			if _, explicit := in.Attributes.m[name]; !explicit {
				continue
			}
			want, wantOK = (&queueRecord{}).attrValue(name)
		}
		if wantOK != curOK || want != cur {
			return nil, awsapi.Errorf(awsapi.CodeQueueNameExists, "A queue already exists with the same name and a different value for attribute %s", name)
		}
	}
	return &queueURLOutput{QueueUrl: s.queueURL(ctx, q)}, nil
}

// newQueueLocked stores the record of a new queue and opens it; created is
// false when another process created the queue a moment before (its record
// is the one opened, and the caller compares attributes). s.mu is held.
func (s *Service) newQueueLocked(ctx context.Context, name, arn string, attrs, tags map[string]string) (q *queue, created bool, err error) {
	var g [12]byte
	_, _ = rand.Read(g[:])
	now := s.now().Unix()
	rec := &queueRecord{Name: name, ARN: arn, Generation: hex.EncodeToString(g[:]), Attributes: attrs,
		Tags: tags, Created: now, Modified: now, key: recordKey(arn)}
	created = true
	if err = s.putRecord(ctx, rec, true); errors.Is(err, errQueueExists) {
		created = false
		rec, err = s.loadRecord(ctx, rec.key)
	}
	if err != nil {
		return nil, false, err
	}
	if q, err = s.openQueue(ctx, rec); err != nil {
		if created {
			_ = s.kv.Delete(ctx, rec.key)
		}
		return nil, false, err
	}
	s.addQueueLocked(q)
	return q, created, nil
}

// recordKey is the bucket key of a new queue's record. (Records of queues
// made before accounts and regions are keyed by their name; they keep their
// key: see queueRecord.key.)
func recordKey(arn string) string { return "q." + store.Token(arn) }

func (s *Service) putRecord(ctx context.Context, rec *queueRecord, create bool) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("sqs: encode queue %s: %w", rec.Name, err)
	}
	var rev uint64
	if create {
		rev, err = s.kv.Create(ctx, rec.key, b)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return errQueueExists
		}
	} else {
		rev, err = s.kv.Update(ctx, rec.key, b, rec.revision)
	}
	if err != nil {
		return fmt.Errorf("sqs: store queue %s: %w", rec.Name, err)
	}
	rec.revision = rev
	return nil
}

// updateRecord applies fn to a copy of q's record and stores it; modified
// sets its LastModifiedTimestamp (a change of the queue, not a purge).
func (s *Service) updateRecord(ctx context.Context, q *queue, modified bool, fn func(*queueRecord) error) (*queueRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues[q.arn] != q {
		return nil, errNoQueue()
	}
	cur := q.record()
	next := *cur
	next.Attributes = copyMap(cur.Attributes)
	next.Tags = copyMap(cur.Tags)
	if err := fn(&next); err != nil {
		return nil, err
	}
	if modified {
		next.Modified = s.now().Unix()
	}
	if err := s.putRecord(ctx, &next, false); err != nil {
		return nil, err
	}
	q.setRecord(&next)
	return &next, nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type getQueueURLInput struct {
	QueueName              string `json:"QueueName"`
	QueueOwnerAWSAccountId string `json:"QueueOwnerAWSAccountId"`
}

func (s *Service) getQueueURL(ctx context.Context, in *getQueueURLInput) (*queueURLOutput, error) {
	sc := s.scopeOf(ctx)
	owner := sc
	if in.QueueOwnerAWSAccountId != "" {
		owner.Account = in.QueueOwnerAWSAccountId
	}
	q := s.queueByARN(QueueARN(owner, in.QueueName))
	if q == nil || owner != sc && !s.allows(ctx, q, "sqs:GetQueueUrl") {
		return nil, errNoQueue()
	}
	return &queueURLOutput{QueueUrl: s.queueURL(ctx, q)}, nil
}

type listQueuesInput struct {
	QueueNamePrefix string `json:"QueueNamePrefix"`
	NextToken       string `json:"NextToken"`
	MaxResults      *int   `json:"MaxResults"`
}

type listQueuesOutput struct {
	QueueUrls []string `json:"QueueUrls,omitempty"`
	NextToken string   `json:"NextToken,omitempty"`
}

func (s *Service) listQueues(ctx context.Context, in *listQueuesInput) (*listQueuesOutput, error) {
	limit := maxListQueues
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxListQueues {
			return nil, invalidParameter("Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", *in.MaxResults)
		}
		limit = *in.MaxResults
	} else if in.NextToken != "" {
		return nil, invalidParameter("MaxResults is a mandatory parameter when you provide a value for NextToken.")
	}
	after := ""
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil || !strings.HasPrefix(string(b), "after:") {
			return nil, invalidParameter("Invalid NextToken value.")
		}
		after = strings.TrimPrefix(string(b), "after:")
	}
	out := &listQueuesOutput{}
	for _, q := range s.queuesIn(s.scopeOf(ctx)) {
		name := q.name
		if !strings.HasPrefix(name, in.QueueNamePrefix) || (after != "" && name <= after) {
			continue
		}
		if len(out.QueueUrls) == limit {
			if in.MaxResults != nil {
				last := out.QueueUrls[len(out.QueueUrls)-1]
				out.NextToken = base64.RawURLEncoding.EncodeToString([]byte("after:" + last[strings.LastIndexByte(last, '/')+1:]))
			}
			break
		}
		out.QueueUrls = append(out.QueueUrls, s.queueURL(ctx, q))
	}
	return out, nil
}

type queueURLInput struct {
	QueueUrl string `json:"QueueUrl"`
}

func (s *Service) deleteQueue(ctx context.Context, in *queueURLInput) (*struct{}, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:DeleteQueue")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.queues[q.arn] != q {
		s.mu.Unlock()
		return nil, errNoQueue()
	}
	if err := s.kv.Purge(ctx, q.record().key); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("sqs: delete queue %s: %w", q.name, err)
	}
	s.removeQueueLocked(q)
	s.mu.Unlock()
	q.stop()
	if err := s.js.DeleteStream(ctx, q.stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		s.log.WarnContext(ctx, "sqs: delete queue stream", "queue", q.name, "err", err)
	}
	q.dropStates(ctx)
	return nil, nil
}

type getQueueAttributesInput struct {
	QueueUrl       string   `json:"QueueUrl"`
	AttributeNames nameList `json:"AttributeNames"`
}

type attributesOutput struct {
	Attributes map[string]string `json:"Attributes,omitempty"`
}

func (s *Service) getQueueAttributes(ctx context.Context, in *getQueueAttributesInput) (*attributesOutput, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:GetQueueAttributes")
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range in.AttributeNames.names {
		switch {
		case n == attrAll:
			for _, r := range readable {
				want[r] = true
			}
		case contains(readable, n):
			want[n] = true
		default:
			return nil, unknownAttribute(n)
		}
	}
	if len(want) == 0 {
		return &attributesOutput{}, nil
	}
	rec := q.record()
	now := s.now()
	visible, notVisible, delayed := q.counts(ctx, now)
	out := map[string]string{}
	for n := range want {
		switch n {
		case attrQueueArn:
			out[n] = rec.ARN
		case attrApproxMessages:
			out[n] = strconv.Itoa(visible)
		case attrApproxMessagesNotVisible:
			out[n] = strconv.Itoa(notVisible)
		case attrApproxMessagesDelayed:
			out[n] = strconv.Itoa(delayed)
		case attrCreatedTimestamp:
			out[n] = strconv.FormatInt(rec.Created, 10)
		case attrLastModifiedTimestamp:
			out[n] = strconv.FormatInt(rec.Modified, 10)
		default:
			if v, ok := rec.attrValue(n); ok {
				out[n] = v
			}
		}
	}
	return &attributesOutput{Attributes: out}, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

type setQueueAttributesInput struct {
	QueueUrl   string       `json:"QueueUrl"`
	Attributes attributeMap `json:"Attributes"`
}

func (s *Service) setQueueAttributes(ctx context.Context, in *setQueueAttributesInput) (*struct{}, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:SetQueueAttributes")
	if err != nil {
		return nil, err
	}
	fifo := q.record().fifo()
	attrs, err := s.normalizeAttributes(in.Attributes.m, q.arn, fifo)
	if err != nil {
		return nil, err
	}
	_, retention := in.Attributes.m[attrMessageRetentionPeriod]
	streamSet := false
	_, err = s.updateRecord(ctx, q, true, func(r *queueRecord) error {
		if r.Attributes == nil {
			r.Attributes = map[string]string{}
		}
		for name := range in.Attributes.m {
			if v, ok := attrs[name]; ok {
				r.Attributes[name] = v
			} else {
				delete(r.Attributes, name) // an empty value clears it
			}
		}
		if fifo {
			if err := checkFifoAttributes(r); err != nil {
				return err
			}
		}
		if retention {
			// The stream first: a record that says what the stream does
			// not keep is never stored.
			if _, err := s.js.UpdateStream(ctx, s.streamConfig(r)); err != nil {
				return fmt.Errorf("sqs: set retention of %s: %w", q.name, err)
			}
			streamSet = true
		}
		return nil
	})
	if err != nil && streamSet {
		// The record stayed as it was: so does the stream.
		if _, rerr := s.js.UpdateStream(context.WithoutCancel(ctx), s.streamConfig(q.record())); rerr != nil {
			s.log.Warn("sqs: restore a queue's retention (its next start will)", "queue", q.name, "err", rerr)
		}
	}
	return nil, err
}

func checkTags(tags map[string]string) error {
	if len(tags) > 50 {
		return invalidParameter("Too many tags added for queue. Queues can have at most 50 tags.")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return invalidParameter("Tag keys must be 1 to 128 characters and tag values at most 256 characters.")
		}
	}
	return nil
}

type tagQueueInput struct {
	QueueUrl string            `json:"QueueUrl"`
	Tags     map[string]string `json:"Tags"`
}

func (s *Service) tagQueue(ctx context.Context, in *tagQueueInput) (*struct{}, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:TagQueue")
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, missingParameter("Tags")
	}
	_, err = s.updateRecord(ctx, q, true, func(r *queueRecord) error {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		for k, v := range in.Tags {
			r.Tags[k] = v
		}
		return checkTags(r.Tags)
	})
	return nil, err
}

type untagQueueInput struct {
	QueueUrl string   `json:"QueueUrl"`
	TagKeys  []string `json:"TagKeys"`
}

func (s *Service) untagQueue(ctx context.Context, in *untagQueueInput) (*struct{}, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:UntagQueue")
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, missingParameter("TagKeys")
	}
	_, err = s.updateRecord(ctx, q, true, func(r *queueRecord) error {
		for _, k := range in.TagKeys {
			delete(r.Tags, k)
		}
		return nil
	})
	return nil, err
}

type listQueueTagsOutput struct {
	Tags map[string]string `json:"Tags,omitempty"`
}

func (s *Service) listQueueTags(ctx context.Context, in *queueURLInput) (*listQueueTagsOutput, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:ListQueueTags")
	if err != nil {
		return nil, err
	}
	return &listQueueTagsOutput{Tags: q.record().Tags}, nil
}

func (s *Service) purgeQueue(ctx context.Context, in *queueURLInput) (*struct{}, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:PurgeQueue")
	if err != nil {
		return nil, err
	}
	// The purge is claimed in the queue's record (one every 60 seconds,
	// whichever process is asked), which tells the other processes too.
	info, err := q.st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqs: purge %s: %w", q.name, err)
	}
	now := s.now().UnixMilli()
	rec, err := s.updateRecord(ctx, q, false, func(r *queueRecord) error {
		if r.Purged != 0 && now-r.Purged < purgeInterval*1000 {
			return awsapi.Errorf(awsapi.CodePurgeQueueInProgress, "Only one PurgeQueue operation on %s is allowed every 60 seconds.", q.name)
		}
		r.Purged, r.PurgedBelow = now, info.State.LastSeq+1
		return nil
	})
	if err != nil {
		return nil, err
	}
	return nil, q.purge(ctx, rec.PurgedBelow)
}

type listDeadLetterSourceQueuesInput struct {
	QueueUrl   string `json:"QueueUrl"`
	NextToken  string `json:"NextToken"`
	MaxResults *int   `json:"MaxResults"`
}

type listDeadLetterSourceQueuesOutput struct {
	QueueUrls []string `json:"queueUrls"`
	NextToken string   `json:"NextToken,omitempty"`
}

func (s *Service) listDeadLetterSourceQueues(ctx context.Context, in *listDeadLetterSourceQueuesInput) (*listDeadLetterSourceQueuesOutput, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:ListDeadLetterSourceQueues")
	if err != nil {
		return nil, err
	}
	out := &listDeadLetterSourceQueuesOutput{QueueUrls: []string{}}
	for _, src := range s.queuesIn(s.scopeOf(ctx)) {
		if p, ok := src.record().redrive(); ok && p.DeadLetterTargetArn == q.arn {
			out.QueueUrls = append(out.QueueUrls, s.queueURL(ctx, src))
		}
	}
	return out, nil
}

type addPermissionInput struct {
	QueueUrl      string   `json:"QueueUrl"`
	Label         string   `json:"Label"`
	AWSAccountIds []string `json:"AWSAccountIds"`
	Actions       []string `json:"Actions"`
}

// maxPermissionActions is how many actions one AddPermission may name.
const maxPermissionActions = 7

// labelPattern is what a permission's label may be: SQS's rule.
var labelPattern = regexp.MustCompile(`^[\w-]{1,80}$`)

// addPermission adds a statement to the queue's policy that lets the accounts do the actions.
func (s *Service) addPermission(ctx context.Context, in *addPermissionInput) (*struct{}, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:AddPermission")
	if err != nil {
		return nil, err
	}
	switch {
	case in.Label == "":
		return nil, missingParameter("Label")
	case len(in.AWSAccountIds) == 0:
		return nil, missingParameter("AWSAccountIds")
	case len(in.Actions) == 0:
		return nil, missingParameter("Actions")
	case !labelPattern.MatchString(in.Label):
		return nil, invalidParameter("Value %s for parameter Label is invalid. Reason: Must be shorter than 80 characters and contain only letters, digits, hyphens and underscores.", in.Label)
	case len(in.Actions) > maxPermissionActions:
		return nil, &awsapi.Error{Code: "OverLimit", Status: 400, Message: fmt.Sprintf("%d Actions were found, maximum allowed is %d.", len(in.Actions), maxPermissionActions)}
	}
	st := policy.Statement{Sid: in.Label, Effect: "Allow", Principal: &policy.Principal{}, Resource: policy.Strings{q.arn}}
	for _, a := range in.AWSAccountIds {
		if !scope.ValidAccount(a) {
			return nil, invalidParameter("Value %s for parameter PrincipalId is invalid. Reason: Unable to verify.", a)
		}
		st.Principal.AWS = append(st.Principal.AWS, "arn:aws:iam::"+a+":root")
	}
	for _, a := range in.Actions {
		if !permittable[a] {
			return nil, invalidParameter("Value SQS:%s for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions.", a)
		}
		st.Action = append(st.Action, "SQS:"+a)
	}
	_, err = s.updateRecord(ctx, q, true, func(rec *queueRecord) error {
		d := &policy.Document{Version: "2012-10-17", ID: q.arn + "/SQSDefaultPolicy"}
		if cur := rec.Attributes[attrPolicy]; cur != "" {
			if d, err = policy.Parse(cur); err != nil {
				return fmt.Errorf("sqs: stored policy of %s: %w", q.name, err)
			}
		}
		for _, have := range d.Statement {
			if have.Sid == in.Label {
				return invalidParameter("Value %s for parameter Label is invalid. Reason: Already exists.", in.Label)
			}
		}
		d.Statement = append(d.Statement, st)
		return setPolicy(rec, d)
	})
	return nil, err
}

// permittable are the actions AddPermission can grant.
var permittable = map[string]bool{"*": true, "SendMessage": true, "ReceiveMessage": true, "DeleteMessage": true,
	"ChangeMessageVisibility": true, "GetQueueAttributes": true, "GetQueueUrl": true, "ListDeadLetterSourceQueues": true,
	"PurgeQueue": true, "ListQueueTags": true}

type removePermissionInput struct {
	QueueUrl string `json:"QueueUrl"`
	Label    string `json:"Label"`
}

// removePermission removes the statement with the label from the queue's policy.
func (s *Service) removePermission(ctx context.Context, in *removePermissionInput) (*struct{}, error) {
	q, err := s.lookupURL(ctx, in.QueueUrl, "sqs:RemovePermission")
	if err != nil {
		return nil, err
	}
	if in.Label == "" {
		return nil, missingParameter("Label")
	}
	_, err = s.updateRecord(ctx, q, true, func(rec *queueRecord) error {
		notFound := invalidParameter("Value %s for parameter Label is invalid. Reason: can't find label on existing policy.", in.Label)
		cur := rec.Attributes[attrPolicy]
		if cur == "" {
			return notFound
		}
		d, err := policy.Parse(cur)
		if err != nil {
			return fmt.Errorf("sqs: stored policy of %s: %w", q.name, err)
		}
		if !d.Remove(in.Label) {
			return notFound
		}
		return setPolicy(rec, d)
	})
	return nil, err
}

// setPolicy stores d as rec's Policy attribute (none when it has no statement).
func setPolicy(rec *queueRecord, d *policy.Document) error {
	if rec.Attributes == nil {
		rec.Attributes = map[string]string{}
	}
	if len(d.Statement) == 0 {
		delete(rec.Attributes, attrPolicy)
		return nil
	}
	doc := d.String()
	if len(doc) > policy.MaxLength {
		return invalidAttributeValue(attrPolicy)
	}
	rec.Attributes[attrPolicy] = doc
	return nil
}
