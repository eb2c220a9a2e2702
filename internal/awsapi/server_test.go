package awsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/identity"
	"github.com/conveyor/conveyor/internal/ingest"
	"github.com/conveyor/conveyor/internal/syncbuf"
	"github.com/conveyor/conveyor/internal/waitfor"
)

type echoInput struct {
	Name   string            `json:"Name"`
	Limit  *int32            `json:"Limit"`
	Big    int64             `json:"Big"`
	On     bool              `json:"On"`
	Tags   []string          `json:"Tags"`
	Nested *struct{ A int }  `json:"Nested"`
	When   *awsapi.Timestamp `json:"When"`
}

type echoOutput struct {
	Name  string            `json:"Name"`
	Limit *int32            `json:"Limit,omitempty"`
	When  *awsapi.Timestamp `json:"When,omitempty"`
}

// rawServer registers a few operations for the protocol tests.
func rawServer(t *testing.T, cfg awsapi.Config) (*httptest.Server, *callLog) {
	t.Helper()
	eb, q := awsapi.NewEventBridge(), awsapi.NewSQS()
	awsapi.Handle(eb, "Echo", func(ctx context.Context, in *echoInput) (*echoOutput, error) {
		return &echoOutput{Name: in.Name, Limit: in.Limit, When: in.When}, nil
	})
	awsapi.Handle(eb, "Nil", func(ctx context.Context, in *echoInput) (*echoOutput, error) { return nil, nil })
	awsapi.Handle(eb, "Wrapped", func(ctx context.Context, in *echoInput) (*echoOutput, error) {
		return nil, fmt.Errorf("describe: %w", awsapi.Errorf(awsapi.CodeResourceNotFoundException, "Rule %s does not exist on EventBus default.", in.Name))
	})
	awsapi.Handle(eb, "Custom", func(ctx context.Context, in *echoInput) (*echoOutput, error) {
		return nil, &awsapi.Error{Code: "SomethingOdd", Message: "odd", Status: 409}
	})
	awsapi.Handle(eb, "Unencodable", func(ctx context.Context, in *echoInput) (*map[string]any, error) {
		return &map[string]any{"f": func() {}}, nil
	})
	awsapi.Handle(eb, "Caller", func(ctx context.Context, in *struct{}) (*awsapi.Caller, error) {
		c := awsapi.CallerFrom(ctx)
		return &c, nil
	})
	awsapi.Handle(q, "GetQueueUrl", func(ctx context.Context, in *echoInput) (*echoOutput, error) {
		return nil, awsapi.Errorf(awsapi.CodeQueueDoesNotExist, "The specified queue does not exist.")
	})
	awsapi.Handle(q, "TagQueue", func(ctx context.Context, in *echoInput) (*echoOutput, error) {
		return nil, awsapi.Errorf(awsapi.CodeResourceNotFoundException, "no such queue")
	})
	awsapi.Handle(q, "PurgeQueue", func(ctx context.Context, in *echoInput) (*echoOutput, error) {
		return nil, errors.New("broken")
	})
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	srv, err := awsapi.NewServer(cfg, eb, q)
	if err != nil {
		t.Fatal(err)
	}
	log := &callLog{}
	srv.Observe(log.observe)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs, log
}

type response struct {
	status int
	header http.Header
	body   string
}

