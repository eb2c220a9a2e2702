package sqs

import (
	"cmp"
	"github.com/conveyor/conveyor/internal/clock"

	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/policy"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
)

// Bucket is the KV bucket of queue records and receive states.
const Bucket = "conveyor-sqs"

// Config configures a Service.
type Config struct {
	// Store holds the queue streams and the bucket. Required.
	Store *store.Store
	// Region and Account form queue ARNs and URLs.
	Region  string
	Account string
	// Catalog and Deliveries are needed by RedriveDeadLetters only (nil:
	// the operation answers that redrive is not configured).
	Catalog    *catalog.Catalog
	Deliveries *delivery.Queue
	// Logger receives the service's logs (default slog.Default()).
	Logger *slog.Logger
	// Clock tells the time (the system's if nil).
	Clock clock.Clock
	// Window is how many messages never received a queue's index holds
	// in memory, the rest waiting in its stream (0: 10,000).
	Window int
}

// Service is the SQS API on JetStream. Create it with New, register its
// operations with Register, stop it with Close.
type Service struct {
	cfg Config
	log *slog.Logger
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	// kvStream is the bucket's stream: receive states are removed from it
	// by subject when a whole queue goes (see forgetStates).
	kvStream jetstream.Stream
	secret   []byte
	macs     sync.Pool // of HMAC-SHA256 hashes keyed with secret (receiptMAC)
	now      func() time.Time

	mu     sync.RWMutex
	queues map[string]*queue // by ARN
	byGen  map[string]*queue // by generation
	// shared is set when other processes may serve the same queues (the
	// NATS server is not embedded): see share.
	shared  bool
	unshare func()
	// bgCtx ends at Close, which waits for the work started by background.
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	// window bounds each queue's index of messages never received (see
	// queue.fresh); tests make it small.
	window int
	// reapEvery and reapStraggler pace the removal of deleted messages
	// from the streams (see reap.go); tests change them.
	// (atomics: a test sets them while reapers run).
	reapEveryNs, reapStragglerNs atomic.Int64
	// inFlightLimit is each queue's limit of messages in flight; tests make
	// it small.
	inFlightLimit int
	closed        bool
	draining      atomic.Bool
	// moves are the message movement tasks this Conveyor started.
	moves moveTasks
}

// New opens (creating when needed) the bucket and starts every queue's
// index.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("sqs: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, log: cfg.Logger, js: cfg.Store.JetStream(), now: clock.Or(cfg.Clock).Now, queues: map[string]*queue{},
		byGen: map[string]*queue{}, window: cmp.Or(cfg.Window, defaultWindow), inFlightLimit: defaultInFlightLimit,
		shared: !cfg.Store.Embedded(), moves: moveTasks{bySource: map[string][]*moveTask{}}}
	s.reapEveryNs.Store(int64(defaultReapEvery))
	s.reapStragglerNs.Store(int64(defaultReapStraggler))
	s.bgCtx, s.bgCancel = context.WithCancel(context.WithoutCancel(ctx))
	kv, err := store.OpenKeyValue(ctx, s.js, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Conveyor SQS queues and receive states",
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Store.Replicas(),
	})
	if err != nil {
		return nil, fmt.Errorf("sqs: open bucket %s: %w", Bucket, err)
	}
	s.kv = kv
	if s.kvStream, err = s.js.Stream(ctx, store.KVStream(Bucket)); err != nil {
		return nil, fmt.Errorf("sqs: bucket %s stream: %w", Bucket, err)
	}
	// A deleted message's receive state is replaced by a purge marker that
	// expires by itself (see queue.remove).
	if cfg := s.kvStream.CachedInfo().Config; !cfg.AllowMsgTTL {
		cfg.AllowMsgTTL = true
		if s.kvStream, err = s.js.UpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("sqs: bucket %s: allow message TTLs (NATS 2.11 or later): %w", Bucket, err)
		}
	}
	// Delete markers left by earlier versions (one per message ever
	// received) go; recent ones stay for other processes to see.
	if err := kv.PurgeDeletes(ctx); err != nil {
		s.log.Warn("sqs: purging old delete markers", "err", err)
	}
	if s.secret, err = s.loadSecret(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shared {
		// The watches live as long as the service, not as New's ctx.
		if err := s.share(context.WithoutCancel(ctx)); err != nil {
			return nil, err
		}
	}
	recs, err := s.loadRecords(ctx)
	if err != nil {
		s.closeLocked()
		return nil, err
	}
	for _, rec := range recs {
		q, err := s.openQueue(ctx, rec)
		if err != nil {
			s.closeLocked()
			return nil, err
		}
		s.addQueueLocked(q)
	}
	return s, nil
}

