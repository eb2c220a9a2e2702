package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/sqs"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/pattern"
)

// Queues is what event source mappings need of the SQS queues (package sqs's Service).
type Queues interface {
	Poll(ctx context.Context, arn string, max int, wait time.Duration) ([]sqs.Message, error)
	DeleteReceived(ctx context.Context, arn, receiptHandle string) error
	// VisibilityTimeout is a queue's visibility timeout; ok is false when there is no such queue.
	VisibilityTimeout(arn string) (vt time.Duration, ok bool)
	// SendDeadLetter sends an asynchronous invocation that failed for good to a
	// function's dead-letter queue.
	SendDeadLetter(ctx context.Context, arn string, body []byte, attrs map[string]string) error
}

// MappingsBucket is the KV bucket of event source mappings.
const MappingsBucket = "conveyor-lambda-mappings"

// Mapping is an event source mapping: a queue polled for a function.
type Mapping struct {
	UUID                           string          `json:"UUID"`
	EventSourceArn                 string          `json:"EventSourceArn"`
	FunctionArn                    string          `json:"FunctionArn"`
	BatchSize                      int             `json:"BatchSize"`
	MaximumBatchingWindowInSeconds int             `json:"MaximumBatchingWindowInSeconds"`
	State                          string          `json:"State"`
	StateTransitionReason          string          `json:"StateTransitionReason"`
	LastModified                   float64         `json:"LastModified"`
	FunctionResponseTypes          []string        `json:"FunctionResponseTypes,omitempty"`
	ScalingConfig                  *ScalingConfig  `json:"ScalingConfig,omitempty"`
	FilterCriteria                 *FilterCriteria `json:"FilterCriteria,omitempty"`
	EventSourceMappingArn          string          `json:"EventSourceMappingArn"`
}

// FilterCriteria are a mapping's event filters: a message is handed to the function when
// its record (the SQS event's, its body as JSON when it is JSON) matches one of them; the
// others are deleted from the queue unseen, as Lambda deletes them.
type FilterCriteria struct {
	Filters []Filter `json:"Filters"`
}

// Filter is one event pattern of FilterCriteria.
type Filter struct {
	Pattern *string `json:"Pattern,omitempty"`
}

// maxFilters is how many filters a mapping takes (Lambda's quota).
const maxFilters = 5

// checkFilters refuses filters Lambda refuses: more than five, or a pattern that is none.
func checkFilters(fc *FilterCriteria) error {
	if fc == nil {
		return nil
	}
	if len(fc.Filters) > maxFilters {
		return invalid("The number of filters provided exceeds the maximum of %d.", maxFilters)
	}
	for _, f := range fc.Filters {
		if f.Pattern == nil || pattern.Validate([]byte(*f.Pattern)) != nil {
			return invalid("Invalid filter pattern definition.")
		}
	}
	return nil
}

