package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/paging"
)

// Transitional states AWS reports in the responses of DeleteConnection and
// DeauthorizeConnection; in Conveyor the change is done when the call
// returns.
const (
	connectionDeleting      = "DELETING"
	connectionDeauthorizing = "DEAUTHORIZING"
)

// CreateConnectionInput is AWS's CreateConnectionRequest.
// InvocationConnectivityParameters (private endpoints through VPC Lattice)
// is accepted and ignored.
type CreateConnectionInput struct {
	Name                             *string                 `json:"Name"`
	Description                      *string                 `json:"Description"`
	AuthorizationType                *string                 `json:"AuthorizationType"`
	AuthParameters                   *catalog.ConnectionAuth `json:"AuthParameters"`
	InvocationConnectivityParameters json.RawMessage         `json:"InvocationConnectivityParameters"`
	KmsKeyIdentifier                 *string                 `json:"KmsKeyIdentifier"`
}

// ConnectionStateOutput is the response of CreateConnection,
// UpdateConnection, DeleteConnection and DeauthorizeConnection (AWS's
// Create/Update/Delete/DeauthorizeConnectionResponse).
type ConnectionStateOutput struct {
	ConnectionArn      string           `json:"ConnectionArn"`
	ConnectionState    string           `json:"ConnectionState"`
	CreationTime       awsapi.Timestamp `json:"CreationTime,omitzero"`
	LastModifiedTime   awsapi.Timestamp `json:"LastModifiedTime,omitzero"`
	LastAuthorizedTime awsapi.Timestamp `json:"LastAuthorizedTime,omitzero"`
}

func connectionState(c *catalog.Connection, state string) *ConnectionStateOutput {
	if state == "" {
		state = c.State
	}
	return &ConnectionStateOutput{ConnectionArn: c.ARN, ConnectionState: state, CreationTime: ts(c.CreationTime),
		LastModifiedTime: ts(c.LastModifiedTime), LastAuthorizedTime: ts(c.LastAuthorizedTime)}
}

// authMember is the AuthParameters member that an authorization type needs.
func authMember(authType string) string {
	switch authType {
	case catalog.AuthBasic:
		return "BasicAuthParameters"
	case catalog.AuthAPIKey:
		return "ApiKeyAuthParameters"
	}
	return "OAuthParameters"
}

// authFor keeps, of p, the parameters of authType (and the invocation HTTP
// parameters); it reports false if those parameters are missing.
func authFor(authType string, p *catalog.ConnectionAuth) (catalog.ConnectionAuth, bool) {
	a := catalog.ConnectionAuth{InvocationHttpParameters: p.InvocationHttpParameters}
	switch authType {
	case catalog.AuthBasic:
		a.BasicAuthParameters = p.BasicAuthParameters
		return a, a.BasicAuthParameters != nil
	case catalog.AuthAPIKey:
		a.ApiKeyAuthParameters = p.ApiKeyAuthParameters
		return a, a.ApiKeyAuthParameters != nil
	default:
		a.OAuthParameters = p.OAuthParameters
		return a, a.OAuthParameters != nil
	}
}

// CreateConnection creates a connection. Its secrets are kept in the
// catalog (Conveyor has no Secrets Manager) and never returned. Every
// authorization type is AUTHORIZED at once: Conveyor does not fetch OAuth
// tokens at creation time.
func (s *Service) CreateConnection(ctx context.Context, in *CreateConnectionInput) (*ConnectionStateOutput, error) {
	if err := s.validate("CreateConnection", in); err != nil {
		return nil, err
	}
	auth, ok := authFor(*in.AuthorizationType, in.AuthParameters)
	if !ok {
		return nil, errAuthParametersMissing(authMember(*in.AuthorizationType), *in.AuthorizationType)
	}
	if err := s.checkOAuthEndpoint(auth.OAuthParameters); err != nil {
		return nil, err
	}
	name := *in.Name
	c, err := s.in(ctx).MutateConnection(ctx, name, func(cur *catalog.Connection) (*catalog.Connection, error) {
		if cur != nil {
			return nil, errConnectionExists(name)
		}
		id := s.newID()
		now := s.cat.Now()
		c := &catalog.Connection{
			Name: name, ARN: s.in(ctx).ConnectionARN(name, id), Description: deref(in.Description),
			State: catalog.ConnectionAuthorized, AuthorizationType: *in.AuthorizationType, Auth: auth,
			KmsKeyIdentifier: deref(in.KmsKeyIdentifier), SecretArn: s.in(ctx).SecretARN(name, id),
			CreationTime: now, LastModifiedTime: now, LastAuthorizedTime: now,
		}
		if c.AuthorizationType == catalog.AuthOAuthClientCredentials {
			// Authorized once its endpoint has given a token (server's
			// destinations do it).
			c.State, c.LastAuthorizedTime = catalog.ConnectionAuthorizing, time.Time{}
		}
		return c, nil
	})
	if err != nil {
		return nil, internal("CreateConnection", err)
	}
	return connectionState(c, ""), nil
}

