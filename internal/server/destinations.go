package server

import (
	"github.com/conveyor/conveyor/internal/delivery"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/targets"
)

// destinations resolves API destination ARNs for the HTTP target. It keeps
// every API destination and connection in memory, following the catalog's
// watch, so that a delivery costs no catalog read; an ARN it does not know
// yet (created a moment ago) is read from the catalog.
type destinations struct {
	c   *catalog.Catalog
	log *slog.Logger
	// run ends the authorizations under way.
	run context.Context
	// tokens gets the tokens that authorize OAuth connections.
	tokens *http.Client

	mu    sync.RWMutex
	dests map[string]*catalog.APIDestination // by ARN
	conns map[string]*catalog.Connection     // by ARN
	names map[string]string                  // record name → ARN, for deletes
}

// newDestinations loads the catalog's API destinations and connections
// (giving up when ctx ends) and follows their changes until run ends.
func newDestinations(ctx, run context.Context, c *catalog.Catalog, log *slog.Logger) (*destinations, error) {
	d := &destinations{
		c: c, log: log, run: run,
		tokens: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		dests:  map[string]*catalog.APIDestination{},
		conns:  map[string]*catalog.Connection{},
		names:  map[string]string{},
	}
	changes, err := c.Watch(run, catalog.KindAPIDestination, catalog.KindConnection)
	if err != nil {
		return nil, fmt.Errorf("following API destinations: %w", err)
	}
	synced := make(chan struct{})
	go d.follow(changes, synced)
	select {
	case <-synced:
		return d, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (d *destinations) follow(changes <-chan catalog.Change, synced chan struct{}) {
	once := sync.OnceFunc(func() { close(synced) })
	defer once()
	for ch := range changes {
		d.mu.Lock()
		key := string(ch.Kind) + "/" + ch.Name
		switch {
		case ch.Op == catalog.OpSynced:
			once()
		case ch.Op == catalog.OpPut && ch.APIDestination != nil:
			d.dests[ch.APIDestination.ARN] = ch.APIDestination
			d.names[key] = ch.APIDestination.ARN
		case ch.Op == catalog.OpPut && ch.Connection != nil:
			d.conns[ch.Connection.ARN] = ch.Connection
			d.names[key] = ch.Connection.ARN
			if ch.Connection.State == catalog.ConnectionAuthorizing {
				go d.authorize(ch.Connection)
			}
		case ch.Op == catalog.OpDelete:
			arn := d.names[key]
			delete(d.names, key)
			if ch.Kind == catalog.KindAPIDestination {
				delete(d.dests, arn)
			} else {
				delete(d.conns, arn)
			}
		}
		d.mu.Unlock()
	}
}

// Lookup implements targets.Destinations.
func (d *destinations) Lookup(ctx context.Context, arn string) (targets.Destination, error) {
	d.mu.RLock()
	ad := d.dests[arn]
	var conn *catalog.Connection
	if ad != nil {
		conn = d.conns[ad.ConnectionArn]
	}
	d.mu.RUnlock()
	if ad == nil || conn == nil {
		var err error
		ad, conn, err = d.c.ResolveAPIDestination(ctx, arn)
		if err != nil {
			if errors.Is(err, catalog.ErrNotFound) {
				return targets.Destination{}, fmt.Errorf("%w: %v", delivery.ErrNotFound, err)
			}
			return targets.Destination{}, err
		}
	}
	if conn.State == catalog.ConnectionDeauthorized {
		// As on AWS: a deauthorized connection sends nothing until it is
		// authorized again (UpdateConnection); its events fail at once with
		// NO_PERMISSIONS (to the dead-letter queue), not retried.
		reason := ""
		if conn.StateReason != "" {
			reason = ": " + conn.StateReason
		}
		return targets.Destination{}, delivery.Errorf(delivery.CodeNoPermissions, false, "connection %s is deauthorized%s", conn.ARN, reason)
	}
	return destinationOf(ad, conn), nil
}

// destinationOf is what the HTTP target needs of an API destination and its
// connection (secrets included: the target sends them, the API never shows
// them).
func destinationOf(ad *catalog.APIDestination, conn *catalog.Connection) targets.Destination {
	d := targets.Destination{
		ARN:                          ad.ARN,
		InvocationEndpoint:           ad.InvocationEndpoint,
		HTTPMethod:                   ad.HttpMethod,
		InvocationRateLimitPerSecond: ad.InvocationRateLimitPerSecond,
		Connection: targets.Connection{
			ARN:               conn.ARN,
			AuthorizationType: conn.AuthorizationType,
		},
	}
	a := conn.Auth
	d.Connection.OAuth = oauthClientOf(conn)
	if a.ApiKeyAuthParameters != nil {
		d.Connection.APIKeyName = a.ApiKeyAuthParameters.ApiKeyName
		d.Connection.APIKeyValue = a.ApiKeyAuthParameters.ApiKeyValue
	}
	if a.BasicAuthParameters != nil {
		d.Connection.Username = a.BasicAuthParameters.Username
		d.Connection.Password = a.BasicAuthParameters.Password
	}
	if p := a.InvocationHttpParameters; p != nil {
		d.Connection.HeaderParameters = params(p.HeaderParameters)
		d.Connection.QueryStringParameters = params(p.QueryStringParameters)
	}
	return d
}

// oauthClientOf is how to get a token for conn; nil when it has no OAuth
// parameters.
func oauthClientOf(conn *catalog.Connection) *targets.OAuthClient {
	o := conn.Auth.OAuthParameters
	if o == nil {
		return nil
	}
	oc := &targets.OAuthClient{Endpoint: o.AuthorizationEndpoint, Method: o.HttpMethod,
		Version: conn.LastModifiedTime.UTC().Format(time.RFC3339Nano)}
	if o.ClientParameters != nil {
		oc.ClientID, oc.ClientSecret = o.ClientParameters.ClientID, o.ClientParameters.ClientSecret
	}
	if p := o.OAuthHttpParameters; p != nil {
		oc.Header, oc.Query, oc.Body = params(p.HeaderParameters), params(p.QueryStringParameters), params(p.BodyParameters)
	}
	return oc
}

func params(ps []catalog.ConnectionParameter) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Key] = p.Value
	}
	return m
}

