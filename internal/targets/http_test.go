package targets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/delivery"
)

type dests map[string]Destination

func (d dests) Lookup(_ context.Context, arn string) (Destination, error) {
	if x, ok := d[arn]; ok {
		return x, nil
	}
	return Destination{}, fmt.Errorf("api destination %s: %w", arn, delivery.ErrNotFound)
}

const destARN = "arn:aws:events:us-east-1:000000000000:api-destination/hook/0d2a4b6c-1111-2222-3333-444455556666"

type request struct {
	method, path, query, body string
	header                    http.Header
}

func recorder(t *testing.T, status int) (*httptest.Server, func() request) {
	var mu sync.Mutex
	var last request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = request{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, body: string(b), header: r.Header.Clone()}
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() request { mu.Lock(); defer mu.Unlock(); return last }
}

func TestHTTPRequest(t *testing.T) {
	srv, last := recorder(t, 200)
	cases := []struct {
		name  string
		dest  Destination
		http  *delivery.HTTPParameters
		check func(t *testing.T, r request)
	}{
		{
			name: "api key, post",
			dest: Destination{InvocationEndpoint: srv.URL + "/hook", HTTPMethod: "POST",
				Connection: Connection{AuthorizationType: AuthAPIKey, APIKeyName: "x-api-key", APIKeyValue: "k1"}},
			check: func(t *testing.T, r request) {
				if r.method != "POST" || r.path != "/hook" || r.body != `{"a":1}` {
					t.Errorf("got %s %s %q", r.method, r.path, r.body)
				}
				if r.header.Get("X-Api-Key") != "k1" || r.header.Get("User-Agent") != UserAgent ||
					r.header.Get("Content-Type") != "application/json; charset=utf-8" {
					t.Errorf("headers %v", r.header)
				}
			},
		},
		{
			name: "basic auth, put",
			dest: Destination{InvocationEndpoint: srv.URL, HTTPMethod: "put",
				Connection: Connection{AuthorizationType: AuthBasic, Username: "u", Password: "p:w"}},
			check: func(t *testing.T, r request) {
				if r.method != "PUT" || r.header.Get("Authorization") != "Basic dTpwOnc=" {
					t.Errorf("got %s, Authorization %q", r.method, r.header.Get("Authorization"))
				}
			},
		},
		{
			name: "get has no body",
			dest: Destination{InvocationEndpoint: srv.URL + "/g", HTTPMethod: "GET"},
			check: func(t *testing.T, r request) {
				if r.method != "GET" || r.body != "" || r.header.Get("Content-Type") != "" {
					t.Errorf("got %s body %q content-type %q", r.method, r.body, r.header.Get("Content-Type"))
				}
			},
		},
		{
			name: "path, query and header parameters; the connection's win",
			dest: Destination{InvocationEndpoint: srv.URL + "/orders/*/items/*?fixed=1", HTTPMethod: "POST",
				Connection: Connection{
					HeaderParameters:      map[string]string{"X-Shared": "connection"},
					QueryStringParameters: map[string]string{"shared": "connection"},
				}},
			http: &delivery.HTTPParameters{
				PathParameterValues:   []string{"o 1", "i/2"},
				HeaderParameters:      map[string]string{"X-Shared": "target", "X-Target": "t"},
				QueryStringParameters: map[string]string{"shared": "target", "q": "v w"},
			},
			check: func(t *testing.T, r request) {
				if r.path != "/orders/o%201/items/i%2F2" {
					t.Errorf("path %q", r.path)
				}
				if r.query != "fixed=1&q=v+w&shared=connection" {
					t.Errorf("query %q", r.query)
				}
				if r.header.Get("X-Shared") != "connection" || r.header.Get("X-Target") != "t" {
					t.Errorf("headers %v", r.header)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.dest.ARN = destARN
			h := NewHTTP(dests{destARN: c.dest}, nil)
			err := h.Invoke(context.Background(), &delivery.Job{TargetARN: destARN, HTTP: c.http, Payload: []byte(`{"a":1}`)})
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, last())
		})
	}
}