// connection returns the connection called name, with AWS's error (worded
// with verb) if there is none.
func (s *Service) connection(ctx context.Context, verb, name string) (*catalog.Connection, error) {
	c, err := s.in(ctx).Connection(ctx, name)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, errConnectionNotFound(verb, name)
	}
	if err != nil {
		return nil, internal("connection", err)
	}
	return c, nil
}

// ConnectionNameInput is the request of DescribeConnection,
// DeleteConnection and DeauthorizeConnection.
type ConnectionNameInput struct {
	Name *string `json:"Name"`
}

// DescribeConnectionOutput is AWS's DescribeConnectionResponse.
// AuthParameters never carries a secret: passwords, API key values, client
// secrets and the values of secret HTTP parameters are left out.
type DescribeConnectionOutput struct {
	ConnectionArn      string                  `json:"ConnectionArn"`
	Name               string                  `json:"Name"`
	Description        string                  `json:"Description,omitempty"`
	ConnectionState    string                  `json:"ConnectionState"`
	StateReason        string                  `json:"StateReason,omitempty"`
	AuthorizationType  string                  `json:"AuthorizationType"`
	SecretArn          string                  `json:"SecretArn,omitempty"`
	KmsKeyIdentifier   string                  `json:"KmsKeyIdentifier,omitempty"`
	AuthParameters     *catalog.ConnectionAuth `json:"AuthParameters,omitempty"`
	CreationTime       awsapi.Timestamp        `json:"CreationTime,omitzero"`
	LastModifiedTime   awsapi.Timestamp        `json:"LastModifiedTime,omitzero"`
	LastAuthorizedTime awsapi.Timestamp        `json:"LastAuthorizedTime,omitzero"`
}

// DescribeConnection describes a connection, without its secrets.
func (s *Service) DescribeConnection(ctx context.Context, in *ConnectionNameInput) (*DescribeConnectionOutput, error) {
	if err := s.validate("DescribeConnection", in); err != nil {
		return nil, err
	}
	c, err := s.connection(ctx, "describe", *in.Name)
	if err != nil {
		return nil, err
	}
	auth := redact(c.Auth)
	return &DescribeConnectionOutput{ConnectionArn: c.ARN, Name: c.Name, Description: c.Description, ConnectionState: c.State,
		StateReason: c.StateReason, AuthorizationType: c.AuthorizationType, SecretArn: c.SecretArn,
		KmsKeyIdentifier: c.KmsKeyIdentifier, AuthParameters: &auth, CreationTime: ts(c.CreationTime),
		LastModifiedTime: ts(c.LastModifiedTime), LastAuthorizedTime: ts(c.LastAuthorizedTime)}, nil
}

// redact returns a copy of a without any secret.
func redact(a catalog.ConnectionAuth) catalog.ConnectionAuth {
	var out catalog.ConnectionAuth
	if b := a.BasicAuthParameters; b != nil {
		out.BasicAuthParameters = &catalog.BasicAuth{Username: b.Username}
	}
	if k := a.ApiKeyAuthParameters; k != nil {
		out.ApiKeyAuthParameters = &catalog.APIKeyAuth{ApiKeyName: k.ApiKeyName}
	}
	if o := a.OAuthParameters; o != nil {
		ro := &catalog.OAuth{AuthorizationEndpoint: o.AuthorizationEndpoint, HttpMethod: o.HttpMethod,
			OAuthHttpParameters: redactHTTP(o.OAuthHttpParameters)}
		if o.ClientParameters != nil {
			ro.ClientParameters = &catalog.OAuthClient{ClientID: o.ClientParameters.ClientID}
		}
		out.OAuthParameters = ro
	}
	out.InvocationHttpParameters = redactHTTP(a.InvocationHttpParameters)
	return out
}

