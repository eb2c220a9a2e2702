package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestTwoProcessesOneNATS: two Conveyors on one external NATS server share
// buses, rules and queues: a rule made through one routes events put
// through the other, and each event reaches the target once (the routers
// share one durable consumer per bus, the runners one per target).
func TestTwoProcessesOneNATS(t *testing.T) {
	url := storetest.StartNATS(t, "").ClientURL()
	key := servertest.SecretsKey(t)
	ext := func(c *server.Config) { c.NATSURL, c.SecretsKeyFile = url, key }
	a := servertest.Start(t, ext)
	b := servertest.Start(t, ext)
	s := newSink(t)
	dest := servertest.APIDestination(t, a.Events, "shared", s.srv.URL)
	putRule(t, a.Events, "", "shared", `{"source":["app"]}`, types.Target{Id: aws.String("h"), Arn: aws.String(dest)})
	// b learns of the rule through the catalog's watch.
	waitfor.Err(t, waitfor.Timeout, "the second process to list the rule", func() error {
		out, err := b.Events.ListRules(context.Background(), nil)
		if err == nil && len(out.Rules) != 1 {
			err = fmt.Errorf("rules %+v", out.Rules)
		}
		return err
	})
	var ids []string
	for i := 0; i < 10; i++ {
		c := a.Events
		if i%2 == 1 {
			c = b.Events
		}
		ids = append(ids, putEvent(t, c, "", "app", `{"i":1}`))
	}
	s.wait(t, len(ids))
	time.Sleep(200 * time.Millisecond) // duplicates, if any, would arrive by now
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		n := 0
		for _, b := range s.bodies {
			if strings.Contains(string(b), id) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("event %s delivered %d times, want once", id, n)
		}
	}
}
