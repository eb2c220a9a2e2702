package lambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/clock/clocktest"
	conveyorlambda "github.com/conveyor/conveyor/internal/lambda"
	"github.com/conveyor/conveyor/internal/prom"
	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/secrets"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

const role = "arn:aws:iam::123456789012:role/runner"

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func client(t testing.TB) *lambda.Client { return clientWith(t, conveyorlambda.Config{}) }

// clientWith is client on a service made with cfg (its store, scope, logger and code
// directory filled in, its store too when cfg names none).
func clientWith(t testing.TB, cfg conveyorlambda.Config) *lambda.Client {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	if cfg.Store == nil {
		cfg.Store = storetest.Open(t)
	}
	cfg.Account, cfg.Region, cfg.Logger = "123456789012", "us-east-1", quiet
	if cfg.CodeDir == "" {
		cfg.CodeDir = t.TempDir()
	}
	svc, err := conveyorlambda.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	api := awsapi.NewLambda()
	svc.Register(api)
	srv, err := awsapi.NewServer(awsapi.Config{Logger: quiet, Account: "123456789012", Region: "us-east-1"}, api)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+conveyorlambda.CodePath, svc.CodeHandler())
	mux.Handle("/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return lambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), Retryer: sdktest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "s", "")})
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// Functions are created, shown, listed and deleted through the Go SDK's Lambda client, with
// Lambda's answers.
func TestFunctionLifecycle(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	code := zipOf(t, map[string]string{"bootstrap": "#!/bin/sh\n"})
	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("process"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: code},
		Timeout: aws.Int32(10), Environment: &types.Environment{Variables: map[string]string{"STAGE": "test"}},
		Tags: map[string]string{"team": "orders"}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:process" || aws.ToInt32(created.Timeout) != 10 ||
		aws.ToInt32(created.MemorySize) != 128 || created.State != types.StateActive || created.CodeSize != int64(len(code)) ||
		aws.ToString(created.Version) != "$LATEST" || created.Environment.Variables["STAGE"] != "test" {
		t.Errorf("created %+v", created)
	}
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("process"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: code}})
	wantCode(t, "twice", err, "ResourceConflictException")

	for _, ref := range []string{"process", "123456789012:function:process", "arn:aws:lambda:us-east-1:123456789012:function:process"} {
		got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(ref)})
		if err != nil || aws.ToString(got.Configuration.CodeSha256) != aws.ToString(created.CodeSha256) || got.Tags["team"] != "orders" {
			t.Errorf("GetFunction(%s): %+v %v", ref, got, err)
		}
	}
	conf, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("process")})
	if err != nil || aws.ToString(conf.RevisionId) != aws.ToString(created.RevisionId) || conf.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		t.Errorf("GetFunctionConfiguration: %+v %v", conf, err)
	}
	// The SDK's waiters (aws lambda wait function-updated…) see the function ready.
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("process"), Timeout: aws.Int32(11)}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(c).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("process")}, 10*time.Second); err != nil {
		t.Errorf("wait function-updated-v2: %v", err)
	}
	if err := lambda.NewFunctionUpdatedWaiter(c).Wait(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("process")}, 10*time.Second); err != nil {
		t.Errorf("wait function-updated: %v", err)
	}
	_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:999999999999:function:process")})
	wantCode(t, "another account's ARN", err, "ResourceNotFoundException")

	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("alert"), Role: aws.String(role),
		Runtime: "conveyor.command", Handler: aws.String("./alert.sh"), Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"alert.sh": "echo"})}}); err != nil {
		t.Fatal(err)
	}
	page, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(1)})
	if err != nil || len(page.Functions) != 1 || aws.ToString(page.Functions[0].FunctionName) != "alert" || page.NextMarker == nil {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = c.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(1), Marker: page.NextMarker})
	if err != nil || len(page.Functions) != 1 || aws.ToString(page.Functions[0].FunctionName) != "process" {
		t.Fatalf("second page: %+v %v", page, err)
	}

	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("process")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("process")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Function not found: arn:aws:lambda:us-east-1:123456789012:function:process" {
		t.Errorf("after delete: %v", err)
	}
	_, err = c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("process")})
	wantCode(t, "delete twice", err, "ResourceNotFoundException")
}

