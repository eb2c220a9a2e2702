package archive

import (
	"github.com/conveyor/conveyor/internal/clock"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/eventbridge"
	"github.com/conveyor/conveyor/internal/paging"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/pattern"
)

// Router routes replayed events (see router.Router.RouteReplayed).
type Router interface {
	RouteReplayed(ctx context.Context, bus string, events [][]byte, rules []string) (int, error)
}

// Config is what the archive service works with. Store and Catalog are
// required; Router is given to Start.
type Config struct {
	Store   *store.Store
	Catalog *catalog.Catalog
	// PatternOptions apply to archive patterns (the size limit).
	PatternOptions []pattern.Option
	// AfterWrite, if set, runs after an archive's rule changed (the server
	// waits there for the router to apply it).
	AfterWrite func(context.Context) error
	// ReplayBatch is the most events handed to the router at once
	// (default 100); ReplayPause is a pause between batches (none by
	// default; tests slow replays down with it).
	ReplayBatch int
	ReplayPause time.Duration
	// ReplayLease is how long a running replay's heartbeat stays fresh;
	// after it, another process takes the replay over where it stopped
	// (default 30s).
	ReplayLease time.Duration
	// ReplayLimit is the most replays STARTING or RUNNING at once in an
	// account and region; StartReplay refuses one more with
	// LimitExceededException (default 10, AWS's quota).
	ReplayLimit int
	// Clock stamps records (the system's if nil).
	Clock  clock.Clock
	Logger *slog.Logger
}

// DefaultReplayLimit is Config.ReplayLimit's default: AWS allows 10
// concurrent replays per account and region.
const DefaultReplayLimit = 10

// Service serves the archive and replay operations and runs replays.
type Service struct {
	cfg   Config
	js    jetstream.JetStream
	recs  *records
	model *awsapi.Model
	log   *slog.Logger
	id    string // this process, as a replay runner

	router Router
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New opens the archives' KV bucket.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Catalog == nil {
		return nil, errors.New("archive: Store and Catalog are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.ReplayBatch <= 0 {
		cfg.ReplayBatch = 100
	}
	if cfg.ReplayLease <= 0 {
		cfg.ReplayLease = 30 * time.Second
	}
	if cfg.ReplayLimit <= 0 {
		cfg.ReplayLimit = DefaultReplayLimit
	}
	recs, err := openRecords(ctx, cfg.Store.JetStream(), cfg.Store.Replicas(), cfg.Logger)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, js: cfg.Store.JetStream(), recs: recs, model: awsapi.MustLoadModel("events"),
		log: cfg.Logger.With("component", "archive"), id: awsapi.NewRequestID()}, nil
}

// Register adds the archive and replay operations to svc (an
// awsapi.NewEventBridge() service).
func (s *Service) Register(svc *awsapi.Service) {
	awsapi.Handle(svc, "CreateArchive", s.CreateArchive)
	awsapi.Handle(svc, "DescribeArchive", s.DescribeArchive)
	awsapi.Handle(svc, "ListArchives", s.ListArchives)
	awsapi.Handle(svc, "UpdateArchive", s.UpdateArchive)
	awsapi.Handle(svc, "DeleteArchive", s.DeleteArchive)
	awsapi.Handle(svc, "StartReplay", s.StartReplay)
	awsapi.Handle(svc, "DescribeReplay", s.DescribeReplay)
	awsapi.Handle(svc, "ListReplays", s.ListReplays)
	awsapi.Handle(svc, "CancelReplay", s.CancelReplay)
}

func (s *Service) now() time.Time { return s.cfg.Clock.Now().UTC() }

// ArchiveARN returns the ARN of archive name of scope sc.
func ArchiveARN(sc scope.Scope, name string) string { return sc.ARN("events", "archive/"+name) }

// ReplayARN returns the ARN of replay name of scope sc.
func ReplayARN(sc scope.Scope, name string) string { return sc.ARN("events", "replay/"+name) }

// scopeOf is the account and region of the caller.
func (s *Service) scopeOf(ctx context.Context) scope.Scope {
	return awsapi.CallerFrom(ctx).ScopeOr(s.cfg.Catalog.Home())
}

// key names an archive or replay across scopes (catalog.ScopedName): its
// record's key, its stream's name.
func (s *Service) key(sc scope.Scope, name string) string { return s.cfg.Catalog.ScopedName(sc, name) }

// recordKey is the key of an archive or replay record, from its ARN.
func (s *Service) recordKey(arn, name string) string {
	a, _ := scope.ParseARN(arn)
	return s.key(a.Scope(), name)
}