func redactHTTP(p *catalog.ConnectionHttpParameters) *catalog.ConnectionHttpParameters {
	if p == nil {
		return nil
	}
	list := func(ps []catalog.ConnectionParameter) []catalog.ConnectionParameter {
		if ps == nil {
			return nil
		}
		out := make([]catalog.ConnectionParameter, len(ps))
		for i, cp := range ps {
			out[i] = cp
			if cp.IsValueSecret {
				out[i].Value = ""
			}
		}
		return out
	}
	return &catalog.ConnectionHttpParameters{HeaderParameters: list(p.HeaderParameters),
		QueryStringParameters: list(p.QueryStringParameters), BodyParameters: list(p.BodyParameters)}
}

// ListConnectionsInput is AWS's ListConnectionsRequest.
type ListConnectionsInput struct {
	NamePrefix      *string `json:"NamePrefix"`
	ConnectionState *string `json:"ConnectionState"`
	NextToken       *string `json:"NextToken"`
	Limit           *int    `json:"Limit"`
}

// Connection is AWS's Connection shape (an item of ListConnections).
type Connection struct {
	ConnectionArn      string           `json:"ConnectionArn"`
	Name               string           `json:"Name"`
	ConnectionState    string           `json:"ConnectionState"`
	StateReason        string           `json:"StateReason,omitempty"`
	AuthorizationType  string           `json:"AuthorizationType"`
	CreationTime       awsapi.Timestamp `json:"CreationTime,omitzero"`
	LastModifiedTime   awsapi.Timestamp `json:"LastModifiedTime,omitzero"`
	LastAuthorizedTime awsapi.Timestamp `json:"LastAuthorizedTime,omitzero"`
}

// ListConnectionsOutput is AWS's ListConnectionsResponse.
type ListConnectionsOutput struct {
	Connections []Connection `json:"Connections"`
	NextToken   *string      `json:"NextToken,omitempty"`
}

// ListConnections lists connections by name.
func (s *Service) ListConnections(ctx context.Context, in *ListConnectionsInput) (*ListConnectionsOutput, error) {
	if err := s.validate("ListConnections", in); err != nil {
		return nil, err
	}
	query := paging.Query("ListConnections", deref(in.NamePrefix), deref(in.ConnectionState))
	after, err := paging.After(in.NextToken, query)
	if err != nil {
		return nil, err
	}
	conns, err := s.in(ctx).Connections(ctx)
	if err != nil {
		return nil, internal("ListConnections", err)
	}
	name := func(c *catalog.Connection) string { return c.Name }
	conns = filterPrefix(conns, deref(in.NamePrefix), name)
	if in.ConnectionState != nil {
		conns = filter(conns, func(c *catalog.Connection) bool { return c.State == *in.ConnectionState })
	}
	pg, next := paging.Page(conns, name, in.Limit, query, after)
	out := &ListConnectionsOutput{Connections: make([]Connection, 0, len(pg)), NextToken: next}
	for _, c := range pg {
		out.Connections = append(out.Connections, Connection{ConnectionArn: c.ARN, Name: c.Name, ConnectionState: c.State,
			StateReason: c.StateReason, AuthorizationType: c.AuthorizationType, CreationTime: ts(c.CreationTime),
			LastModifiedTime: ts(c.LastModifiedTime), LastAuthorizedTime: ts(c.LastAuthorizedTime)})
	}
	return out, nil
}

func filter[T any](items []T, keep func(T) bool) []T {
	out := items[:0:0]
	for _, it := range items {
		if keep(it) {
			out = append(out, it)
		}
	}
	return out
}