// GetFunction's Code.Location downloads the function's zip for ten minutes, as Lambda's
// presigned URL does; an altered or unsealed token, an expired URL, or code since replaced
// is refused with S3's errors.
func TestCodeLocation(t *testing.T) {
	now := clocktest.New(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	c := clientWith(t, conveyorlambda.Config{Clock: now})
	ctx := context.Background()
	code := zipOf(t, map[string]string{"bootstrap": "#!/bin/sh\n"})
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: code}}); err != nil {
		t.Fatal(err)
	}
	location := func() string {
		t.Helper()
		got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f")})
		if err != nil || aws.ToString(got.Code.RepositoryType) != "S3" {
			t.Fatalf("GetFunction: %+v %v", got, err)
		}
		return aws.ToString(got.Code.Location)
	}
	download := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	loc := location()
	if status, body := download(loc); status != http.StatusOK || body != string(code) {
		t.Fatalf("download %s: %d, %d bytes", loc, status, len(body))
	}
	base, token, _ := strings.Cut(loc, "?token=")
	for what, u := range map[string]string{
		"an altered token":   base + "?token=" + strings.Replace(token, "A", "B", 1) + "B",
		"no token":           base,
		"a token not sealed": base + "?token=" + url.QueryEscape("123456789012/us-east-1/f\n99999999999"),
	} {
		if status, body := download(u); status != http.StatusForbidden || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
			t.Errorf("%s: %d %s", what, status, body)
		}
	}
	now.Advance(11 * time.Minute)
	if status, body := download(loc); status != http.StatusForbidden || !strings.Contains(body, "<Message>Request has expired</Message>") {
		t.Errorf("an expired URL: %d %s", status, body)
	}
	loc = location()
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("f"),
		ZipFile: zipOf(t, map[string]string{"bootstrap": "#!/bin/sh\necho new\n"})}); err != nil {
		t.Fatal(err)
	}
	if status, body := download(loc); status != http.StatusNotFound || !strings.Contains(body, "<Code>NoSuchKey</Code>") {
		t.Errorf("the URL of replaced code: %d %s", status, body)
	}
}

// Conveyor has no published versions nor aliases: a qualifier other than $LATEST names
// nothing, in the name or the Qualifier member alike, and DeleteFunction with a qualifier
// never deletes the function, with Lambda's answers.
func TestQualifiers(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f1"), Role: aws.String(role),
		Runtime: "conveyor.command", Handler: aws.String("cat"), Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"README": "cat"})}}); err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:lambda:us-east-1:123456789012:function:f1"
	for _, ref := range []string{"f1:prod", arn + ":7"} {
		_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(ref)})
		wantCode(t, "GetFunction "+ref, err, "ResourceNotFoundException")
		_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(ref), Payload: []byte(`{}`)})
		wantCode(t, "Invoke "+ref, err, "ResourceNotFoundException")
	}
	if out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f1:$LATEST"), Payload: []byte(`{"a":1}`)}); err != nil || string(out.Payload) != `{"a":1}` {
		t.Errorf("Invoke f1:$LATEST: %v %v", out, err)
	}
	for _, c2 := range []struct {
		name, qualifier, code, message string
	}{
		{"f1", "$LATEST", "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function."},
		{"f1:$LATEST", "", "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function."},
		{"f1", "prod", "InvalidParameterValueException", "Deletion of aliases is not supported."},
		{"f1:prod", "", "InvalidParameterValueException", "Deletion of aliases is not supported."},
		{"f1:prod", "5", "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."},
		{"f1", "5", "ResourceNotFoundException", "Function not found: " + arn + ":5"},
		{arn + ":9", "", "ResourceNotFoundException", "Function not found: " + arn + ":9"},
	} {
		in := &lambda.DeleteFunctionInput{FunctionName: aws.String(c2.name)}
		if c2.qualifier != "" {
			in.Qualifier = aws.String(c2.qualifier)
		}
		_, err := c.DeleteFunction(ctx, in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != c2.code || ae.ErrorMessage() != c2.message {
			t.Errorf("DeleteFunction %s qualifier %q: %v, want %s %q", c2.name, c2.qualifier, err, c2.code, c2.message)
		}
	}
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f1")}); err != nil {
		t.Fatalf("the function after the qualified deletes: %v", err)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("f1")}); err != nil {
		t.Fatal(err)
	}
}

