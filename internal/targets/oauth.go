package targets

import (
	"github.com/conveyor/conveyor/internal/delivery"

	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// OAuthClient is what an OAUTH_CLIENT_CREDENTIALS connection needs to get an
// access token: the authorization endpoint, the client id and secret, and
// the connection's OAuthHttpParameters.
type OAuthClient struct {
	Endpoint     string
	Method       string // GET, POST or PUT (default POST)
	ClientID     string
	ClientSecret string
	Header       map[string]string
	Query        map[string]string
	Body         map[string]string
	// Version changes whenever the connection is updated: a token got with
	// other parameters is not used.
	Version string
}

// Token is an access token and how long it lives from when it was given.
type Token struct {
	Value    string
	Lifetime time.Duration
}

// tokenRefreshBefore is how long before its expiry a token is replaced, as
// EventBridge does (during an invocation, when the token expires within a
// minute).
const tokenRefreshBefore = time.Minute

// defaultTokenLifetime is the lifetime of a token whose answer gives none.
const defaultTokenLifetime = time.Hour

// FetchToken asks the connection's authorization endpoint for an access
// token with the client-credentials flow: the client id and secret as basic
// authorization, the body parameters form-encoded, the header and query
// parameters as given; the answer is OAuth's JSON (access_token,
// expires_in). A refusal (4xx) is a non-retryable NO_PERMISSIONS *delivery.Error; an
// endpoint that cannot be reached or fails (5xx) a retryable one.
func FetchToken(ctx context.Context, client *http.Client, o *OAuthClient) (Token, error) {
	method := strings.ToUpper(o.Method)
	if method == "" {
		method = http.MethodPost
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Token{}, delivery.Errorf(delivery.CodeInvalidParameter, false, "invalid AuthorizationEndpoint %q", o.Endpoint)
	}
	if len(o.Query) > 0 {
		q := u.Query()
		for k, v := range o.Query {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	var body io.Reader
	form := url.Values{}
	for k, v := range o.Body {
		form.Set(k, v)
	}
	if method != http.MethodGet {
		body = strings.NewReader(form.Encode())
	}
	ctx, cancel := context.WithTimeout(ctx, HTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return Token{}, delivery.Errorf(delivery.CodeInvalidParameter, false, "authorization request: %v", err)
	}
	for k, v := range o.Header {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(o.ClientID+":"+o.ClientSecret)))
	resp, err := client.Do(req)
	if err != nil {
		return Token{}, &delivery.Error{Code: delivery.CodeClientError, Retry: true, Err: err,
			Message: fmt.Sprintf("the connection's authorization endpoint could not be reached: %v", err)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return Token{}, &delivery.Error{Code: delivery.CodeClientError, Retry: true, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("the connection's authorization endpoint answered HTTP %d", resp.StatusCode)}
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		return Token{}, &delivery.Error{Code: delivery.CodeNoPermissions, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("the connection's authorization endpoint refused the client credentials: HTTP %d", resp.StatusCode)}
	}
	var answer struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(b, &answer); err != nil || answer.AccessToken == "" {
		return Token{}, &delivery.Error{Code: delivery.CodeNoPermissions,
			Message: "the connection's authorization endpoint answered no access_token"}
	}
	life := defaultTokenLifetime
	var secs float64
	if len(answer.ExpiresIn) > 0 {
		s := strings.Trim(string(answer.ExpiresIn), `"`)
		if _, err := fmt.Sscan(s, &secs); err == nil && secs > 0 {
			life = time.Duration(secs * float64(time.Second))
		}
	}
	return Token{Value: answer.AccessToken, Lifetime: life}, nil
}

// tokens caches the access tokens of OAuth connections, one per connection,
// fetched once however many deliveries want it at the same time.
type tokens struct {
	client *http.Client
	now    func() time.Time

	mu sync.Mutex
	m  map[string]*cachedToken // by connection ARN
}

type cachedToken struct {
	mu      sync.Mutex
	version string
	value   string
	expires time.Time
}

func newTokens(client *http.Client) *tokens {
	return &tokens{client: client, now: time.Now, m: map[string]*cachedToken{}}
}

// get returns the connection's token: the cached one unless it expires
// within a minute, was got with other parameters, or stale says the
// destination refused it (401, 407).
func (t *tokens) get(ctx context.Context, arn string, o *OAuthClient, stale string) (string, error) {
	t.mu.Lock()
	c := t.m[arn]
	if c == nil {
		c = &cachedToken{}
		t.m[arn] = c
	}
	t.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.value != "" && c.version == o.Version && c.value != stale &&
		t.now().Add(tokenRefreshBefore).Before(c.expires) {
		return c.value, nil
	}
	asked := t.now()
	tok, err := FetchToken(ctx, t.client, o)
	if err != nil {
		return "", err
	}
	c.value, c.expires, c.version = tok.Value, asked.Add(tok.Lifetime), o.Version
	return tok.Value, nil
}