// loadSecret returns the receipt-handle key, creating it on the first start.
func (s *Service) loadSecret(ctx context.Context) ([]byte, error) {
	e, err := s.kv.Get(ctx, "secret")
	if err == nil {
		b, derr := hex.DecodeString(string(e.Value()))
		if derr == nil && len(b) == 32 {
			return b, nil
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("sqs: load secret: %w", err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	if _, err := s.kv.Create(ctx, "secret", []byte(hex.EncodeToString(b))); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return s.loadSecret(ctx)
		}
		return nil, fmt.Errorf("sqs: store secret: %w", err)
	}
	return b, nil
}

func (s *Service) loadRecords(ctx context.Context) ([]*queueRecord, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, "q.>")
	if err != nil {
		return nil, fmt.Errorf("sqs: list queues: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var recs []*queueRecord
	for _, k := range keys {
		rec, err := s.loadRecord(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, errUnreadable) {
			continue
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

var errUnreadable = errors.New("sqs: unreadable queue record")

// loadRecord reads the queue record under key.
func (s *Service) loadRecord(ctx context.Context, key string) (*queueRecord, error) {
	e, err := s.kv.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("sqs: load queue %s: %w", key, err)
	}
	var rec queueRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		s.log.Error("sqs: unreadable queue record skipped", "key", key, "err", err)
		return nil, errUnreadable
	}
	rec.revision, rec.key = e.Revision(), key
	return &rec, nil
}

// Drain makes waiting receives answer now (with what they have) and later
// ones not wait: the server is shutting down and must not hold requests for
// up to 20 seconds.
func (s *Service) Drain() {
	s.draining.Store(true)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, q := range s.queues {
		q.mu.Lock()
		q.wakeLocked()
		q.mu.Unlock()
	}
}

// Close stops every queue's index.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked()
}

func (s *Service) closeLocked() {
	s.bgCancel()
	s.bg.Wait()
	if s.unshare != nil {
		s.unshare()
		s.unshare = nil
	}
	qs := s.queues
	s.queues, s.byGen = map[string]*queue{}, map[string]*queue{}
	s.closed = true
	for _, q := range qs {
		q.stop()
	}
}

// background runs f in a goroutine of the service's, whose context ends at
// Close.
func (s *Service) background(f func(ctx context.Context)) {
	s.bg.Go(func() { f(s.bgCtx) })
}

// Register adds the SQS operations to svc (an awsapi.NewSQS() service) and,
// when conveyor is not nil, the Conveyor-specific queue operations to it
// (see NewConveyorService).
func (s *Service) Register(svc *awsapi.Service, conveyor *awsapi.Service) {
	awsapi.Handle(svc, "CreateQueue", s.createQueue)
	awsapi.Handle(svc, "GetQueueUrl", s.getQueueURL)
	awsapi.Handle(svc, "ListQueues", s.listQueues)
	awsapi.Handle(svc, "DeleteQueue", s.deleteQueue)
	awsapi.Handle(svc, "GetQueueAttributes", s.getQueueAttributes)
	awsapi.Handle(svc, "SetQueueAttributes", s.setQueueAttributes)
	awsapi.Handle(svc, "TagQueue", s.tagQueue)
	awsapi.Handle(svc, "UntagQueue", s.untagQueue)
	awsapi.Handle(svc, "ListQueueTags", s.listQueueTags)
	awsapi.Handle(svc, "PurgeQueue", s.purgeQueue)
	awsapi.Handle(svc, "AddPermission", s.addPermission)
	awsapi.Handle(svc, "RemovePermission", s.removePermission)
	awsapi.Handle(svc, "SendMessage", s.sendMessage)
	awsapi.Handle(svc, "SendMessageBatch", s.sendMessageBatch)
	awsapi.Handle(svc, "ReceiveMessage", s.receiveMessage)
	awsapi.Handle(svc, "DeleteMessage", s.deleteMessage)
	awsapi.Handle(svc, "DeleteMessageBatch", s.deleteMessageBatch)
	awsapi.Handle(svc, "ChangeMessageVisibility", s.changeMessageVisibility)
	awsapi.Handle(svc, "ChangeMessageVisibilityBatch", s.changeMessageVisibilityBatch)
	awsapi.Handle(svc, "ListDeadLetterSourceQueues", s.listDeadLetterSourceQueues)
	awsapi.Handle(svc, "StartMessageMoveTask", s.startMessageMoveTask)
	awsapi.Handle(svc, "ListMessageMoveTasks", s.listMessageMoveTasks)
	awsapi.Handle(svc, "CancelMessageMoveTask", s.cancelMessageMoveTask)
	if conveyor != nil {
		awsapi.Handle(conveyor, "RedriveDeadLetters", s.redriveDeadLetters)
		awsapi.Handle(conveyor, "PeekMessages", s.peekMessages)
	}
}

// ConveyorTargetPrefix is the X-Amz-Target prefix of Conveyor's own queue
// operations (ConveyorQueues.RedriveDeadLetters).
const ConveyorTargetPrefix = "ConveyorQueues"

// NewConveyorService returns the awsapi service of Conveyor's own queue
// operations (AWS JSON 1.0, errors as SQS words them).
func NewConveyorService() *awsapi.Service {
	return awsapi.NewService(awsapi.ServiceConfig{Name: "sqs", TargetPrefixes: []string{ConveyorTargetPrefix},
		JSONVersion: "1.0", ErrorNamespace: "com.amazonaws.sqs", QueryCompatible: true})
}

// QueueARN returns the ARN of queue name of scope sc.
func QueueARN(sc scope.Scope, name string) string { return sc.ARN("sqs", name) }

// scopeOf is the caller's account and region (Conveyor's when the call came
// from no caller).
func (s *Service) scopeOf(ctx context.Context) scope.Scope {
	return awsapi.CallerFrom(ctx).ScopeOr(scope.Scope{Account: s.cfg.Account, Region: s.cfg.Region})
}

// queueURL is the URL of queue q for the caller of ctx: the host it called,
// the queue's account and name.
func (s *Service) queueURL(ctx context.Context, q *queue) string {
	host := awsapi.CallerFrom(ctx).Host
	if host == "" {
		host = "localhost"
	}
	a, _ := scope.ParseARN(q.arn)
	return "http://" + host + "/" + a.Account + "/" + q.name
}

// errNoQueue is AWS's answer for a queue that does not exist.
func errNoQueue() error {
	return awsapi.Errorf(awsapi.CodeQueueDoesNotExist, "The specified queue does not exist.")
}

// lookupURL resolves a QueueUrl (any host; path /<account>/<name>) in the
// caller's region, for action (e.g. "sqs:SendMessage"). A queue of another
// account is found when its policy allows the caller action, and refused
// with AccessDenied when it does not.
func (s *Service) lookupURL(ctx context.Context, queueURL, action string) (*queue, error) {
	if queueURL == "" {
		return nil, missingParameter("QueueUrl")
	}
	p := queueURL
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		j := strings.IndexByte(p, '/')
		if j < 0 {
			return nil, invalidAddress(queueURL)
		}
		p = p[j:]
	}
	p = strings.TrimPrefix(p, "/")
	account, name, ok := strings.Cut(p, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return nil, invalidAddress(queueURL)
	}
	return s.lookupIn(ctx, account, name, action, queueURL)
}

// lookupIn finds queue name of account in the caller's region for action, as lookupURL does;
// shown is how an AccessDenied names the queue (the URL or ARN the caller gave).
func (s *Service) lookupIn(ctx context.Context, account, name, action, shown string) (*queue, error) {
	sc := s.scopeOf(ctx)
	q := s.queueByARN(QueueARN(scope.Scope{Account: account, Region: sc.Region}, name))
	if q == nil {
		return nil, errNoQueue()
	}
	if account != sc.Account && !s.allows(ctx, q, action) {
		return nil, &awsapi.Error{Code: "AccessDenied", Status: 403, Message: "Access to the resource " + shown + " is denied."}
	}
	return q, nil
}

// allows says whether q's policy lets the caller (of another account) do
// action.
func (s *Service) allows(ctx context.Context, q *queue, action string) bool {
	doc := q.record().Attributes[attrPolicy]
	if doc == "" {
		return false
	}
	d, err := policy.Parse(doc)
	if err != nil {
		return false
	}
	c := awsapi.CallerFrom(ctx)
	sc := s.scopeOf(ctx)
	principal := "arn:aws:iam::" + sc.Account + ":root"
	if c.Identity != nil {
		principal = c.Identity.ARN
	}
	return d.Allows(policy.Request{Account: sc.Account, PrincipalARN: principal, Action: action, Resource: q.arn})
}

// queueByARN returns the queue with ARN arn, or nil.
func (s *Service) queueByARN(arn string) *queue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.queues[arn]
}

