package eventbridge

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/paging"
)

// DestinationMembers are the members CreateApiDestination and
// UpdateApiDestination share.
type DestinationMembers struct {
	Description                  *string `json:"Description"`
	ConnectionArn                *string `json:"ConnectionArn"`
	InvocationEndpoint           *string `json:"InvocationEndpoint"`
	HttpMethod                   *string `json:"HttpMethod"`
	InvocationRateLimitPerSecond *int    `json:"InvocationRateLimitPerSecond"`
}

// checkEndpoint accepts https endpoints, and http ones on loopback hosts
// (or anywhere with Config.AllowHTTPEndpoints).
func (s *Service) checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return errInsecureEndpoint(endpoint)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if s.allowHTTP || isLoopback(u.Hostname()) {
			return nil
		}
	}
	return errInsecureEndpoint(endpoint)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// destinationConnection checks that the connection an API destination names
// exists.
func (s *Service) destinationConnection(ctx context.Context, verb, arn string) error {
	_, err := s.in(ctx).ConnectionByARN(ctx, arn)
	if errors.Is(err, catalog.ErrNotFound) {
		return errConnectionNotFound(verb, arn)
	}
	if err != nil {
		return internal("connection", err)
	}
	return nil
}

// CreateApiDestinationInput is AWS's CreateApiDestinationRequest.
type CreateApiDestinationInput struct {
	Name *string `json:"Name"`
	DestinationMembers
}

// DestinationStateOutput is the response of CreateApiDestination and
// UpdateApiDestination.
type DestinationStateOutput struct {
	ApiDestinationArn   string           `json:"ApiDestinationArn"`
	ApiDestinationState string           `json:"ApiDestinationState"`
	CreationTime        awsapi.Timestamp `json:"CreationTime,omitzero"`
	LastModifiedTime    awsapi.Timestamp `json:"LastModifiedTime,omitzero"`
}

// CreateApiDestination creates an API destination: an HTTP endpoint that
// rules can target through a connection. Endpoints must be https, except
// on loopback hosts (and anywhere with Config.AllowHTTPEndpoints).
func (s *Service) CreateApiDestination(ctx context.Context, in *CreateApiDestinationInput) (*DestinationStateOutput, error) {
	if err := s.validate("CreateApiDestination", in); err != nil {
		return nil, err
	}
	if err := s.checkEndpoint(*in.InvocationEndpoint); err != nil {
		return nil, err
	}
	if err := s.destinationConnection(ctx, "describe", *in.ConnectionArn); err != nil {
		return nil, err
	}
	rate := catalog.DefaultInvocationRateLimitPerSecond
	if in.InvocationRateLimitPerSecond != nil {
		rate = *in.InvocationRateLimitPerSecond
	}
	name := *in.Name
	d, err := s.in(ctx).MutateAPIDestination(ctx, name, func(cur *catalog.APIDestination) (*catalog.APIDestination, error) {
		if cur != nil {
			return nil, errDestinationExists(name)
		}
		now := s.cat.Now()
		return &catalog.APIDestination{Name: name, ARN: s.in(ctx).APIDestinationARN(name, s.newID()),
			Description: deref(in.Description), State: catalog.DestinationActive, ConnectionArn: *in.ConnectionArn,
			InvocationEndpoint: *in.InvocationEndpoint, HttpMethod: *in.HttpMethod, InvocationRateLimitPerSecond: rate,
			CreationTime: now, LastModifiedTime: now}, nil
	})
	if err != nil {
		return nil, internal("CreateApiDestination", err)
	}
	return &DestinationStateOutput{ApiDestinationArn: d.ARN, ApiDestinationState: d.State,
		CreationTime: ts(d.CreationTime), LastModifiedTime: ts(d.LastModifiedTime)}, nil
}

// DestinationNameInput is the request of DescribeApiDestination and
// DeleteApiDestination.
type DestinationNameInput struct {
	Name *string `json:"Name"`
}

