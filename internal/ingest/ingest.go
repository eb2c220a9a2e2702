package ingest

import (
	"github.com/conveyor/conveyor/internal/clock"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/event"
	"github.com/conveyor/conveyor/internal/eventbridge"
	"github.com/conveyor/conveyor/internal/policy"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/pattern"
)

// Buses says which event buses exist. The router's view of the catalog is
// the fast answer; the catalog itself is asked when the router does not know
// a bus yet (it was created a moment ago).
type Buses interface {
	HasBus(name string) bool
}

// Publisher stores events on a bus's stream; *store.Store is one.
type Publisher interface {
	// PublishEvents stores msgs on the stream of the bus with ID bus (see
	// catalog.BusID), one error per message, or one error for all.
	PublishEvents(ctx context.Context, bus string, msgs []store.Message) ([]error, error)
	// EnsureBus makes the bus's stream if it does not exist yet.
	EnsureBus(ctx context.Context, bus string) (jetstream.Stream, error)
}

// Config is what the ingest handlers work with.
type Config struct {
	Store   Publisher
	Catalog *catalog.Catalog
	Buses   Buses
	Region  string
	Account string
	// TrustedKeys are access key ids whose events may carry an "aws."
	// source.
	TrustedKeys []string
	// PatternOptions apply to TestEventPattern's pattern.
	PatternOptions []pattern.Option
	Registerer     prometheus.Registerer
	Logger         *slog.Logger
	// Clock stamps events (the system's if nil).
	Clock clock.Clock
}

// Ingest serves PutEvents and TestEventPattern.
type Ingest struct {
	cfg     Config
	log     *slog.Logger
	trusted map[string]bool
	m       *metrics
}