// filterMatcher is a matcher of fc's patterns, nil when fc has none (every message passes).
func filterMatcher(fc *FilterCriteria) (*pattern.Matcher, error) {
	if fc == nil || len(fc.Filters) == 0 {
		return nil, nil
	}
	m := pattern.New()
	for i, f := range fc.Filters {
		if f.Pattern == nil {
			continue
		}
		if err := m.Add(strconv.Itoa(i), []byte(*f.Pattern)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// filterRecord is a message's record as filters see it: the SQS event's record, its body
// parsed when it is JSON (a pattern then reaches into it), a string otherwise.
func filterRecord(r sqsRecord) []byte {
	body, _ := json.Marshal(r.Body)
	if b := []byte(r.Body); json.Valid(b) {
		body = b
	}
	rec := struct {
		sqsRecord
		Body json.RawMessage `json:"body"`
	}{r, body}
	out, _ := json.Marshal(rec)
	return out
}

// ScalingConfig bounds how many invocations a mapping makes at once.
type ScalingConfig struct {
	MaximumConcurrency *int `json:"MaximumConcurrency,omitempty"`
}

var mappingCodec = store.Codec[Mapping]{
	Decode: decodeMapping,
	Encode: func(m *Mapping) ([]byte, error) { return json.Marshal(m) },
}

func decodeMapping(e jetstream.KeyValueEntry) (*Mapping, error) {
	var m Mapping
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		return nil, fmt.Errorf("lambda: decode %s: %w", e.Key(), err)
	}
	return &m, nil
}

func mappingKey(id string) string { return "esm." + id }

// mappings holds the mappings' bucket, a view of it, and this process's pollers.
type mappings struct {
	kv   jetstream.KeyValue
	view *store.Mirror[*Mapping]

	mu      sync.Mutex
	pollers map[string]*poller // by UUID
}

func openMappings(ctx context.Context, js jetstream.JetStream, replicas int, s *Service) (*mappings, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: MappingsBucket, History: 1,
		Description: "Conveyor Lambda event source mappings", Storage: jetstream.FileStorage, Replicas: replicas})
	if err != nil {
		return nil, fmt.Errorf("lambda: open bucket %s: %w", MappingsBucket, err)
	}
	view, err := store.NewMirror(ctx, js, kv, decodeMapping, s.log)
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	return &mappings{kv: kv, view: view, pollers: map[string]*poller{}}, nil
}

func nowSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// ---- the API ----

// CreateEventSourceMappingInput is Lambda's CreateEventSourceMappingRequest (SQS sources).
type CreateEventSourceMappingInput struct {
	EventSourceArn                 *string         `json:"EventSourceArn"`
	FunctionName                   *string         `json:"FunctionName"`
	Enabled                        *bool           `json:"Enabled"`
	BatchSize                      *int            `json:"BatchSize"`
	MaximumBatchingWindowInSeconds *int            `json:"MaximumBatchingWindowInSeconds"`
	FunctionResponseTypes          []string        `json:"FunctionResponseTypes"`
	ScalingConfig                  *ScalingConfig  `json:"ScalingConfig"`
	FilterCriteria                 *FilterCriteria `json:"FilterCriteria"`
}