// archiveOfARN returns the scope and name of the archive an archive ARN
// names.
func archiveOfARN(arn string) (scope.Scope, string, bool) {
	a, ok := scope.ParseARN(arn)
	if !ok || a.Service != "events" {
		return scope.Scope{}, "", false
	}
	name, ok := strings.CutPrefix(a.Resource, "archive/")
	return a.Scope(), name, ok && name != ""
}

// busOfARN returns the name of the bus a bus ARN names, and AWS's
// not-found error unless that bus exists in scope sc: a bus of another
// account or region is one that does not exist, as on AWS. ok is false
// when arn is not an event bus ARN.
func (s *Service) busOfARN(ctx context.Context, sc scope.Scope, arn string) (name string, ok bool, err error) {
	bsc, ref, ok := catalog.ParseResourceARN(arn)
	if !ok || ref.Kind != catalog.KindBus {
		return "", false, nil
	}
	if bsc != sc {
		return ref.Name, true, errBusNotFound(ref.Name)
	}
	if _, err := s.cfg.Catalog.In(sc).Bus(ctx, ref.Name); errors.Is(err, catalog.ErrNotFound) {
		return ref.Name, true, errBusNotFound(ref.Name)
	} else if err != nil {
		return ref.Name, true, internal("event bus "+ref.Name, err)
	}
	return ref.Name, true, nil
}

// inScope says whether the record with ARN arn belongs to scope sc.
func inScope(arn string, sc scope.Scope) bool {
	a, ok := scope.ParseARN(arn)
	return ok && a.Scope() == sc
}

func internal(op string, err error) error {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return ae
	}
	return fmt.Errorf("archive: %s: %w", op, err)
}

// checkPattern validates an archive's event pattern as PutRule does.
func (s *Service) checkPattern(p string) error {
	if err := pattern.Validate([]byte(p), s.cfg.PatternOptions...); err != nil {
		return eventbridge.PatternError(err)
	}
	return nil
}

// rulePattern is the pattern of an archive's rule: the archive's, and no
// replayed event.
func rulePattern(p string) string {
	const noReplays = `"replay-name":[{"exists":false}]`
	var top map[string]json.RawMessage
	if p == "" || json.Unmarshal([]byte(p), &top) != nil || len(top) == 0 {
		return "{" + noReplays + "}"
	}
	if _, ok := top["replay-name"]; ok {
		return p
	}
	t := strings.TrimSpace(p)
	return strings.TrimSuffix(t, "}") + "," + noReplays + "}"
}

// streamConfig is the archive's stream: the retention is its MaxAge.
func (s *Service) streamConfig(a *Archive) jetstream.StreamConfig {
	key := s.recordKey(a.ARN, a.Name)
	return jetstream.StreamConfig{
		Name:        StreamName(key),
		Description: "Conveyor archive " + a.ARN,
		Subjects:    []string{Subject(key)},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      time.Duration(a.RetentionDays) * 24 * time.Hour,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Replicas:    s.cfg.Store.Replicas(),
		Duplicates:  2 * time.Minute,
		Metadata:    map[string]string{"conveyor.archive": a.Name},
	}
}

// putRule writes the archive's managed rule (its pattern and its one
// target, the archive).
func (s *Service) putRule(ctx context.Context, a *Archive) error {
	a0, _ := scope.ParseARN(a.ARN)
	_, err := s.cfg.Catalog.In(a0.Scope()).MutateRule(ctx, a.Bus, a.RuleName(), func(cur *catalog.Rule) (*catalog.Rule, error) {
		return &catalog.Rule{
			EventPattern: rulePattern(a.EventPattern),
			State:        catalog.StateEnabled,
			Description:  "Rule of archive " + a.Name + " (managed by EventBridge)",
			ManagedBy:    ManagedBy,
			CreatedBy:    a0.Account,
			Targets:      []catalog.Target{{Id: a.RuleName(), Arn: a.ARN}},
		}, nil
	})
	if err != nil {
		return err
	}
	return s.afterWrite(ctx)
}

func (s *Service) afterWrite(ctx context.Context) error {
	if s.cfg.AfterWrite == nil {
		return nil
	}
	return s.cfg.AfterWrite(ctx)
}

// ---- CreateArchive ----

// CreateArchiveInput is AWS's CreateArchiveRequest.
type CreateArchiveInput struct {
	ArchiveName      *string `json:"ArchiveName"`
	EventSourceArn   *string `json:"EventSourceArn"`
	Description      *string `json:"Description"`
	EventPattern     *string `json:"EventPattern"`
	RetentionDays    *int    `json:"RetentionDays"`
	KmsKeyIdentifier *string `json:"KmsKeyIdentifier"`
}

