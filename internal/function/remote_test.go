package function_test

import (
	"github.com/conveyor/conveyor/internal/delivery"

	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/conveyor/conveyor/internal/function"
)

func newRemote(t *testing.T, endpoint, region string) *function.Remote {
	t.Helper()
	r, err := function.NewRemote(context.Background(), function.RemoteConfig{
		Endpoint: endpoint, Region: region,
		Credentials: credentials.NewStaticCredentialsProvider(fakeKey, fakeSecret, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRemoteInvoke(t *testing.T) {
	fake := newFakeLambda(t, "eu-west-1", "ok", "throttled", "broken", "denied")
	fake.setStatus("throttled", http.StatusTooManyRequests)
	fake.setStatus("broken", http.StatusBadGateway)
	fake.setStatus("denied", http.StatusForbidden)
	r := newRemote(t, fake.srv.URL, "eu-west-1")
	arn := func(name string) string { return "arn:aws:lambda:eu-west-1:123456789012:function:" + name }

	tests := []struct {
		arn   string
		code  string // "" for success
		retry bool
	}{
		{arn: arn("ok")},
		{arn: arn("ok") + ":prod"},
		{arn: arn("missing"), code: delivery.CodeResourceNotFound},
		{arn: arn("throttled"), code: delivery.CodeThrottling, retry: true},
		{arn: arn("broken"), code: delivery.CodeClientError, retry: true},
		{arn: arn("denied"), code: delivery.CodeNoPermissions},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			payload := []byte(`{"detail":{"arn":"` + tt.arn + `"}}`)
			err := r.Invoke(context.Background(), tt.arn, payload)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Invoke: %v", err)
				}
				calls, _ := fake.snapshot()
				last := calls[len(calls)-1]
				if last.Function != tt.arn || string(last.Body) != string(payload) {
					t.Errorf("Lambda got %s %s, want %s %s", last.Function, last.Body, tt.arn, payload)
				}
				return
			}
			var te *delivery.Error
			if !errors.As(err, &te) || te.Code != tt.code || te.Retry != tt.retry {
				t.Fatalf("Invoke: %v (%+v), want code %s retry %v", err, te, tt.code, tt.retry)
			}
		})
	}
	if _, problems := fake.snapshot(); len(problems) > 0 {
		t.Errorf("fake Lambda refused requests: %q", problems)
	}

	// A signature for the wrong region is refused by Lambda: not retried.
	wrong := newRemote(t, fake.srv.URL, "us-east-1")
	var te *delivery.Error
	if err := wrong.Invoke(context.Background(), arn("ok"), []byte(`{}`)); !errors.As(err, &te) || te.Code != delivery.CodeNoPermissions || te.Retry {
		t.Errorf("wrong region: %v, want NO_PERMISSIONS, not retried", err)
	}

	// Nobody listening: a network failure, retried.
	fake.srv.Close()
	if err := r.Invoke(context.Background(), arn("ok"), []byte(`{}`)); !errors.As(err, &te) || !te.Retry {
		t.Errorf("endpoint down: %v, want a retryable error", err)
	}
}
