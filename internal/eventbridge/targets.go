package eventbridge

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/paging"
	"github.com/conveyor/conveyor/transform"
)

// TargetInput is AWS's Target shape as PutTargets receives it; the optional
// strings are pointers so that an absent member and an empty one differ, as
// they do for AWS's validation.
type TargetInput struct {
	Id                *string                    `json:"Id"`
	Arn               *string                    `json:"Arn"`
	RoleArn           *string                    `json:"RoleArn"`
	Input             *string                    `json:"Input"`
	InputPath         *string                    `json:"InputPath"`
	InputTransformer  *catalog.InputTransformer  `json:"InputTransformer"`
	HttpParameters    *catalog.HttpParameters    `json:"HttpParameters"`
	RetryPolicy       *catalog.RetryPolicy       `json:"RetryPolicy"`
	DeadLetterConfig  *catalog.DeadLetterConfig  `json:"DeadLetterConfig"`
	SqsParameters     *catalog.SqsParameters     `json:"SqsParameters"`
	KinesisParameters *catalog.KinesisParameters `json:"KinesisParameters"`

	RunCommandParameters        json.RawMessage `json:"RunCommandParameters"`
	EcsParameters               json.RawMessage `json:"EcsParameters"`
	BatchParameters             json.RawMessage `json:"BatchParameters"`
	RedshiftDataParameters      json.RawMessage `json:"RedshiftDataParameters"`
	SageMakerPipelineParameters json.RawMessage `json:"SageMakerPipelineParameters"`
	AppSyncParameters           json.RawMessage `json:"AppSyncParameters"`
}

func (t *TargetInput) spec() transform.Spec {
	s := transform.Spec{TargetID: deref(t.Id), Input: t.Input, InputPath: t.InputPath}
	if it := t.InputTransformer; it != nil {
		s.InputTransformer = &transform.InputTransformer{InputPathsMap: it.InputPathsMap, InputTemplate: it.InputTemplate}
	}
	return s
}

func (t *TargetInput) record() catalog.Target {
	return catalog.Target{
		Id: deref(t.Id), Arn: deref(t.Arn), RoleArn: deref(t.RoleArn),
		Input: deref(t.Input), InputPath: deref(t.InputPath), InputTransformer: t.InputTransformer,
		HttpParameters: t.HttpParameters, RetryPolicy: t.RetryPolicy, DeadLetterConfig: nonEmptyDLQ(t.DeadLetterConfig),
		SqsParameters: t.SqsParameters, KinesisParameters: t.KinesisParameters,
		RunCommandParameters: t.RunCommandParameters, EcsParameters: t.EcsParameters, BatchParameters: t.BatchParameters,
		RedshiftDataParameters: t.RedshiftDataParameters, SageMakerPipelineParameters: t.SageMakerPipelineParameters,
		AppSyncParameters: t.AppSyncParameters,
	}
}

// PutTargetsInput is AWS's PutTargetsRequest.
type PutTargetsInput struct {
	Rule         *string       `json:"Rule"`
	EventBusName *string       `json:"EventBusName"`
	Targets      []TargetInput `json:"Targets"`
}