// CreateArchiveOutput is AWS's CreateArchiveResponse.
type CreateArchiveOutput struct {
	ArchiveArn   string           `json:"ArchiveArn"`
	State        string           `json:"State"`
	StateReason  string           `json:"StateReason,omitempty"`
	CreationTime awsapi.Timestamp `json:"CreationTime"`
}

// CreateArchive creates an archive of the events of a bus.
func (s *Service) CreateArchive(ctx context.Context, in *CreateArchiveInput) (*CreateArchiveOutput, error) {
	if err := s.model.Validate("CreateArchive", in); err != nil {
		return nil, err
	}
	sc := s.scopeOf(ctx)
	cat := s.cfg.Catalog.In(sc)
	bus, ok, err := s.busOfARN(ctx, sc, *in.EventSourceArn)
	if !ok {
		return nil, errInvalidParameter("EventSourceArn")
	}
	if err != nil {
		return nil, err
	}
	if in.EventPattern != nil && *in.EventPattern != "" {
		if err := s.checkPattern(*in.EventPattern); err != nil {
			return nil, err
		}
	}
	a := &Archive{
		Name:             *in.ArchiveName,
		ARN:              ArchiveARN(sc, *in.ArchiveName),
		EventSourceArn:   cat.BusARN(bus),
		Bus:              bus,
		Description:      deref(in.Description),
		EventPattern:     deref(in.EventPattern),
		KmsKeyIdentifier: deref(in.KmsKeyIdentifier),
		State:            StateEnabled,
		CreationTime:     s.now(),
	}
	if in.RetentionDays != nil {
		a.RetentionDays = *in.RetentionDays
	}
	_, err = mutate(ctx, s.recs, archiveKey(s.key(sc, a.Name)), func(cur *Archive) (*Archive, error) {
		if cur != nil {
			return nil, errArchiveExists(a.Name)
		}
		return a, nil
	})
	if err != nil {
		return nil, internal("CreateArchive", err)
	}
	if _, err := s.cfg.Store.EnsureStream(ctx, s.streamConfig(a)); err != nil {
		s.undoCreate(a)
		return nil, internal("CreateArchive", err)
	}
	if err := s.putRule(ctx, a); err != nil {
		s.undoCreate(a)
		return nil, internal("CreateArchive", err)
	}
	return &CreateArchiveOutput{ArchiveArn: a.ARN, State: a.State, CreationTime: awsapi.NewTimestamp(a.CreationTime)}, nil
}

// undoCreate removes what a failed CreateArchive made.
func (s *Service) undoCreate(a *Archive) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := s.recordKey(a.ARN, a.Name)
	_ = s.js.DeleteStream(ctx, StreamName(key))
	_, _ = mutate(ctx, s.recs, archiveKey(key), func(*Archive) (*Archive, error) { return nil, nil })
}

// archive returns the archive named name of scope sc, or AWS's not-found
// error.
func (s *Service) archive(ctx context.Context, sc scope.Scope, name string) (*Archive, error) {
	a, err := s.findArchive(ctx, sc, name)
	if err == nil && a == nil {
		return nil, errArchiveNotFound(name)
	}
	return a, err
}

// findArchive returns the archive named name of scope sc, nil if there is
// none.
func (s *Service) findArchive(ctx context.Context, sc scope.Scope, name string) (*Archive, error) {
	a := new(Archive)
	rev, err := s.recs.get(ctx, archiveKey(s.key(sc, name)), a)
	if err != nil {
		return nil, internal("archive", err)
	}
	if rev == 0 {
		return nil, nil
	}
	return a, nil
}

// counts returns the number of events and bytes an archive holds.
func (s *Service) counts(ctx context.Context, a *Archive) (int64, int64) {
	st, err := s.js.Stream(ctx, StreamName(s.recordKey(a.ARN, a.Name)))
	if err != nil {
		return 0, 0
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, 0
	}
	return int64(info.State.Msgs), int64(info.State.Bytes)
}

// ---- DescribeArchive ----

// DescribeArchiveInput is AWS's DescribeArchiveRequest.
type DescribeArchiveInput struct {
	ArchiveName *string `json:"ArchiveName"`
}