// queuesIn returns the queues of scope sc, by name.
func (s *Service) queuesIn(sc scope.Scope) []*queue {
	prefix := QueueARN(sc, "")
	s.mu.RLock()
	var qs []*queue
	for arn, q := range s.queues {
		if strings.HasPrefix(arn, prefix) {
			qs = append(qs, q)
		}
	}
	s.mu.RUnlock()
	sort.Slice(qs, func(i, j int) bool { return qs[i].name < qs[j].name })
	return qs
}

// CheckDeadLetterQueue reports whether the queue with ARN arn exists and takes
// the dead letters of the rule with ARN ruleARN (nil) or not (an error
// wrapping delivery.ErrNoDeadLetterQueue): the delivery runner's check before
// it dead-letters into the queue's stream. A queue of another account than
// the rule's takes them when its policy lets the events service send for
// the rule.
func (s *Service) CheckDeadLetterQueue(_ context.Context, ruleARN, arn string) error {
	q := s.queueByARN(arn)
	if q == nil {
		return fmt.Errorf("%w: %s", delivery.ErrNoDeadLetterQueue, arn)
	}
	rule, _ := scope.ParseARN(ruleARN)
	queue, _ := scope.ParseARN(arn)
	if ruleARN == "" || rule.Account == queue.Account {
		return nil
	}
	if d, err := policy.Parse(q.record().Attributes[attrPolicy]); err == nil && d.Allows(policy.Request{Account: rule.Account,
		Service: "events.amazonaws.com", Action: "sqs:SendMessage", Resource: arn,
		Context: map[string]string{"aws:SourceArn": ruleARN}}) {
		return nil
	}
	return fmt.Errorf("%w: the policy of %s does not let rule %s send to it", delivery.ErrNoDeadLetterQueue, arn, ruleARN)
}

