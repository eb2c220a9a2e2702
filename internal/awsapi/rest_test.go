package awsapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/conveyor/conveyor/internal/awsapi"
)

type getFunctionIn struct {
	FunctionName string  `json:"-" uri:"FunctionName"`
	Qualifier    *string `json:"-" query:"Qualifier"`
}

type functionConfig struct {
	FunctionName string `json:"FunctionName"`
	FunctionArn  string `json:"FunctionArn"`
	Runtime      string `json:"Runtime,omitempty"`
	Timeout      int    `json:"Timeout,omitempty"`
}

type getFunctionOut struct {
	Configuration functionConfig `json:"Configuration"`
}

type invokeIn struct {
	FunctionName   string `json:"-" uri:"FunctionName"`
	InvocationType string `json:"-" header:"X-Amz-Invocation-Type"`
	Payload        []byte `json:"-" payload:""`
}

type invokeOut struct {
	StatusCode    int    `json:"-" status:""`
	FunctionError string `json:"-" header:"X-Amz-Function-Error"`
	Version       string `json:"-" header:"X-Amz-Executed-Version"`
	Payload       []byte `json:"-" payload:""`
}

type createFunctionIn struct {
	FunctionName *string `json:"FunctionName"`
	Runtime      *string `json:"Runtime"`
	Timeout      *int    `json:"Timeout"`
}

// restServer serves a small Lambda-shaped REST-JSON service: CreateFunction, GetFunction and
// Invoke.
func restServer(t *testing.T, observers ...awsapi.Observer) (*httptest.Server, *lambda.Client) {
	t.Helper()
	svc := awsapi.NewService(awsapi.ServiceConfig{Name: "lambda", REST: true, InternalErrorCode: "ServiceException"})
	awsapi.HandleREST(svc, "CreateFunction", "POST", "/2015-03-31/functions", http.StatusCreated,
		func(ctx context.Context, in *createFunctionIn) (*functionConfig, error) {
			if in.FunctionName == nil || *in.FunctionName == "taken" {
				return nil, awsapi.Errorf("ResourceConflictException", "Function already exist: taken")
			}
			return &functionConfig{FunctionName: *in.FunctionName, FunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:" + *in.FunctionName,
				Runtime: aws.ToString(in.Runtime), Timeout: aws.ToInt(in.Timeout)}, nil
		})
	awsapi.HandleREST(svc, "GetFunction", "GET", "/2015-03-31/functions/{FunctionName}", 0,
		func(ctx context.Context, in *getFunctionIn) (*getFunctionOut, error) {
			if in.FunctionName != "echo" {
				return nil, awsapi.Errorf("ResourceNotFoundException", "Function not found: %s", in.FunctionName)
			}
			name := in.FunctionName
			if in.Qualifier != nil {
				name += ":" + *in.Qualifier
			}
			return &getFunctionOut{Configuration: functionConfig{FunctionName: name}}, nil
		})
	awsapi.HandleREST(svc, "Invoke", "POST", "/2015-03-31/functions/{FunctionName}/invocations", 0,
		func(ctx context.Context, in *invokeIn) (*invokeOut, error) {
			switch {
			case in.InvocationType == "Event":
				return &invokeOut{StatusCode: http.StatusAccepted}, nil
			case strings.Contains(string(in.Payload), "fail"):
				return &invokeOut{FunctionError: "Unhandled", Version: "$LATEST", Payload: []byte(`{"errorMessage":"failed"}`)}, nil
			}
			return &invokeOut{Version: "$LATEST", Payload: append([]byte(in.FunctionName+":"), in.Payload...)}, nil
		})
	srv, err := awsapi.NewServer(awsapi.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, svc)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range observers {
		srv.Observe(o)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := awsConfig(hs.URL)
	return hs, lambda.NewFromConfig(cfg)
}

// A REST call's parameters, for its observers, are its path, query, header
// and JSON body members in one object; a raw payload (an Invoke's) is not
// among them.
func TestRESTParams(t *testing.T) {
	log := &callLog{}
	_, c := restServer(t, log.observe)
	ctx := context.Background()
	if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: lambdatypes.InvocationTypeEvent,
		Payload: []byte(`{"secret":"SECRETPAYLOAD"}`)}); err != nil {
		t.Fatal(err)
	}
	invoke := string(log.next(t).Params())
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo"), Qualifier: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	get := string(log.next(t).Params())
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("fn"), Role: aws.String("r"),
		Code: &lambdatypes.FunctionCode{}, Timeout: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	create := string(log.next(t).Params())
	for _, c := range []struct {
		op, params string
		want       []string
	}{
		{"Invoke", invoke, []string{`"FunctionName":"echo"`, `"InvocationType":"Event"`}},
		{"GetFunction", get, []string{`"FunctionName":"echo"`, `"Qualifier":"prod"`}},
		{"CreateFunction", create, []string{`"FunctionName":"fn"`, `"Timeout":7`, `"Role":"r"`}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.params, w) {
				t.Errorf("%s's parameters %s, want %s in them", c.op, c.params, w)
			}
		}
	}
	if strings.Contains(invoke, "SECRETPAYLOAD") {
		t.Errorf("Invoke's parameters hold its payload: %s", invoke)
	}
}

