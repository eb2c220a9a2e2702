package eventbridge

import (
	"context"
	"errors"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/paging"
	"github.com/conveyor/conveyor/internal/schedule"
	"github.com/conveyor/conveyor/pattern"
)

// PutRuleInput is AWS's PutRuleRequest.
type PutRuleInput struct {
	Name               *string `json:"Name"`
	ScheduleExpression *string `json:"ScheduleExpression"`
	EventPattern       *string `json:"EventPattern"`
	State              *string `json:"State"`
	Description        *string `json:"Description"`
	RoleArn            *string `json:"RoleArn"`
	Tags               []Tag   `json:"Tags"`
	EventBusName       *string `json:"EventBusName"`
}

// PutRuleOutput is AWS's PutRuleResponse.
type PutRuleOutput struct {
	RuleArn string `json:"RuleArn"`
}

// PutRule creates a rule or replaces the settings of an existing one (its
// targets stay, its tags are kept and the given ones added).
func (s *Service) PutRule(ctx context.Context, in *PutRuleInput) (*PutRuleOutput, error) {
	if err := s.validate("PutRule", in); err != nil {
		return nil, err
	}
	bus, err := s.resolveBus(ctx, in.EventBusName)
	if err != nil {
		return nil, err
	}
	hasPattern := in.EventPattern != nil && *in.EventPattern != ""
	hasSchedule := in.ScheduleExpression != nil && *in.ScheduleExpression != ""
	switch {
	case !hasPattern && !hasSchedule:
		return nil, errPatternOrSchedule()
	case hasSchedule && bus.Name != catalog.DefaultBusName:
		return nil, errScheduleNotOnDefaultBus()
	case hasSchedule:
		if _, err := schedule.Parse(*in.ScheduleExpression); err != nil {
			return nil, errScheduleInvalid()
		}
	}
	if hasPattern {
		if err := s.checkPattern(*in.EventPattern); err != nil {
			return nil, err
		}
	}
	state := catalog.StateEnabled
	if in.State != nil {
		state = *in.State
	}
	name := *in.Name
	created := false
	r, err := s.in(ctx).MutateRule(ctx, bus.Name, name, func(cur *catalog.Rule) (*catalog.Rule, error) {
		created = cur == nil
		next := &catalog.Rule{
			EventPattern:       deref(in.EventPattern),
			ScheduleExpression: deref(in.ScheduleExpression),
			State:              state,
			Description:        deref(in.Description),
			RoleArn:            deref(in.RoleArn),
			CreatedBy:          s.in(ctx).Scope().Account,
			Tags:               catalog.Tags{},
		}
		if cur == nil {
			n, err := s.in(ctx).CountRules(ctx, bus.Name)
			if err != nil {
				return nil, internal("PutRule", err)
			}
			if n >= s.maxRules {
				return nil, errLimitExceeded()
			}
		} else {
			if cur.ManagedBy != "" {
				return nil, errManagedRule(name, cur.ManagedBy)
			}
			next.Targets, next.CreatedBy = cur.Targets, cur.CreatedBy
			for k, val := range cur.Tags {
				next.Tags[k] = val
			}
		}
		if applyTags(next.Tags, in.Tags) {
			return nil, errTooManyTags()
		}
		if len(next.Tags) == 0 {
			next.Tags = nil
		}
		return next, nil
	})
	if err != nil {
		return nil, internal("PutRule", err)
	}
	if created {
		if err := s.keepRuleQuota(ctx, r); err != nil {
			return nil, err
		}
	}
	s.written(ctx, "PutRule")
	return &PutRuleOutput{RuleArn: r.ARN}, nil
}

