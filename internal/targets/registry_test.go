package targets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/internal/delivery"
)

type putter struct {
	got   map[string][]string
	fails error
}

func (p *putter) PutEvent(_ context.Context, busARN string, event []byte) error {
	if p.fails != nil {
		return p.fails
	}
	bus := busARN[strings.LastIndexByte(busARN, '/')+1:]
	if bus == "missing" {
		return fmt.Errorf("bus %s: %w", bus, delivery.ErrNotFound)
	}
	p.got[bus] = append(p.got[bus], string(event))
	return nil
}

func TestRegistry(t *testing.T) {
	srv, last := recorder(t, http.StatusAccepted)
	var stdout bytes.Buffer
	p := &putter{got: map[string][]string{}}
	r := NewRegistry(Config{
		Destinations: dests{destARN: {ARN: destARN, InvocationEndpoint: srv.URL, HTTPMethod: "POST"}},
		Putter:       p,
		Stdout:       &stdout,
	})
	defer r.Close()
	ctx := context.Background()
	for _, arn := range []string{destARN, "arn:aws:events:us-east-1:000000000000:event-bus/other", StdoutARN} {
		if err := r.Invoke(ctx, &delivery.Job{TargetARN: arn, Payload: []byte(`{"to":"` + arn + `"}`)}); err != nil {
			t.Errorf("%s: %v", arn, err)
		}
	}
	if b := last().body; !strings.Contains(b, "api-destination") {
		t.Errorf("HTTP target got %q", b)
	}
	if got := p.got["other"]; len(got) != 1 || !strings.Contains(got[0], "event-bus/other") {
		t.Errorf("bus target got %q", got)
	}
	if !strings.Contains(stdout.String(), "stdout") {
		t.Errorf("stdout got %q", stdout.String())
	}

	cases := []struct {
		arn   string
		fails error
		code  string
		retry bool
	}{
		{"arn:aws:lambda:us-east-1:000000000000:function:f", nil, delivery.CodeInvalidParameter, false},
		{"arn:aws:events:us-east-1:000000000000:event-bus/missing", nil, delivery.CodeResourceNotFound, false},
		{"arn:aws:events:us-east-1:000000000000:event-bus/other", errors.New("store unavailable"), delivery.CodeClientError, true},
		{"arn:aws:events:us-east-1:000000000000:event-bus/other", delivery.Errorf(delivery.CodeThrottling, true, "slow down"), delivery.CodeThrottling, true},
	}
	for _, c := range cases {
		p.fails = c.fails
		err := r.Invoke(ctx, &delivery.Job{TargetARN: c.arn, Payload: []byte("{}")})
		var e *delivery.Error
		if !errors.As(err, &e) || e.Code != c.code || e.Retry != c.retry {
			t.Errorf("%s (putter error %v): %v, want code %s retry %v", c.arn, c.fails, err, c.code, c.retry)
		}
	}
}

func TestRegistryWithoutDependencies(t *testing.T) {
	r := NewRegistry(Config{})
	for _, arn := range []string{destARN, "arn:aws:events:us-east-1:000000000000:event-bus/b"} {
		err := r.Invoke(context.Background(), &delivery.Job{TargetARN: arn})
		var e *delivery.Error
		if !errors.As(err, &e) || e.Code != delivery.CodeInvalidParameter || e.Retry {
			t.Errorf("%s without its dependency: %v", arn, err)
		}
	}
}

// checkingInvoker is a function invoker that checks its ARNs.
type checkingInvoker struct{}

func (checkingInvoker) Invoke(context.Context, *delivery.Job) error { return nil }
func (checkingInvoker) CheckARN(arn string) error {
	if strings.HasSuffix(arn, ":bad") {
		return errors.New("bad qualifier")
	}
	return nil
}

// TestRegistryCheck: Check accepts exactly what Invoke can deliver, and says
// why not: a service without an adapter, an ARN not in its adapter's form,
// an adapter without its dependency.
func TestRegistryCheck(t *testing.T) {
	bare := NewRegistry(Config{})
	full := NewRegistry(Config{
		Destinations: dests{}, Putter: &putter{}, Queues: sender{}, LogDir: t.TempDir(), Functions: checkingInvoker{},
	})
	defer full.Close()
	logGroup := "arn:aws:logs:us-east-1:000000000000:log-group:/conveyor/x"
	fn := "arn:aws:lambda:us-east-1:000000000000:function:f"
	cases := []struct {
		r    *Registry
		arn  string
		want error
	}{
		{full, destARN, nil},
		{full, "arn:aws:events:us-east-1:000000000000:event-bus/b", nil},
		{full, "arn:aws:sqs:us-east-1:000000000000:q", nil},
		{full, logGroup, nil},
		{full, logGroup + ":*", nil},
		{full, fn, nil},
		{full, StdoutARN, nil},
		{bare, StderrARN, nil},
		{full, "arn:aws:sns:us-east-1:000000000000:topic", ErrUnsupportedService},
		{full, "arn:aws:states:us-east-1:000000000000:stateMachine:m", ErrUnsupportedService},
		{full, "not an arn", ErrARNFormat},
		{full, "arn:aws:logs:us-east-1:000000000000:log-group:../../etc", ErrARNFormat},
		{full, "arn:aws:logs:us-east-1:000000000000:log-group:a b", ErrARNFormat},
		{full, "arn:aws:logs:us-east-1:000000000000:destination:d", ErrARNFormat},
		{full, "arn:aws:events:us-east-1:000000000000:rule/r", ErrARNFormat},
		{full, "arn:aws:lambda:us-east-1:000000000000:layer:l", ErrARNFormat},
		{full, fn + ":bad", ErrARNFormat},
		{full, "arn:conveyor:log:::stdin", ErrARNFormat},
		{bare, logGroup, ErrNotConfigured},
		{bare, fn, ErrNotConfigured},
		{bare, destARN, ErrNotConfigured},
		{bare, "arn:aws:sqs:us-east-1:000000000000:q", ErrNotConfigured},
		{bare, "arn:aws:events:us-east-1:000000000000:event-bus/b", ErrNotConfigured},
	}
	for _, c := range cases {
		err := c.r.Check(c.arn)
		var ae *ARNError
		switch {
		case c.want == nil && err != nil:
			t.Errorf("Check(%q) = %v, want nil", c.arn, err)
		case c.want != nil && (!errors.Is(err, c.want) || !errors.As(err, &ae) || ae.ARN != c.arn):
			t.Errorf("Check(%q) = %v, want an *ARNError %v", c.arn, err, c.want)
		}
		if c.want == ErrUnsupportedService && ae.Service != strings.Split(c.arn, ":")[2] {
			t.Errorf("Check(%q): service %q", c.arn, ae.Service)
		}
		// What Check refuses, Invoke refuses without trying.
		if c.want != nil {
			var e *delivery.Error
			if err := c.r.Invoke(context.Background(), &delivery.Job{TargetARN: c.arn}); !errors.As(err, &e) || e.Code != delivery.CodeInvalidParameter {
				t.Errorf("Invoke(%q) = %v, want INVALID_PARAMETER", c.arn, err)
			}
		}
	}
}

