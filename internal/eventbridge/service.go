package eventbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/targets"
	"github.com/conveyor/conveyor/pattern"
)

// DefaultMaxRulesPerBus is AWS's default quota of rules per event bus.
const DefaultMaxRulesPerBus = 300

// MaxTargetsPerRule is AWS's (fixed) limit of targets per rule.
const MaxTargetsPerRule = 5

// MaxTagsPerResource is AWS's limit of tags per resource.
const MaxTagsPerResource = 50

// Config configures New.
type Config struct {
	// Catalog holds the records. Required.
	Catalog *catalog.Catalog
	// MaxRulesPerBus is the rule quota of each bus (DefaultMaxRulesPerBus
	// if zero).
	MaxRulesPerBus int
	// MaxPatternLength is the longest event pattern accepted, in
	// characters (pattern.DefaultMaxLength if zero, no limit if negative).
	MaxPatternLength int
	// AllowHTTPEndpoints lets API destinations use plain http:// endpoints
	// on any host. AWS accepts https only; Conveyor always accepts http on
	// loopback hosts (localhost, 127.0.0.0/8, ::1) for local development.
	AllowHTTPEndpoints bool
	// NewID returns the random suffix of connection and API destination
	// ARNs (a random UUID if nil).
	NewID func() string
	// Logger gets internal errors (slog.Default() if nil).
	Logger *slog.Logger
	// AfterWrite, if set, runs after every successful change of a bus, a
	// rule or a rule's targets, before the handler answers. The server can
	// make it wait until the router has applied the catalog up to
	// Catalog.LastRevision(ctx, KindBus, KindRule), so that a PutEvents sent
	// right after a PutTargets answered is routed with the new targets
	// (AWS only promises eventual consistency here). Its error is logged,
	// not returned: the change is made.
	AfterWrite func(ctx context.Context) error
	// Targets says which target ARNs delivery can reach: PutTargets
	// refuses the others. The server gives its targets.Registry; nil checks
	// the ARN's form only (targets.ParseARN), as if every adapter were
	// configured.
	Targets TargetChecker
}

// TargetChecker says whether delivery can reach a target ARN
// (targets.Registry is one): nil, or a *targets.ARNError saying why not.
type TargetChecker interface {
	Check(arn string) error
}

// anyConfigured is the TargetChecker of a Service without one.
type anyConfigured struct{}

func (anyConfigured) Check(arn string) error {
	_, err := targets.ParseARN(arn)
	return err
}