// checkBatching refuses a batch size, batching window or response types Lambda refuses for
// the queue with ARN queue: a FIFO queue takes no batching window, so no batch over 10.
func checkBatching(queue string, size, window int, types []string) error {
	fifo := strings.HasSuffix(queue, ".fifo")
	if fifo && window > 0 {
		return invalid("Batching window is not supported for FIFO queues")
	}
	if fifo && size > 10 {
		// style: Lambda's text for SQS batches before batching windows came.
		return invalid("Maximum batch size must be between 1 and 10 inclusive")
	}
	if size < 1 || size > 10000 {
		return awsapi.Errorf("ValidationException", "1 validation error detected: Value '%d' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000", size)
	}
	if size > 10 && window == 0 {
		return invalid("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
	}
	if window < 0 || window > 300 {
		return awsapi.Errorf("ValidationException", "1 validation error detected: Value '%d' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value less than or equal to 300", window)
	}
	for _, t := range types {
		if t != "ReportBatchItemFailures" {
			return awsapi.Errorf("ValidationException", "1 validation error detected: Value '[%s]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]", t)
		}
	}
	return nil
}

// checkVisibility refuses a queue that does not exist, or whose visibility timeout is shorter
// than f's timeout (its messages would come back while the function still works on them), as
// Lambda refuses them.
func (s *Service) checkVisibility(queue string, f *Function) error {
	vt, ok := s.cfg.Queues.VisibilityTimeout(queue)
	if !ok {
		return invalid("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist.")
	}
	if timeout := time.Duration(f.Timeout) * time.Second; vt < timeout {
		return invalid("Queue visibility timeout: %d seconds is less than Function timeout: %d seconds", int(vt/time.Second), f.Timeout)
	}
	return nil
}

// CreateEventSourceMapping maps an SQS queue of the caller's to a function: Conveyor polls
// the queue and invokes the function with batches of its messages.
func (s *Service) CreateEventSourceMapping(ctx context.Context, in *CreateEventSourceMappingInput) (*Mapping, error) {
	v := awsapi.NewValidator()
	v.Required("functionName", in.FunctionName != nil)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.EventSourceArn == nil || !strings.HasPrefix(*in.EventSourceArn, "arn:aws:sqs:") {
		return nil, invalid("Conveyor's event source mappings read SQS queues: EventSourceArn must be a queue's ARN.")
	}
	f, err := s.function(ctx, FunctionRef{FunctionName: *in.FunctionName})
	if err != nil {
		return nil, err
	}
	sc := s.scopeOf(ctx)
	if a, ok := scope.ParseARN(*in.EventSourceArn); !ok || a.Scope() != sc {
		return nil, invalid("The queue %s is not in this account and region.", *in.EventSourceArn)
	}
	if s.cfg.Queues == nil {
		return nil, invalid("Conveyor serves no queues here.")
	}
	if err := s.checkVisibility(*in.EventSourceArn, f); err != nil {
		return nil, err
	}
	size, window := 10, 0
	if in.BatchSize != nil {
		size = *in.BatchSize
	}
	if in.MaximumBatchingWindowInSeconds != nil {
		window = *in.MaximumBatchingWindowInSeconds
	}
	if err := checkBatching(*in.EventSourceArn, size, window, in.FunctionResponseTypes); err != nil {
		return nil, err
	}
	if err := checkScaling(in.ScalingConfig); err != nil {
		return nil, err
	}
	if err := checkFilters(in.FilterCriteria); err != nil {
		return nil, err
	}
	// One mapping of a queue to a function, as Lambda allows.
	all, err := s.esm.view.List(ctx, "esm")
	if err != nil {
		return nil, fmt.Errorf("lambda: list mappings: %w", err)
	}
	for _, old := range all {
		if old.EventSourceArn == *in.EventSourceArn && old.FunctionArn == f.FunctionArn {
			return nil, awsapi.Errorf("ResourceConflictException", `The event source arn (" %s ") and function (" %s ") provided mapping already exists. `+
				"Please update or delete the existing mapping with UUID %s", old.EventSourceArn, f.FunctionName, old.UUID)
		}
	}
	id := uuid.NewString()
	m := &Mapping{UUID: id, EventSourceArn: *in.EventSourceArn, FunctionArn: f.FunctionArn, BatchSize: size,
		MaximumBatchingWindowInSeconds: window, State: "Enabled", StateTransitionReason: "USER_INITIATED",
		LastModified: nowSeconds(s.cfg.Clock.Now()), FunctionResponseTypes: in.FunctionResponseTypes, ScalingConfig: in.ScalingConfig,
		FilterCriteria:        in.FilterCriteria,
		EventSourceMappingArn: sc.ARN("lambda", "event-source-mapping:"+id)}
	if in.Enabled != nil && !*in.Enabled {
		m.State = "Disabled"
	}
	if _, _, err := store.Mutate(ctx, s.esm.kv, mappingKey(id), mappingCodec, func(*Mapping, uint64) (*Mapping, error) { return m, nil }); err != nil {
		return nil, err
	}
	shown := *m
	shown.State = "Creating"
	return &shown, nil
}

// MappingRef names one mapping.
type MappingRef struct {
	UUID string `json:"-" uri:"UUID"`
}

func (s *Service) mapping(ctx context.Context, id string) (*Mapping, error) {
	e, err := s.esm.kv.Get(ctx, mappingKey(id))
	if err == nil {
		m, err := decodeMapping(e)
		if err != nil {
			return nil, err
		}
		if a, _ := scope.ParseARN(m.EventSourceMappingArn); a.Scope() == s.scopeOf(ctx) {
			return m, nil
		}
	}
	return nil, awsapi.Errorf("ResourceNotFoundException", "The resource you requested does not exist.")
}

// GetEventSourceMapping answers a mapping.
func (s *Service) GetEventSourceMapping(ctx context.Context, in *MappingRef) (*Mapping, error) {
	return s.mapping(ctx, in.UUID)
}

// ListEventSourceMappingsInput is Lambda's ListEventSourceMappingsRequest.
type ListEventSourceMappingsInput struct {
	EventSourceArn *string `json:"-" query:"EventSourceArn"`
	FunctionName   *string `json:"-" query:"FunctionName"`
	Marker         *string `json:"-" query:"Marker"`
	MaxItems       *int    `json:"-" query:"MaxItems"`
}

// ListEventSourceMappingsOutput is Lambda's ListEventSourceMappingsResponse.
type ListEventSourceMappingsOutput struct {
	EventSourceMappings []*Mapping `json:"EventSourceMappings"`
	NextMarker          *string    `json:"NextMarker,omitempty"`
}

// ListEventSourceMappings lists the caller's mappings, of a queue or a function if asked.
func (s *Service) ListEventSourceMappings(ctx context.Context, in *ListEventSourceMappingsInput) (*ListEventSourceMappingsOutput, error) {
	all, err := s.esm.view.List(ctx, "esm")
	if err != nil {
		return nil, fmt.Errorf("lambda: list mappings: %w", err)
	}
	sc := s.scopeOf(ctx)
	fn := ""
	if in.FunctionName != nil {
		_, name, err := s.resolve(ctx, *in.FunctionName)
		if err != nil {
			return nil, err
		}
		fn = FunctionARN(sc, name)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].UUID < all[j].UUID })
	limit := 100
	if in.MaxItems != nil && *in.MaxItems > 0 {
		limit = min(*in.MaxItems, 100)
	}
	out := &ListEventSourceMappingsOutput{EventSourceMappings: []*Mapping{}}
	for _, m := range all {
		a, _ := scope.ParseARN(m.EventSourceMappingArn)
		if a.Scope() != sc || (in.EventSourceArn != nil && *in.EventSourceArn != m.EventSourceArn) || (fn != "" && fn != m.FunctionArn) ||
			(in.Marker != nil && m.UUID <= *in.Marker) {
			continue
		}
		if len(out.EventSourceMappings) == limit {
			next := out.EventSourceMappings[limit-1].UUID
			out.NextMarker = &next
			break
		}
		out.EventSourceMappings = append(out.EventSourceMappings, m)
	}
	return out, nil
}