// DescribeApiDestinationOutput is AWS's DescribeApiDestinationResponse.
type DescribeApiDestinationOutput struct {
	ApiDestinationArn            string           `json:"ApiDestinationArn"`
	Name                         string           `json:"Name"`
	Description                  string           `json:"Description,omitempty"`
	ApiDestinationState          string           `json:"ApiDestinationState"`
	ConnectionArn                string           `json:"ConnectionArn"`
	InvocationEndpoint           string           `json:"InvocationEndpoint"`
	HttpMethod                   string           `json:"HttpMethod"`
	InvocationRateLimitPerSecond int              `json:"InvocationRateLimitPerSecond"`
	CreationTime                 awsapi.Timestamp `json:"CreationTime,omitzero"`
	LastModifiedTime             awsapi.Timestamp `json:"LastModifiedTime,omitzero"`
}

// DescribeApiDestination describes an API destination.
func (s *Service) DescribeApiDestination(ctx context.Context, in *DestinationNameInput) (*DescribeApiDestinationOutput, error) {
	if err := s.validate("DescribeApiDestination", in); err != nil {
		return nil, err
	}
	d, err := s.in(ctx).APIDestination(ctx, *in.Name)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, errDestinationNotFound("describe", *in.Name)
	}
	if err != nil {
		return nil, internal("DescribeApiDestination", err)
	}
	return &DescribeApiDestinationOutput{ApiDestinationArn: d.ARN, Name: d.Name, Description: d.Description,
		ApiDestinationState: d.State, ConnectionArn: d.ConnectionArn, InvocationEndpoint: d.InvocationEndpoint,
		HttpMethod: d.HttpMethod, InvocationRateLimitPerSecond: d.InvocationRateLimitPerSecond,
		CreationTime: ts(d.CreationTime), LastModifiedTime: ts(d.LastModifiedTime)}, nil
}

// ListApiDestinationsInput is AWS's ListApiDestinationsRequest.
type ListApiDestinationsInput struct {
	NamePrefix    *string `json:"NamePrefix"`
	ConnectionArn *string `json:"ConnectionArn"`
	NextToken     *string `json:"NextToken"`
	Limit         *int    `json:"Limit"`
}

// ApiDestination is AWS's ApiDestination shape (an item of
// ListApiDestinations).
type ApiDestination struct {
	ApiDestinationArn            string           `json:"ApiDestinationArn"`
	Name                         string           `json:"Name"`
	ApiDestinationState          string           `json:"ApiDestinationState"`
	ConnectionArn                string           `json:"ConnectionArn"`
	InvocationEndpoint           string           `json:"InvocationEndpoint"`
	HttpMethod                   string           `json:"HttpMethod"`
	InvocationRateLimitPerSecond int              `json:"InvocationRateLimitPerSecond"`
	CreationTime                 awsapi.Timestamp `json:"CreationTime,omitzero"`
	LastModifiedTime             awsapi.Timestamp `json:"LastModifiedTime,omitzero"`
}

// ListApiDestinationsOutput is AWS's ListApiDestinationsResponse.
type ListApiDestinationsOutput struct {
	ApiDestinations []ApiDestination `json:"ApiDestinations"`
	NextToken       *string          `json:"NextToken,omitempty"`
}

