package eventbridge

import (
	"context"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/explain"
	"github.com/conveyor/conveyor/internal/schedule"
)

// ConveyorTargetPrefix is the X-Amz-Target prefix of Conveyor's own EventBridge operations
// (ExplainEventPattern, ExplainEventBus), beside AWS's AWSEvents.
const ConveyorTargetPrefix = "ConveyorEvents"

// NewConveyorService returns the service of Conveyor's own EventBridge operations (AWS JSON
// 1.1, X-Amz-Target ConveyorEvents.*); RegisterConveyor adds them.
func NewConveyorService() *awsapi.Service {
	return awsapi.NewService(awsapi.ServiceConfig{Name: "events", TargetPrefixes: []string{ConveyorTargetPrefix},
		JSONVersion: "1.1", InternalErrorCode: awsapi.CodeInternalException})
}

// RegisterConveyor registers Conveyor's own operations on svc (NewConveyorService()).
func (s *Service) RegisterConveyor(svc *awsapi.Service) {
	awsapi.Handle(svc, "ExplainEventPattern", s.ExplainEventPattern)
	awsapi.Handle(svc, "ExplainEventBus", s.ExplainEventBus)
	awsapi.Handle(svc, "DescribeSchedule", s.DescribeSchedule)
}

// DescribeScheduleInput is a schedule expression, as PutRule takes it.
type DescribeScheduleInput struct {
	ScheduleExpression *string `json:"ScheduleExpression"`
	// Count is how many firing times to list (default 5, at most 50).
	Count *int `json:"Count"`
}

// DescribeScheduleOutput lists when a rule with the expression, made now, would fire next.
type DescribeScheduleOutput struct {
	NextFiringTimes []awsapi.Timestamp `json:"NextFiringTimes"`
}

// DescribeSchedule answers the next firing times of a schedule expression (a rate counts from
// now, as from a rule made now), or PutRule's error for an expression it refuses.
func (s *Service) DescribeSchedule(ctx context.Context, in *DescribeScheduleInput) (*DescribeScheduleOutput, error) {
	v := awsapi.NewValidator()
	v.Required("scheduleExpression", in.ScheduleExpression != nil)
	if err := v.Err(); err != nil {
		return nil, err
	}
	n := 5
	if in.Count != nil {
		if *in.Count < 1 || *in.Count > 50 {
			return nil, awsapi.ValidationError("Count must be between 1 and 50.")
		}
		n = *in.Count
	}
	sch, err := schedule.Parse(*in.ScheduleExpression)
	if err != nil {
		return nil, errScheduleInvalid()
	}
	now := s.cat.Now()
	sch = schedule.WithAnchor(sch, now)
	out := &DescribeScheduleOutput{NextFiringTimes: []awsapi.Timestamp{}}
	for t := now; len(out.NextFiringTimes) < n; {
		if t = sch.Next(t); t.IsZero() {
			break
		}
		out.NextFiringTimes = append(out.NextFiringTimes, awsapi.NewTimestamp(t))
	}
	return out, nil
}

// ExplainEventPatternInput is TestEventPattern's request: a pattern and an event (any JSON
// object: the envelope fields TestEventPattern requires are not).
type ExplainEventPatternInput struct {
	EventPattern *string `json:"EventPattern"`
	Event        *string `json:"Event"`
}

// ExplainEventPatternOutput is TestEventPattern's Result and why: each alternative of the
// pattern (one per combination of its $or branches) with each field's condition, the event's
// values at its path, and whether they matched.
type ExplainEventPatternOutput struct {
	Result       bool                  `json:"Result"`
	Alternatives []explain.Alternative `json:"Alternatives"`
}

// ExplainEventPattern answers whether Event matches EventPattern, and why not.
func (s *Service) ExplainEventPattern(ctx context.Context, in *ExplainEventPatternInput) (*ExplainEventPatternOutput, error) {
	v := awsapi.NewValidator()
	v.Required("eventPattern", in.EventPattern != nil)
	v.Required("event", in.Event != nil)
	if err := v.Err(); err != nil {
		return nil, err
	}
	e, err := s.explain(*in.EventPattern, *in.Event)
	if err != nil {
		return nil, err
	}
	return &ExplainEventPatternOutput{Result: e.Matched, Alternatives: e.Alternatives}, nil
}

func (s *Service) explain(pat, event string) (*explain.Explanation, error) {
	if err := s.checkPattern(pat); err != nil {
		return nil, err
	}
	e, err := explain.Explain([]byte(pat), []byte(event), s.patternOpts...)
	if err != nil { // the pattern is valid: the event is not a JSON object
		return nil, awsapi.ValidationError("Parameter Event is not valid.")
	}
	return e, nil
}

// ExplainEventBusInput names a bus and an event.
type ExplainEventBusInput struct {
	EventBusName *string `json:"EventBusName"`
	Event        *string `json:"Event"`
}

// RuleExplanation is how the event fares against one rule's pattern.
type RuleExplanation struct {
	Name         string                `json:"Name"`
	Arn          string                `json:"Arn"`
	State        string                `json:"State"`
	Result       bool                  `json:"Result"`
	Alternatives []explain.Alternative `json:"Alternatives"`
}

// ExplainEventBusOutput lists every rule of the bus that has an event pattern.
type ExplainEventBusOutput struct {
	Rules []RuleExplanation `json:"Rules"`
}

// ExplainEventBus answers which rules of a bus an event would match (as their patterns go:
// a disabled rule's answer says what it would do enabled), and why not the others.
func (s *Service) ExplainEventBus(ctx context.Context, in *ExplainEventBusInput) (*ExplainEventBusOutput, error) {
	v := awsapi.NewValidator()
	v.Required("event", in.Event != nil)
	if err := v.Err(); err != nil {
		return nil, err
	}
	bus, err := s.resolveBus(ctx, in.EventBusName)
	if err != nil {
		return nil, err
	}
	rules, err := s.in(ctx).Rules(ctx, bus.Name)
	if err != nil {
		return nil, internal("ExplainEventBus", err)
	}
	out := &ExplainEventBusOutput{Rules: []RuleExplanation{}}
	for _, r := range rules {
		if r.EventPattern == "" {
			continue
		}
		e, err := s.explain(r.EventPattern, *in.Event)
		if err != nil {
			return nil, err
		}
		out.Rules = append(out.Rules, RuleExplanation{Name: r.Name, Arn: r.ARN, State: r.State, Result: e.Matched, Alternatives: e.Alternatives})
	}
	return out, nil
}