// UpdateEventSourceMappingInput is Lambda's UpdateEventSourceMappingRequest (SQS members).
type UpdateEventSourceMappingInput struct {
	UUID                           string          `json:"-" uri:"UUID"`
	FunctionName                   *string         `json:"FunctionName"`
	Enabled                        *bool           `json:"Enabled"`
	BatchSize                      *int            `json:"BatchSize"`
	MaximumBatchingWindowInSeconds *int            `json:"MaximumBatchingWindowInSeconds"`
	FunctionResponseTypes          []string        `json:"FunctionResponseTypes"`
	ScalingConfig                  *ScalingConfig  `json:"ScalingConfig"`
	FilterCriteria                 *FilterCriteria `json:"FilterCriteria"`
}

// UpdateEventSourceMapping enables or disables a mapping, or changes its batching or its
// function. It answers the state on the way (Enabling, Disabling, Updating), as Lambda does.
func (s *Service) UpdateEventSourceMapping(ctx context.Context, in *UpdateEventSourceMappingInput) (*Mapping, error) {
	cur, err := s.mapping(ctx, in.UUID)
	if err != nil {
		return nil, err
	}
	if err := checkScaling(in.ScalingConfig); err != nil {
		return nil, err
	}
	if err := checkFilters(in.FilterCriteria); err != nil {
		return nil, err
	}
	fnARN := ""
	if in.FunctionName != nil {
		f, err := s.function(ctx, FunctionRef{FunctionName: *in.FunctionName})
		if err != nil {
			return nil, err
		}
		if err := s.checkVisibility(cur.EventSourceArn, f); err != nil {
			return nil, err
		}
		fnARN = f.FunctionArn
	}
	transition := "Updating"
	next, _, err := store.Mutate(ctx, s.esm.kv, mappingKey(cur.UUID), mappingCodec, func(m *Mapping, _ uint64) (*Mapping, error) {
		if m == nil {
			return nil, awsapi.Errorf("ResourceNotFoundException", "The resource you requested does not exist.")
		}
		size, window, types := m.BatchSize, m.MaximumBatchingWindowInSeconds, m.FunctionResponseTypes
		if in.BatchSize != nil {
			size = *in.BatchSize
		}
		if in.MaximumBatchingWindowInSeconds != nil {
			window = *in.MaximumBatchingWindowInSeconds
		}
		if in.FunctionResponseTypes != nil {
			types = in.FunctionResponseTypes
		}
		if err := checkBatching(m.EventSourceArn, size, window, types); err != nil {
			return nil, err
		}
		m.BatchSize, m.MaximumBatchingWindowInSeconds, m.FunctionResponseTypes = size, window, types
		if fnARN != "" {
			m.FunctionArn = fnARN
		}
		if in.ScalingConfig != nil {
			m.ScalingConfig = in.ScalingConfig
		}
		if in.FilterCriteria != nil {
			m.FilterCriteria = in.FilterCriteria
			if len(m.FilterCriteria.Filters) == 0 {
				m.FilterCriteria = nil // an empty list removes the filters
			}
		}
		transition = "Updating"
		if in.Enabled != nil {
			switch {
			case *in.Enabled && m.State == "Disabled":
				m.State, transition = "Enabled", "Enabling"
			case !*in.Enabled && m.State == "Enabled":
				m.State, transition = "Disabled", "Disabling"
			}
		}
		m.StateTransitionReason = "USER_INITIATED"
		m.LastModified = nowSeconds(s.cfg.Clock.Now())
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	if s.cfg.Queues != nil {
		s.syncPollers(ctx) // this process's pollers follow at once; others within a quarter second
	}
	shown := *next
	shown.State = transition
	return &shown, nil
}

// DeleteEventSourceMapping deletes a mapping; its poller stops.
func (s *Service) DeleteEventSourceMapping(ctx context.Context, in *MappingRef) (*Mapping, error) {
	cur, err := s.mapping(ctx, in.UUID)
	if err != nil {
		return nil, err
	}
	if _, _, err := store.Mutate(ctx, s.esm.kv, mappingKey(cur.UUID), mappingCodec, func(*Mapping, uint64) (*Mapping, error) { return nil, nil }); err != nil {
		return nil, err
	}
	if s.cfg.Queues != nil {
		s.syncPollers(ctx)
	}
	shown := *cur
	shown.State = "Deleting"
	return &shown, nil
}

func (s *Service) registerMappings(svc *awsapi.Service) {
	awsapi.HandleREST(svc, "CreateEventSourceMapping", http.MethodPost, "/2015-03-31/event-source-mappings", http.StatusAccepted, s.CreateEventSourceMapping)
	awsapi.HandleREST(svc, "ListEventSourceMappings", http.MethodGet, "/2015-03-31/event-source-mappings", 0, s.ListEventSourceMappings)
	awsapi.HandleREST(svc, "GetEventSourceMapping", http.MethodGet, "/2015-03-31/event-source-mappings/{UUID}", 0, s.GetEventSourceMapping)
	awsapi.HandleREST(svc, "UpdateEventSourceMapping", http.MethodPut, "/2015-03-31/event-source-mappings/{UUID}", http.StatusAccepted, s.UpdateEventSourceMapping)
	awsapi.HandleREST(svc, "DeleteEventSourceMapping", http.MethodDelete, "/2015-03-31/event-source-mappings/{UUID}", http.StatusAccepted, s.DeleteEventSourceMapping)
}

// ---- the pollers ----

// poller polls one enabled mapping's queue and invokes its function.
type poller struct {
	m      Mapping
	cancel context.CancelFunc
	done   chan struct{}
}

// follow keeps one poller running for each enabled mapping, as the mappings change (by any
// process: they are read from the bucket's view), until ctx ends.
func (s *Service) follow(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		s.syncPollers(ctx)
		select {
		case <-ctx.Done():
			s.esm.mu.Lock()
			for _, p := range s.esm.pollers {
				p.cancel()
				<-p.done
			}
			s.esm.pollers = map[string]*poller{}
			s.esm.mu.Unlock()
			return
		case <-t.C:
		}
	}
}

func (s *Service) syncPollers(ctx context.Context) {
	all, err := s.esm.view.List(ctx, "esm")
	if err != nil {
		return
	}
	want := map[string]*Mapping{}
	for _, m := range all {
		if m.State == "Enabled" {
			want[m.UUID] = m
		}
	}
	s.esm.mu.Lock()
	defer s.esm.mu.Unlock()
	for id, p := range s.esm.pollers {
		if m, ok := want[id]; ok && reflect.DeepEqual(pollConfig(*m), pollConfig(p.m)) {
			continue
		}
		p.cancel() // a batch being delivered finishes on its own
		delete(s.esm.pollers, id)
	}
	for id, m := range want {
		if _, ok := s.esm.pollers[id]; ok {
			continue
		}
		pctx, cancel := context.WithCancel(s.run) // the pollers outlive the call that started them
		p := &poller{m: *m, cancel: cancel, done: make(chan struct{})}
		s.esm.pollers[id] = p
		var wg sync.WaitGroup
		for range concurrency(m) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.poll(pctx, p.m)
			}()
		}
		go func() {
			wg.Wait()
			close(p.done)
		}()
	}
}