func post(t *testing.T, url, target, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestProtocol(t *testing.T) {
	hs, _ := rawServer(t, awsapi.Config{})
	for _, c := range []struct {
		name, target, body string
		status             int
		want               string // exact body
		headers            map[string]string
	}{
		{name: "echo", target: "AWSEvents.Echo", body: `{"Name":"x","Limit":5,"When":1704164645.5}`, status: 200,
			want: `{"Name":"x","Limit":5,"When":1704164645.5}`, headers: map[string]string{"Content-Type": "application/x-amz-json-1.1"}},
		{name: "integer timestamp", target: "AWSEvents.Echo", body: `{"When":1704164645}`, status: 200, want: `{"Name":"","When":1704164645}`},
		{name: "exponent timestamp", target: "AWSEvents.Echo", body: `{"When":1.7041646455E9}`, status: 200, want: `{"Name":"","When":1704164645.5}`},
		{name: "empty body", target: "AWSEvents.Echo", body: ``, status: 200, want: `{"Name":""}`},
		{name: "null body", target: "AWSEvents.Echo", body: `null`, status: 200, want: `{"Name":""}`},
		{name: "unknown members ignored", target: "AWSEvents.Echo", body: `{"Other":[1,{"a":2}]}`, status: 200, want: `{"Name":""}`},
		{name: "nil output", target: "AWSEvents.Nil", body: `{}`, status: 200, want: `{}`},
		{name: "malformed", target: "AWSEvents.Echo", body: `{"Name":`, status: 400,
			want: `{"__type":"SerializationException","message":"Could not parse the request body as JSON: unexpected end of JSON input (at offset 8)"}`},
		{name: "trailing garbage", target: "AWSEvents.Echo", body: `{} x`, status: 400,
			want: `{"__type":"SerializationException","message":"Could not parse the request body as JSON: invalid character 'x' after top-level value (at offset 4)"}`},
		{name: "string for integer", target: "AWSEvents.Echo", body: `{"Limit":"5"}`, status: 400,
			want:    `{"__type":"SerializationException","message":"STRING_VALUE can not be converted to an Integer"}`,
			headers: map[string]string{"X-Amzn-Errortype": "SerializationException"}},
		{name: "number for string", target: "AWSEvents.Echo", body: `{"Name":5}`, status: 400,
			want: `{"__type":"SerializationException","message":"NUMBER_VALUE can not be converted to a String"}`},
		{name: "fraction for long", target: "AWSEvents.Echo", body: `{"Big":1.5}`, status: 400,
			want: `{"__type":"SerializationException","message":"NUMBER_VALUE can not be converted to a Long"}`},
		{name: "bool for list", target: "AWSEvents.Echo", body: `{"Tags":true}`, status: 400,
			want: `{"__type":"SerializationException","message":"BOOLEAN_VALUE can not be converted to a List"}`},
		{name: "object for string", target: "AWSEvents.Echo", body: `{"Name":{}}`, status: 400,
			want: `{"__type":"SerializationException","message":"Start of structure or map found where not expected."}`},
		{name: "list for structure", target: "AWSEvents.Echo", body: `{"Nested":[]}`, status: 400,
			want: `{"__type":"SerializationException","message":"Start of list found where not expected"}`},
		{name: "top-level list", target: "AWSEvents.Echo", body: `[]`, status: 400,
			want: `{"__type":"SerializationException","message":"Start of list found where not expected"}`},
		{name: "string timestamp", target: "AWSEvents.Echo", body: `{"When":"2024-01-01"}`, status: 400,
			want: `{"__type":"SerializationException","message":"expected a number of epoch seconds for a timestamp, got \"2024-01-01\""}`},
		{name: "no target", target: "", body: `{}`, status: 400,
			want: `{"__type":"UnknownOperationException","message":"Missing X-Amz-Target header."}`},
		{name: "unknown prefix", target: "AmazonSNS.Publish", body: `{}`, status: 400,
			want: `{"__type":"UnknownOperationException","message":"No service is served for the X-Amz-Target \"AmazonSNS.Publish\"."}`},
		{name: "unknown operation", target: "AWSEvents.Nope", body: `{}`, status: 400,
			want: `{"__type":"UnknownOperationException","message":"Operation Nope is not supported by events."}`},
		{name: "no dot", target: "AWSEvents", body: `{}`, status: 400,
			want: `{"__type":"UnknownOperationException","message":"No service is served for the X-Amz-Target \"AWSEvents\"."}`},
		{name: "wrapped AWS error", target: "AWSEvents.Wrapped", body: `{"Name":"r1"}`, status: 400,
			want: `{"__type":"ResourceNotFoundException","message":"Rule r1 does not exist on EventBus default."}`},
		{name: "custom status", target: "AWSEvents.Custom", body: `{}`, status: 409, want: `{"__type":"SomethingOdd","message":"odd"}`},
		{name: "unencodable output", target: "AWSEvents.Unencodable", body: `{}`, status: 500,
			want: `{"__type":"InternalException","message":"The request processing has failed because of an unknown error, exception or failure."}`},
		{name: "sqs error", target: "AmazonSQS.GetQueueUrl", body: `{}`, status: 400,
			want: `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`,
			headers: map[string]string{"X-Amzn-Query-Error": "AWS.SimpleQueueService.NonExistentQueue;Sender",
				"Content-Type": "application/x-amz-json-1.0", "X-Amzn-Errortype": "QueueDoesNotExist"}},
		{name: "sqs status of a shared code", target: "AmazonSQS.TagQueue", body: `{}`, status: 404,
			want:    `{"__type":"com.amazonaws.sqs#ResourceNotFoundException","message":"no such queue"}`,
			headers: map[string]string{"X-Amzn-Query-Error": "ResourceNotFoundException;Sender"}},
		{name: "sqs internal", target: "AmazonSQS.PurgeQueue", body: `{}`, status: 500,
			want:    `{"__type":"com.amazonaws.sqs#InternalFailure","message":"The request processing has failed because of an unknown error, exception or failure."}`,
			headers: map[string]string{"X-Amzn-Query-Error": "InternalFailure;Receiver"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := post(t, hs.URL+"/", c.target, c.body)
			if r.status != c.status || r.body != c.want {
				t.Errorf("got %d %s\nwant %d %s", r.status, r.body, c.status, c.want)
			}
			if id := r.header.Get("X-Amzn-Requestid"); !uuidRe.MatchString(id) {
				t.Errorf("x-amzn-RequestId = %q", id)
			}
			for k, v := range c.headers {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestMethodAndPath(t *testing.T) {
	hs, _ := rawServer(t, awsapi.Config{})
	resp, err := http.Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" {
		t.Errorf("GET / = %d %v", resp.StatusCode, resp.Header)
	}
	if r := post(t, hs.URL+"/other", "AWSEvents.Echo", `{}`); r.status != 404 {
		t.Errorf("POST /other = %d %s", r.status, r.body)
	}
}

func TestBodyLimit(t *testing.T) {
	hs, log := rawServer(t, awsapi.Config{MaxBodyBytes: 100})
	ok := `{"Name":"` + strings.Repeat("a", 89) + `"}`
	if r := post(t, hs.URL+"/", "AWSEvents.Echo", ok); r.status != 200 {
		t.Fatalf("100-byte body: %d %s", r.status, r.body)
	}
	log.next(t)
	big := `{"Name":"` + strings.Repeat("a", 90) + `"}`
	want := `{"__type":"RequestEntityTooLargeException","message":"101 byte payload is too large for the Echo operation (limit 100 bytes)."}`
	r := post(t, hs.URL+"/", "AWSEvents.Echo", big)
	if r.status != 413 || r.body != want {
		t.Errorf("101-byte body: %d %s", r.status, r.body)
	}
	if c := log.next(t); c.Status != 413 || c.Err.Code != "RequestEntityTooLargeException" || c.Operation != "Echo" || c.Input != nil {
		t.Errorf("observed %+v", c)
	}
	// Without Content-Length (chunked), the limit holds while reading.
	req, _ := http.NewRequest("POST", hs.URL+"/", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("X-Amz-Target", "AWSEvents.Echo")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want = `{"__type":"RequestEntityTooLargeException","message":"Request payload is too large for the Echo operation (limit 100 bytes)."}`
	if resp.StatusCode != 413 || string(b) != want {
		t.Errorf("chunked: %d %s", resp.StatusCode, b)
	}
}

// TestRequestLimits: each operation has its own bound, from one table: a management call
// padded past the default bound is refused before its handler runs, while PutEvents and SQS
// messages may carry their payloads.
func TestRequestLimits(t *testing.T) {
	var ran atomic.Int32
	eb, q := awsapi.NewEventBridge(), awsapi.NewSQS()
	for _, op := range []string{"DeleteRule", "PutEvents"} {
		awsapi.Handle(eb, op, func(ctx context.Context, in *echoInput) (*echoOutput, error) {
			ran.Add(1)
			return &echoOutput{Name: in.Name}, nil
		})
	}
	awsapi.Handle(q, "SendMessageBatch", func(ctx context.Context, in *echoInput) (*echoOutput, error) {
		ran.Add(1)
		return &echoOutput{}, nil
	})
	srv, err := awsapi.NewServer(awsapi.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, eb, q)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	padded := func(n int64) string {
		return `{"Name":"r","Pad":"` + strings.Repeat("x", int(n)-len(`{"Name":"r","Pad":""}`)) + `"}`
	}
	for _, c := range []struct {
		target string
		size   int64
		status int
	}{
		{"AWSEvents.DeleteRule", awsapi.DefaultRequestLimit, 200},
		{"AWSEvents.DeleteRule", awsapi.DefaultRequestLimit + 1, 413},
		{"AWSEvents.DeleteRule", 1_200_000, 413},
		{"AWSEvents.PutEvents", 800 << 10, 200},
		{"AWSEvents.PutEvents", awsapi.RequestLimit("events", "PutEvents") + 1, 413},
		{"AmazonSQS.SendMessageBatch", 800 << 10, 200},
		{"AWSEvents.NoSuchOperation", awsapi.DefaultRequestLimit + 1, 413},
	} {
		before := ran.Load()
		r := post(t, hs.URL+"/", c.target, padded(c.size))
		if r.status != c.status {
			t.Errorf("%s with %d bytes: %d %.200s", c.target, c.size, r.status, r.body)
		}
		if c.status == 413 {
			if !strings.Contains(r.body, "RequestEntityTooLargeException") || !strings.Contains(r.body, fmt.Sprintf("%d byte payload is too large", c.size)) {
				t.Errorf("%s with %d bytes: %s", c.target, c.size, r.body)
			}
			if ran.Load() != before {
				t.Errorf("%s with %d bytes: the handler ran", c.target, c.size)
			}
		}
	}
	if got := awsapi.RequestLimit("events", "DeleteRule"); got != awsapi.DefaultRequestLimit {
		t.Errorf("RequestLimit(events, DeleteRule) = %d", got)
	}
	// PutEvents' 256 KB of entries, every character \u-escaped at three times its size.
	if got := awsapi.RequestLimit("events", "PutEvents"); got < 3*ingest.MaxRequestSize+10<<10 {
		t.Errorf("RequestLimit(events, PutEvents) = %d, less than a maximal request escaped", got)
	}
}

func TestCaller(t *testing.T) {
	hs, log := rawServer(t, awsapi.Config{})
	auth := "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20240101/us-west-2/events/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0123abcd"
	r := post(t, hs.URL+"/", "AWSEvents.Caller", `{}`, "Authorization", auth, "User-Agent", "aws-cli/1.0")
	var c awsapi.Caller
	if err := json.Unmarshal([]byte(r.body), &c); err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "AKIAEXAMPLE" || c.Region != "us-west-2" || c.Service != "events" || c.Anonymous ||
		c.UserAgent != "aws-cli/1.0" || c.SourceIP != "127.0.0.1" || c.RequestID != r.header.Get("X-Amzn-Requestid") {
		t.Errorf("caller = %+v", c)
	}
	if o := log.next(t); o.Caller != c {
		t.Errorf("observed caller %+v, want %+v", o.Caller, c)
	}
	r = post(t, hs.URL+"/", "AWSEvents.Caller", `{}`)
	if err := json.Unmarshal([]byte(r.body), &c); err != nil {
		t.Fatal(err)
	}
	if !c.Anonymous || c.AccessKeyID != "" {
		t.Errorf("unsigned caller = %+v", c)
	}
}

func TestAuthenticator(t *testing.T) {
	var seenBody atomic.Value
	auth := awsapi.AuthenticatorFunc(func(r *http.Request, body []byte, _ string, c *awsapi.Caller) error {
		seenBody.Store(string(body))
		switch c.AccessKeyID {
		case "":
			return awsapi.NewError(awsapi.CodeMissingAuthenticationTokenException)
		case "good":
			c.Identity = &identity.Principal{Type: "IAMUser", UserName: "alice"}
			return nil
		}
		return awsapi.NewError(awsapi.CodeUnrecognizedClientException)
	})
	hs, _ := rawServer(t, awsapi.Config{Authenticator: auth})
	sig := func(key string) string {
		return "AWS4-HMAC-SHA256 Credential=" + key + "/20240101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=ab"
	}
	r := post(t, hs.URL+"/", "AWSEvents.Caller", `{}`)
	if r.status != 403 || r.body != `{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}` {
		t.Errorf("unsigned: %d %s", r.status, r.body)
	}
	r = post(t, hs.URL+"/", "AWSEvents.Caller", `{"x":1}`, "Authorization", sig("bad"))
	if r.status != 400 || r.body != `{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}` {
		t.Errorf("bad key: %d %s", r.status, r.body)
	}
	if seenBody.Load() != `{"x":1}` {
		t.Errorf("authenticator saw body %q", seenBody.Load())
	}
	r = post(t, hs.URL+"/", "AWSEvents.Caller", `{}`, "Authorization", sig("good"))
	if r.status != 200 || !strings.Contains(r.body, `"userName":"alice"`) {
		t.Errorf("good key: %d %s", r.status, r.body)
	}
}

func TestObservers(t *testing.T) {
	logs := &syncbuf.Buffer{}
	hs, log := rawServer(t, awsapi.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	srv := hs.Config.Handler.(*awsapi.Server)
	srv.Observe(func(ctx context.Context, c *awsapi.Call) { panic("observer bug") })
	before := time.Now()
	r := post(t, hs.URL+"/", "AWSEvents.Echo", `{"Name":"n"}`)
	if r.status != 200 {
		t.Fatalf("call failed although an observer panics: %d %s", r.status, r.body)
	}
	c := log.next(t)
	if c.Service != "events" || c.Operation != "Echo" || string(c.Request) != `{"Name":"n"}` ||
		c.Input.(*echoInput).Name != "n" || c.Output.(*echoOutput).Name != "n" || c.Err != nil ||
		c.Status != 200 || c.ResponseBytes != len(r.body) || c.Start.Before(before.Add(-time.Second)) || c.End.Before(c.Start) {
		t.Errorf("call = %+v", c)
	}
	r = post(t, hs.URL+"/", "AWSEvents.Echo", `{"Name":1}`)
	c = log.next(t)
	if c.Input != nil || c.Output != nil || c.Err == nil || c.Err.Code != "SerializationException" || c.Status != 400 {
		t.Errorf("failed call = %+v", c)
	}
	waitfor.Err(t, 5*time.Second, "the observer's panic logged", func() error {
		if !strings.Contains(logs.String(), "observer panicked") {
			return fmt.Errorf("log: %s", logs.String())
		}
		return nil
	})
}

// TestObserveBeforeAnswer: a before-answer observer sees the call's outcome
// before the client does: the answer waits until it returns.
func TestObserveBeforeAnswer(t *testing.T) {
	hs, _ := rawServer(t, awsapi.Config{})
	srv := hs.Config.Handler.(*awsapi.Server)
	release := make(chan struct{})
	seen := make(chan *awsapi.Call, 2)
	srv.ObserveBeforeAnswer(func(ctx context.Context, c *awsapi.Call) {
		seen <- c
		<-release
	})
	answered := make(chan response, 1)
	go func() { answered <- post(t, hs.URL+"/", "AWSEvents.Echo", `{"Name":1}`) }()
	c := <-seen
	if c.Err == nil || c.Err.Code != "SerializationException" || c.Status != 0 || c.Caller.RequestID == "" {
		t.Errorf("before-answer call = %+v", c)
	}
	select {
	case r := <-answered:
		t.Fatalf("answered (%d) before the before-answer observer returned", r.status)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if r := <-answered; r.status != 400 {
		t.Errorf("status %d, want 400", r.status)
	}
}

// TestBeforeInvoke: a before-invoke function that fails refuses the call:
// its handler does not run, the error is answered (as an internal error of
// the service when it is not an AWS error) and observed.
func TestBeforeInvoke(t *testing.T) {
	hs, log := rawServer(t, awsapi.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := hs.Config.Handler.(*awsapi.Server)
	var ran atomic.Int32
	srv.BeforeInvoke(func(ctx context.Context, c *awsapi.Call) error {
		if awsapi.CallerFrom(ctx).RequestID == "" || c.Operation == "" {
			t.Errorf("before-invoke call = %+v", c)
		}
		if c.Operation == "Caller" {
			ran.Add(1)
			return nil
		}
		return errors.New("journal unavailable")
	})
	r := post(t, hs.URL+"/", "AWSEvents.Echo", `{"Name":"x"}`)
	if r.status != 500 || r.header.Get("x-amzn-ErrorType") != "InternalException" {
		t.Errorf("refused call: %d %s", r.status, r.body)
	}
	if strings.Contains(r.body, `"Name"`) {
		t.Errorf("the handler ran: %s", r.body)
	}
	if c := log.next(t); c.Err == nil || c.Err.Code != "InternalException" || c.Input != nil {
		t.Errorf("observed %+v", c)
	}
	if r := post(t, hs.URL+"/", "AWSEvents.Caller", `{}`); r.status != 200 || ran.Load() != 1 {
		t.Errorf("allowed call: %d %s", r.status, r.body)
	}
}

func TestRegister(t *testing.T) {
	a, b := awsapi.NewEventBridge(), awsapi.NewEventBridge()
	srv, err := awsapi.NewServer(awsapi.Config{}, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Register(b); err == nil {
		t.Error("second service on AWSEvents accepted")
	}
	if err := srv.Register(awsapi.NewService(awsapi.ServiceConfig{Name: "x"})); err == nil {
		t.Error("service without prefix accepted")
	}
	awsapi.Handle(a, "Op", func(ctx context.Context, in *struct{}) (*struct{}, error) { return nil, nil })
	defer func() {
		if recover() == nil {
			t.Error("duplicate operation accepted")
		}
	}()
	awsapi.Handle(a, "Op", func(ctx context.Context, in *struct{}) (*struct{}, error) { return nil, nil })
}

// A handler returning a nil *Error as a non-nil error interface must not crash the server.
func TestNilAWSError(t *testing.T) {
	eb := awsapi.NewEventBridge()
	awsapi.Handle(eb, "Bad", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		var e *awsapi.Error
		return nil, e
	})
	srv, err := awsapi.NewServer(awsapi.Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}, eb)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	if r := post(t, hs.URL+"/", "AWSEvents.Bad", `{}`); r.status != 500 || !strings.Contains(r.body, `"__type":"InternalException"`) {
		t.Errorf("got %d %s", r.status, r.body)
	}
}
