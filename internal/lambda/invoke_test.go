package lambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/function"
	conveyorlambda "github.com/conveyor/conveyor/internal/lambda"
	"github.com/conveyor/conveyor/internal/lambda/lambdatest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

var (
	echoOnce sync.Once
	echoZip  []byte
	echoErr  error
)

// echoBootstrap builds lambdatest/echo, an aws-lambda-go handler, as a function's bootstrap
// and zips it, as a user deploys a Go function to provided.al2023.
func echoBootstrap(t testing.TB) []byte {
	t.Helper()
	echoOnce.Do(func() {
		echoZip, echoErr = bootstrapZip("github.com/conveyor/conveyor/internal/lambda/lambdatest/echo")
	})
	if echoErr != nil {
		t.Fatalf("build the echo handler: %v %s", echoErr, echoZip)
	}
	return echoZip
}

// bootstrapZip builds the Go command pkg as a function's bootstrap and zips it (on a build
// failure, the compiler's output and the error).
func bootstrapZip(pkg string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "conveyor-bootstrap-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return out, err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = zw.Close()
	}
	return buf.Bytes(), err
}

type echoAnswer struct {
	Greeting, Function, RequestID, Stage, Client string
	Pid                                          int
}

// An aws-lambda-go handler runs unchanged through the Runtime API: answers, errors in
// Lambda's shape, the log tail, a timeout, and a warm process reused.
func TestInvokeGoHandler(t *testing.T) {
	codeDir := t.TempDir()
	c := clientWith(t, conveyorlambda.Config{CodeDir: codeDir})
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("echo"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: echoBootstrap(t)},
		Timeout: aws.Int32(2), Environment: &types.Environment{Variables: map[string]string{"STAGE": "test"}}}); err != nil {
		t.Fatal(err)
	}
	invoke := func(payload string, tail bool) *lambda.InvokeOutput {
		t.Helper()
		in := &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(payload)}
		if tail {
			in.LogType = types.LogTypeTail
		}
		out, err := c.Invoke(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := invoke(`{"name":"ada"}`, true)
	var a echoAnswer
	if err := json.Unmarshal(out.Payload, &a); err != nil || out.FunctionError != nil || a.Greeting != "hello ada" ||
		a.Function != "echo" || a.RequestID == "" || a.Stage != "test" || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("answer %s (%v), error %v", out.Payload, err, aws.ToString(out.FunctionError))
	}
	if logs, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); !strings.Contains(string(logs), "handling ada") ||
		(runtime.GOOS == "linux" && !regexp.MustCompile(`\tMax Memory Used: [1-9][0-9]* MB\t`).Match(logs)) {
		t.Errorf("log tail %q", logs)
	}
	// The process's output is a file without a name: none is left behind if Conveyor is killed.
	if logs, err := os.ReadDir(filepath.Join(codeDir, "logs")); err != nil || len(logs) != 0 {
		t.Errorf("the log directory holds %v (%v)", logs, err)
	}
	// The caller's client context reaches the handler's context.
	withClient, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"name":"cc"}`),
		ClientContext: aws.String(base64.StdEncoding.EncodeToString([]byte(`{"custom":{"client":"mobile-7"}}`)))})
	var cc echoAnswer
	if err != nil || json.Unmarshal(withClient.Payload, &cc) != nil || cc.Client != "mobile-7" {
		t.Errorf("client context: %s %v", withClient.Payload, err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{}`), ClientContext: aws.String("not base64!")})
	wantCode(t, "a client context that is not base64 JSON", err, "InvalidRequestContentException")
	// The function's request id is the Invoke call's, as on Lambda.
	if id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); id == "" || id != a.RequestID {
		t.Errorf("the call's request id %q, the function's %q", id, a.RequestID)
	}
	// The same process answers the next invocation.
	var b echoAnswer
	_ = json.Unmarshal(invoke(`{"name":"bob"}`, false).Payload, &b)
	if b.Pid != a.Pid || b.RequestID == a.RequestID {
		t.Errorf("second invocation: pid %d (first %d), request %s", b.Pid, a.Pid, b.RequestID)
	}
	out = invoke(`{"name":"x","fail":true}`, false)
	var e struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal(out.Payload, &e); err != nil || aws.ToString(out.FunctionError) != "Unhandled" || e.ErrorMessage != "asked to fail" {
		t.Errorf("failure: %s %v", out.Payload, aws.ToString(out.FunctionError))
	}
	out = invoke(`{"name":"slow","sleepMs":5000}`, false)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Task timed out after 2.00 seconds") {
		t.Errorf("timeout: %s %v", out.Payload, aws.ToString(out.FunctionError))
	}
	// After a timeout, a new process answers.
	var d echoAnswer
	_ = json.Unmarshal(invoke(`{"name":"again"}`, false).Payload, &d)
	if d.Greeting != "hello again" || d.Pid == a.Pid {
		t.Errorf("after the timeout: %+v", d)
	}
	// Event and DryRun.
	ev, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{}`)})
	if err != nil || ev.StatusCode != 202 {
		t.Errorf("Event: %+v %v", ev, err)
	}
	dry, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || dry.StatusCode != 204 {
		t.Errorf("DryRun: %+v %v", dry, err)
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`not json`)})
	wantCode(t, "payload not JSON", err, "InvalidRequestContentException")
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope")})
	wantCode(t, "missing function", err, "ResourceNotFoundException")
}

// A conveyor.command function is a command: the payload on its standard input, its standard
// output the answer, a non-zero exit a failure.
func TestInvokeCommand(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	code := lambdatest.ScriptZip(t, "upper.sh", "#!/bin/sh\ntr a-z A-Z\necho done >&2\n[ \"$FAIL\" = yes ] && exit 3\nexit 0\n")
	for name, env := range map[string]string{"upper": "no", "failing": "yes"} {
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Role: aws.String(role),
			Runtime: "conveyor.command", Handler: aws.String("./upper.sh"), Code: &types.FunctionCode{ZipFile: code},
			Environment: &types.Environment{Variables: map[string]string{"FAIL": env}}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("upper"), Payload: []byte(`{"a":"b"}`), LogType: types.LogTypeTail})
	if err != nil || string(out.Payload) != "{\"A\":\"B\"}" || out.FunctionError != nil {
		t.Fatalf("command: %q %v %v", out.Payload, aws.ToString(out.FunctionError), err)
	}
	if logs, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); !strings.Contains(string(logs), "done") ||
		!strings.HasPrefix(string(logs), "START RequestId: ") || !strings.Contains(string(logs), "\nEND RequestId: ") ||
		!strings.Contains(string(logs), "\nREPORT RequestId: ") || !strings.Contains(string(logs), "\tMemory Size: 128 MB\t") {
		t.Errorf("log tail %q", logs)
	}
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("failing"), Payload: []byte(`{}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "exit status 3") {
		t.Errorf("failing command: %q %v %v", out.Payload, aws.ToString(out.FunctionError), err)
	}
}