// pollConfig is what of m its pollers work with: all of it but its state and when it
// changed. Pollers of a mapping whose pollConfig changed are replaced.
func pollConfig(m Mapping) Mapping {
	m.State, m.StateTransitionReason, m.LastModified = "", "", 0
	return m
}

// checkScaling refuses a MaximumConcurrency Lambda refuses (2 to 1,000).
func checkScaling(c *ScalingConfig) error {
	if c != nil && c.MaximumConcurrency != nil && (*c.MaximumConcurrency < 2 || *c.MaximumConcurrency > 1000) {
		return awsapi.Errorf("ValidationException", "1 validation error detected: Value '%d' at 'scalingConfig.maximumConcurrency' failed to satisfy constraint: "+
			"Member must have value greater than or equal to 2", *c.MaximumConcurrency)
	}
	return nil
}

// defaultConcurrency is how many batches of one mapping are invoked at once, as Lambda starts
// an SQS mapping; ScalingConfig.MaximumConcurrency sets it, up to the function's processes.
const defaultConcurrency = 5

func concurrency(m *Mapping) int {
	n := defaultConcurrency
	if m.ScalingConfig != nil && m.ScalingConfig.MaximumConcurrency != nil {
		n = *m.ScalingConfig.MaximumConcurrency
	}
	return max(1, min(n, maxProcesses))
}