// ListApiDestinations lists API destinations by name.
func (s *Service) ListApiDestinations(ctx context.Context, in *ListApiDestinationsInput) (*ListApiDestinationsOutput, error) {
	if err := s.validate("ListApiDestinations", in); err != nil {
		return nil, err
	}
	query := paging.Query("ListApiDestinations", deref(in.NamePrefix), deref(in.ConnectionArn))
	after, err := paging.After(in.NextToken, query)
	if err != nil {
		return nil, err
	}
	ds, err := s.in(ctx).APIDestinations(ctx)
	if err != nil {
		return nil, internal("ListApiDestinations", err)
	}
	name := func(d *catalog.APIDestination) string { return d.Name }
	ds = filterPrefix(ds, deref(in.NamePrefix), name)
	if in.ConnectionArn != nil {
		ds = filter(ds, func(d *catalog.APIDestination) bool { return d.ConnectionArn == *in.ConnectionArn })
	}
	pg, next := paging.Page(ds, name, in.Limit, query, after)
	out := &ListApiDestinationsOutput{ApiDestinations: make([]ApiDestination, 0, len(pg)), NextToken: next}
	for _, d := range pg {
		out.ApiDestinations = append(out.ApiDestinations, ApiDestination{ApiDestinationArn: d.ARN, Name: d.Name,
			ApiDestinationState: d.State, ConnectionArn: d.ConnectionArn, InvocationEndpoint: d.InvocationEndpoint,
			HttpMethod: d.HttpMethod, InvocationRateLimitPerSecond: d.InvocationRateLimitPerSecond,
			CreationTime: ts(d.CreationTime), LastModifiedTime: ts(d.LastModifiedTime)})
	}
	return out, nil
}

// UpdateApiDestinationInput is AWS's UpdateApiDestinationRequest.
type UpdateApiDestinationInput struct {
	Name *string `json:"Name"`
	DestinationMembers
}

// UpdateApiDestination changes the members given of an API destination.
func (s *Service) UpdateApiDestination(ctx context.Context, in *UpdateApiDestinationInput) (*DestinationStateOutput, error) {
	if err := s.validate("UpdateApiDestination", in); err != nil {
		return nil, err
	}
	if in.InvocationEndpoint != nil {
		if err := s.checkEndpoint(*in.InvocationEndpoint); err != nil {
			return nil, err
		}
	}
	if in.ConnectionArn != nil {
		if err := s.destinationConnection(ctx, "describe", *in.ConnectionArn); err != nil {
			return nil, err
		}
	}
	d, err := s.in(ctx).MutateAPIDestination(ctx, *in.Name, func(cur *catalog.APIDestination) (*catalog.APIDestination, error) {
		if cur == nil {
			return nil, errDestinationNotFound("update", *in.Name)
		}
		m := in.DestinationMembers
		if m.Description != nil {
			cur.Description = *m.Description
		}
		if m.ConnectionArn != nil {
			cur.ConnectionArn = *m.ConnectionArn
		}
		if m.InvocationEndpoint != nil {
			cur.InvocationEndpoint = *m.InvocationEndpoint
		}
		if m.HttpMethod != nil {
			cur.HttpMethod = *m.HttpMethod
		}
		if m.InvocationRateLimitPerSecond != nil {
			cur.InvocationRateLimitPerSecond = *m.InvocationRateLimitPerSecond
		}
		cur.LastModifiedTime = s.cat.Now()
		return cur, nil
	})
	if err != nil {
		return nil, internal("UpdateApiDestination", err)
	}
	return &DestinationStateOutput{ApiDestinationArn: d.ARN, ApiDestinationState: d.State,
		CreationTime: ts(d.CreationTime), LastModifiedTime: ts(d.LastModifiedTime)}, nil
}

// DeleteApiDestinationOutput is AWS's (empty) DeleteApiDestinationResponse.
type DeleteApiDestinationOutput struct{}

// DeleteApiDestination deletes an API destination. Rules that target it
// keep the target; its deliveries fail.
func (s *Service) DeleteApiDestination(ctx context.Context, in *DestinationNameInput) (*DeleteApiDestinationOutput, error) {
	if err := s.validate("DeleteApiDestination", in); err != nil {
		return nil, err
	}
	_, err := s.in(ctx).MutateAPIDestination(ctx, *in.Name, func(cur *catalog.APIDestination) (*catalog.APIDestination, error) {
		if cur == nil {
			return nil, errDestinationNotFound("delete", *in.Name)
		}
		return nil, nil
	})
	if err != nil {
		return nil, internal("DeleteApiDestination", err)
	}
	return &DeleteApiDestinationOutput{}, nil
}
