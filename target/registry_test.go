package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/conveyor/conveyor/delivery"
)

type putter struct {
	got   map[string][]string
	fails error
}

func (p *putter) PutEvent(_ context.Context, bus string, event []byte) error {
	if p.fails != nil {
		return p.fails
	}
	if bus == "missing" {
		return fmt.Errorf("bus %s: %w", bus, ErrNotFound)
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
		{"arn:aws:lambda:us-east-1:000000000000:function:f", nil, CodeInvalidParameter, false},
		{"arn:aws:events:us-east-1:000000000000:event-bus/missing", nil, CodeResourceNotFound, false},
		{"arn:aws:events:us-east-1:000000000000:event-bus/other", errors.New("store unavailable"), CodeClientError, true},
		{"arn:aws:events:us-east-1:000000000000:event-bus/other", Errorf(CodeThrottling, true, "slow down"), CodeThrottling, true},
	}
	for _, c := range cases {
		p.fails = c.fails
		err := r.Invoke(ctx, &delivery.Job{TargetARN: c.arn, Payload: []byte("{}")})
		var e *Error
		if !errors.As(err, &e) || e.Code != c.code || e.Retry != c.retry {
			t.Errorf("%s (putter error %v): %v, want code %s retry %v", c.arn, c.fails, err, c.code, c.retry)
		}
	}
}

func TestRegistryWithoutDependencies(t *testing.T) {
	r := NewRegistry(Config{})
	for _, arn := range []string{destARN, "arn:aws:events:us-east-1:000000000000:event-bus/b"} {
		err := r.Invoke(context.Background(), &delivery.Job{TargetARN: arn})
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalidParameter || e.Retry {
			t.Errorf("%s without its dependency: %v", arn, err)
		}
	}
}