// poll receives batches from the mapping's queue and invokes the function with each: a
// success deletes the batch (or, with ReportBatchItemFailures, the messages not reported as
// failed); a failure leaves the batch to the queue's visibility timeout and redrive policy.
func (s *Service) poll(ctx context.Context, m Mapping) {
	log := s.log.With("event_source_mapping", m.UUID, "queue", m.EventSourceArn, "function", m.FunctionArn)
	// The mapping's filters, compiled once: a change of the mapping starts new pollers.
	fm, err := filterMatcher(m.FilterCriteria)
	if err != nil {
		log.Warn("lambda: the mapping's filters do not compile; its queue is not polled", "err", err)
		return
	}
	var backoff store.Backoff
	for ctx.Err() == nil {
		msgs, err := s.cfg.Queues.Poll(ctx, m.EventSourceArn, min(m.BatchSize, pollMax), time.Second)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("lambda: polling a queue failed", "err", err)
				backoff.Wait(ctx)
			}
			continue
		}
		backoff.Reset()
		if len(msgs) == 0 {
			continue
		}
		msgs = s.gather(ctx, m, msgs)
		if ctx.Err() != nil {
			return // the batch returns to the queue after its visibility timeout
		}
		s.deliver(ctx, log, m, fm, msgs)
	}
}