func TestHTTPStatus(t *testing.T) {
	cases := []struct {
		status    int
		ok, retry bool
		code      string
	}{
		{200, true, false, ""},
		{201, true, false, ""},
		{204, true, false, ""},
		{301, false, false, delivery.CodeClientError},
		{400, false, false, delivery.CodeClientError},
		{401, false, false, delivery.CodeClientError},
		{404, false, false, delivery.CodeClientError},
		{409, false, false, delivery.CodeClientError},
		{429, false, true, delivery.CodeThrottling},
		{500, false, true, delivery.CodeClientError},
		{502, false, true, delivery.CodeClientError},
		{503, false, true, delivery.CodeClientError},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.status), func(t *testing.T) {
			srv, _ := recorder(t, c.status)
			if c.status == 301 {
				srv.Config.Handler = http.RedirectHandler("/elsewhere", http.StatusMovedPermanently)
			}
			h := NewHTTP(dests{destARN: {ARN: destARN, InvocationEndpoint: srv.URL, HTTPMethod: "POST"}}, nil)
			err := h.Invoke(context.Background(), &delivery.Job{TargetARN: destARN, Payload: []byte("{}")})
			if c.ok {
				if err != nil {
					t.Fatalf("status %d: %v", c.status, err)
				}
				return
			}
			var e *delivery.Error
			if !errors.As(err, &e) {
				t.Fatalf("status %d: error %v is not a *target.Error", c.status, err)
			}
			if e.Retryable() != c.retry || e.ErrorCode() != c.code || e.StatusCode != c.status {
				t.Errorf("status %d: retry %v code %s status %d, want %v %s", c.status, e.Retryable(), e.ErrorCode(), e.StatusCode, c.retry, c.code)
			}
			if !strings.Contains(e.Error(), fmt.Sprint(c.status)) {
				t.Errorf("message %q lacks the status", e.Error())
			}
		})
	}
}

func TestHTTPFailures(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	cases := []struct {
		name  string
		dests dests
		http  *delivery.HTTPParameters
		retry bool
		code  string
	}{
		{"unknown destination", dests{}, nil, false, delivery.CodeResourceNotFound},
		{"connection refused", dests{destARN: {ARN: destARN, InvocationEndpoint: downURL}}, nil, true, delivery.CodeClientError},
		{"bad endpoint", dests{destARN: {ARN: destARN, InvocationEndpoint: "ftp://x/y"}}, nil, false, delivery.CodeInvalidParameter},
		{"wildcards without values", dests{destARN: {ARN: destARN, InvocationEndpoint: "http://127.0.0.1:1/*"}}, nil, false, delivery.CodeInvalidParameter},
		{"values without wildcards", dests{destARN: {ARN: destARN, InvocationEndpoint: "http://127.0.0.1:1/"}},
			&delivery.HTTPParameters{PathParameterValues: []string{"x"}}, false, delivery.CodeInvalidParameter},
		{"oauth", dests{destARN: {ARN: destARN, InvocationEndpoint: "http://127.0.0.1:1/", Connection: Connection{AuthorizationType: AuthOAuth}}},
			nil, false, delivery.CodeInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := NewHTTP(c.dests, nil).Invoke(context.Background(), &delivery.Job{TargetARN: destARN, HTTP: c.http})
			var e *delivery.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *target.Error", err)
			}
			if e.Retry != c.retry || e.Code != c.code {
				t.Errorf("retry %v code %s, want %v %s (%v)", e.Retry, e.Code, c.retry, c.code, e)
			}
		})
	}
}

func TestHTTPRateLimit(t *testing.T) {
	srv, _ := recorder(t, 200)
	d := dests{destARN: {ARN: destARN, InvocationEndpoint: srv.URL, InvocationRateLimitPerSecond: 2}}
	h := NewHTTP(d, nil)
	job := &delivery.Job{TargetARN: destARN, Payload: []byte("{}")}
	// The bucket holds one second's worth: two calls pass at once.
	for range 2 {
		if err := h.Invoke(context.Background(), job); err != nil {
			t.Fatal(err)
		}
	}
	// The third would wait ~500ms, more than this context allows: the
	// limiter says so without waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := h.Invoke(ctx, job)
	var e *delivery.Error
	if !errors.As(err, &e) || e.Code != delivery.CodeThrottling || !e.Retry {
		t.Fatalf("third call: %v, want a retryable THROTTLING error", err)
	}
	// A new limit from UpdateApiDestination applies to the same bucket.
	d[destARN] = Destination{ARN: destARN, InvocationEndpoint: srv.URL, InvocationRateLimitPerSecond: 1000}
	if lim := h.limiter(d[destARN]); lim.Limit() != 1000 || lim.Burst() != 1000 {
		t.Errorf("limiter after update: %v/%d", lim.Limit(), lim.Burst())
	}
	// Three Conveyors share the deliveries: each keeps to a third (rounded
	// up), and to the whole again when it is alone.
	peers := 3
	h.peers = func() int { return peers }
	if lim := h.limiter(d[destARN]); lim.Limit() != 334 || lim.Burst() != 334 {
		t.Errorf("limiter with three processes: %v/%d", lim.Limit(), lim.Burst())
	}
	peers = 1
	if lim := h.limiter(d[destARN]); lim.Limit() != 1000 {
		t.Errorf("limiter alone again: %v", lim.Limit())
	}
}
