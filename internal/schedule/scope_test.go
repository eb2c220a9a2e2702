package schedule_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/clock/clocktest"
	"github.com/conveyor/conveyor/internal/sdktest"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// A scheduled rule of another account and region fires there: its event carries that
// account and region, and reaches that account's target.
func TestScheduledRuleInItsScope(t *testing.T) {
	ids := filepath.Join(t.TempDir(), "ids.json")
	if err := os.WriteFile(ids, []byte(`{"accessKeys":[{"accessKeyId":"AKIABOB","accountId":"222222222222","userName":"bob"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.Now().UTC())
	in := servertest.Start(t, func(c *server.Config) { c.Clock, c.IdentitiesFile = clock, ids })
	ctx := context.Background()
	bob := eventbridge.NewFromConfig(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(in.URL), Retryer: sdktest.Retryer,
		Credentials: credentials.NewStaticCredentialsProvider("AKIABOB", "x", "")})
	got := make(chan []byte, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer srv.Close()
	dest := servertest.APIDestination(t, bob, "hook", srv.URL)
	pr, err := bob.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 minute)")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:events:eu-west-1:222222222222:rule/tick"; aws.ToString(pr.RuleArn) != want {
		t.Fatalf("rule ARN %s, want %s", aws.ToString(pr.RuleArn), want)
	}
	if _, err := bob.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("tick"),
		Targets: []types.Target{{Id: aws.String("h"), Arn: aws.String(dest)}}}); err != nil {
		t.Fatal(err)
	}
	var due time.Time
	waitfor.True(t, "a firing armed", func() bool {
		var ok bool
		due, ok = clock.NextTimer()
		return ok
	})
	clock.Set(due)
	select {
	case b := <-got:
		var ev struct {
			Account, Region string
			Resources       []string
		}
		if err := json.Unmarshal(b, &ev); err != nil || ev.Account != "222222222222" || ev.Region != "eu-west-1" ||
			len(ev.Resources) != 1 || ev.Resources[0] != aws.ToString(pr.RuleArn) {
			t.Errorf("scheduled event %s", b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the scheduled event did not reach bob's target")
	}
}