// A function's MemorySize bounds what its process may allocate: past it the process dies as
// on Lambda, and a larger MemorySize lets the same work through.
func TestMemorySize(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("memory is bounded on Linux only")
	}
	c := client(t)
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("hungry"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: echoBootstrap(t)},
		MemorySize: aws.Int32(128), Timeout: aws.Int32(60)}); err != nil { // filling 300 MiB takes seconds on a loaded machine
		t.Fatal(err)
	}
	invoke := func(mib int) *lambda.InvokeOutput {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hungry"), Payload: fmt.Appendf(nil, `{"name":"m","allocateMiB":%d}`, mib)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := invoke(32); out.FunctionError != nil {
		t.Fatalf("32 MiB in 128: %s", out.Payload)
	}
	if out := invoke(300); aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.ExitError") {
		t.Fatalf("300 MiB in 128: %s %v", out.Payload, aws.ToString(out.FunctionError))
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("hungry"),
		MemorySize: aws.Int32(1024)}); err != nil {
		t.Fatal(err)
	}
	if out := invoke(300); out.FunctionError != nil {
		t.Fatalf("300 MiB in 1024: %s", out.Payload)
	}
}

// A warm process stays warm through tags and policy (which change neither the function's
// configuration nor its RevisionId), and is stopped at once when the configuration changes.
func TestProcessesFollowChanges(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("warm"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: echoBootstrap(t)}})
	if err != nil {
		t.Fatal(err)
	}
	pid := func() int {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("warm"), Payload: []byte(`{"name":"p"}`)})
		var a echoAnswer
		if err != nil || json.Unmarshal(out.Payload, &a) != nil || a.Pid == 0 {
			t.Fatalf("invoke: %v %s", err, out.Payload)
		}
		return a.Pid
	}
	first := pid()
	if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: created.FunctionArn, Tags: map[string]string{"team": "a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("warm"), StatementId: aws.String("events"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("warm")})
	if err != nil || aws.ToString(got.LastModified) != aws.ToString(created.LastModified) {
		t.Errorf("after tags and policy: LastModified %s, was %s (%v)", aws.ToString(got.LastModified), aws.ToString(created.LastModified), err)
	}
	if again := pid(); again != first {
		t.Errorf("after tags and policy: pid %d, want the warm %d", again, first)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("warm"),
		Environment: &types.Environment{Variables: map[string]string{"STAGE": "two"}}}); err != nil {
		t.Fatal(err)
	}
	if next := pid(); next == first {
		t.Errorf("after a configuration change: the old process %d answered", first)
	}
	waitfor.True(t, fmt.Sprintf("the old process %d to end", first), func() bool { return syscall.Kill(first, 0) != nil })
}

