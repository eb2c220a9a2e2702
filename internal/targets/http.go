package targets

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/plainhttp"
)

// Authorization types of a connection.
const (
	AuthAPIKey = "API_KEY"
	AuthBasic  = "BASIC"
	AuthOAuth  = "OAUTH_CLIENT_CREDENTIALS"
)

// Destination is what the HTTP adapter needs of an API destination and its
// connection.
type Destination struct {
	ARN                string
	InvocationEndpoint string
	// HTTPMethod is GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
	HTTPMethod string
	// InvocationRateLimitPerSecond bounds requests to the endpoint (a token
	// bucket with one second of burst). 0 means no limit.
	InvocationRateLimitPerSecond int
	Connection                   Connection
}

// Connection holds a connection's authorization and its invocation HTTP
// parameters (added to every request; they win over the target's own
// parameters of the same name, as in EventBridge).
type Connection struct {
	ARN               string
	AuthorizationType string
	APIKeyName        string
	APIKeyValue       string
	Username          string
	Password          string
	// HeaderParameters and QueryStringParameters are the connection's
	// InvocationHttpParameters.
	HeaderParameters      map[string]string
	QueryStringParameters map[string]string
	// OAuth is set for OAUTH_CLIENT_CREDENTIALS: how to get a token.
	OAuth *OAuthClient

	// token is the access token of this request (OAuth).
	token string
}

// Destinations finds API destinations by ARN. Lookup wraps [delivery.ErrNotFound]
// when there is no such destination (or its connection is gone).
type Destinations interface {
	Lookup(ctx context.Context, arn string) (Destination, error)
}

// HTTPTimeout is the limit on one HTTP invocation, as EventBridge has it for
// API destinations.
const HTTPTimeout = 5 * time.Second

// UserAgent is the User-Agent of API destination requests (EventBridge's).
const UserAgent = "Amazon/EventBridge/ApiDestinations"

// HTTP invokes API destinations.
type HTTP struct {
	dests  Destinations
	client *http.Client

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	// urls holds parsed endpoints (string → *endpointURL, never
	// modified), so that a request to an endpoint without path parameters
	// or query string parameters parses nothing.
	urls sync.Map
	// headers holds, by destination ARN, the *cachedHeader of
	// destinations without header parameters.
	headers sync.Map
	// plain sends the requests to http:// endpoints that no proxy setting
	// covers; nil when the caller supplied its own client.
	plain *plainhttp.Client
	// tokens holds the access tokens of OAuth connections.
	tokens *tokens
	// peers is how many processes share each destination's rate limit
	// (nil: 1).
	peers func() int
}

// endpointURL is a parsed endpoint and whether plainhttp.Client may send to it.
type endpointURL struct {
	u     *url.URL
	plain bool
}

// NewHTTP returns the API destination adapter. client may be nil for a
// client with pooled keep-alive connections and no redirects.
func NewHTTP(dests Destinations, client *http.Client) *HTTP {
	custom := client != nil
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 1024
		tr.MaxIdleConnsPerHost = 256
		client = &http.Client{
			Transport: tr,
			// A redirect is an answer, not something to follow: 3xx is a
			// non-retryable failure, as any non-2xx outside 429 and 5xx.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	h := &HTTP{dests: dests, client: client, limiters: map[string]*rate.Limiter{}, tokens: newTokens(client)}
	if !custom {
		h.plain = plainhttp.New()
	}
	return h
}

// Invoke sends the job's payload to its API destination.
func (h *HTTP) Invoke(ctx context.Context, job *delivery.Job) error {
	if h.dests == nil {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "API destinations are not configured")
	}
	d, err := h.dests.Lookup(ctx, job.TargetARN)
	if err != nil {
		return classify(err, "API destination "+job.TargetARN)
	}
	if lim := h.limiter(d); lim != nil {
		if err := lim.Wait(ctx); err != nil {
			return &delivery.Error{Code: delivery.CodeThrottling, Retry: true, Err: err,
				Message: fmt.Sprintf("invocation rate limit of %d per second reached", d.InvocationRateLimitPerSecond)}
		}
	}
	method := strings.ToUpper(d.HTTPMethod)
	if method == "" {
		method = http.MethodPost
	}
	var tp delivery.HTTPParameters
	if job.HTTP != nil {
		tp = *job.HTTP
	}
	eu, err := h.endpoint(d, tp)
	if err != nil {
		return err
	}
	withBody := bodyMethods[method]
	if d.Connection.AuthorizationType != AuthOAuth {
		return h.attempt(ctx, d, tp, method, eu, withBody, job.Payload)
	}
	if d.Connection.OAuth == nil {
		return delivery.Errorf(delivery.CodeInvalidParameter, false, "connection %s has no OAuth parameters", d.Connection.ARN)
	}
	// A token the endpoint refuses (401, 407) is replaced once, as
	// EventBridge does.
	for stale := ""; ; {
		tok, err := h.tokens.get(ctx, d.Connection.ARN, d.Connection.OAuth, stale)
		if err != nil {
			return err
		}
		d.Connection.token = tok
		err = h.attempt(ctx, d, tp, method, eu, withBody, job.Payload)
		var te *delivery.Error
		if stale == "" && errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusProxyAuthRequired) {
			stale = tok
			continue
		}
		return err
	}
}