// keepRuleQuota undoes the creation of rule r if PutRule calls running at
// the same time (here or in another Conveyor on the same store) have
// together created more rules than the bus's quota: each counted the rules
// before creating its own. KV
// revisions order the creations: a rule whose revision is below r's was
// created before it, so when the quota's worth of them exist, r is past the
// quota; the call deletes it and answers LimitExceededException.
func (s *Service) keepRuleQuota(ctx context.Context, r *catalog.Rule) error {
	n, err := s.in(ctx).CountRules(ctx, r.EventBusName)
	if err != nil {
		return internal("PutRule", err)
	}
	if n <= s.maxRules {
		return nil
	}
	rules, err := s.in(ctx).Rules(ctx, r.EventBusName)
	if err != nil {
		return internal("PutRule", err)
	}
	before := 0
	for _, x := range rules {
		if x.Revision < r.Revision {
			before++
		}
	}
	if before < s.maxRules {
		return nil
	}
	if _, err := s.in(ctx).DeleteRuleAt(ctx, r.EventBusName, r.Name, r.Revision); err != nil {
		return internal("PutRule", err)
	}
	return errLimitExceeded()
}

// checkPattern validates an event pattern as PutRule does.
func (s *Service) checkPattern(p string) error {
	err := pattern.Validate([]byte(p), s.patternOpts...)
	return PatternError(err)
}

// PatternError turns an error of package pattern into the AWS error
// EventBridge answers with (nil stays nil): an invalid pattern is an
// InvalidEventPatternException, a pattern too long or an event that
// TestEventPattern cannot take a ValidationException, each with the
// pattern package's message. PutRule, TestEventPattern and CreateArchive
// all answer through it.
func PatternError(err error) error {
	var ip *pattern.InvalidPatternError
	var tl *pattern.PatternTooLongError
	var ie *pattern.InvalidEventError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ip):
		return awsapi.Errorf(awsapi.CodeInvalidEventPatternException, "%s", ip.Error())
	case errors.As(err, &tl):
		return awsapi.ValidationError(tl.Error())
	case errors.As(err, &ie):
		return awsapi.ValidationError(ie.Error())
	}
	return err
}

// RuleRef names a rule: the Name (or Rule) and EventBusName members.
type ruleRef struct {
	field string // "name" or "rule"
	name  *string
	bus   *string
}

// rule returns the rule a request names, with AWS's errors for a missing
// bus or rule.
func (s *Service) rule(ctx context.Context, ref ruleRef) (*catalog.Rule, error) {
	bus, err := s.resolveBus(ctx, ref.bus)
	if err != nil {
		return nil, err
	}
	r, err := s.in(ctx).Rule(ctx, bus.Name, *ref.name)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, errRuleNotFound(*ref.name, bus.Name)
	}
	if err != nil {
		return nil, internal("rule", err)
	}
	return r, nil
}

// DescribeRuleInput is AWS's DescribeRuleRequest.
type DescribeRuleInput struct {
	Name         *string `json:"Name"`
	EventBusName *string `json:"EventBusName"`
}

// DescribeRuleOutput is AWS's DescribeRuleResponse.
type DescribeRuleOutput struct {
	Name               string `json:"Name"`
	Arn                string `json:"Arn"`
	EventPattern       string `json:"EventPattern,omitempty"`
	ScheduleExpression string `json:"ScheduleExpression,omitempty"`
	State              string `json:"State"`
	Description        string `json:"Description,omitempty"`
	RoleArn            string `json:"RoleArn,omitempty"`
	ManagedBy          string `json:"ManagedBy,omitempty"`
	EventBusName       string `json:"EventBusName"`
	CreatedBy          string `json:"CreatedBy,omitempty"`
}

// DescribeRule describes a rule.
func (s *Service) DescribeRule(ctx context.Context, in *DescribeRuleInput) (*DescribeRuleOutput, error) {
	if err := s.validate("DescribeRule", in); err != nil {
		return nil, err
	}
	r, err := s.rule(ctx, ruleRef{"name", in.Name, in.EventBusName})
	if err != nil {
		return nil, err
	}
	return &DescribeRuleOutput{Name: r.Name, Arn: r.ARN, EventPattern: r.EventPattern, ScheduleExpression: r.ScheduleExpression,
		State: r.State, Description: r.Description, RoleArn: r.RoleArn, ManagedBy: r.ManagedBy, EventBusName: r.EventBusName,
		CreatedBy: r.CreatedBy}, nil
}