// A --function spec is a function of every account and region: listed, shown and invoked
// through the API, and changed only on the command line.
func TestLocalFunction(t *testing.T) {
	c := clientWith(t, conveyorlambda.Config{Locals: []function.Spec{{Name: "shout", Command: []string{"tr", "a-z", "A-Z"}}},
		DefaultTimeout: 7 * time.Second})
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("stored"), Role: aws.String(role),
		Runtime: "provided.al2023", Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"bootstrap": "x"})}}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 2 || aws.ToString(list.Functions[0].FunctionName) != "shout" ||
		aws.ToString(list.Functions[1].FunctionName) != "stored" {
		t.Fatalf("list: %+v %v", list, err)
	}
	got, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("shout")})
	if err != nil || got.Runtime != "conveyor.command" || aws.ToString(got.Handler) != "tr a-z A-Z" || aws.ToInt32(got.Timeout) != 7 ||
		aws.ToString(got.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:shout" {
		t.Fatalf("get: %+v %v", got, err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("shout"), Payload: []byte(`"hi"`)})
	if err != nil || string(out.Payload) != `"HI"` || out.FunctionError != nil {
		t.Fatalf("invoke: %q %v", out.Payload, err)
	}
	_, err = c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("shout")})
	wantCode(t, "delete", err, "ResourceConflictException")
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("shout"), Timeout: aws.Int32(9)})
	wantCode(t, "update", err, "ResourceConflictException")
	_, err = c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("shout"), Role: aws.String(role),
		Runtime: "provided.al2023", Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"bootstrap": "x"})}})
	wantCode(t, "create", err, "ResourceConflictException")
}

// A zip without a bootstrap that runs is the function's failure (Runtime.InvalidEntrypoint),
// not the service's.
func TestInvokeWithoutBootstrap(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("README")
	_, _ = w.Write([]byte("no bootstrap here"))
	_ = zw.Close()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("empty"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: buf.Bytes()}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("empty")})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.InvalidEntrypoint") {
		t.Errorf("invoke: %s %v %v", out.Payload, aws.ToString(out.FunctionError), err)
	}
}

