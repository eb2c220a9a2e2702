package targets

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/delivery"
)

// oauthRig is a token endpoint and an API endpoint that takes only the
// tokens the token endpoint gave.
type oauthRig struct {
	tokenCalls atomic.Int32
	refuse     atomic.Bool  // the token endpoint refuses the client
	expiresIn  atomic.Int32 // seconds
	revoked    sync.Map     // tokens the API endpoint now refuses
	delivered  atomic.Int32
	token, api *httptest.Server
}

func newOAuthRig(t *testing.T) *oauthRig {
	r := &oauthRig{}
	r.expiresIn.Store(3600)
	r.token = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.tokenCalls.Add(1)
		body, _ := io.ReadAll(req.Body)
		wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("client-id:client-secret"))
		if r.refuse.Load() || req.Header.Get("Authorization") != wantAuth || string(body) != "grant_type=client_credentials" ||
			req.URL.Query().Get("audience") != "api" || req.Header.Get("X-Tenant") != "t1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, n, r.expiresIn.Load())
	}))
	r.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer tok-")
		if _, revoked := r.revoked.Load(tok); !ok || revoked {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.delivered.Add(1)
	}))
	t.Cleanup(r.token.Close)
	t.Cleanup(r.api.Close)
	return r
}

func (r *oauthRig) destination() Destination {
	return Destination{ARN: "arn:aws:events:us-east-1:123456789012:api-destination/d/1", InvocationEndpoint: r.api.URL, HTTPMethod: "POST",
		Connection: Connection{ARN: "arn:aws:events:us-east-1:123456789012:connection/c/1", AuthorizationType: AuthOAuth,
			OAuth: &OAuthClient{Endpoint: r.token.URL, Method: "POST", ClientID: "client-id", ClientSecret: "client-secret",
				Header: map[string]string{"X-Tenant": "t1"}, Query: map[string]string{"audience": "api"},
				Body: map[string]string{"grant_type": "client_credentials"}, Version: "v1"}}}
}

func invoke(h *HTTP, d Destination) error {
	return h.Invoke(context.Background(), &delivery.Job{TargetARN: d.ARN, Payload: []byte(`{}`)})
}

// Deliveries carry the bearer token of the client-credentials flow; the
// token is fetched once for many deliveries.
func TestOAuthToken(t *testing.T) {
	r := newOAuthRig(t)
	d := r.destination()
	h := NewHTTP(dests{d.ARN: d}, nil)
	for i := range 20 {
		if err := invoke(h, d); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if r.delivered.Load() != 20 || r.tokenCalls.Load() != 1 {
		t.Errorf("%d delivered with %d token calls", r.delivered.Load(), r.tokenCalls.Load())
	}
	// A new version of the connection gets a new token.
	d.Connection.OAuth.Version = "v2"
	h.dests = dests{d.ARN: d}
	if err := invoke(h, d); err != nil || r.tokenCalls.Load() != 2 {
		t.Errorf("after an update: %v, %d token calls", err, r.tokenCalls.Load())
	}
}

// A token that expires within a minute is replaced before it is used.
func TestOAuthTokenRefreshedBeforeExpiry(t *testing.T) {
	r := newOAuthRig(t)
	r.expiresIn.Store(120)
	d := r.destination()
	h := NewHTTP(dests{d.ARN: d}, nil)
	now := time.Now()
	h.tokens.now = func() time.Time { return now }
	if err := invoke(h, d); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Second) // 61 s left: still used
	if err := invoke(h, d); err != nil || r.tokenCalls.Load() != 1 {
		t.Fatalf("61 s before expiry: %v, %d token calls", err, r.tokenCalls.Load())
	}
	now = now.Add(2 * time.Second) // 59 s left: replaced
	if err := invoke(h, d); err != nil || r.tokenCalls.Load() != 2 {
		t.Fatalf("59 s before expiry: %v, %d token calls", err, r.tokenCalls.Load())
	}
}

// A 401 from the API endpoint replaces the token once and retries; a token
// endpoint that refuses the client is a NO_PERMISSIONS failure not worth a
// retry.
func TestOAuthRefusals(t *testing.T) {
	r := newOAuthRig(t)
	d := r.destination()
	h := NewHTTP(dests{d.ARN: d}, nil)
	if err := invoke(h, d); err != nil {
		t.Fatal(err)
	}
	r.revoked.Store("1", true)
	if err := invoke(h, d); err != nil || r.tokenCalls.Load() != 2 || r.delivered.Load() != 2 {
		t.Fatalf("after a 401: %v, %d token calls, %d delivered", err, r.tokenCalls.Load(), r.delivered.Load())
	}
	r.refuse.Store(true)
	r.revoked.Store("2", true)
	err := invoke(h, d)
	var te *delivery.Error
	if !errors.As(err, &te) || te.Code != delivery.CodeNoPermissions || te.Retry {
		t.Fatalf("with the client refused: %v", err)
	}
	if strings.Contains(err.Error(), "client-secret") {
		t.Errorf("the error shows the secret: %v", err)
	}
}

// A failed request's error does not quote the URL, whose query string may
// hold a connection's secret parameters.
func TestRequestFailedHidesURL(t *testing.T) {
	err := requestFailed(&url.Error{Op: "Post", URL: "http://127.0.0.1:9/x?api_key=s3cr3t", Err: errors.New("connection refused")})
	if strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error: %v", err)
	}
	if errors.Unwrap(err) != nil && strings.Contains(errors.Unwrap(err).Error(), "s3cr3t") {
		t.Errorf("wrapped error: %v", errors.Unwrap(err))
	}
}
