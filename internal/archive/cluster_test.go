package archive_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/waitfor"
)

// TestReplayRunsOnce: two Conveyors on one NATS server both run a replay
// worker; a replay started through one is run by one of them, so each
// archived event is replayed once.
func TestReplayRunsOnce(t *testing.T) {
	url := storetest.StartNATS(t, "").ClientURL()
	key := servertest.SecretsKey(t)
	ext := func(c *server.Config) { c.NATSURL, c.SecretsKeyFile = url, key }
	a := servertest.Start(t, ext)
	b := servertest.Start(t, ext)
	ctx := context.Background()
	c := a.Events
	s := newSink(t)
	ruleTo(t, c, "orders", `{"source":["shop"]}`, destination(t, c, "orders-hook", s.srv.URL+"/orders"))
	busARN := "arn:aws:events:" + a.Config.Region + ":" + a.Config.Account + ":event-bus/default"
	ca := must(c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("shop"), EventSourceArn: aws.String(busARN),
		EventPattern: aws.String(`{"source":["shop"]}`)}))
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	putEvents(t, c, "shop", at, 1, 2, 3, 4, 5)
	s.wait(t, "/orders", 5)
	waitfor.True(t, "the archive to hold the five events", func() bool {
		da, err := b.Events.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("shop")})
		return err == nil && da.EventCount == 5
	})
	must(c.StartReplay(ctx, &eventbridge.StartReplayInput{ReplayName: aws.String("again"), EventSourceArn: ca.ArchiveArn,
		EventStartTime: aws.Time(at.Add(-time.Minute)), EventEndTime: aws.Time(at.Add(time.Minute)),
		Destination: &types.ReplayDestination{Arn: aws.String(busARN)}}))
	waitReplay(t, b.Events, "again", types.ReplayStateCompleted)
	got := s.wait(t, "/orders", 10) // exactly: five, and five replayed once
	if ids := ns(got[5:]); !slices.Equal(ids, []float64{1, 2, 3, 4, 5}) {
		t.Errorf("replayed %v", ids)
	}
}