// FailedEntry is AWS's PutTargetsResultEntry and RemoveTargetsResultEntry.
type FailedEntry struct {
	TargetId     string `json:"TargetId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// PutTargetsOutput is AWS's PutTargetsResponse.
type PutTargetsOutput struct {
	FailedEntryCount int           `json:"FailedEntryCount"`
	FailedEntries    []FailedEntry `json:"FailedEntries"`
}

// PutTargets adds targets to a rule or replaces those with the same Id. A
// request that breaks the request shape, whose Input, InputPath or
// InputTransformer is invalid, or that names a target delivery cannot reach
// (Config.Targets: a service Conveyor does not deliver to, an ARN not in
// its service's form, an unconfigured kind) is refused whole
// (ValidationException), as AWS refuses a target it does not support; a
// target whose dead-letter queue is not an SQS queue is reported in
// FailedEntries while the others are stored. A rule has at most
// MaxTargetsPerRule targets (LimitExceededException).
func (s *Service) PutTargets(ctx context.Context, in *PutTargetsInput) (*PutTargetsOutput, error) {
	if err := s.validate("PutTargets", in); err != nil {
		return nil, err
	}
	// AWS's pattern for path parameters, ^(?!\s*$).+, has no RE2 form: the
	// model cannot check it.
	var x awsapi.Validator
	for i := range in.Targets {
		if hp := in.Targets[i].HttpParameters; hp != nil {
			for j, pv := range hp.PathParameterValues {
				if strings.TrimSpace(pv) == "" {
					x.Violation("targets."+strconv.Itoa(i+1)+".member.httpParameters.pathParameterValues."+strconv.Itoa(j+1)+".member",
						&pv, `Member must satisfy regular expression pattern: ^(?!\s*$).+`)
				}
			}
		}
	}
	if err := x.Err(); err != nil {
		return nil, err
	}
	for i := range in.Targets {
		if err := s.targets.Check(*in.Targets[i].Arn); err != nil {
			return nil, errTargetArn(*in.Targets[i].Arn, err)
		}
		if _, err := transform.Compile(in.Targets[i].spec()); err != nil {
			return nil, awsapi.ValidationError(err.Error())
		}
		// A FIFO queue takes messages of a group only.
		if t := &in.Targets[i]; isSQSArn(*t.Arn) && strings.HasSuffix(*t.Arn, ".fifo") &&
			(t.SqsParameters == nil || t.SqsParameters.MessageGroupId == "") {
			return nil, awsapi.ValidationError("Parameter(s) SqsParameters must be specified for target: " + *t.Id + ".")
		}
		if err := checkDeadLetterFIFO(in.Targets[i].DeadLetterConfig); err != nil {
			return nil, err
		}
	}
	out := &PutTargetsOutput{FailedEntries: []FailedEntry{}}
	var accepted []catalog.Target
	for i := range in.Targets {
		t := &in.Targets[i]
		if t.DeadLetterConfig != nil && t.DeadLetterConfig.Arn != "" && !isSQSArn(t.DeadLetterConfig.Arn) {
			out.FailedEntries = append(out.FailedEntries, FailedEntry{TargetId: *t.Id, ErrorCode: entryValidation,
				ErrorMessage: msgDeadLetterNotSQS(t.DeadLetterConfig.Arn)})
			continue
		}
		accepted = append(accepted, t.record())
	}
	out.FailedEntryCount = len(out.FailedEntries)
	bus, err := s.resolveBus(ctx, in.EventBusName)
	if err != nil {
		return nil, err
	}
	_, err = s.in(ctx).MutateRule(ctx, bus.Name, *in.Rule, func(cur *catalog.Rule) (*catalog.Rule, error) {
		switch {
		case cur == nil:
			return nil, errRuleNotFound(*in.Rule, bus.Name)
		case cur.ManagedBy != "":
			return nil, errManagedRule(cur.Name, cur.ManagedBy)
		}
		for _, t := range accepted {
			if old := cur.Target(t.Id); old != nil {
				*old = t
			} else {
				cur.Targets = append(cur.Targets, t)
			}
		}
		if len(cur.Targets) > MaxTargetsPerRule {
			return nil, errLimitExceeded()
		}
		return cur, nil
	})
	if err != nil {
		return nil, internal("PutTargets", err)
	}
	s.written(ctx, "PutTargets")
	return out, nil
}

// RemoveTargetsInput is AWS's RemoveTargetsRequest.
type RemoveTargetsInput struct {
	Rule         *string  `json:"Rule"`
	EventBusName *string  `json:"EventBusName"`
	Ids          []string `json:"Ids"`
	Force        bool     `json:"Force"`
}

// RemoveTargetsOutput is AWS's RemoveTargetsResponse.
type RemoveTargetsOutput struct {
	FailedEntryCount int           `json:"FailedEntryCount"`
	FailedEntries    []FailedEntry `json:"FailedEntries"`
}

// RemoveTargets removes targets from a rule; ids the rule does not have
// are reported in FailedEntries. A managed rule's targets are removed only
// with Force.
func (s *Service) RemoveTargets(ctx context.Context, in *RemoveTargetsInput) (*RemoveTargetsOutput, error) {
	if err := s.validate("RemoveTargets", in); err != nil {
		return nil, err
	}
	bus, err := s.resolveBus(ctx, in.EventBusName)
	if err != nil {
		return nil, err
	}
	var failed []FailedEntry
	_, err = s.in(ctx).MutateRule(ctx, bus.Name, *in.Rule, func(cur *catalog.Rule) (*catalog.Rule, error) {
		switch {
		case cur == nil:
			return nil, errRuleNotFound(*in.Rule, bus.Name)
		case cur.ManagedBy != "" && !in.Force:
			return nil, errManagedRule(cur.Name, cur.ManagedBy)
		}
		failed = []FailedEntry{}
		for _, id := range in.Ids {
			i := slices.IndexFunc(cur.Targets, func(t catalog.Target) bool { return t.Id == id })
			if i < 0 {
				failed = append(failed, FailedEntry{TargetId: id, ErrorCode: entryNotFound, ErrorMessage: msgTargetNotFound(cur.Name, id)})
				continue
			}
			cur.Targets = slices.Delete(cur.Targets, i, i+1)
		}
		return cur, nil
	})
	if err != nil {
		return nil, internal("RemoveTargets", err)
	}
	s.written(ctx, "RemoveTargets")
	return &RemoveTargetsOutput{FailedEntryCount: len(failed), FailedEntries: failed}, nil
}

// ListTargetsByRuleInput is AWS's ListTargetsByRuleRequest.
type ListTargetsByRuleInput struct {
	Rule         *string `json:"Rule"`
	EventBusName *string `json:"EventBusName"`
	NextToken    *string `json:"NextToken"`
	Limit        *int    `json:"Limit"`
}

// ListTargetsByRuleOutput is AWS's ListTargetsByRuleResponse.
type ListTargetsByRuleOutput struct {
	Targets   []catalog.Target `json:"Targets"`
	NextToken *string          `json:"NextToken,omitempty"`
}

// ListTargetsByRule lists a rule's targets by Id.
func (s *Service) ListTargetsByRule(ctx context.Context, in *ListTargetsByRuleInput) (*ListTargetsByRuleOutput, error) {
	if err := s.validate("ListTargetsByRule", in); err != nil {
		return nil, err
	}
	ref := ruleRef{"rule", in.Rule, in.EventBusName}
	r, err := s.rule(ctx, ref)
	if err != nil {
		return nil, err
	}
	query := paging.Query("ListTargetsByRule", r.EventBusName, r.Name)
	after, err := paging.After(in.NextToken, query)
	if err != nil {
		return nil, err
	}
	targets := slices.Clone(r.Targets)
	slices.SortFunc(targets, func(a, b catalog.Target) int { return strings.Compare(a.Id, b.Id) })
	pg, next := paging.Page(targets, func(t catalog.Target) string { return t.Id }, in.Limit, query, after)
	if pg == nil {
		pg = []catalog.Target{}
	}
	return &ListTargetsByRuleOutput{Targets: pg, NextToken: next}, nil
}