// New returns the handlers; Register adds them to the EventBridge service.
func New(cfg Config) (*Ingest, error) {
	if cfg.Store == nil || cfg.Catalog == nil {
		return nil, errors.New("ingest: Store and Catalog are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Clock = clock.Or(cfg.Clock)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	in := &Ingest{cfg: cfg, log: cfg.Logger.With("component", "ingest"), trusted: map[string]bool{}, m: m}
	for _, k := range cfg.TrustedKeys {
		in.trusted[k] = true
	}
	return in, nil
}

// Register adds PutEvents and TestEventPattern to svc.
func (in *Ingest) Register(svc *awsapi.Service) {
	awsapi.Handle(svc, "PutEvents", in.PutEvents)
	awsapi.Handle(svc, "TestEventPattern", in.TestEventPattern)
}

// PutEventsInput is PutEvents' request.
type PutEventsInput struct {
	Entries    []Entry `json:"Entries"`
	EndpointId *string `json:"EndpointId,omitempty"`
}

// PutEventsResultEntry is one entry of PutEvents' answer: an EventId, or an
// ErrorCode and ErrorMessage.
type PutEventsResultEntry struct {
	EventId      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// PutEventsOutput is PutEvents' answer.
type PutEventsOutput struct {
	Entries          []PutEventsResultEntry `json:"Entries"`
	FailedEntryCount int                    `json:"FailedEntryCount"`
}

// envelopeRoom is about what an envelope adds to its entry: the version, id,
// account, time, region and member names.
const envelopeRoom = 256

// PutEvents validates each entry on its own, stores the good ones on their
// buses, and reports each entry's EventId or error. It answers only after
// JetStream has stored every event it reports an EventId for. When the store
// did not answer and stored none of them, the whole call fails with
// ServiceUnavailable (HTTP 503), which SDKs retry; a store that refuses
// (full) fails the entries, with InternalFailure.
func (in *Ingest) PutEvents(ctx context.Context, req *PutEventsInput) (*PutEventsOutput, error) {
	endpoint := ""
	if req.EndpointId != nil {
		endpoint = *req.EndpointId
	}
	if err := ValidateRequest(req.Entries, &endpoint); err != nil {
		return nil, err
	}
	size := RequestSize(req.Entries)
	in.m.requestSize.Observe(float64(size))
	caller := awsapi.CallerFrom(ctx)
	trusted := in.trusted[caller.AccessKeyID]
	sc := caller.ScopeOr(scope.Scope{Account: in.cfg.Account, Region: in.cfg.Region})
	now := in.cfg.Clock.Now()
	out := &PutEventsOutput{Entries: make([]PutEventsResultEntry, len(req.Entries))}

	// Entries grouped by bus, in order, so each bus gets one pipelined batch.
	type pending struct {
		idx int
		id  string
		msg store.Message
	}
	var order []string
	byBus := map[string][]pending{}
	// The call's envelopes share one buffer (room for the entries and the
	// envelope's own members), each a full slice of it: the store frames
	// them into the bus message without a copy of each before.
	envelopes := make([]byte, 0, size+envelopeRoom*len(req.Entries))
	for i := range req.Entries {
		e := &req.Entries[i]
		if ee := e.Validate(trusted); ee != nil {
			out.Entries[i] = PutEventsResultEntry{ErrorCode: ee.Code, ErrorMessage: ee.Message}
			continue
		}
		bus, ok := in.busID(ctx, sc, e.EventBusName)
		if !ok && strings.HasPrefix(e.EventBusName, "arn:") {
			bus, ok = in.otherAccountBus(ctx, caller, sc, e.EventBusName, &out.Entries[i])
			if !ok && out.Entries[i].ErrorCode != "" {
				continue
			}
		}
		if !ok {
			// EventBridge accepts an entry for a bus that does not exist: it has an event id,
			// and reaches no rule. It is counted, and logged at debug level.
			out.Entries[i] = PutEventsResultEntry{EventId: event.NewID()}
			in.m.unknownBus.Inc()
			in.log.DebugContext(ctx, "event for a bus that does not exist dropped", "bus", e.EventBusName,
				"event_id", out.Entries[i].EventId)
			continue
		}
		id := event.NewID()
		ev := e.Envelope(id, sc.Account, sc.Region, now)
		start := len(envelopes)
		envelopes = ev.AppendJSON(envelopes)
		data := envelopes[start:len(envelopes):len(envelopes)]
		if _, seen := byBus[bus]; !seen {
			order = append(order, bus)
		}
		// No message id: every entry has a new event id, so JetStream's
		// duplicate window could never match one, and keeping ids in it cost
		// 4% of the CPU at 17,000 events/s. The router reads the id from the
		// event itself.
		byBus[bus] = append(byBus[bus], pending{idx: i, id: id, msg: store.Message{Data: data}})
	}
	stored, unavailable := 0, 0
	for _, bus := range order {
		ps := byBus[bus]
		msgs := make([]store.Message, len(ps))
		for j, p := range ps {
			msgs[j] = p.msg
		}
		errs, err := in.publish(ctx, bus, msgs)
		for j, p := range ps {
			var perr error
			if errs != nil {
				perr = errs[j]
			} else {
				perr = err
			}
			if perr != nil {
				in.log.ErrorContext(ctx, "storing an event failed", "bus", bus, "err", perr)
				out.Entries[p.idx] = PutEventsResultEntry{ErrorCode: "InternalFailure", ErrorMessage: "Internal service error."}
				if store.Unavailable(perr) {
					unavailable++
				}
				continue
			}
			stored++
			out.Entries[p.idx] = PutEventsResultEntry{EventId: p.id}
		}
	}
	for _, e := range out.Entries {
		if e.ErrorCode != "" {
			out.FailedEntryCount++
		}
	}
	in.m.entries.Add(float64(len(req.Entries)))
	in.m.failedEntries.Add(float64(out.FailedEntryCount))
	if stored == 0 && unavailable > 0 {
		// The store did not answer (two of three NATS servers down, say):
		// the call fails as a whole, with a status SDKs retry on their own,
		// rather than as a 200 whose failed entries a caller may not read.
		return nil, awsapi.NewError(awsapi.CodeServiceUnavailable)
	}
	return out, nil
}

// publish stores msgs on bus, creating the bus's stream first if the router
// has not done so yet (a bus created a moment ago).
func (in *Ingest) publish(ctx context.Context, bus string, msgs []store.Message) ([]error, error) {
	errs, err := in.cfg.Store.PublishEvents(ctx, bus, msgs)
	if err == nil || !noStream(errs, err) {
		return errs, err
	}
	if _, err := in.cfg.Store.EnsureBus(ctx, bus); err != nil {
		return nil, fmt.Errorf("ingest: creating the stream of bus %s: %w", bus, err)
	}
	return in.cfg.Store.PublishEvents(ctx, bus, msgs)
}

func noStream(errs []error, err error) bool {
	is := func(e error) bool {
		return errors.Is(e, jetstream.ErrNoStreamResponse) || errors.Is(e, jetstream.ErrStreamNotFound)
	}
	if is(err) {
		return true
	}
	for _, e := range errs {
		if e != nil && is(e) {
			return true
		}
	}
	return false
}

// busID resolves an entry's EventBusName (a name, an ARN, or empty for the
// default bus) in scope sc to the ID (catalog.BusID) of a bus that exists.
// The scope's default bus is made on its first use.
func (in *Ingest) busID(ctx context.Context, sc scope.Scope, s string) (string, bool) {
	name := s
	switch {
	case s == "":
		name = catalog.DefaultBusName
	case strings.HasPrefix(s, "arn:"):
		n, ok := in.cfg.Catalog.In(sc).BusNameFromARN(s)
		if !ok {
			return "", false
		}
		name = n
	}
	id := in.cfg.Catalog.BusID(sc, name)
	if in.cfg.Buses != nil && in.cfg.Buses.HasBus(id) {
		return id, true
	}
	cat := in.cfg.Catalog.In(sc)
	if _, err := cat.Bus(ctx, name); err != nil {
		if name != catalog.DefaultBusName || !errors.Is(err, catalog.ErrNotFound) {
			return "", false
		}
		if _, err := cat.EnsureDefault(ctx); err != nil {
			in.log.ErrorContext(ctx, "making a scope's default bus", "account", sc.Account, "region", sc.Region, "err", err)
			return "", false
		}
	}
	return id, true
}

// otherAccountBus resolves the ARN of another account's bus (in the caller's
// region) that the bus's resource policy lets the caller put events on. A bus
// whose policy does not, or that does not exist, fills the entry's
// AccessDeniedException, as AWS answers it (AWS does not say which).
func (in *Ingest) otherAccountBus(ctx context.Context, caller awsapi.Caller, sc scope.Scope, arn string, out *PutEventsResultEntry) (string, bool) {
	bsc, ref, ok := catalog.ParseResourceARN(arn)
	if !ok || ref.Kind != catalog.KindBus || bsc.Region != sc.Region || bsc.Account == sc.Account {
		return "", false
	}
	principal := "arn:aws:iam::" + sc.Account + ":root"
	if caller.Identity != nil {
		principal = caller.Identity.ARN
	} else if caller.AccessKeyID != "" {
		principal = "arn:aws:iam::" + sc.Account + ":user/" + caller.AccessKeyID
	}
	if b, err := in.cfg.Catalog.In(bsc).Bus(ctx, ref.Name); err == nil && b.Policy != "" {
		if d, err := policy.Parse(b.Policy); err == nil && d.Allows(policy.Request{Account: sc.Account, PrincipalARN: principal,
			Action: "events:PutEvents", Resource: b.ARN}) {
			return in.cfg.Catalog.BusID(bsc, ref.Name), true
		}
	}
	*out = PutEventsResultEntry{ErrorCode: "AccessDeniedException", ErrorMessage: "User: " + principal +
		" is not authorized to perform: events:PutEvents on resource: " + arn + " because no resource-based policy allows the events:PutEvents action"}
	return "", false
}

// TestEventPatternInput is TestEventPattern's request.
type TestEventPatternInput struct {
	EventPattern *string `json:"EventPattern"`
	Event        *string `json:"Event"`
}

// TestEventPatternOutput is TestEventPattern's answer.
type TestEventPatternOutput struct {
	Result bool `json:"Result"`
}

// TestEventPattern answers whether Event matches EventPattern, with AWS's
// errors for an invalid pattern (InvalidEventPatternException) or event
// (ValidationException "Parameter Event is not valid.").
func (in *Ingest) TestEventPattern(ctx context.Context, req *TestEventPatternInput) (*TestEventPatternOutput, error) {
	v := awsapi.NewValidator()
	v.Required("eventPattern", req.EventPattern != nil)
	v.Required("event", req.Event != nil)
	if err := v.Err(); err != nil {
		return nil, err
	}
	ok, err := pattern.Test([]byte(*req.EventPattern), []byte(*req.Event), in.cfg.PatternOptions...)
	if err != nil {
		return nil, eventbridge.PatternError(err)
	}
	return &TestEventPatternOutput{Result: ok}, nil
}