// UpdateFunctionConfiguration and UpdateFunctionCode change what the next invocation runs.
func TestUpdateFunction(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	mk := func(script string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		h := &zip.FileHeader{Name: "run.sh"}
		h.SetMode(0o755)
		w, _ := zw.CreateHeader(h)
		_, _ = w.Write([]byte(script))
		_ = zw.Close()
		return buf.Bytes()
	}
	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role),
		Runtime: "conveyor.command", Handler: aws.String("./run.sh"), Code: &types.FunctionCode{ZipFile: mk("#!/bin/sh\necho one $WORD\n")}})
	if err != nil {
		t.Fatal(err)
	}
	say := func() string {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f")})
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out.Payload))
	}
	if got := say(); got != "one" {
		t.Fatalf("first: %q", got)
	}
	conf, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"),
		Environment: &types.Environment{Variables: map[string]string{"WORD": "two"}}, Timeout: aws.Int32(9)})
	if err != nil || aws.ToInt32(conf.Timeout) != 9 || aws.ToString(conf.RevisionId) == aws.ToString(created.RevisionId) {
		t.Fatalf("UpdateFunctionConfiguration: %+v %v", conf, err)
	}
	if got := say(); got != "one two" {
		t.Errorf("after the configuration: %q", got)
	}
	code, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("f"), ZipFile: mk("#!/bin/sh\necho three $WORD\n")})
	if err != nil || aws.ToString(code.CodeSha256) == aws.ToString(created.CodeSha256) {
		t.Fatalf("UpdateFunctionCode: %+v %v", code, err)
	}
	if got := say(); got != "three two" {
		t.Errorf("after the code: %q", got)
	}
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"),
		Description: aws.String("x"), RevisionId: created.RevisionId})
	wantCode(t, "stale revision", err, "PreconditionFailedException")
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"), Timeout: aws.Int32(0)})
	wantCode(t, "timeout 0", err, "ValidationException")
}

// A runtime that never asks for its invocation (its init stuck) is killed once the init
// phase and the function's timeout are over: the invocation times out, as on Lambda, instead
// of holding its caller for ever, and so does the next one.
func TestStuckRuntimeTimesOut(t *testing.T) {
	c := clientWith(t, conveyorlambda.Config{InitTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("stuck"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: lambdatest.ScriptZip(t, "bootstrap", "#!/bin/sh\nexec sleep 3600\n")},
		Timeout: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("stuck"), Payload: []byte(`{}`), LogType: types.LogTypeTail})
		if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Task timed out after 1.00 seconds") {
			t.Fatalf("stuck runtime: %v %s %v", out, out.Payload, err)
		}
		// The init phase, and then the whole timeout as the invocation's duration.
		if logs, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); !strings.Contains(string(logs), "\tDuration: 1000.00 ms\t") ||
			!strings.Contains(string(logs), "\tInit Duration: 200.00 ms\tStatus: timeout\t") {
			t.Errorf("the log tail of a runtime that never started: %q", logs)
		}
	}
}

// A new process's init does not count against the function's timeout, as on Lambda,
// unless it outlasts the init phase: then what it takes beyond it does. The log tail
// reports the init's duration.
func TestInitOutsideTimeout(t *testing.T) {
	for _, c2 := range []struct {
		name        string
		initTimeout time.Duration
		initMs      string
		payload     string
		timesOut    bool
	}{
		// 1.5 s of init, then an answer at once: within the 1 s timeout.
		{"within the init phase", 0, "1500", `{}`, false},
		// 1 s of init against a 0.2 s init phase leaves 0.2 s of the timeout; the
		// handler takes 0.5 s.
		{"past the init phase", 200 * time.Millisecond, "1000", `{"sleepMs":500}`, true},
	} {
		t.Run(c2.name, func(t *testing.T) {
			c := clientWith(t, conveyorlambda.Config{InitTimeout: c2.initTimeout})
			ctx := context.Background()
			if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("slow"), Role: aws.String(role),
				Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: echoBootstrap(t)},
				Timeout: aws.Int32(1), Environment: &types.Environment{Variables: map[string]string{"INIT_SLEEP_MS": c2.initMs}}}); err != nil {
				t.Fatal(err)
			}
			out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("slow"), Payload: []byte(c2.payload), LogType: types.LogTypeTail})
			if err != nil {
				t.Fatal(err)
			}
			timedOut := aws.ToString(out.FunctionError) == "Unhandled" && strings.Contains(string(out.Payload), "Task timed out after 1.00 seconds")
			if timedOut != c2.timesOut || (!timedOut && out.FunctionError != nil) {
				t.Fatalf("answer %s %s, want a timeout: %v", aws.ToString(out.FunctionError), out.Payload, c2.timesOut)
			}
			logs, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
			if !strings.Contains(string(logs), "\tInit Duration: ") {
				t.Errorf("log tail without the init's duration: %s", logs)
			}
		})
	}
}

