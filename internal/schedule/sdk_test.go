package schedule_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/conveyor/conveyor/internal/clock/clocktest"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error (want %s)", err, code)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Fatalf("error = %s: %s\nwant    %s: %s", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// TestPutRuleSchedules puts every expression of testdata/expressions.txt
// through the AWS SDK: the valid ones are kept and shown, the invalid ones
// get AWS's ValidationException.
func TestPutRuleSchedules(t *testing.T) {
	in := servertest.Start(t, func(c *server.Config) { c.MaxRulesPerBus = 1000 })
	ctx := context.Background()
	c := in.Events
	f, err := os.Open("testdata/expressions.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	valid := map[string]string{}
	i := 0
	for sc.Scan() {
		verdict, expr, _ := strings.Cut(sc.Text(), "\t")
		if strings.HasPrefix(verdict, "#") || expr == "" {
			continue // an empty expression is "no schedule", another error
		}
		i++
		name := fmt.Sprintf("r%03d", i)
		_, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), ScheduleExpression: aws.String(expr)})
		if verdict == "invalid" {
			if err == nil {
				t.Errorf("PutRule(%q) accepted", expr)
				continue
			}
			wantAPIError(t, err, "ValidationException", "Parameter ScheduleExpression is not valid.")
			continue
		}
		if err != nil {
			t.Errorf("PutRule(%q): %v", expr, err)
			continue
		}
		valid[name] = expr
		d, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name)})
		if err != nil || aws.ToString(d.ScheduleExpression) != expr || d.EventPattern != nil {
			t.Errorf("DescribeRule(%s) = %+v, %v", name, d, err)
		}
	}
	rules, err := c.ListRules(ctx, &eventbridge.ListRulesInput{Limit: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, r := range rules.Rules {
		if want, ok := valid[aws.ToString(r.Name)]; ok {
			listed++
			if aws.ToString(r.ScheduleExpression) != want {
				t.Errorf("ListRules: %s has %q, want %q", aws.ToString(r.Name), aws.ToString(r.ScheduleExpression), want)
			}
		}
	}
	if listed != len(valid) || listed < 30 {
		t.Errorf("ListRules listed %d of %d scheduled rules", listed, len(valid))
	}

	// A schedule and a pattern together are allowed (on the default bus).
	_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("both"), ScheduleExpression: aws.String("rate(5 minutes)"),
		EventPattern: aws.String(`{"source":["x"]}`)})
	if err != nil {
		t.Fatalf("PutRule with schedule and pattern: %v", err)
	}
	d, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("both")})
	if err != nil || aws.ToString(d.ScheduleExpression) != "rate(5 minutes)" || aws.ToString(d.EventPattern) != `{"source":["x"]}` {
		t.Fatalf("DescribeRule(both) = %+v, %v", d, err)
	}
	// Only on the default bus, valid or not.
	if _, err := c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("custom")}); err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{"rate(5 minutes)", "rate(5 minute)"} {
		_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("x"), EventBusName: aws.String("custom"), ScheduleExpression: aws.String(expr)})
		wantAPIError(t, err, "ValidationException", "ScheduleExpression is supported only on the default event bus.")
	}
}

// TestScheduledRuleDelivers: a rate rule fires on the injected clock and
// its event reaches an HTTP target (connection + API destination) through
// the target's input transformer.
func TestScheduledRuleDelivers(t *testing.T) {
	clock := clocktest.New(time.Now().UTC())
	in := servertest.Start(t, func(c *server.Config) { c.Clock = clock })
	ctx := context.Background()
	c := in.Events
	var (
		mu     sync.Mutex
		bodies []string
	)
	got := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		got <- struct{}{}
	}))
	defer srv.Close()
	conn, err := c.CreateConnection(ctx, &eventbridge.CreateConnectionInput{
		Name: aws.String("hook-conn"), AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
		AuthParameters: &types.CreateConnectionAuthRequestParameters{ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{
			ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("k")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := c.CreateApiDestination(ctx, &eventbridge.CreateApiDestinationInput{Name: aws.String("hook"), ConnectionArn: conn.ConnectionArn,
		InvocationEndpoint: aws.String(srv.URL + "/tick"), HttpMethod: types.ApiDestinationHttpMethodPost})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now().UTC()
	pr, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 minute)")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("tick"), Targets: []types.Target{
		{Id: aws.String("raw"), Arn: dest.ApiDestinationArn},
		{Id: aws.String("shaped"), Arn: dest.ApiDestinationArn, InputTransformer: &types.InputTransformer{
			InputPathsMap: map[string]string{"t": "$.time", "r": "$.resources[0]"},
			InputTemplate: aws.String(`{"at":<t>,"rule":<r>}`)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The rule was created a moment ago (real time); the rate counts from
	// that minute, so it first fires at the next whole minute after it.
	var due time.Time
	waitfor.True(t, "a firing armed", func() bool {
		var ok bool
		due, ok = clock.NextTimer()
		return ok
	})
	if lo, hi := created.Truncate(time.Minute).Add(time.Minute), time.Now().UTC().Truncate(time.Minute).Add(time.Minute); due.Before(lo) || due.After(hi) {
		t.Fatalf("first firing armed for %s, want the minute after the rule's creation (%s)", due, created)
	}
	clock.Set(due)
	for range 2 {
		select {
		case <-got:
		case <-time.After(20 * time.Second):
			t.Fatal("the scheduled event did not reach the target")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var raw map[string]any
	var shaped map[string]string
	for _, b := range bodies {
		if strings.Contains(b, `"at"`) {
			if err := json.Unmarshal([]byte(b), &shaped); err != nil {
				t.Fatal(err)
			}
		} else if err := json.Unmarshal([]byte(b), &raw); err != nil {
			t.Fatal(err)
		}
	}
	at := due.Format("2006-01-02T15:04:05Z")
	if raw["source"] != "aws.events" || raw["detail-type"] != "Scheduled Event" || raw["time"] != at ||
		raw["account"] != in.Config.Account || raw["region"] != in.Config.Region {
		t.Errorf("raw event = %v", raw)
	}
	if res, _ := raw["resources"].([]any); len(res) != 1 || res[0] != aws.ToString(pr.RuleArn) {
		t.Errorf("resources = %v, want [%s]", raw["resources"], aws.ToString(pr.RuleArn))
	}
	if det, ok := raw["detail"].(map[string]any); !ok || len(det) != 0 {
		t.Errorf("detail = %v, want {}", raw["detail"])
	}
	if shaped["at"] != at || shaped["rule"] != aws.ToString(pr.RuleArn) {
		t.Errorf("transformed = %v", shaped)
	}
}
