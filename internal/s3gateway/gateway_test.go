package s3gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/sdktest"
)

type nopRecorder struct{}

func (nopRecorder) CommitCall(context.Context, audit.Call) {}

// builtRecorder builds each call's record, as the audit log would store it.
type builtRecorder struct {
	b       *audit.Builder
	mu      sync.Mutex
	records []*audit.Record
}

func (r *builtRecorder) CommitCall(_ context.Context, c audit.Call) {
	rec, ok := r.b.Build(c)
	if !ok {
		return
	}
	r.mu.Lock()
	r.records = append(r.records, rec)
	r.mu.Unlock()
}

func (r *builtRecorder) take() []*audit.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.records
	r.records = nil
	return out
}

// seenRequest is what one end saw of a request.
type seenRequest struct {
	method, uri, host, auth, date, sha string
}

type seenLog struct {
	mu   sync.Mutex
	reqs []seenRequest
}

func (l *seenLog) add(r *http.Request, body []byte) {
	sum := sha256.Sum256(body)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, seenRequest{r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("Authorization"),
		r.Header.Get("X-Amz-Date"), string(sum[:])})
}

func (l *seenLog) all() []seenRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]seenRequest(nil), l.reqs...)
}

// clientSide records each request as the SDK sends it (after signing).
type clientSide struct {
	log  *seenLog
	next http.RoundTripper
}

func (c clientSide) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	u := *r.URL
	rr := *r
	rr.URL = &u
	if rr.Host == "" {
		rr.Host = u.Host
	}
	c.log.add(&rr, body)
	return c.next.RoundTrip(r)
}

type rig struct {
	client  *s3.Client
	rec     *builtRecorder
	sent    *seenLog
	arrived *seenLog
	gateway string
}

func newRig(t *testing.T, dataEvents bool) *rig {
	t.Helper()
	b, err := audit.NewBuilder(audit.Config{AccountID: "123456789012", Region: "us-east-1", DataEvents: dataEvents})
	if err != nil {
		t.Fatal(err)
	}
	rg := &rig{rec: &builtRecorder{b: b}, sent: &seenLog{}, arrived: &seenLog{}}
	fake := gofakes3.New(s3mem.New()).Server()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rg.arrived.add(r, body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(backend.Close)
	gw, err := New(Config{Backend: backend.URL, Recorder: rg.rec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(gw)
	t.Cleanup(front.Close)
	rg.gateway = front.URL
	rg.client = s3.New(s3.Options{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAGATEWAYTEST", "secret", ""),
		BaseEndpoint: aws.String(front.URL),
		UsePathStyle: true,
		Retryer:      sdktest.Retryer(),
		HTTPClient:   &http.Client{Transport: clientSide{rg.sent, http.DefaultTransport}},
	})
	return rg
}

// The SDK's calls pass through the gateway unchanged (the backend sees
// byte-identical Authorization, Host, date, URI and body) and each is
// recorded with its eventName, parameters, resources and key; a failure
// carries the backend's error code.
func TestGatewaySDK(t *testing.T) {
	rg := newRig(t, true)
	ctx := t.Context()
	body := bytes.Repeat([]byte("conveyor "), 10000)
	steps := []struct {
		op   string
		call func() error
	}{
		{"CreateBucket", func() error {
			_, err := rg.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("demo")})
			return err
		}},
		{"PutObject", func() error {
			_, err := rg.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("demo"), Key: aws.String("dir/hello world.txt"),
				Body: bytes.NewReader(body)})
			return err
		}},
		{"GetObject", func() error {
			out, err := rg.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("demo"), Key: aws.String("dir/hello world.txt")})
			if err != nil {
				return err
			}
			defer out.Body.Close()
			got, err := io.ReadAll(out.Body)
			if err == nil && !bytes.Equal(got, body) {
				err = errors.New("GetObject returned other bytes")
			}
			return err
		}},
		{"ListObjectsV2", func() error {
			_, err := rg.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("demo"), Prefix: aws.String("dir/")})
			return err
		}},
		{"DeleteObject", func() error {
			_, err := rg.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("demo"), Key: aws.String("dir/hello world.txt")})
			return err
		}},
		{"DeleteBucket", func() error {
			_, err := rg.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("missing")})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchBucket" {
				return errors.New("DeleteBucket of a missing bucket: want NoSuchBucket, got " + errString(err))
			}
			return nil
		}},
		{"ListBuckets", func() error {
			out, err := rg.client.ListBuckets(ctx, &s3.ListBucketsInput{})
			if err == nil && (len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != "demo") {
				err = errors.New("ListBuckets: want [demo]")
			}
			return err
		}},
	}
	for _, s := range steps {
		if err := s.call(); err != nil {
			t.Fatalf("%s: %v", s.op, err)
		}
	}

	sent, arrived := rg.sent.all(), rg.arrived.all()
	if len(sent) != len(steps) || len(arrived) != len(sent) {
		t.Fatalf("client sent %d requests, backend got %d, want %d", len(sent), len(arrived), len(steps))
	}
	for i := range sent {
		if sent[i] != arrived[i] {
			t.Errorf("%s changed on the way:\nsent    %+v\narrived %+v", steps[i].op, sent[i], arrived[i])
		}
		if !strings.HasPrefix(sent[i].auth, "AWS4-HMAC-SHA256 Credential=AKIAGATEWAYTEST/") {
			t.Errorf("%s: not signed: %q", steps[i].op, sent[i].auth)
		}
	}

	recs := rg.rec.take()
	if len(recs) != len(steps) {
		t.Fatalf("%d records, want %d", len(recs), len(steps))
	}
	host := strings.TrimPrefix(rg.gateway, "http://")
	want := []struct {
		params, resources string
		mgmt, ro          bool
		code              string
	}{
		{`{"Host":"` + host + `","bucketName":"demo"}`, `[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::demo"}]`, true, false, ""},
		{`{"Host":"` + host + `","bucketName":"demo","key":"dir/hello world.txt"` + extraParams(recs[1]) + `}`,
			`[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::demo/dir/hello world.txt"},{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::demo"}]`, false, false, ""},
		{`{"Host":"` + host + `","bucketName":"demo","key":"dir/hello world.txt"` + extraParams(recs[2]) + `}`,
			`[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::demo/dir/hello world.txt"},{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::demo"}]`, false, true, ""},
		{`{"Host":"` + host + `","bucketName":"demo","list-type":"2","prefix":"dir/"}`, `[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::demo"}]`, false, true, ""},
		{`{"Host":"` + host + `","bucketName":"demo","key":"dir/hello world.txt"` + extraParams(recs[4]) + `}`,
			`[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::demo/dir/hello world.txt"},{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::demo"}]`, false, false, ""},
		{`{"Host":"` + host + `","bucketName":"missing"}`, `[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::missing"}]`, true, false, "NoSuchBucket"},
		{`{"Host":"` + host + `"` + extraParams(recs[6]) + `}`, `[]`, true, true, ""},
	}
	for i, rec := range recs {
		w := want[i]
		res, _ := jsonString(rec.Resources)
		if rec.EventName != steps[i].op || rec.EventSource != "s3.amazonaws.com" || rec.AWSRegion != "eu-west-1" ||
			rec.UserIdentity.AccessKeyID != "AKIAGATEWAYTEST" || rec.SourceIPAddress != "127.0.0.1" ||
			string(rec.RequestParameters) != w.params || res != w.resources || rec.ManagementEvent != w.mgmt ||
			rec.ReadOnly != w.ro || rec.ErrorCode != w.code || rec.RequestID == "" ||
			(w.code != "") != (rec.ErrorMessage != "") || !strings.Contains(rec.UserAgent, "aws-sdk-go-v2") {
			raw, _ := rec.Marshal()
			t.Errorf("record %d (%s):\n%s\nwant params %s resources %s management %v readOnly %v error %q",
				i, steps[i].op, raw, w.params, w.resources, w.mgmt, w.ro, w.code)
		}
	}
}

