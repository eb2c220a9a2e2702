package eventbridge

import (
	"context"
	"errors"
	"strings"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/paging"
)

// CreateEventBusInput is AWS's CreateEventBusRequest.
type CreateEventBusInput struct {
	Name             *string                   `json:"Name"`
	EventSourceName  *string                   `json:"EventSourceName"`
	Description      *string                   `json:"Description"`
	KmsKeyIdentifier *string                   `json:"KmsKeyIdentifier"`
	DeadLetterConfig *catalog.DeadLetterConfig `json:"DeadLetterConfig"`
	LogConfig        *catalog.LogConfig        `json:"LogConfig"`
	Tags             []Tag                     `json:"Tags"`
}

// CreateEventBusOutput is AWS's CreateEventBusResponse.
type CreateEventBusOutput struct {
	EventBusArn      string                    `json:"EventBusArn,omitempty"`
	Description      string                    `json:"Description,omitempty"`
	KmsKeyIdentifier string                    `json:"KmsKeyIdentifier,omitempty"`
	DeadLetterConfig *catalog.DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	LogConfig        *catalog.LogConfig        `json:"LogConfig,omitempty"`
}

// checkBusDeadLetter refuses a bus dead-letter queue that is not a standard
// SQS queue.
func checkBusDeadLetter(d *catalog.DeadLetterConfig) error {
	if d != nil && d.Arn != "" && !isSQSArn(d.Arn) {
		return awsapi.ValidationError(msgDeadLetterNotSQS(d.Arn))
	}
	return checkDeadLetterFIFO(d)
}

// checkDeadLetterFIFO refuses a FIFO queue as a dead-letter queue, as
// PutTargets does on AWS: a dead letter belongs to no message group.
func checkDeadLetterFIFO(d *catalog.DeadLetterConfig) error {
	if d != nil && isSQSArn(d.Arn) && strings.HasSuffix(d.Arn, ".fifo") {
		return awsapi.ValidationError("SQS FIFO is not supported by Dead Letter Queues.")
	}
	return nil
}

// CreateEventBus creates a custom event bus.
func (s *Service) CreateEventBus(ctx context.Context, in *CreateEventBusInput) (*CreateEventBusOutput, error) {
	if err := s.validate("CreateEventBus", in); err != nil {
		return nil, err
	}
	name := *in.Name
	if in.EventSourceName != nil {
		// Partner buses are named after a partner event source; Conveyor
		// has no partner sources.
		return nil, errEventSourceNotFound(*in.EventSourceName)
	}
	if strings.Contains(name, "/") {
		return nil, errBusNameSlash()
	}
	if err := checkBusDeadLetter(in.DeadLetterConfig); err != nil {
		return nil, err
	}
	tags := catalog.Tags{}
	if applyTags(tags, in.Tags) {
		return nil, errTooManyTags()
	}
	if len(tags) == 0 {
		tags = nil
	}
	b, err := s.in(ctx).CreateBus(ctx, catalog.Bus{
		Name:             name,
		Description:      deref(in.Description),
		KmsKeyIdentifier: deref(in.KmsKeyIdentifier),
		DeadLetterConfig: nonEmptyDLQ(in.DeadLetterConfig),
		LogConfig:        in.LogConfig,
		Tags:             tags,
	})
	if errors.Is(err, catalog.ErrExists) {
		return nil, errBusExists(name)
	}
	if err != nil {
		return nil, internal("CreateEventBus", err)
	}
	s.written(ctx, "CreateEventBus")
	return &CreateEventBusOutput{EventBusArn: b.ARN, Description: b.Description, KmsKeyIdentifier: b.KmsKeyIdentifier,
		DeadLetterConfig: b.DeadLetterConfig, LogConfig: b.LogConfig}, nil
}

func nonEmptyDLQ(d *catalog.DeadLetterConfig) *catalog.DeadLetterConfig {
	if d == nil || d.Arn == "" {
		return nil
	}
	return d
}