// UpdateConnectionInput is AWS's UpdateConnectionRequest.
type UpdateConnectionInput struct {
	Name                             *string                 `json:"Name"`
	Description                      *string                 `json:"Description"`
	AuthorizationType                *string                 `json:"AuthorizationType"`
	AuthParameters                   *catalog.ConnectionAuth `json:"AuthParameters"`
	InvocationConnectivityParameters json.RawMessage         `json:"InvocationConnectivityParameters"`
	KmsKeyIdentifier                 *string                 `json:"KmsKeyIdentifier"`
}

// UpdateConnection changes a connection. Auth parameters given are merged
// into the stored ones (a member left out keeps its value); a change of
// AuthorizationType needs the new type's parameters in full. The
// connection is AUTHORIZED again afterwards.
func (s *Service) UpdateConnection(ctx context.Context, in *UpdateConnectionInput) (*ConnectionStateOutput, error) {
	if err := s.validate("UpdateConnection", in); err != nil {
		return nil, err
	}
	name := *in.Name
	c, err := s.in(ctx).MutateConnection(ctx, name, func(cur *catalog.Connection) (*catalog.Connection, error) {
		if cur == nil {
			return nil, errConnectionNotFound("update", name)
		}
		authType := cur.AuthorizationType
		if in.AuthorizationType != nil {
			authType = *in.AuthorizationType
		}
		p := in.AuthParameters
		if p == nil {
			p = &catalog.ConnectionAuth{}
		}
		if authType != cur.AuthorizationType {
			// A new authorization type needs its parameters in full.
			auth, ok := authFor(authType, p)
			if !ok || !complete(&catalog.Connection{AuthorizationType: authType, Auth: auth}) {
				return nil, errAuthParametersMissing(authMember(authType), authType)
			}
			if auth.InvocationHttpParameters == nil {
				auth.InvocationHttpParameters = cur.Auth.InvocationHttpParameters
			}
			cur.Auth, cur.AuthorizationType = auth, authType
		} else {
			mergeAuth(&cur.Auth, p)
		}
		if in.Description != nil {
			cur.Description = *in.Description
		}
		if in.KmsKeyIdentifier != nil {
			cur.KmsKeyIdentifier = *in.KmsKeyIdentifier
		}
		now := s.cat.Now()
		cur.LastModifiedTime = now
		if in.AuthParameters != nil || in.AuthorizationType != nil || cur.State != catalog.ConnectionAuthorized {
			if complete(cur) {
				cur.State, cur.LastAuthorizedTime, cur.StateReason = catalog.ConnectionAuthorized, now, ""
				if cur.AuthorizationType == catalog.AuthOAuthClientCredentials {
					cur.State = catalog.ConnectionAuthorizing
				}
			}
		}
		if err := s.checkOAuthEndpoint(cur.Auth.OAuthParameters); err != nil {
			return nil, err
		}
		return cur, nil
	})
	if err != nil {
		return nil, internal("UpdateConnection", err)
	}
	return connectionState(c, ""), nil
}

// mergeAuth sets in dst the non-empty members of src.
func mergeAuth(dst *catalog.ConnectionAuth, src *catalog.ConnectionAuth) {
	set := func(d *string, s string) {
		if s != "" {
			*d = s
		}
	}
	if b := src.BasicAuthParameters; b != nil {
		if dst.BasicAuthParameters == nil {
			dst.BasicAuthParameters = &catalog.BasicAuth{}
		}
		set(&dst.BasicAuthParameters.Username, b.Username)
		set(&dst.BasicAuthParameters.Password, b.Password)
	}
	if k := src.ApiKeyAuthParameters; k != nil {
		if dst.ApiKeyAuthParameters == nil {
			dst.ApiKeyAuthParameters = &catalog.APIKeyAuth{}
		}
		set(&dst.ApiKeyAuthParameters.ApiKeyName, k.ApiKeyName)
		set(&dst.ApiKeyAuthParameters.ApiKeyValue, k.ApiKeyValue)
	}
	if o := src.OAuthParameters; o != nil {
		if dst.OAuthParameters == nil {
			dst.OAuthParameters = &catalog.OAuth{}
		}
		d := dst.OAuthParameters
		if c := o.ClientParameters; c != nil {
			if d.ClientParameters == nil {
				d.ClientParameters = &catalog.OAuthClient{}
			}
			set(&d.ClientParameters.ClientID, c.ClientID)
			set(&d.ClientParameters.ClientSecret, c.ClientSecret)
		}
		set(&d.AuthorizationEndpoint, o.AuthorizationEndpoint)
		set(&d.HttpMethod, o.HttpMethod)
		if o.OAuthHttpParameters != nil {
			d.OAuthHttpParameters = o.OAuthHttpParameters
		}
	}
	if src.InvocationHttpParameters != nil {
		dst.InvocationHttpParameters = src.InvocationHttpParameters
	}
}