// An invocation waiting for one of its function's processes to be free keeps its whole
// timeout: twelve at once on ten processes all answer.
func TestQueuedInvocationKeepsItsTimeout(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("echo"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: echoBootstrap(t)},
		Timeout: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	// Warm the processes first: their start is not what is measured.
	var wg sync.WaitGroup
	errs := make(chan string, 24)
	run := func(sleepMs int) {
		for range 12 {
			wg.Go(func() {
				out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(fmt.Sprintf(`{"sleepMs":%d}`, sleepMs))})
				if err != nil || out.FunctionError != nil {
					msg := fmt.Sprint(err)
					if out != nil {
						msg += " " + string(out.Payload)
					}
					errs <- msg
				}
			})
		}
		wg.Wait()
	}
	run(0)
	run(2000)
	close(errs)
	for e := range errs {
		t.Errorf("invocation failed: %s", e)
	}
}

// Payloads past Lambda's bounds are refused with 413 RequestEntityTooLargeException, in
// Lambda's words: 6 MB for RequestResponse, 1 MB for Event.
func TestInvokePayloadLimits(t *testing.T) {
	c := client(t)
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("f"), Role: aws.String(role),
		Runtime: "conveyor.command", Handler: aws.String("cat"), Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"README": "cat"})}}); err != nil {
		t.Fatal(err)
	}
	big := func(n int) []byte { return []byte(`"` + strings.Repeat("a", n-2) + `"`) }
	for _, c2 := range []struct {
		typ     types.InvocationType
		payload []byte
		message string
	}{
		{types.InvocationTypeRequestResponse, big(6<<20 + 1), "Request must be smaller than 6291456 bytes for the InvokeFunction operation"},
		{types.InvocationTypeEvent, big(1<<20 + 1), "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"},
	} {
		_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), InvocationType: c2.typ, Payload: c2.payload})
		var tooLarge *types.RequestTooLargeException
		var ae smithy.APIError
		var re *awshttp.ResponseError
		if errors.As(err, &tooLarge) || !errors.As(err, &ae) || ae.ErrorCode() != "RequestEntityTooLargeException" || ae.ErrorMessage() != c2.message ||
			!errors.As(err, &re) || re.HTTPStatusCode() != 413 {
			t.Errorf("%s payload of %d bytes: %v", c2.typ, len(c2.payload), err)
		}
	}
}

// A runtime that reports an init error (POST init/error) fails its invocation with that
// error, as Lambda reports it to the caller.
func TestInitErrorReported(t *testing.T) {
	code, err := bootstrapZip("github.com/conveyor/conveyor/internal/lambda/lambdatest/initfail")
	if err != nil {
		t.Fatalf("build the initfail runtime: %v %s", err, code)
	}
	c := client(t)
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("broken"), Role: aws.String(role),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: code}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("broken"), Payload: []byte(`{}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" ||
		string(out.Payload) != `{"errorMessage":"the config file is missing","errorType":"Init.MissingConfig"}` {
		t.Errorf("invoke: %v %s %v", out, out.Payload, err)
	}
}