type sender struct{}

func (sender) Deliver(context.Context, []*delivery.Job, []error) {}

// batchSender records the batches it is given, and fails the jobs whose
// payload is "fail".
type batchSender struct{ batches [][]string }

func (b *batchSender) Deliver(_ context.Context, jobs []*delivery.Job, errs []error) {
	var ids []string
	for i, j := range jobs {
		ids = append(ids, j.EventID)
		if string(j.Payload) == "fail" {
			errs[i] = fmt.Errorf("queue %s: %w", j.TargetARN, delivery.ErrNotFound)
		}
	}
	b.batches = append(b.batches, ids)
}

// TestInvokeBatch: a batch's queue deliveries reach the sender together;
// a delivery another account's queue does not allow is refused on its own,
// a failure is classified for its job alone.
func TestInvokeBatch(t *testing.T) {
	s := &batchSender{}
	r := NewRegistry(Config{Queues: s})
	defer r.Close()
	rule := "arn:aws:events:us-east-1:111111111111:rule/r"
	q := "arn:aws:sqs:us-east-1:111111111111:q"
	jobs := []*delivery.Job{
		{EventID: "1", RuleARN: rule, TargetARN: q, Payload: []byte("{}")},
		{EventID: "2", RuleARN: rule, TargetARN: "arn:aws:sqs:us-east-1:222222222222:q", Payload: []byte("{}")},
		{EventID: "3", RuleARN: rule, TargetARN: q, Payload: []byte("fail")},
		{EventID: "4", RuleARN: rule, TargetARN: q, Payload: []byte("{}")},
	}
	if !r.Batches(jobs[0]) || r.Batches(&delivery.Job{TargetARN: StdoutARN}) {
		t.Fatal("Batches: queues take batches, stdout does not")
	}
	errs := make([]error, len(jobs))
	r.InvokeBatch(context.Background(), jobs, errs)
	if fmt.Sprint(s.batches) != "[[1 3 4]]" {
		t.Errorf("sender got %v, want one batch [1 3 4]", s.batches)
	}
	var e *delivery.Error
	if errs[0] != nil || errs[3] != nil {
		t.Errorf("delivered jobs failed: %v, %v", errs[0], errs[3])
	}
	if !errors.As(errs[1], &e) || e.Code != delivery.CodeNoPermissions {
		t.Errorf("cross-account job: %v, want NO_PERMISSIONS", errs[1])
	}
	if !errors.As(errs[2], &e) || e.Code != delivery.CodeResourceNotFound || e.Retry {
		t.Errorf("failed job: %v, want RESOURCE_NOT_FOUND, not retried", errs[2])
	}
}

// A rule of one account does not deliver to another account's bus or queue (that takes a
// resource policy); another region of its own account is fine.
func TestCrossAccountRefused(t *testing.T) {
	p := &putter{got: map[string][]string{}}
	r := NewRegistry(Config{Putter: p})
	defer r.Close()
	rule := "arn:aws:events:us-east-1:111111111111:rule/r"
	for _, c := range []struct {
		target string
		code   string
	}{
		{"arn:aws:events:us-east-1:222222222222:event-bus/theirs", delivery.CodeNoPermissions},
		{"arn:aws:events:eu-west-1:111111111111:event-bus/mine", ""},
	} {
		err := r.Invoke(context.Background(), &delivery.Job{RuleARN: rule, TargetARN: c.target, Payload: []byte("{}")})
		var e *delivery.Error
		if c.code == "" && err != nil || c.code != "" && (!errors.As(err, &e) || e.Code != c.code || e.Retry) {
			t.Errorf("%s: %v, want code %q", c.target, err, c.code)
		}
	}
	if len(p.got["theirs"]) != 0 || len(p.got["mine"]) != 1 {
		t.Errorf("delivered: %v", p.got)
	}
}