// pollMax is the most messages one poll of a queue receives (ReceiveMessage's bound);
// batchBytes is how large a gathered batch's bodies may grow (an invocation's payload, 6 MB,
// on Lambda), and messageBytes the largest a message may be (SQS's bound).
const (
	pollMax      = 10
	batchBytes   = 6 << 20
	messageBytes = 1 << 20
)

// gather completes a batch that begins with msgs, as Lambda batches records: with a batching
// window, it polls the queue for more until the window (from the first message) is over, the
// batch holds BatchSize messages, or one more message could take its bodies past batchBytes
// (each poll asks for no more messages than the bytes left could hold at SQS's largest);
// without a window, the batch is what the first poll received.
func (s *Service) gather(ctx context.Context, m Mapping, msgs []sqs.Message) []sqs.Message {
	if m.MaximumBatchingWindowInSeconds == 0 {
		return msgs
	}
	size, at := 0, make(map[string]int, len(msgs)) // at: a message's place in msgs, by id
	for i, msg := range msgs {
		size += len(msg.Body)
		at[msg.MessageId] = i
	}
	end := time.Now().Add(time.Duration(m.MaximumBatchingWindowInSeconds) * time.Second)
	for ctx.Err() == nil {
		n := min(m.BatchSize-len(msgs), pollMax, (batchBytes-size)/messageBytes)
		left := time.Until(end)
		if n < 1 || left <= 0 {
			break
		}
		more, err := s.cfg.Queues.Poll(ctx, m.EventSourceArn, n, left)
		if err != nil {
			break // the batch so far is invoked; the next poll reports the failure
		}
		for _, msg := range more {
			// A message held past the queue's visibility timeout (a window longer than
			// it) comes back: the batch keeps it once, with its new receipt handle.
			if i, held := at[msg.MessageId]; held {
				msgs[i] = msg
				continue
			}
			size += len(msg.Body)
			at[msg.MessageId] = len(msgs)
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

// deliver invokes m's function with msgs, those of them fm matches when m has filters (fm
// not nil), and deletes the messages it processed.
func (s *Service) deliver(ctx context.Context, log interface {
	Warn(string, ...any)
}, m Mapping, fm *pattern.Matcher, msgs []sqs.Message) {
	a, _ := scope.ParseARN(m.EventSourceArn)
	_, name, _, _ := functionOf(m.FunctionArn)
	f, err := s.recs.get(ctx, a.Scope(), name)
	if err != nil || f == nil {
		log.Warn("lambda: the mapping's function is gone; messages left in the queue", "err", err)
		return
	}
	event := sqsEvent(m.EventSourceArn, a.Region, msgs)
	if fm != nil {
		// Messages no filter matches are deleted unseen, as Lambda deletes them.
		kept, keptMsgs := event["Records"][:0], msgs[:0:0]
		for i, r := range event["Records"] {
			if ids, err := fm.Match(filterRecord(r)); err == nil && len(ids) > 0 {
				kept, keptMsgs = append(kept, r), append(keptMsgs, msgs[i])
				continue
			}
			if err := s.cfg.Queues.DeleteReceived(ctx, m.EventSourceArn, msgs[i].ReceiptHandle); err != nil && ctx.Err() == nil {
				log.Warn("lambda: deleting a filtered-out message failed", "message_id", msgs[i].MessageId, "err", err)
			}
		}
		if len(kept) == 0 {
			return
		}
		event["Records"], msgs = kept, keptMsgs
	}
	payload, err := json.Marshal(event)
	if err != nil {
		return
	}
	res, err := s.rt.invoke(ctx, f, payload, "", "")
	if err != nil || res.fnError != "" {
		if err == nil {
			err = fmt.Errorf("%s", res.payload)
		}
		log.Warn("lambda: the function failed on a batch; its messages return to the queue after their visibility timeout", "err", err)
		return
	}
	var failed map[string]bool
	if len(m.FunctionResponseTypes) > 0 {
		if failed, err = batchItemFailures(res.payload, msgs); err != nil {
			log.Warn("lambda: the function's batch response fails the whole batch; its messages return to the queue after their visibility timeout", "err", err)
			return
		}
	}
	for _, msg := range msgs {
		if failed[msg.MessageId] {
			continue
		}
		if err := s.cfg.Queues.DeleteReceived(ctx, m.EventSourceArn, msg.ReceiptHandle); err != nil && ctx.Err() == nil {
			log.Warn("lambda: deleting a processed message failed", "message_id", msg.MessageId, "err", err)
		}
	}
}

// batchItemFailures reads a function's partial batch response (with
// ReportBatchItemFailures): the IDs of the messages it failed. As on Lambda,
// an empty or null response or list fails none; a response that is not JSON,
// or an item without a non-empty itemIdentifier naming a message of the
// batch, fails the whole batch (an error).
func batchItemFailures(payload []byte, msgs []sqs.Message) (map[string]bool, error) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 {
		return nil, nil
	}
	var resp any
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil, fmt.Errorf("the response is not JSON: %w", err)
	}
	obj, ok := resp.(map[string]any)
	if !ok {
		return nil, nil
	}
	items, _ := obj["batchItemFailures"].([]any)
	if obj["batchItemFailures"] != nil && items == nil {
		return nil, fmt.Errorf("batchItemFailures is not a list")
	}
	inBatch := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		inBatch[m.MessageId] = true
	}
	failed := make(map[string]bool, len(items))
	for _, it := range items {
		item, _ := it.(map[string]any)
		id, _ := item["itemIdentifier"].(string)
		switch {
		case id == "":
			return nil, fmt.Errorf("a batch item failure without an itemIdentifier: %v", it)
		case !inBatch[id]:
			return nil, fmt.Errorf("the itemIdentifier %q is no message of the batch", id)
		}
		failed[id] = true
	}
	return failed, nil
}