// DescribeArchiveOutput is AWS's DescribeArchiveResponse.
type DescribeArchiveOutput struct {
	ArchiveArn       string           `json:"ArchiveArn"`
	ArchiveName      string           `json:"ArchiveName"`
	EventSourceArn   string           `json:"EventSourceArn"`
	Description      string           `json:"Description,omitempty"`
	EventPattern     string           `json:"EventPattern,omitempty"`
	State            string           `json:"State"`
	StateReason      string           `json:"StateReason,omitempty"`
	KmsKeyIdentifier string           `json:"KmsKeyIdentifier,omitempty"`
	RetentionDays    int              `json:"RetentionDays"`
	SizeBytes        int64            `json:"SizeBytes"`
	EventCount       int64            `json:"EventCount"`
	CreationTime     awsapi.Timestamp `json:"CreationTime"`
}

// DescribeArchive describes an archive, with its event count and size.
func (s *Service) DescribeArchive(ctx context.Context, in *DescribeArchiveInput) (*DescribeArchiveOutput, error) {
	if err := s.model.Validate("DescribeArchive", in); err != nil {
		return nil, err
	}
	a, err := s.archive(ctx, s.scopeOf(ctx), *in.ArchiveName)
	if err != nil {
		return nil, err
	}
	n, size := s.counts(ctx, a)
	return &DescribeArchiveOutput{ArchiveArn: a.ARN, ArchiveName: a.Name, EventSourceArn: a.EventSourceArn, Description: a.Description,
		EventPattern: a.EventPattern, State: a.State, StateReason: a.StateReason, KmsKeyIdentifier: a.KmsKeyIdentifier,
		RetentionDays: a.RetentionDays, SizeBytes: size, EventCount: n, CreationTime: awsapi.NewTimestamp(a.CreationTime)}, nil
}

// ---- ListArchives ----

// ListArchivesInput is AWS's ListArchivesRequest.
type ListArchivesInput struct {
	NamePrefix     *string `json:"NamePrefix"`
	EventSourceArn *string `json:"EventSourceArn"`
	State          *string `json:"State"`
	NextToken      *string `json:"NextToken"`
	Limit          *int    `json:"Limit"`
}

// ArchiveItem is AWS's Archive shape (an item of ListArchives).
type ArchiveItem struct {
	ArchiveName    string           `json:"ArchiveName"`
	EventSourceArn string           `json:"EventSourceArn"`
	State          string           `json:"State"`
	StateReason    string           `json:"StateReason,omitempty"`
	RetentionDays  int              `json:"RetentionDays"`
	SizeBytes      int64            `json:"SizeBytes"`
	EventCount     int64            `json:"EventCount"`
	CreationTime   awsapi.Timestamp `json:"CreationTime"`
}

// ListArchivesOutput is AWS's ListArchivesResponse.
type ListArchivesOutput struct {
	Archives  []ArchiveItem `json:"Archives"`
	NextToken *string       `json:"NextToken,omitempty"`
}

// ListArchives lists archives by name, filtered by name prefix, source bus
// and state.
func (s *Service) ListArchives(ctx context.Context, in *ListArchivesInput) (*ListArchivesOutput, error) {
	if err := s.model.Validate("ListArchives", in); err != nil {
		return nil, err
	}
	if err := oneFilter("ListArchives", in.NamePrefix, in.EventSourceArn, in.State); err != nil {
		return nil, err
	}
	sc := s.scopeOf(ctx)
	// A filter by a bus that does not exist is refused, as on AWS.
	if in.EventSourceArn != nil {
		if _, ok, err := s.busOfARN(ctx, sc, *in.EventSourceArn); ok && err != nil {
			return nil, err
		}
	}
	query := paging.Query("ListArchives", deref(in.NamePrefix), deref(in.EventSourceArn), deref(in.State))
	after, err := paging.After(in.NextToken, query)
	if err != nil {
		return nil, err
	}
	all, err := list(ctx, s.recs, "archive", func(a *Archive) string { return a.Name })
	if err != nil {
		return nil, internal("ListArchives", err)
	}
	var keep []*Archive
	for _, a := range all {
		if inScope(a.ARN, sc) && strings.HasPrefix(a.Name, deref(in.NamePrefix)) && (in.EventSourceArn == nil || *in.EventSourceArn == a.EventSourceArn) &&
			(in.State == nil || *in.State == a.State) && a.Name > after {
			keep = append(keep, a)
		}
	}
	pg, next := paging.Page(keep, func(a *Archive) string { return a.Name }, in.Limit, query, after)
	out := &ListArchivesOutput{Archives: make([]ArchiveItem, 0, len(pg)), NextToken: next}
	for _, a := range pg {
		n, size := s.counts(ctx, a)
		out.Archives = append(out.Archives, ArchiveItem{ArchiveName: a.Name, EventSourceArn: a.EventSourceArn, State: a.State,
			StateReason: a.StateReason, RetentionDays: a.RetentionDays, SizeBytes: size, EventCount: n,
			CreationTime: awsapi.NewTimestamp(a.CreationTime)})
	}
	return out, nil
}

