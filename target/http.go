package target

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

	"github.com/conveyor/conveyor/delivery"
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
}

// Destinations finds API destinations by ARN. Lookup wraps [ErrNotFound]
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
	// urls holds parsed endpoints (string → *url.URL, never modified), so
	// that a request to an endpoint without path parameters or query
	// string parameters parses nothing.
	urls sync.Map
}

// NewHTTP returns the API destination adapter. client may be nil for a
// client with pooled keep-alive connections and no redirects.
func NewHTTP(dests Destinations, client *http.Client) *HTTP {
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
	return &HTTP{dests: dests, client: client, limiters: map[string]*rate.Limiter{}}
}

// Invoke sends the job's payload to its API destination.
func (h *HTTP) Invoke(ctx context.Context, job *delivery.Job) error {
	if h.dests == nil {
		return Errorf(CodeInvalidParameter, false, "API destinations are not configured")
	}
	d, err := h.dests.Lookup(ctx, job.TargetARN)
	if err != nil {
		return classify(err, "API destination "+job.TargetARN)
	}
	if lim := h.limiter(d); lim != nil {
		if err := lim.Wait(ctx); err != nil {
			return &Error{Code: CodeThrottling, Retry: true, Err: err,
				Message: fmt.Sprintf("invocation rate limit of %d per second reached", d.InvocationRateLimitPerSecond)}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, HTTPTimeout)
	defer cancel()
	req, err := h.buildRequest(ctx, d, job)
	if err != nil {
		return err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return &Error{Code: CodeClientError, Retry: true, Err: err,
			Message: fmt.Sprintf("request to API destination endpoint failed: %v", err)}
	}
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return statusError(resp.StatusCode)
}

// statusError classifies an HTTP status: 2xx delivered; 429 and 5xx worth a
// retry; anything else final.
func statusError(code int) error {
	if code >= 200 && code < 300 {
		return nil
	}
	e := &Error{
		Code:       CodeClientError,
		StatusCode: code,
		Message:    fmt.Sprintf("API destination endpoint returned HTTP %d %s", code, http.StatusText(code)),
	}
	switch {
	case code == http.StatusTooManyRequests:
		e.Code, e.Retry = CodeThrottling, true
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

// buildRequest makes the request of job to d: the endpoint with its '*'
// replaced by the target's path parameter values in order, the target's then
// the connection's query-string parameters and headers, and the connection's
// authorization.
func (h *HTTP) buildRequest(ctx context.Context, d Destination, job *delivery.Job) (*http.Request, error) {
	method := strings.ToUpper(d.HTTPMethod)
	if method == "" {
		method = http.MethodPost
	}
	var tp delivery.HTTPParameters
	if job.HTTP != nil {
		tp = *job.HTTP
	}
	u, err := h.endpoint(d, tp)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if bodyMethods[method] {
		body = bytes.NewReader(job.Payload)
	}
	// The URL is set below: the endpoint is parsed once, not per request.
	req, err := http.NewRequestWithContext(ctx, method, "", body)
	if err != nil {
		return nil, Errorf(CodeInvalidParameter, false, "API destination %s: %v", d.ARN, err)
	}
	req.URL, req.Host = u, u.Host
	// Canonical header names set directly; parameters through Set, which
	// canonicalizes them.
	req.Header["User-Agent"] = []string{UserAgent}
	if body != nil {
		req.Header["Content-Type"] = []string{"application/json; charset=utf-8"}
	}
	for k, v := range tp.HeaderParameters {
		req.Header.Set(k, v)
	}
	for k, v := range d.Connection.HeaderParameters {
		req.Header.Set(k, v)
	}
	c := d.Connection
	switch c.AuthorizationType {
	case AuthAPIKey:
		req.Header.Set(c.APIKeyName, c.APIKeyValue)
	case AuthBasic:
		req.Header["Authorization"] = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))}
	case "":
	default:
		return nil, Errorf(CodeInvalidParameter, false, "authorization type %s of connection %s is not supported", c.AuthorizationType, c.ARN)
	}
	return req, nil
}

// endpoint returns the URL a request goes to (a copy the caller may keep).
func (h *HTTP) endpoint(d Destination, tp delivery.HTTPParameters) (*url.URL, error) {
	plain := len(tp.PathParameterValues) == 0 && len(tp.QueryStringParameters)+len(d.Connection.QueryStringParameters) == 0
	if plain {
		if u, ok := h.urls.Load(d.InvocationEndpoint); ok {
			c := *u.(*url.URL)
			return &c, nil
		}
	}
	endpoint, err := fillPath(d.InvocationEndpoint, tp.PathParameterValues)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Errorf(CodeInvalidParameter, false, "invalid InvocationEndpoint %q of API destination %s", d.InvocationEndpoint, d.ARN)
	}
	if plain {
		// An endpoint with a '*' and no path parameters is refused by
		// fillPath above, so only endpoints without one are kept.
		c := *u
		h.urls.Store(d.InvocationEndpoint, &c)
		return u, nil
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
	return u, nil
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
		return "", &Error{Code: CodeInvalidParameter, Err: errPathParams,
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