// Deliver sends the payloads of jobs (deliveries of EventBridge rules) as
// messages, each to the queue its TargetARN names: the targets.QueueSender
// of queue targets. The messages of one queue are written together (their
// writes in flight at once, in order). errs[i] is what became of jobs[i]: a
// queue that does not exist is a RESOURCE_NOT_FOUND failure
// (delivery.ErrNotFound), a payload the queue cannot take an
// INVALID_PARAMETER one; neither is retried. A FIFO queue's message goes to
// the job's MessageGroupId, deduplicated by its EventID.
func (s *Service) Deliver(ctx context.Context, jobs []*delivery.Job, errs []error) {
	var ms []*outgoing
	var idx []int
	for start := 0; start < len(jobs); {
		arn := jobs[start].TargetARN
		end := start + 1
		for end < len(jobs) && jobs[end].TargetARN == arn {
			end++
		}
		q := s.queueByARN(arn)
		ms, idx = ms[:0], idx[:0]
		for i := start; i < end; i++ {
			m, err := s.targetMessage(q, arn, jobs[i])
			if err != nil {
				errs[i] = err
				continue
			}
			ms, idx = append(ms, m), append(idx, i)
		}
		switch {
		case len(ms) > 1 && q.journaled && packable(ms):
			// One stream message for them all (see pack.go).
			pack := &outgoing{body: appendPack(nil, ms), delay: -1, extra: nats.Header{headerPack: {strconv.Itoa(len(ms))}}}
			_, perrs := q.put(ctx, []*outgoing{pack})
			for _, i := range idx {
				errs[i] = perrs[0]
			}
		case len(ms) > 0:
			_, perrs := q.put(ctx, ms)
			for k, i := range idx {
				errs[i] = perrs[k]
			}
		}
		start = end
	}
}