// The Go SDK's Lambda client drives a REST-JSON service: path, query, header and raw
// payload members, statuses, and errors by their X-Amzn-ErrorType.
func TestRESTWithTheSDK(t *testing.T) {
	hs, c := restServer(t)
	ctx := context.Background()
	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("fn"), Runtime: lambdatypes.RuntimeProvidedal2023,
		Timeout: aws.Int32(7), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("zip")}})
	if err != nil || aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:fn" || aws.ToInt32(created.Timeout) != 7 {
		t.Fatalf("CreateFunction: %+v %v", created, err)
	}
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("taken"), Role: aws.String("r"), Code: &lambdatypes.FunctionCode{}})
	var conflict *lambdatypes.ResourceConflictException
	if !errors.As(err, &conflict) || aws.ToString(conflict.Message) != "Function already exist: taken" {
		t.Errorf("CreateFunction taken: %v", err)
	}
	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo"), Qualifier: aws.String("prod")})
	if err != nil || aws.ToString(got.Configuration.FunctionName) != "echo:prod" {
		t.Errorf("GetFunction: %+v %v", got, err)
	}
	_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
	var nf *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Function not found: nope" {
		t.Errorf("GetFunction missing: %v", err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"a":1}`)})
	if err != nil || out.StatusCode != 200 || string(out.Payload) != `echo:{"a":1}` || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil {
		t.Errorf("Invoke: %+v %v", out, err)
	}
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`"fail"`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || string(out.Payload) != `{"errorMessage":"failed"}` {
		t.Errorf("Invoke failing: %+v %v", out, err)
	}
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: lambdatypes.InvocationTypeEvent})
	if err != nil || out.StatusCode != http.StatusAccepted {
		t.Errorf("Invoke Event: %+v %v", out, err)
	}
	// A known path with another method, and an unknown path.
	for _, c := range []struct {
		method, path string
		status       int
	}{{"DELETE", "/2015-03-31/functions/echo/invocations", http.StatusMethodNotAllowed}, {"GET", "/2015-03-31/nothing", http.StatusNotFound}} {
		req, _ := http.NewRequest(c.method, hs.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
	}
}

// A REST call may answer after the server's write timeout when it says so.
func TestExtendWriteDeadline(t *testing.T) {
	svc := awsapi.NewService(awsapi.ServiceConfig{Name: "lambda", REST: true})
	type in struct {
		Extend bool `json:"-" query:"extend"`
	}
	awsapi.HandleREST(svc, "Slow", "GET", "/slow", 0, func(ctx context.Context, i *in) (*functionConfig, error) {
		if i.Extend {
			awsapi.ExtendWriteDeadline(ctx, 5*time.Second)
		}
		time.Sleep(1500 * time.Millisecond) // past the server's write timeout
		return &functionConfig{FunctionName: "slow"}, nil
	})
	srv, err := awsapi.NewServer(awsapi.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, svc)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.WriteTimeout = time.Second
	hs.Start()
	t.Cleanup(hs.Close)
	for _, extend := range []bool{true, false} {
		resp, err := http.Get(hs.URL + "/slow?extend=" + strconv.FormatBool(extend))
		ok := err == nil && resp.StatusCode == 200
		if ok {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ok = strings.Contains(string(b), "slow")
		}
		if ok != extend {
			t.Errorf("extend %v: answered %v (%v)", extend, ok, err)
		}
	}
}