// extraParams lists the query parameters the SDK added to an object call
// (x-id=PutObject and the like), as the record should show them.
func extraParams(rec *audit.Record) string {
	if strings.Contains(string(rec.RequestParameters), `"x-id":"`+rec.EventName+`"`) {
		return `,"x-id":"` + rec.EventName + `"`
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// With data-event logging off, object calls are forwarded but not
// recorded; bucket calls are.
func TestGatewayDataEventsOff(t *testing.T) {
	rg := newRig(t, false)
	ctx := t.Context()
	if _, err := rg.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("quiet")}); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("quiet"), Key: aws.String("k"),
		Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("quiet"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rg.rec.take() {
		names = append(names, r.EventName)
	}
	if strings.Join(names, ",") != "CreateBucket,PutBucketVersioning" {
		t.Errorf("recorded %v, want CreateBucket,PutBucketVersioning", names)
	}
}

// A backend that cannot be reached answers 503 ServiceUnavailable, recorded.
func TestGatewayBackendDown(t *testing.T) {
	b, _ := audit.NewBuilder(audit.Config{AccountID: "123456789012", Region: "us-east-1"})
	rec := &builtRecorder{b: b}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	gw, err := New(Config{Backend: dead.URL, Recorder: rec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("PUT", "/demo", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIADOWN/20261126/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
	gw.ServeHTTP(w, r)
	recs := rec.take()
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "<Code>ServiceUnavailable</Code>") ||
		len(recs) != 1 || recs[0].ErrorCode != "ServiceUnavailable" || recs[0].EventName != "CreateBucket" ||
		recs[0].UserIdentity.AccessKeyID != "AKIADOWN" {
		t.Errorf("answer %d %s, records %+v", w.Code, w.Body, recs)
	}
}

// journal keeps the intents it is given, or refuses them all.
type journal struct {
	mu      sync.Mutex
	intents []audit.Call
	refuse  bool
}

func (j *journal) IntendCall(_ context.Context, c audit.Call) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.refuse {
		return errors.New("journal down")
	}
	j.intents = append(j.intents, c)
	return nil
}

// A call that can change something is journaled before it is forwarded,
// with the eventID its record gets; when the journal refuses, the call is
// answered 503 and never reaches the backend. Data events are not journaled.
func TestGatewayJournal(t *testing.T) {
	b, _ := audit.NewBuilder(audit.Config{AccountID: "123456789012", Region: "us-east-1"})
	rec := &builtRecorder{b: b}
	var reached atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	defer backend.Close()
	j := &journal{}
	gw, err := New(Config{Backend: backend.URL, Recorder: rec, Journal: j, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string) int {
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w.Code
	}
	if code := do("PUT", "/demo"); code != 200 {
		t.Fatalf("CreateBucket: %d", code)
	}
	do("GET", "/demo/key")
	recs := rec.take()
	if len(j.intents) != 1 || len(recs) != 1 || j.intents[0].Operation != "CreateBucket" || j.intents[0].EventID != recs[0].EventID {
		t.Fatalf("intents %+v, records %+v", j.intents, recs)
	}
	j.refuse = true
	if code := do("DELETE", "/demo"); code != http.StatusServiceUnavailable || reached.Load() != 2 {
		t.Errorf("refused DeleteBucket: %d, backend reached %d times (want 2)", code, reached.Load())
	}
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