// ListRulesInput is AWS's ListRulesRequest.
type ListRulesInput struct {
	NamePrefix   *string `json:"NamePrefix"`
	EventBusName *string `json:"EventBusName"`
	NextToken    *string `json:"NextToken"`
	Limit        *int    `json:"Limit"`
}

// Rule is AWS's Rule shape (an item of ListRules).
type Rule struct {
	Name               string `json:"Name"`
	Arn                string `json:"Arn"`
	EventPattern       string `json:"EventPattern,omitempty"`
	State              string `json:"State"`
	Description        string `json:"Description,omitempty"`
	ScheduleExpression string `json:"ScheduleExpression,omitempty"`
	RoleArn            string `json:"RoleArn,omitempty"`
	ManagedBy          string `json:"ManagedBy,omitempty"`
	EventBusName       string `json:"EventBusName"`
}

// ListRulesOutput is AWS's ListRulesResponse.
type ListRulesOutput struct {
	Rules     []Rule  `json:"Rules"`
	NextToken *string `json:"NextToken,omitempty"`
}

// ListRules lists the rules of a bus by name.
func (s *Service) ListRules(ctx context.Context, in *ListRulesInput) (*ListRulesOutput, error) {
	if err := s.validate("ListRules", in); err != nil {
		return nil, err
	}
	bus, err := s.resolveBus(ctx, in.EventBusName)
	if err != nil {
		return nil, err
	}
	query := paging.Query("ListRules", bus.Name, deref(in.NamePrefix))
	after, err := paging.After(in.NextToken, query)
	if err != nil {
		return nil, err
	}
	rules, err := s.in(ctx).Rules(ctx, bus.Name)
	if err != nil {
		return nil, internal("ListRules", err)
	}
	ruleName := func(r *catalog.Rule) string { return r.Name }
	rules = filterPrefix(rules, deref(in.NamePrefix), ruleName)
	pg, next := paging.Page(rules, ruleName, in.Limit, query, after)
	out := &ListRulesOutput{Rules: make([]Rule, 0, len(pg)), NextToken: next}
	for _, r := range pg {
		out.Rules = append(out.Rules, Rule{Name: r.Name, Arn: r.ARN, EventPattern: r.EventPattern, State: r.State,
			Description: r.Description, ScheduleExpression: r.ScheduleExpression, RoleArn: r.RoleArn, ManagedBy: r.ManagedBy,
			EventBusName: r.EventBusName})
	}
	return out, nil
}

// DeleteRuleInput is AWS's DeleteRuleRequest.
type DeleteRuleInput struct {
	Name         *string `json:"Name"`
	EventBusName *string `json:"EventBusName"`
	Force        bool    `json:"Force"`
}

// DeleteRuleOutput is the (empty) response of DeleteRule.
type DeleteRuleOutput struct{}

// DeleteRule deletes a rule that has no targets left. Deleting a rule that
// does not exist succeeds (AWS: "If you call delete rule multiple times for
// the same rule, all calls will succeed"); a missing bus does not. A
// managed rule is deleted only with Force.
func (s *Service) DeleteRule(ctx context.Context, in *DeleteRuleInput) (*DeleteRuleOutput, error) {
	if err := s.validate("DeleteRule", in); err != nil {
		return nil, err
	}
	bus, err := s.resolveBus(ctx, in.EventBusName)
	if err != nil {
		return nil, err
	}
	_, err = s.in(ctx).MutateRule(ctx, bus.Name, *in.Name, func(cur *catalog.Rule) (*catalog.Rule, error) {
		switch {
		case cur == nil:
			return nil, nil
		case cur.ManagedBy != "" && !in.Force:
			return nil, errManagedRule(cur.Name, cur.ManagedBy)
		case len(cur.Targets) > 0:
			return nil, errRuleHasTargets()
		}
		return nil, nil
	})
	if err != nil {
		return nil, internal("DeleteRule", err)
	}
	s.written(ctx, "DeleteRule")
	return &DeleteRuleOutput{}, nil
}