// ---- UpdateArchive ----

// UpdateArchiveInput is AWS's UpdateArchiveRequest.
type UpdateArchiveInput struct {
	ArchiveName      *string `json:"ArchiveName"`
	Description      *string `json:"Description"`
	EventPattern     *string `json:"EventPattern"`
	RetentionDays    *int    `json:"RetentionDays"`
	KmsKeyIdentifier *string `json:"KmsKeyIdentifier"`
}

// UpdateArchiveOutput is AWS's UpdateArchiveResponse.
type UpdateArchiveOutput struct {
	ArchiveArn   string           `json:"ArchiveArn"`
	State        string           `json:"State"`
	StateReason  string           `json:"StateReason,omitempty"`
	CreationTime awsapi.Timestamp `json:"CreationTime"`
}

// UpdateArchive changes the members given and leaves the others.
func (s *Service) UpdateArchive(ctx context.Context, in *UpdateArchiveInput) (*UpdateArchiveOutput, error) {
	if err := s.model.Validate("UpdateArchive", in); err != nil {
		return nil, err
	}
	if in.Description == nil && in.EventPattern == nil && in.RetentionDays == nil && in.KmsKeyIdentifier == nil {
		return nil, errNothingToUpdate()
	}
	if in.EventPattern != nil && *in.EventPattern != "" {
		if err := s.checkPattern(*in.EventPattern); err != nil {
			return nil, err
		}
	}
	a, err := mutate(ctx, s.recs, archiveKey(s.key(s.scopeOf(ctx), *in.ArchiveName)), func(cur *Archive) (*Archive, error) {
		if cur == nil {
			return nil, errArchiveNotFound(*in.ArchiveName)
		}
		if in.Description != nil {
			cur.Description = *in.Description
		}
		if in.EventPattern != nil {
			cur.EventPattern = *in.EventPattern
		}
		if in.RetentionDays != nil {
			cur.RetentionDays = *in.RetentionDays
		}
		if in.KmsKeyIdentifier != nil {
			cur.KmsKeyIdentifier = *in.KmsKeyIdentifier
		}
		return cur, nil
	})
	if err != nil {
		return nil, internal("UpdateArchive", err)
	}
	if _, err := s.js.UpdateStream(ctx, s.streamConfig(a)); err != nil {
		return nil, internal("UpdateArchive", err)
	}
	if err := s.putRule(ctx, a); err != nil {
		return nil, internal("UpdateArchive", err)
	}
	return &UpdateArchiveOutput{ArchiveArn: a.ARN, State: a.State, StateReason: a.StateReason, CreationTime: awsapi.NewTimestamp(a.CreationTime)}, nil
}

// ---- DeleteArchive ----

// DeleteArchiveInput is AWS's DeleteArchiveRequest.
type DeleteArchiveInput struct {
	ArchiveName *string `json:"ArchiveName"`
}

// DeleteArchiveOutput is the (empty) DeleteArchiveResponse.
type DeleteArchiveOutput struct{}

// DeleteArchive deletes an archive, its rule and its events.
func (s *Service) DeleteArchive(ctx context.Context, in *DeleteArchiveInput) (*DeleteArchiveOutput, error) {
	if err := s.model.Validate("DeleteArchive", in); err != nil {
		return nil, err
	}
	sc := s.scopeOf(ctx)
	var gone *Archive
	_, err := mutate(ctx, s.recs, archiveKey(s.key(sc, *in.ArchiveName)), func(cur *Archive) (*Archive, error) {
		if cur == nil {
			return nil, errArchiveNotFound(*in.ArchiveName)
		}
		gone = cur
		return nil, nil
	})
	if err != nil {
		return nil, internal("DeleteArchive", err)
	}
	if _, err := s.cfg.Catalog.In(sc).MutateRule(ctx, gone.Bus, gone.RuleName(), func(*catalog.Rule) (*catalog.Rule, error) { return nil, nil }); err != nil {
		return nil, internal("DeleteArchive", err)
	}
	if err := s.afterWrite(ctx); err != nil {
		return nil, internal("DeleteArchive", err)
	}
	if err := s.js.DeleteStream(ctx, StreamName(s.key(sc, gone.Name))); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, internal("DeleteArchive", err)
	}
	return &DeleteArchiveOutput{}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