// attempt sends one request to d and classifies its answer.
func (h *HTTP) attempt(ctx context.Context, d Destination, tp delivery.HTTPParameters, method string, eu endpointURL, withBody bool, payload []byte) error {
	if h.plain != nil && eu.plain {
		header, err := h.plainHeader(d, tp, withBody)
		if err != nil {
			return err
		}
		status, err := h.plain.Do(ctx, time.Now().Add(HTTPTimeout), method, eu.u, header, payload, withBody, nil)
		if err != nil {
			return requestFailed(err)
		}
		return statusError(status)
	}
	header, err := buildHeader(d, tp, withBody)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, HTTPTimeout)
	defer cancel()
	status, err := h.send(ctx, method, eu.u, header, payload, withBody)
	if err != nil {
		return requestFailed(err)
	}
	return statusError(status)
}

func requestFailed(err error) error {
	// net/http's errors quote the whole URL, whose query string may hold a
	// connection's secret parameters: the message keeps only the cause.
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	return &delivery.Error{Code: delivery.CodeClientError, Retry: true, Err: cause,
		Message: fmt.Sprintf("request to API destination endpoint failed: %v", cause)}
}

// plainHeader returns the headers of a request to d for plainhttp.Client, which
// only reads them: for a destination whose target and connection set no
// header parameters, the ones made for its last request when its
// authorization has not changed since.
func (h *HTTP) plainHeader(d Destination, tp delivery.HTTPParameters, withBody bool) (http.Header, error) {
	if len(tp.HeaderParameters)+len(d.Connection.HeaderParameters) > 0 || d.Connection.AuthorizationType == AuthOAuth {
		return buildHeader(d, tp, withBody)
	}
	c := d.Connection
	if v, ok := h.headers.Load(d.ARN); ok {
		if ch := v.(*cachedHeader); ch.matches(c, withBody) {
			return ch.h, nil
		}
	}
	hd, err := buildHeader(d, tp, withBody)
	if err != nil {
		return nil, err
	}
	h.headers.Store(d.ARN, &cachedHeader{authType: c.AuthorizationType, keyName: c.APIKeyName, keyValue: c.APIKeyValue,
		user: c.Username, password: c.Password, withBody: withBody, h: hd})
	return hd, nil
}

// cachedHeader is the headers of a destination without header parameters,
// with what they were made from.
type cachedHeader struct {
	authType, keyName, keyValue, user, password string
	withBody                                    bool
	h                                           http.Header
}

func (ch *cachedHeader) matches(c Connection, withBody bool) bool {
	return ch.withBody == withBody && ch.authType == c.AuthorizationType && ch.keyName == c.APIKeyName &&
		ch.keyValue == c.APIKeyValue && ch.user == c.Username && ch.password == c.Password
}

// send makes the request with the net/http client.
func (h *HTTP) send(ctx context.Context, method string, u *url.URL, header http.Header, payload []byte, withBody bool) (int, error) {
	var body io.Reader
	if withBody {
		body = bytes.NewReader(payload)
	}
	// The URL is set below: the endpoint is parsed once, not per request.
	req, err := http.NewRequestWithContext(ctx, method, "", body)
	if err != nil {
		return 0, err
	}
	c := *u
	req.URL, req.Host, req.Header = &c, u.Host, header
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// statusError classifies an HTTP status: 2xx delivered; 429 and 5xx worth a
// retry; anything else final.
func statusError(code int) error {
	if code >= 200 && code < 300 {
		return nil
	}
	e := &delivery.Error{
		Code:       delivery.CodeClientError,
		StatusCode: code,
		Message:    fmt.Sprintf("API destination endpoint returned HTTP %d %s", code, http.StatusText(code)),
	}
	switch {
	case code == http.StatusTooManyRequests:
		e.Code, e.Retry = delivery.CodeThrottling, true
	case code >= 500:
		e.Retry = true
	}
	return e
}

func (h *HTTP) limiter(d Destination) *rate.Limiter {
	n := d.InvocationRateLimitPerSecond
	if n <= 0 {
		return nil
	}
	if h.peers != nil {
		// This process's share, rounded up: a limit of 1 stays 1.
		p := max(h.peers(), 1)
		n = (n + p - 1) / p
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	lim, ok := h.limiters[d.ARN]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(n), n)
		h.limiters[d.ARN] = lim
	} else if lim.Limit() != rate.Limit(n) {
		// UpdateApiDestination changed the limit.
		lim.SetLimit(rate.Limit(n))
		lim.SetBurst(n)
	}
	return lim
}