// complete reports whether c has every secret its authorization type
// needs (a deauthorized connection has lost them).
func complete(c *catalog.Connection) bool {
	a := c.Auth
	switch c.AuthorizationType {
	case catalog.AuthBasic:
		return a.BasicAuthParameters != nil && a.BasicAuthParameters.Username != "" && a.BasicAuthParameters.Password != ""
	case catalog.AuthAPIKey:
		return a.ApiKeyAuthParameters != nil && a.ApiKeyAuthParameters.ApiKeyName != "" && a.ApiKeyAuthParameters.ApiKeyValue != ""
	default:
		o := a.OAuthParameters
		return o != nil && o.ClientParameters != nil && o.ClientParameters.ClientSecret != ""
	}
}

// DeleteConnection deletes a connection. As on AWS, API destinations that
// use it are not checked: their deliveries fail until they get another
// connection.
func (s *Service) DeleteConnection(ctx context.Context, in *ConnectionNameInput) (*ConnectionStateOutput, error) {
	if err := s.validate("DeleteConnection", in); err != nil {
		return nil, err
	}
	var gone *catalog.Connection
	_, err := s.in(ctx).MutateConnection(ctx, *in.Name, func(cur *catalog.Connection) (*catalog.Connection, error) {
		if cur == nil {
			return nil, errConnectionNotFound("delete", *in.Name)
		}
		gone = cur
		return nil, nil
	})
	if err != nil {
		return nil, internal("DeleteConnection", err)
	}
	return connectionState(gone, connectionDeleting), nil
}

// DeauthorizeConnection removes a connection's secrets; it stays, in state
// DEAUTHORIZED, until UpdateConnection gives it new ones.
func (s *Service) DeauthorizeConnection(ctx context.Context, in *ConnectionNameInput) (*ConnectionStateOutput, error) {
	if err := s.validate("DeauthorizeConnection", in); err != nil {
		return nil, err
	}
	c, err := s.in(ctx).MutateConnection(ctx, *in.Name, func(cur *catalog.Connection) (*catalog.Connection, error) {
		if cur == nil {
			return nil, errConnectionNotFound("deauthorize", *in.Name)
		}
		a := &cur.Auth
		if a.BasicAuthParameters != nil {
			a.BasicAuthParameters.Password = ""
		}
		if a.ApiKeyAuthParameters != nil {
			a.ApiKeyAuthParameters.ApiKeyValue = ""
		}
		if a.OAuthParameters != nil && a.OAuthParameters.ClientParameters != nil {
			a.OAuthParameters.ClientParameters.ClientSecret = ""
		}
		cur.State = catalog.ConnectionDeauthorized
		cur.LastModifiedTime = s.cat.Now()
		return cur, nil
	})
	if err != nil {
		return nil, internal("DeauthorizeConnection", err)
	}
	return connectionState(c, connectionDeauthorizing), nil
}

// checkOAuthEndpoint refuses an authorization endpoint Conveyor would not
// call: as for API destinations, https, or http on a loopback host.
func (s *Service) checkOAuthEndpoint(o *catalog.OAuth) error {
	if o == nil || o.AuthorizationEndpoint == "" {
		return nil
	}
	u, err := url.Parse(o.AuthorizationEndpoint)
	if err == nil && u.Host != "" && (strings.EqualFold(u.Scheme, "https") ||
		strings.EqualFold(u.Scheme, "http") && (s.allowHTTP || isLoopback(u.Hostname()))) {
		return nil
	}
	return awsapi.ValidationError(fmt.Sprintf("Parameter AuthorizationEndpoint %s is not valid. Reason: only https endpoints are supported (http only on loopback hosts).", o.AuthorizationEndpoint))
}