// hugeZip is a zip whose one entry says it unzips to 300 MB.
func hugeZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "big", Method: zip.Store, CompressedSize64: 1, UncompressedSize64: 300 << 20})
	if err == nil {
		_, err = w.Write([]byte("x"))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CreateFunction refuses what Lambda refuses, and what Conveyor cannot run.
func TestCreateFunctionRefuses(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	good := zipOf(t, map[string]string{"bootstrap": ""})
	for _, tc := range []struct {
		name string
		in   lambda.CreateFunctionInput
		code string
	}{
		{"not a zip", lambda.CreateFunctionInput{Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: []byte("text")}}, "InvalidParameterValueException"},
		{"runtime", lambda.CreateFunctionInput{Runtime: types.RuntimePython312, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: good}}, "InvalidParameterValueException"},
		{"no runtime", lambda.CreateFunctionInput{Code: &types.FunctionCode{ZipFile: good}}, "InvalidParameterValueException"},
		{"s3 code", lambda.CreateFunctionInput{Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"), Code: &types.FunctionCode{S3Bucket: aws.String("b"), S3Key: aws.String("k")}}, "InvalidParameterValueException"},
		{"timeout", lambda.CreateFunctionInput{Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: good}, Timeout: aws.Int32(901)}, "ValidationException"},
		{"command without handler", lambda.CreateFunctionInput{Runtime: "conveyor.command", Code: &types.FunctionCode{ZipFile: good}}, "InvalidParameterValueException"},
		{"reserved variable", lambda.CreateFunctionInput{Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: good},
			Environment: &types.Environment{Variables: map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}}}, "InvalidParameterValueException"},
		{"variable name", lambda.CreateFunctionInput{Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: good},
			Environment: &types.Environment{Variables: map[string]string{"1bad-key": "v"}}}, "ValidationException"},
		{"an entry outside the code", lambda.CreateFunctionInput{Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"),
			Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"../escape": "x"})}}, "InvalidParameterValueException"},
		{"over 250 MB unzipped", lambda.CreateFunctionInput{Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"),
			Code: &types.FunctionCode{ZipFile: hugeZip(t)}}, "InvalidParameterValueException"},
		{"environment over 4 KB", lambda.CreateFunctionInput{Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: good},
			Environment: &types.Environment{Variables: map[string]string{"BIG": strings.Repeat("x", 4090)}}}, "InvalidParameterValueException"},
	} {
		in := tc.in
		in.FunctionName, in.Role = aws.String("f"), aws.String(role)
		_, err := c.CreateFunction(ctx, &in)
		wantCode(t, tc.name, err, tc.code)
	}
	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String("not-a-role"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: good}})
	wantCode(t, "role", err, "ValidationException")
	if list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil || len(list.Functions) != 0 {
		t.Errorf("a refused function was stored: %+v %v", list, err)
	}
	// Lambda's message names the reserved keys used, never a value.
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: good},
		Environment: &types.Environment{Variables: map[string]string{"AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_REGION": "x", "STAGE": "prod"}}})
	var ae smithy.APIError
	const want = "Lambda was unable to configure your environment variables because the environment variables you have provided " +
		"contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_REGION, AWS_SECRET_ACCESS_KEY"
	if !errors.As(err, &ae) || ae.ErrorMessage() != want {
		t.Errorf("reserved keys: %v", err)
	}
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("h"), Code: &types.FunctionCode{ZipFile: good}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"),
		Environment: &types.Environment{Variables: map[string]string{"_HANDLER": "x"}}})
	wantCode(t, "update with a reserved variable", err, "InvalidParameterValueException")
}

// A function's policy and tags are kept and shown as Lambda shows them.
func TestPolicyAndTags(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	fn, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"bootstrap": ""})}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("f")})
	wantCode(t, "no policy yet", err, "ResourceNotFoundException")
	added, err := c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("f"), StatementId: aws.String("rule"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com"),
		SourceArn: aws.String("arn:aws:events:us-east-1:123456789012:rule/r")})
	want := `{"Sid":"rule","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` +
		aws.ToString(fn.FunctionArn) + `","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:events:us-east-1:123456789012:rule/r"}}}`
	if err != nil || aws.ToString(added.Statement) != want {
		t.Errorf("AddPermission: %v %v\nwant %s", aws.ToString(added.Statement), err, want)
	}
	_, err = c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("f"), StatementId: aws.String("rule"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("111111111111")})
	wantCode(t, "the same statement id", err, "ResourceConflictException")
	pol, err := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("f")})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `"Sid":"rule"`) {
		t.Errorf("GetPolicy: %+v %v", pol, err)
	}
	if _, err := c.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("f"), StatementId: aws.String("rule")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("f"), StatementId: aws.String("rule")})
	wantCode(t, "remove twice", err, "ResourceNotFoundException")

	if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: fn.FunctionArn, Tags: map[string]string{"team": "a", "cost": "b"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: fn.FunctionArn, TagKeys: []string{"cost"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTags(ctx, &lambda.ListTagsInput{Resource: fn.FunctionArn})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "a" {
		t.Errorf("ListTags: %+v %v", tags, err)
	}
}

// With a secrets box, environment variables' values are sealed in the store and shown in
// clear through the API.
func TestEnvironmentSealed(t *testing.T) {
	st := storetest.Open(t)
	box, err := secrets.New(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := clientWith(t, conveyorlambda.Config{Store: st, Secrets: box})
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("keeper"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"bootstrap": "x"})},
		Environment: &types.Environment{Variables: map[string]string{"DB_PASSWORD": "hunter2-secret"}}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("keeper")})
	if err != nil || got.Environment == nil || got.Environment.Variables["DB_PASSWORD"] != "hunter2-secret" {
		t.Fatalf("get: %+v %v", got, err)
	}
	kv, err := st.JetStream().KeyValue(ctx, conveyorlambda.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.Keys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v %v", keys, err)
	}
	e, err := kv.Get(ctx, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(e.Value()), "hunter2") || !strings.Contains(string(e.Value()), "DB_PASSWORD") {
		t.Errorf("stored record: %s", e.Value())
	}
}

// A deleted function's metrics go with it.
func TestMetricsOfDeletedFunction(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := clientWith(t, conveyorlambda.Config{Registerer: reg})
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("brief"), Role: aws.String(role),
		Runtime: "conveyor.command", Handler: aws.String("cat"), Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"README": "cat"})}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("brief"), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if n := prom.Sum(reg, "conveyor_lambda_invocations_total", "brief"); n != 1 {
		t.Fatalf("%v invocations counted, want 1", n)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("brief")}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if len(mf.GetMetric()) > 0 {
			t.Errorf("%s still has %d series after the function's deletion", mf.GetName(), len(mf.GetMetric()))
		}
	}
}