// Service is the EventBridge control plane on one catalog.
type Service struct {
	cat         *catalog.Catalog
	maxRules    int
	patternOpts []pattern.Option
	allowHTTP   bool
	model       *awsapi.Model
	newID       func() string
	log         *slog.Logger
	afterWrite  func(ctx context.Context) error
	targets     TargetChecker
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Catalog == nil {
		return nil, errors.New("eventbridge: Config.Catalog is required")
	}
	s := &Service{cat: cfg.Catalog, maxRules: cfg.MaxRulesPerBus, allowHTTP: cfg.AllowHTTPEndpoints, newID: cfg.NewID, log: cfg.Logger,
		model: awsapi.MustLoadModel("events"), afterWrite: cfg.AfterWrite, targets: cfg.Targets}
	if s.targets == nil {
		s.targets = anyConfigured{}
	}
	if s.maxRules <= 0 {
		s.maxRules = DefaultMaxRulesPerBus
	}
	switch {
	case cfg.MaxPatternLength > 0:
		s.patternOpts = []pattern.Option{pattern.WithMaxLength(cfg.MaxPatternLength)}
	case cfg.MaxPatternLength < 0:
		s.patternOpts = []pattern.Option{pattern.WithMaxLength(0)}
	}
	if s.newID == nil {
		s.newID = newUUID
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// Register registers every operation of the service on svc (an
// awsapi.NewEventBridge() service).
func (s *Service) Register(svc *awsapi.Service) {
	awsapi.Handle(svc, "CreateEventBus", s.CreateEventBus)
	awsapi.Handle(svc, "DescribeEventBus", s.DescribeEventBus)
	awsapi.Handle(svc, "ListEventBuses", s.ListEventBuses)
	awsapi.Handle(svc, "UpdateEventBus", s.UpdateEventBus)
	awsapi.Handle(svc, "DeleteEventBus", s.DeleteEventBus)
	awsapi.Handle(svc, "PutPermission", s.PutPermission)
	awsapi.Handle(svc, "RemovePermission", s.RemovePermission)

	awsapi.Handle(svc, "PutRule", s.PutRule)
	awsapi.Handle(svc, "DescribeRule", s.DescribeRule)
	awsapi.Handle(svc, "ListRules", s.ListRules)
	awsapi.Handle(svc, "DeleteRule", s.DeleteRule)
	awsapi.Handle(svc, "EnableRule", s.EnableRule)
	awsapi.Handle(svc, "DisableRule", s.DisableRule)
	awsapi.Handle(svc, "ListRuleNamesByTarget", s.ListRuleNamesByTarget)

	awsapi.Handle(svc, "PutTargets", s.PutTargets)
	awsapi.Handle(svc, "RemoveTargets", s.RemoveTargets)
	awsapi.Handle(svc, "ListTargetsByRule", s.ListTargetsByRule)

	awsapi.Handle(svc, "CreateConnection", s.CreateConnection)
	awsapi.Handle(svc, "DescribeConnection", s.DescribeConnection)
	awsapi.Handle(svc, "ListConnections", s.ListConnections)
	awsapi.Handle(svc, "UpdateConnection", s.UpdateConnection)
	awsapi.Handle(svc, "DeleteConnection", s.DeleteConnection)
	awsapi.Handle(svc, "DeauthorizeConnection", s.DeauthorizeConnection)

	awsapi.Handle(svc, "CreateApiDestination", s.CreateApiDestination)
	awsapi.Handle(svc, "DescribeApiDestination", s.DescribeApiDestination)
	awsapi.Handle(svc, "ListApiDestinations", s.ListApiDestinations)
	awsapi.Handle(svc, "UpdateApiDestination", s.UpdateApiDestination)
	awsapi.Handle(svc, "DeleteApiDestination", s.DeleteApiDestination)

	awsapi.Handle(svc, "TagResource", s.TagResource)
	awsapi.Handle(svc, "UntagResource", s.UntagResource)
	awsapi.Handle(svc, "ListTagsForResource", s.ListTagsForResource)
}

// written runs Config.AfterWrite after a change of a bus, rule or targets.
func (s *Service) written(ctx context.Context, op string) {
	if s.afterWrite == nil {
		return
	}
	if err := s.afterWrite(ctx); err != nil {
		s.log.WarnContext(ctx, "eventbridge: after write", "operation", op, "err", err)
	}
}

// internal wraps an unexpected failure (the store's): awsapi answers it as
// InternalException and logs it.
func internal(op string, err error) error {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return ae
	}
	return fmt.Errorf("eventbridge: %s: %w", op, err)
}

// resolveBus turns an EventBusName member (a name or a bus ARN; nil means
// the default bus) into a bus name and checks that the bus exists.
func (s *Service) resolveBus(ctx context.Context, nameOrARN *string) (*catalog.Bus, error) {
	name := s.busName(ctx, nameOrARN)
	b, err := s.in(ctx).Bus(ctx, name)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, errBusNotFound(name)
	}
	if err != nil {
		return nil, internal("event bus "+name, err)
	}
	return b, nil
}

// busName returns the bus name an EventBusName member stands for, without
// looking it up: the default bus when absent, the name part of a bus ARN of
// this catalog's region and account. An ARN of another region or account
// is returned whole: no bus has that name, so the caller answers that the
// bus does not exist.
func (s *Service) busName(ctx context.Context, nameOrARN *string) string {
	if nameOrARN == nil {
		return catalog.DefaultBusName
	}
	if name, ok := s.in(ctx).BusNameFromARN(*nameOrARN); ok {
		return name
	}
	return *nameOrARN
}

func ts(t time.Time) awsapi.Timestamp { return awsapi.NewTimestamp(t) }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// in is the catalog of the caller's account and region.
func (s *Service) in(ctx context.Context) *catalog.Scoped {
	return s.cat.In(awsapi.CallerFrom(ctx).ScopeOr(s.cat.Home()))
}