// targetMessage is the message of job, a delivery to queue q (nil: the
// queue named arn does not exist).
func (s *Service) targetMessage(q *queue, arn string, job *delivery.Job) (*outgoing, error) {
	if q == nil {
		return nil, fmt.Errorf("queue %s: %w", arn, delivery.ErrNotFound)
	}
	rec := q.record()
	body := job.Payload
	if len(body) > rec.maxSize() {
		return nil, delivery.Errorf(delivery.CodeInvalidParameter, false, "the event (%d bytes) is larger than the queue's MaximumMessageSize (%d bytes)", len(body), rec.maxSize())
	}
	if len(body) == 0 || !validBody(body) {
		return nil, delivery.Errorf(delivery.CodeInvalidParameter, false, "the event is empty or has characters SQS does not allow in a message body")
	}
	// The queue's delay, and its own account as the sender, need no header:
	// the index reads the queue's DelaySeconds for a message without one
	// (a change of it that reaches the queue in the same instant may apply,
	// as SQS's attributes take a while to apply), and a message without a
	// sender was sent by the queue's account. A message without headers is
	// lighter all along its way.
	m := &outgoing{body: body, delay: -1, group: job.MessageGroupId}
	if rec.fifo() {
		if err := fifoMessage(rec, m, job.MessageGroupId, job.EventID); err != nil {
			return nil, delivery.Errorf(delivery.CodeInvalidParameter, false, "%v", err)
		}
	}
	return m, nil
}

// defaultWindow is how many messages never received a queue keeps in
// memory; the rest wait in its stream.
const defaultWindow = 10000

// defaultInFlightLimit is SQS's limit of messages in flight in a standard
// queue.
const defaultInFlightLimit = 120000

// overLimitMessage is SQS's answer (OverLimit) to a receive from a queue
// with its limit of messages in flight.
const overLimitMessage = "Too many messages have been received without being deleted.\nPlease delete your received messages or let them timeout before receiving more."

// forgetStates removes the receive states whose keys match filter (a key,
// or "s.<generation>.>" for a whole queue) from the bucket's stream, leaving
// no marker: for queues purged or deleted, and states of messages that
// expired.
func (s *Service) forgetStates(ctx context.Context, filter string) error {
	if err := s.kvStream.Purge(ctx, jetstream.WithPurgeSubject(s.stateSubject(filter))); err != nil {
		return fmt.Errorf("sqs: remove receive states %s: %w", filter, err)
	}
	return nil
}

// VisibilityTimeout is the visibility timeout of the queue with ARN arn; ok is false when
// there is no such queue.
func (s *Service) VisibilityTimeout(arn string) (vt time.Duration, ok bool) {
	q := s.queueByARN(arn)
	if q == nil {
		return 0, false
	}
	return time.Duration(q.record().intAttr(attrVisibilityTimeout)) * time.Second, true
}

// Policy returns the resource policy (the Policy attribute) of the queue with
// ARN arn; ok is false when there is no such queue.
func (s *Service) Policy(arn string) (doc string, ok bool) {
	q := s.queueByARN(arn)
	if q == nil {
		return "", false
	}
	return q.record().Attributes[attrPolicy], true
}
