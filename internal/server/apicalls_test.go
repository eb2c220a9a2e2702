package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/syncbuf"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// Every API call is counted and timed by operation and status in /metrics,
// and logged at debug level with its caller and outcome.
func TestAPICallMetricsAndLog(t *testing.T) {
	log := &syncbuf.Buffer{}
	in := servertest.Start(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	if _, err := in.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	_, _ = in.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("missing")})
	// Observers run once the answer is flushed: wait for them.
	counts := func() map[string]float64 {
		mfs, err := in.Server.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() != "conveyor_api_calls_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				key := ""
				for _, l := range m.GetLabel() {
					key += l.GetName() + "=" + l.GetValue() + " "
				}
				got[strings.TrimSpace(key)] = m.GetCounter().GetValue()
			}
		}
		return got
	}
	waitfor.Err(t, 5*time.Second, "both calls counted and logged", func() error {
		got := counts()
		if got["operation=PutRule service=events status=200"] != 1 || got["operation=DescribeRule service=events status=400"] != 1 ||
			!strings.Contains(log.String(), "error_code=ResourceNotFoundException") {
			return fmt.Errorf("conveyor_api_calls_total: %v; log:\n%s", got, log.String())
		}
		return nil
	})
	if !strings.Contains(log.String(), `msg="api call" service=events operation=PutRule status=200`) ||
		!strings.Contains(log.String(), "access_key="+servertest.AccessKeyID) {
		t.Errorf("access log:\n%s", log.String())
	}
}