var bodyMethods = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "DELETE": true}

// buildHeader makes the headers of a request to d: the target's then the
// connection's header parameters, and the connection's authorization.
func buildHeader(d Destination, tp delivery.HTTPParameters, withBody bool) (http.Header, error) {
	h := make(http.Header, 3+len(tp.HeaderParameters)+len(d.Connection.HeaderParameters))
	// Canonical names set directly; parameters through Set, which
	// canonicalizes them.
	h["User-Agent"] = []string{UserAgent}
	if withBody {
		h["Content-Type"] = []string{"application/json; charset=utf-8"}
	}
	for k, v := range tp.HeaderParameters {
		h.Set(k, v)
	}
	for k, v := range d.Connection.HeaderParameters {
		h.Set(k, v)
	}
	c := d.Connection
	switch c.AuthorizationType {
	case AuthAPIKey:
		h.Set(c.APIKeyName, c.APIKeyValue)
	case AuthBasic:
		h["Authorization"] = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))}
	case AuthOAuth:
		if c.token == "" {
			return nil, delivery.Errorf(delivery.CodeNoPermissions, false, "connection %s has no access token", c.ARN)
		}
		h["Authorization"] = []string{"Bearer " + c.token}
	case "":
	default:
		return nil, delivery.Errorf(delivery.CodeInvalidParameter, false, "authorization type %s of connection %s is not supported", c.AuthorizationType, c.ARN)
	}
	for k, vs := range h {
		for _, v := range vs {
			if !plainhttp.ValidHeader(k, v) {
				return nil, delivery.Errorf(delivery.CodeInvalidParameter, false, "API destination %s: header %q cannot be sent (invalid name or value)", d.ARN, k)
			}
		}
	}
	return h, nil
}

// endpoint returns the URL a request goes to (the caller must not modify
// it) and whether plainhttp.Client may send it.
func (h *HTTP) endpoint(d Destination, tp delivery.HTTPParameters) (endpointURL, error) {
	simple := len(tp.PathParameterValues) == 0 && len(tp.QueryStringParameters)+len(d.Connection.QueryStringParameters) == 0
	if simple {
		if e, ok := h.urls.Load(d.InvocationEndpoint); ok {
			return *e.(*endpointURL), nil
		}
	}
	endpoint, err := fillPath(d.InvocationEndpoint, tp.PathParameterValues)
	if err != nil {
		return endpointURL{}, err
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return endpointURL{}, delivery.Errorf(delivery.CodeInvalidParameter, false, "invalid InvocationEndpoint %q of API destination %s", d.InvocationEndpoint, d.ARN)
	}
	if len(tp.QueryStringParameters)+len(d.Connection.QueryStringParameters) > 0 {
		q := u.Query()
		for k, v := range tp.QueryStringParameters {
			q.Set(k, v)
		}
		for k, v := range d.Connection.QueryStringParameters {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	e := endpointURL{u: u, plain: u.Scheme == "http" && !proxied(u)}
	if simple {
		// An endpoint with a '*' and no path parameters is refused by
		// fillPath above, so only endpoints without one are kept.
		h.urls.Store(d.InvocationEndpoint, &e)
	}
	return e, nil
}

// proxied reports whether the environment's proxy settings (HTTP_PROXY,
// NO_PROXY) send requests to u through a proxy.
func proxied(u *url.URL) bool {
	p, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	return err != nil || p != nil
}

var errPathParams = errors.New("path parameters")

// fillPath replaces each '*' of endpoint with the next path parameter value
// (path-escaped). The count must match.
func fillPath(endpoint string, values []string) (string, error) {
	n := strings.Count(endpoint, "*")
	if n == 0 && len(values) == 0 {
		return endpoint, nil
	}
	if n != len(values) {
		return "", &delivery.Error{Code: delivery.CodeInvalidParameter, Err: errPathParams,
			Message: fmt.Sprintf("InvocationEndpoint %q has %d path wildcards but the target gives %d PathParameterValues", endpoint, n, len(values))}
	}
	var b strings.Builder
	i := 0
	for _, c := range []byte(endpoint) {
		if c == '*' {
			b.WriteString(url.PathEscape(values[i]))
			i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}