// sqsRecord is one message of the SQS event a function receives.
type sqsRecord struct {
	MessageID         string                       `json:"messageId"`
	ReceiptHandle     string                       `json:"receiptHandle"`
	Body              string                       `json:"body"`
	Attributes        map[string]string            `json:"attributes"`
	MessageAttributes map[string]sqsAttributeValue `json:"messageAttributes"`
	MD5OfBody         string                       `json:"md5OfBody"`
	EventSource       string                       `json:"eventSource"`
	EventSourceARN    string                       `json:"eventSourceARN"`
	AWSRegion         string                       `json:"awsRegion"`
}

type sqsAttributeValue struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      []byte   `json:"binaryValue,omitempty"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues [][]byte `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// sqsEvent is the event Lambda gives a function for a batch of SQS messages.
func sqsEvent(queueARN, region string, msgs []sqs.Message) map[string][]sqsRecord {
	recs := make([]sqsRecord, 0, len(msgs))
	for _, m := range msgs {
		attrs := map[string]sqsAttributeValue{}
		for k, v := range m.MessageAttributes {
			attrs[k] = sqsAttributeValue{StringValue: v.StringValue, BinaryValue: v.BinaryValue,
				StringListValues: nonNil(v.StringListValues), BinaryListValues: nonNilBytes(v.BinaryListValues), DataType: v.DataType}
		}
		a := m.Attributes
		if a == nil {
			a = map[string]string{}
		}
		recs = append(recs, sqsRecord{MessageID: m.MessageId, ReceiptHandle: m.ReceiptHandle, Body: m.Body, Attributes: a,
			MessageAttributes: attrs, MD5OfBody: m.MD5OfBody, EventSource: "aws:sqs", EventSourceARN: queueARN, AWSRegion: region})
	}
	return map[string][]sqsRecord{"Records": recs}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilBytes(s [][]byte) [][]byte {
	if s == nil {
		return [][]byte{}
	}
	return s
}
