package lambda_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/function"
	conveyorlambda "github.com/conveyor/conveyor/internal/lambda"
	"github.com/conveyor/conveyor/internal/prom"
	"github.com/conveyor/conveyor/internal/sqs"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/syncbuf"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// asyncService is a Lambda service on st whose one function, "script", runs the shell
// script sh in dir; failed asynchronous invocations are retried after 10 ms.
func asyncService(t *testing.T, st *store.Store, dir, sh string, reg ...prometheus.Registerer) *conveyorlambda.Service {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	svc, err := conveyorlambda.New(context.Background(), conveyorlambda.Config{Store: st,
		Account: "123456789012", Region: "us-east-1", Logger: quiet, CodeDir: t.TempDir(),
		Locals:      []function.Spec{{Name: "script", Command: []string{"sh", "-c", sh}, Timeout: 30 * time.Second}},
		RetryDelays: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}, Registerer: append(reg, nil)[0]})
	if err != nil {
		t.Fatal(err)
	}
	_ = os.MkdirAll(dir, 0o700)
	return svc
}

// lines returns the lines of the file, none when it does not exist.
func lines(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Fields(string(b))
}

// An asynchronous invocation whose function fails is run twice more, as Lambda retries it,
// and then dropped; one that succeeds is run once. The metrics count each run, each error
// and the drop.
func TestAsyncRetries(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	st := storetest.Open(t)
	reg := prometheus.NewRegistry()
	svc := asyncService(t, st, dir, `read p; echo "$p" >> `+out+`; [ "$p" = '"ok"' ]`, reg)
	defer svc.Close()
	ctx := context.Background()
	for _, p := range []string{`"fails"`, `"ok"`} {
		res, err := svc.Invoke(ctx, &conveyorlambda.InvokeInput{FunctionName: "script", InvocationType: "Event", Payload: []byte(p)})
		if err != nil || res.StatusCode != 202 {
			t.Fatalf("invoke %s: %+v %v", p, res, err)
		}
	}
	waitfor.True(t, "three runs of the failing invocation", func() bool {
		return strings.Count(strings.Join(lines(out), " "), `"fails"`) == 3
	})
	// Nothing is left to run: the stream of invocations is empty.
	waitfor.True(t, "an empty invocation stream", func() bool {
		s, err := st.JetStream().Stream(ctx, conveyorlambda.AsyncStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
	got := lines(out)
	if n := strings.Count(strings.Join(got, " "), `"ok"`); n != 1 || len(got) != 4 {
		t.Errorf("runs %q: want the failing invocation 3 times and the good one once", got)
	}
	for name, want := range map[string]float64{"conveyor_lambda_invocations_total": 4, "conveyor_lambda_errors_total": 3,
		"conveyor_lambda_async_events_dropped_total": 1, "conveyor_lambda_dead_letter_errors_total": 0} {
		if got := prom.Sum(reg, name, "script"); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if n := prom.Sum(reg, "conveyor_lambda_duration_seconds", "script"); n != 4 {
		t.Errorf("%v durations observed, want 4", n)
	}
}

// An asynchronous invocation is stored before Invoke answers 202: one under way when its
// Conveyor stops runs again on the next one.
func TestAsyncSurvivesRestart(t *testing.T) {
	st := storetest.Open(t)
	dir := t.TempDir()
	started, done, goAhead := filepath.Join(dir, "started"), filepath.Join(dir, "done"), filepath.Join(dir, "go")
	sh := `read p; touch ` + started + `; while [ ! -f ` + goAhead + ` ]; do sleep 0.05; done; echo "$p" >> ` + done
	first := asyncService(t, st, dir, sh)
	if _, err := first.Invoke(context.Background(), &conveyorlambda.InvokeInput{FunctionName: "script", InvocationType: "Event",
		Payload: []byte(`{"order":1}`)}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the first run to start", func() bool { _, err := os.Stat(started); return err == nil })
	first.Close() // the run is killed before it ends
	if len(lines(done)) != 0 {
		t.Fatal("the killed run ended")
	}
	if err := os.WriteFile(goAhead, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	second := asyncService(t, st, dir, sh)
	defer second.Close()
	waitfor.True(t, "the invocation to run on the next Conveyor", func() bool { return len(lines(done)) == 1 })
	if got := lines(done); got[0] != `{"order":1}` {
		t.Errorf("payload %q", got)
	}
}

// deadLetters is the Queues of a Lambda service without queues to poll, keeping what is
// sent to dead-letter queues.
type deadLetters struct {
	mu   sync.Mutex
	sent []deadLetter
}

type deadLetter struct {
	arn   string
	body  string
	attrs map[string]string
}

func (d *deadLetters) Poll(ctx context.Context, _ string, _ int, wait time.Duration) ([]sqs.Message, error) {
	select {
	case <-ctx.Done():
	case <-time.After(wait):
	}
	return nil, nil
}
func (d *deadLetters) DeleteReceived(context.Context, string, string) error { return nil }
func (d *deadLetters) VisibilityTimeout(string) (time.Duration, bool)       { return time.Minute, true }
func (d *deadLetters) SendDeadLetter(_ context.Context, arn string, body []byte, attrs map[string]string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, deadLetter{arn, string(body), attrs})
	return nil
}

func (d *deadLetters) got() []deadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.sent)
}

// An asynchronous invocation that fails after its retries goes to the function's
// dead-letter queue, its payload with RequestID, ErrorCode and ErrorMessage, as Lambda
// sends it; a dead-letter target that is no standard queue of the account is refused.
func TestAsyncDeadLetterQueue(t *testing.T) {
	dl := &deadLetters{}
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	svc, err := conveyorlambda.New(context.Background(), conveyorlambda.Config{Store: storetest.Open(t),
		Account: "123456789012", Region: "us-east-1", Logger: quiet, CodeDir: t.TempDir(), Queues: dl,
		RetryDelays: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ctx := context.Background()
	create := func(name, dlq string) error {
		_, err := svc.CreateFunction(ctx, &conveyorlambda.CreateFunctionInput{FunctionName: &name, Runtime: ptr("conveyor.command"),
			Role: ptr(role), Handler: ptr("false"), Code: &conveyorlambda.FunctionCode{ZipFile: zipOf(t, map[string]string{"README": "fails"})},
			DeadLetterConfig: &conveyorlambda.DeadLetterConfig{TargetArn: dlq}})
		return err
	}
	for _, bad := range []string{"arn:aws:sqs:us-east-1:123456789012:dead.fifo", "arn:aws:sns:us-east-1:123456789012:topic",
		"arn:aws:sqs:eu-west-1:123456789012:dead", "not an arn"} {
		var ae *awsapi.Error
		if err := create("refused", bad); !errors.As(err, &ae) || ae.Code != "InvalidParameterValueException" {
			t.Errorf("dead-letter target %s: %v", bad, err)
		}
	}
	const dlq = "arn:aws:sqs:us-east-1:123456789012:dead"
	if err := create("fails", dlq); err != nil {
		t.Fatal(err)
	}
	if f, err := svc.GetFunction(ctx, &conveyorlambda.FunctionRef{FunctionName: "fails"}); err != nil ||
		f.Configuration.DeadLetterConfig == nil || f.Configuration.DeadLetterConfig.TargetArn != dlq {
		t.Fatalf("GetFunction: %+v %v", f, err)
	}
	if _, err := svc.Invoke(ctx, &conveyorlambda.InvokeInput{FunctionName: "fails", InvocationType: "Event", Payload: []byte(`{"order":7}`)}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the dead letter", func() bool { return len(dl.got()) == 1 })
	d := dl.got()[0]
	if d.arn != dlq || d.body != `{"order":7}` || d.attrs["RequestID"] == "" || d.attrs["ErrorCode"] != "200" || d.attrs["ErrorMessage"] == "" {
		t.Errorf("dead letter %+v", d)
	}
}

func ptr[T any](v T) *T { return &v }

// What a function prints goes to Conveyor's log with its request id, for an asynchronous
// invocation too (Lambda's goes to CloudWatch Logs).
func TestFunctionOutputLogged(t *testing.T) {
	var logs syncbuf.Buffer
	svc, err := conveyorlambda.New(context.Background(), conveyorlambda.Config{Store: storetest.Open(t),
		Account: "123456789012", Region: "us-east-1", Logger: slog.New(slog.NewTextHandler(&logs, nil)), CodeDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ctx := context.Background()
	if _, err := svc.CreateFunction(ctx, &conveyorlambda.CreateFunctionInput{FunctionName: ptr("talks"), Runtime: ptr("conveyor.command"),
		Role: ptr(role), Handler: ptr("sh talk.sh"),
		Code: &conveyorlambda.FunctionCode{ZipFile: zipOf(t, map[string]string{"talk.sh": "echo logged-line >&2; cat\n"})}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Invoke(ctx, &conveyorlambda.InvokeInput{FunctionName: "talks", InvocationType: "Event", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, "the function's output in the log", func() bool {
		s := logs.String()
		return strings.Contains(s, `msg="function output"`) && strings.Contains(s, `output=logged-line`) &&
			strings.Contains(s, "function=arn:aws:lambda:us-east-1:123456789012:function:talks") && strings.Contains(s, "request_id=")
	})
}