// EnableRuleInput is AWS's EnableRuleRequest.
type EnableRuleInput struct {
	Name         *string `json:"Name"`
	EventBusName *string `json:"EventBusName"`
}

// EnableRuleOutput is the (empty) response of EnableRule.
type EnableRuleOutput struct{}

// EnableRule sets a rule's state to ENABLED.
func (s *Service) EnableRule(ctx context.Context, in *EnableRuleInput) (*EnableRuleOutput, error) {
	if err := s.setState(ctx, "EnableRule", in, ruleRef{"name", in.Name, in.EventBusName}, catalog.StateEnabled); err != nil {
		return nil, err
	}
	return &EnableRuleOutput{}, nil
}

// DisableRuleInput is AWS's DisableRuleRequest.
type DisableRuleInput struct {
	Name         *string `json:"Name"`
	EventBusName *string `json:"EventBusName"`
}

// DisableRuleOutput is the (empty) response of DisableRule.
type DisableRuleOutput struct{}

// DisableRule sets a rule's state to DISABLED: it stops matching events.
func (s *Service) DisableRule(ctx context.Context, in *DisableRuleInput) (*DisableRuleOutput, error) {
	if err := s.setState(ctx, "DisableRule", in, ruleRef{"name", in.Name, in.EventBusName}, catalog.StateDisabled); err != nil {
		return nil, err
	}
	return &DisableRuleOutput{}, nil
}

func (s *Service) setState(ctx context.Context, op string, in any, ref ruleRef, state string) error {
	if err := s.validate(op, in); err != nil {
		return err
	}
	bus, err := s.resolveBus(ctx, ref.bus)
	if err != nil {
		return err
	}
	_, err = s.in(ctx).MutateRule(ctx, bus.Name, *ref.name, func(cur *catalog.Rule) (*catalog.Rule, error) {
		switch {
		case cur == nil:
			return nil, errRuleNotFound(*ref.name, bus.Name)
		case cur.ManagedBy != "":
			return nil, errManagedRule(cur.Name, cur.ManagedBy)
		}
		cur.State = state
		return cur, nil
	})
	if err != nil {
		return internal("set rule state", err)
	}
	s.written(ctx, op)
	return nil
}

// ListRuleNamesByTargetInput is AWS's ListRuleNamesByTargetRequest.
type ListRuleNamesByTargetInput struct {
	TargetArn    *string `json:"TargetArn"`
	EventBusName *string `json:"EventBusName"`
	NextToken    *string `json:"NextToken"`
	Limit        *int    `json:"Limit"`
}

// ListRuleNamesByTargetOutput is AWS's ListRuleNamesByTargetResponse.
type ListRuleNamesByTargetOutput struct {
	RuleNames []string `json:"RuleNames"`
	NextToken *string  `json:"NextToken,omitempty"`
}

// ListRuleNamesByTarget lists the rules of a bus that have a target with
// the given ARN.
func (s *Service) ListRuleNamesByTarget(ctx context.Context, in *ListRuleNamesByTargetInput) (*ListRuleNamesByTargetOutput, error) {
	if err := s.validate("ListRuleNamesByTarget", in); err != nil {
		return nil, err
	}
	bus, err := s.resolveBus(ctx, in.EventBusName)
	if err != nil {
		return nil, err
	}
	query := paging.Query("ListRuleNamesByTarget", bus.Name, *in.TargetArn)
	after, err := paging.After(in.NextToken, query)
	if err != nil {
		return nil, err
	}
	rules, err := s.in(ctx).Rules(ctx, bus.Name)
	if err != nil {
		return nil, internal("ListRuleNamesByTarget", err)
	}
	var names []string
	for _, r := range rules {
		for _, t := range r.Targets {
			if t.Arn == *in.TargetArn {
				names = append(names, r.Name)
				break
			}
		}
	}
	pg, next := paging.Page(names, func(n string) string { return n }, in.Limit, query, after)
	if pg == nil {
		pg = []string{}
	}
	return &ListRuleNamesByTargetOutput{RuleNames: pg, NextToken: next}, nil
}
