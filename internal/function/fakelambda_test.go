package function_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
)

const (
	fakeKey    = "AKIDLAMBDATEST"
	fakeSecret = "lambda-secret"
)

// fakeLambda is an in-process AWS Lambda Invoke API. It checks each request
// as Lambda would receive it: the path and method of Invoke, an Event
// invocation type, and a SigV4 signature for service lambda in its region
// with fakeKey's secret. Functions it does not know answer 404
// ResourceNotFoundException; status overrides the answer per function.
type fakeLambda struct {
	t      *testing.T
	region string
	srv    *httptest.Server

	mu      sync.Mutex
	known   map[string]bool // function names
	status  map[string]int  // name → status to answer instead of 202
	calls   []fakeCall
	problem []string // requests that were not what Lambda accepts
	got     chan struct{}
}

type fakeCall struct {
	Function string // FunctionName as sent (name or ARN)
	Body     []byte
}

func newFakeLambda(t *testing.T, region string, functions ...string) *fakeLambda {
	f := &fakeLambda{t: t, region: region, known: map[string]bool{}, status: map[string]int{}, got: make(chan struct{}, 100)}
	for _, n := range functions {
		f.known[n] = true
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLambda) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	bad := func(status int, typ, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		f.mu.Lock()
		f.problem = append(f.problem, typ+": "+msg)
		f.mu.Unlock()
		f.fail(w, status, typ, msg)
	}
	const prefix, suffix = "/2015-03-31/functions/", "/invocations"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, suffix) {
		bad(http.StatusNotFound, "UnknownOperationException", "%s %s is not Invoke", r.Method, r.URL.Path)
		return
	}
	fn := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), suffix)
	if it := r.Header.Get("X-Amz-Invocation-Type"); it != "Event" {
		bad(http.StatusBadRequest, "InvalidParameterValueException", "X-Amz-Invocation-Type %q, want Event", it)
		return
	}
	sig, ok := awsapi.ParseSigV4(r.Header.Get("Authorization"))
	if !ok {
		bad(http.StatusForbidden, "IncompleteSignatureException", "Authorization %q", r.Header.Get("Authorization"))
		return
	}
	if sig.AccessKeyID != fakeKey || sig.Service != "lambda" || sig.Region != f.region {
		bad(http.StatusForbidden, "InvalidSignatureException", "credential scope %+v", sig)
		return
	}
	// SignatureV4 escapes the path once more, as SigV4 does for Lambda (every service but S3).
	if want := awsapi.SignatureV4(r, body, sig, r.Header.Get("X-Amz-Date"), fakeSecret); want != sig.Signature {
		bad(http.StatusForbidden, "InvalidSignatureException", "signature mismatch")
		return
	}
	if t, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date")); err != nil || time.Since(t).Abs() > 5*time.Minute {
		bad(http.StatusForbidden, "InvalidSignatureException", "X-Amz-Date %q", r.Header.Get("X-Amz-Date"))
		return
	}
	name := fn
	if strings.HasPrefix(fn, "arn:") {
		parts := strings.Split(fn, ":")
		if len(parts) < 7 {
			bad(http.StatusBadRequest, "ValidationException", "FunctionName %q", fn)
			return
		}
		name = parts[6]
	}
	f.mu.Lock()
	known, status := f.known[name], f.status[name]
	f.mu.Unlock()
	switch {
	case !known:
		f.fail(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+fn)
	case status == http.StatusTooManyRequests:
		f.fail(w, status, "TooManyRequestsException", "Rate Exceeded.")
	case status >= 500:
		f.fail(w, status, "ServiceException", "Lambda is having a bad day")
	case status != 0:
		f.fail(w, status, "AccessDeniedException", "not allowed")
	default:
		f.mu.Lock()
		f.calls = append(f.calls, fakeCall{Function: fn, Body: body})
		f.mu.Unlock()
		w.Header().Set("X-Amzn-RequestId", awsapi.NewRequestID())
		w.WriteHeader(http.StatusAccepted)
		select {
		case f.got <- struct{}{}:
		default:
		}
	}
}

// fail answers as Lambda's REST-JSON errors look.
func (f *fakeLambda) fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.Header().Set("X-Amzn-RequestId", awsapi.NewRequestID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}

func (f *fakeLambda) setStatus(name string, status int) {
	f.mu.Lock()
	f.status[name] = status
	f.mu.Unlock()
}

func (f *fakeLambda) snapshot() ([]fakeCall, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...), append([]string(nil), f.problem...)
}

// wait waits for n accepted invocations.
func (f *fakeLambda) wait(t *testing.T, n int) []fakeCall {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		calls, problems := f.snapshot()
		if len(problems) > 0 {
			t.Fatalf("fake Lambda refused requests: %q", problems)
		}
		if len(calls) >= n {
			return calls
		}
		select {
		case <-f.got:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("fake Lambda got %d invocations, want %d", len(calls), n)
		}
	}
}