// DescribeEventBusInput is AWS's DescribeEventBusRequest.
type DescribeEventBusInput struct {
	Name *string `json:"Name"`
}

// DescribeEventBusOutput is AWS's DescribeEventBusResponse.
type DescribeEventBusOutput struct {
	Name             string                    `json:"Name"`
	Arn              string                    `json:"Arn"`
	Description      string                    `json:"Description,omitempty"`
	KmsKeyIdentifier string                    `json:"KmsKeyIdentifier,omitempty"`
	DeadLetterConfig *catalog.DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	Policy           string                    `json:"Policy,omitempty"`
	LogConfig        *catalog.LogConfig        `json:"LogConfig,omitempty"`
	CreationTime     awsapi.Timestamp          `json:"CreationTime,omitzero"`
	LastModifiedTime awsapi.Timestamp          `json:"LastModifiedTime,omitzero"`
}

// DescribeEventBus describes a bus given by name or ARN (the default bus
// when Name is absent).
func (s *Service) DescribeEventBus(ctx context.Context, in *DescribeEventBusInput) (*DescribeEventBusOutput, error) {
	if err := s.validate("DescribeEventBus", in); err != nil {
		return nil, err
	}
	b, err := s.resolveBus(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	return &DescribeEventBusOutput{Name: b.Name, Arn: b.ARN, Description: b.Description, KmsKeyIdentifier: b.KmsKeyIdentifier,
		DeadLetterConfig: b.DeadLetterConfig, Policy: b.Policy, LogConfig: b.LogConfig,
		CreationTime: ts(b.CreationTime), LastModifiedTime: ts(b.LastModifiedTime)}, nil
}

// ListEventBusesInput is AWS's ListEventBusesRequest.
type ListEventBusesInput struct {
	NamePrefix *string `json:"NamePrefix"`
	NextToken  *string `json:"NextToken"`
	Limit      *int    `json:"Limit"`
}

// EventBus is AWS's EventBus shape (an item of ListEventBuses).
type EventBus struct {
	Name             string           `json:"Name"`
	Arn              string           `json:"Arn"`
	Description      string           `json:"Description,omitempty"`
	Policy           string           `json:"Policy,omitempty"`
	CreationTime     awsapi.Timestamp `json:"CreationTime,omitzero"`
	LastModifiedTime awsapi.Timestamp `json:"LastModifiedTime,omitzero"`
}

// ListEventBusesOutput is AWS's ListEventBusesResponse.
type ListEventBusesOutput struct {
	EventBuses []EventBus `json:"EventBuses"`
	NextToken  *string    `json:"NextToken,omitempty"`
}

// ListEventBuses lists the buses by name.
func (s *Service) ListEventBuses(ctx context.Context, in *ListEventBusesInput) (*ListEventBusesOutput, error) {
	if err := s.validate("ListEventBuses", in); err != nil {
		return nil, err
	}
	query := paging.Query("ListEventBuses", deref(in.NamePrefix))
	after, err := paging.After(in.NextToken, query)
	if err != nil {
		return nil, err
	}
	buses, err := s.in(ctx).Buses(ctx)
	if err != nil {
		return nil, internal("ListEventBuses", err)
	}
	buses = filterPrefix(buses, deref(in.NamePrefix), func(b *catalog.Bus) string { return b.Name })
	pg, next := paging.Page(buses, func(b *catalog.Bus) string { return b.Name }, in.Limit, query, after)
	out := &ListEventBusesOutput{EventBuses: make([]EventBus, 0, len(pg)), NextToken: next}
	for _, b := range pg {
		out.EventBuses = append(out.EventBuses, EventBus{Name: b.Name, Arn: b.ARN, Description: b.Description, Policy: b.Policy,
			CreationTime: ts(b.CreationTime), LastModifiedTime: ts(b.LastModifiedTime)})
	}
	return out, nil
}

func filterPrefix[T any](items []T, prefix string, name func(T) string) []T {
	if prefix == "" {
		return items
	}
	out := items[:0:0]
	for _, it := range items {
		if strings.HasPrefix(name(it), prefix) {
			out = append(out, it)
		}
	}
	return out
}

// UpdateEventBusInput is AWS's UpdateEventBusRequest.
type UpdateEventBusInput struct {
	Name             *string                   `json:"Name"`
	KmsKeyIdentifier *string                   `json:"KmsKeyIdentifier"`
	Description      *string                   `json:"Description"`
	DeadLetterConfig *catalog.DeadLetterConfig `json:"DeadLetterConfig"`
	LogConfig        *catalog.LogConfig        `json:"LogConfig"`
}

// UpdateEventBusOutput is AWS's UpdateEventBusResponse.
type UpdateEventBusOutput struct {
	Arn              string                    `json:"Arn"`
	Name             string                    `json:"Name"`
	KmsKeyIdentifier string                    `json:"KmsKeyIdentifier,omitempty"`
	Description      string                    `json:"Description,omitempty"`
	DeadLetterConfig *catalog.DeadLetterConfig `json:"DeadLetterConfig,omitempty"`
	LogConfig        *catalog.LogConfig        `json:"LogConfig,omitempty"`
}

// UpdateEventBus changes a bus's description, KMS key, dead-letter queue
// and log configuration (the default bus when Name is absent). Members left
// out keep their values; an empty Description, KmsKeyIdentifier or
// DeadLetterConfig.Arn clears the setting.
func (s *Service) UpdateEventBus(ctx context.Context, in *UpdateEventBusInput) (*UpdateEventBusOutput, error) {
	if err := s.validate("UpdateEventBus", in); err != nil {
		return nil, err
	}
	if err := checkBusDeadLetter(in.DeadLetterConfig); err != nil {
		return nil, err
	}
	name := s.busName(ctx, in.Name)
	b, err := s.in(ctx).UpdateBus(ctx, name, func(b *catalog.Bus) error {
		if in.Description != nil {
			b.Description = *in.Description
		}
		if in.KmsKeyIdentifier != nil {
			b.KmsKeyIdentifier = *in.KmsKeyIdentifier
		}
		if in.DeadLetterConfig != nil {
			b.DeadLetterConfig = nonEmptyDLQ(in.DeadLetterConfig)
		}
		if in.LogConfig != nil {
			b.LogConfig = in.LogConfig
		}
		return nil
	})
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, errBusNotFound(name)
	}
	if err != nil {
		return nil, internal("UpdateEventBus", err)
	}
	s.written(ctx, "UpdateEventBus")
	return &UpdateEventBusOutput{Arn: b.ARN, Name: b.Name, KmsKeyIdentifier: b.KmsKeyIdentifier, Description: b.Description,
		DeadLetterConfig: b.DeadLetterConfig, LogConfig: b.LogConfig}, nil
}

// DeleteEventBusInput is AWS's DeleteEventBusRequest.
type DeleteEventBusInput struct {
	Name *string `json:"Name"`
}

// DeleteEventBusOutput is the (empty) response of DeleteEventBus.
type DeleteEventBusOutput struct{}

// DeleteEventBus deletes a custom bus and its rules. Deleting a bus that
// does not exist succeeds, as on AWS; the default bus cannot be deleted.
func (s *Service) DeleteEventBus(ctx context.Context, in *DeleteEventBusInput) (*DeleteEventBusOutput, error) {
	if err := s.validate("DeleteEventBus", in); err != nil {
		return nil, err
	}
	if *in.Name == catalog.DefaultBusName {
		return nil, errDeleteDefaultBus()
	}
	if _, err := s.in(ctx).DeleteBus(ctx, *in.Name); err != nil {
		return nil, internal("DeleteEventBus", err)
	}
	s.written(ctx, "DeleteEventBus")
	return &DeleteEventBusOutput{}, nil
}