// authorize asks an AUTHORIZING OAuth connection's authorization endpoint for
// a token, and records the outcome: AUTHORIZED, or DEAUTHORIZED with the
// reason. Every process sharing the catalog may try; the first outcome for
// that version of the connection stands.
func (d *destinations) authorize(conn *catalog.Connection) {
	oc := oauthClientOf(conn)
	if oc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(d.run, 30*time.Second)
	defer cancel()
	_, ferr := targets.FetchToken(ctx, d.tokens, oc)
	if ctx.Err() != nil {
		return
	}
	sc, _, _ := catalog.ParseResourceARN(conn.ARN)
	_, err := d.c.In(sc).MutateConnection(ctx, conn.Name, func(cur *catalog.Connection) (*catalog.Connection, error) {
		if cur == nil || cur.State != catalog.ConnectionAuthorizing || !cur.LastModifiedTime.Equal(conn.LastModifiedTime) {
			return nil, errAuthorizationDone
		}
		if ferr != nil {
			cur.State, cur.StateReason = catalog.ConnectionDeauthorized, "Failed to authorize: "+ferr.Error()
		} else {
			cur.State, cur.StateReason, cur.LastAuthorizedTime = catalog.ConnectionAuthorized, "", d.c.Now()
		}
		return cur, nil
	})
	if err != nil && !errors.Is(err, errAuthorizationDone) {
		d.log.Warn("recording a connection's authorization", "connection", conn.Name, "err", err)
		return
	}
	if ferr != nil {
		d.log.Warn("connection deauthorized: its authorization endpoint gave no token", "connection", conn.Name, "err", ferr)
	}
}

// errAuthorizationDone: the connection's authorization was recorded already
// (by another process), or it changed since.
var errAuthorizationDone = errors.New("authorization recorded already")
