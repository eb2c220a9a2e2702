package archive_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// TestFidelity: the archive and replay operations answer as AWS was seen
// to answer, with its codes and messages, checking in its order.
func TestFidelity(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	c := in.Events
	region, account := in.Config.Region, in.Config.Account
	busARN := func(acct, reg, name string) string {
		return "arn:aws:events:" + reg + ":" + acct + ":event-bus/" + name
	}
	defaultBus := busARN(account, region, "default")
	must(c.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("other")}))
	must(c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("a"), EventSourceArn: aws.String(defaultBus)}))
	archiveARN := "arn:aws:events:" + region + ":" + account + ":archive/a"
	now := time.Now()
	foreign := "123456789012"
	if foreign == account {
		foreign = "210987654321"
	}
	foreignRegion := "eu-west-3"
	if foreignRegion == region {
		foreignRegion = "eu-west-2"
	}

	tests := []struct {
		name      string
		call      func() error
		code, msg string
	}{
		// CreateArchive on a bus that does not exist: ResourceNotFoundException
		// naming the bus, whatever account or region the ARN names.
		{"CreateArchive/unknown bus", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("b"), EventSourceArn: aws.String(busARN(account, region, "nope"))})
			return err
		}, "ResourceNotFoundException", "Event bus nope does not exist."},
		{"CreateArchive/bus of another account", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("b"), EventSourceArn: aws.String(busARN(foreign, region, "nope"))})
			return err
		}, "ResourceNotFoundException", "Event bus nope does not exist."},
		{"CreateArchive/default bus of another account", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("b"), EventSourceArn: aws.String(busARN(foreign, region, "default"))})
			return err
		}, "ResourceNotFoundException", "Event bus default does not exist."},
		{"CreateArchive/bus of another region", func() error {
			_, err := c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("b"), EventSourceArn: aws.String(busARN(account, foreignRegion, "other"))})
			return err
		}, "ResourceNotFoundException", "Event bus other does not exist."},

		// StartReplay to a destination bus that does not exist.
		{"StartReplay/unknown destination bus", func() error {
			_, err := c.StartReplay(ctx, replay("r", archiveARN, busARN(account, region, "nope"), now.Add(-time.Hour), now))
			return err
		}, "ResourceNotFoundException", "Event bus nope does not exist."},
		{"StartReplay/destination bus of another account", func() error {
			_, err := c.StartReplay(ctx, replay("r", archiveARN, busARN(foreign, region, "default"), now.Add(-time.Hour), now))
			return err
		}, "ResourceNotFoundException", "Event bus default does not exist."},
		// A destination that exists but is not the archive's bus.
		{"StartReplay/another existing bus", func() error {
			_, err := c.StartReplay(ctx, replay("r", archiveARN, busARN(account, region, "other"), now.Add(-time.Hour), now))
			return err
		}, "ValidationException", "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted."},

		// StartReplay from an archive that does not exist.
		{"StartReplay/unknown archive", func() error {
			_, err := c.StartReplay(ctx, replay("r", "arn:aws:events:"+region+":"+account+":archive/nope", defaultBus, now.Add(-time.Hour), now))
			return err
		}, "ValidationException", "Parameter EventSourceArn is not valid. Reason: Archive nope does not exist."},

		// UpdateArchive with nothing to update, before any existence check.
		{"UpdateArchive/nothing to update", func() error {
			_, err := c.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("a")})
			return err
		}, "ValidationException", "At least one of EventPattern, RetentionDays or Description must be provided."},
		{"UpdateArchive/nothing to update, unknown archive", func() error {
			_, err := c.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("nope")})
			return err
		}, "ValidationException", "At least one of EventPattern, RetentionDays or Description must be provided."},
		{"UpdateArchive/unknown archive", func() error {
			_, err := c.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("nope"), Description: aws.String("d")})
			return err
		}, "ResourceNotFoundException", "Archive nope does not exist."},

		// ListArchives filtered by a bus that does not exist.
		{"ListArchives/unknown bus", func() error {
			_, err := c.ListArchives(ctx, &eventbridge.ListArchivesInput{EventSourceArn: aws.String(busARN(account, region, "nope"))})
			return err
		}, "ResourceNotFoundException", "Event bus nope does not exist."},
		{"ListArchives/bus of another account", func() error {
			_, err := c.ListArchives(ctx, &eventbridge.ListArchivesInput{EventSourceArn: aws.String(busARN(foreign, region, "default"))})
			return err
		}, "ResourceNotFoundException", "Event bus default does not exist."},

		// ListArchives and ListReplays take one filter at a time.
		{"ListArchives/NamePrefix and State", func() error {
			_, err := c.ListArchives(ctx, &eventbridge.ListArchivesInput{NamePrefix: aws.String("a"), State: types.ArchiveStateEnabled})
			return err
		}, "ValidationException", "At most one filter is allowed for ListArchives. Use either : State, EventSourceArn, or NamePrefix."},
		{"ListArchives/EventSourceArn and NamePrefix", func() error {
			_, err := c.ListArchives(ctx, &eventbridge.ListArchivesInput{NamePrefix: aws.String("a"), EventSourceArn: aws.String(defaultBus)})
			return err
		}, "ValidationException", "At most one filter is allowed for ListArchives. Use either : State, EventSourceArn, or NamePrefix."},
		{"ListArchives/three filters, unknown bus", func() error {
			_, err := c.ListArchives(ctx, &eventbridge.ListArchivesInput{NamePrefix: aws.String("a"), State: types.ArchiveStateEnabled,
				EventSourceArn: aws.String(busARN(account, region, "nope"))})
			return err
		}, "ValidationException", "At most one filter is allowed for ListArchives. Use either : State, EventSourceArn, or NamePrefix."},
		{"ListReplays/NamePrefix and State", func() error {
			_, err := c.ListReplays(ctx, &eventbridge.ListReplaysInput{NamePrefix: aws.String("r"), State: types.ReplayStateCompleted})
			return err
		}, "ValidationException", "At most one filter is allowed for ListReplays. Use either : State, EventSourceArn, or NamePrefix."},
		{"ListReplays/EventSourceArn and State", func() error {
			_, err := c.ListReplays(ctx, &eventbridge.ListReplaysInput{EventSourceArn: aws.String(archiveARN), State: types.ReplayStateRunning})
			return err
		}, "ValidationException", "At most one filter is allowed for ListReplays. Use either : State, EventSourceArn, or NamePrefix."},

		// EventEndTime before (or at) EventStartTime.
		{"StartReplay/end before start", func() error {
			_, err := c.StartReplay(ctx, replay("r", archiveARN, defaultBus, now, now.Add(-time.Hour)))
			return err
		}, "ValidationException", "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."},
		{"StartReplay/end at start", func() error {
			_, err := c.StartReplay(ctx, replay("r", archiveARN, defaultBus, now.Add(-time.Hour), now.Add(-time.Hour)))
			return err
		}, "ValidationException", "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."},
		// The times are checked before the destination.
		{"StartReplay/end before start, another bus", func() error {
			_, err := c.StartReplay(ctx, replay("r", archiveARN, busARN(account, region, "other"), now, now.Add(-time.Hour)))
			return err
		}, "ValidationException", "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantAPIError(t, tt.call(), tt.code, tt.msg) })
	}

	// A filter by a bus that exists lists its archives (none for "other").
	if l := must(c.ListArchives(ctx, &eventbridge.ListArchivesInput{EventSourceArn: aws.String(busARN(account, region, "other"))})); len(l.Archives) != 0 {
		t.Fatalf("ListArchives of bus other = %+v", l.Archives)
	}
	if l := must(c.ListArchives(ctx, &eventbridge.ListArchivesInput{EventSourceArn: aws.String(defaultBus)})); len(l.Archives) != 1 {
		t.Fatalf("ListArchives of the default bus = %+v", l.Archives)
	}
	// Nothing above created a replay, and the archive was not changed.
	if l := must(c.ListReplays(ctx, &eventbridge.ListReplaysInput{})); len(l.Replays) != 0 {
		t.Fatalf("ListReplays = %+v", l.Replays)
	}
	// A KmsKeyIdentifier alone is something to update.
	must(c.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("a"), KmsKeyIdentifier: aws.String("alias/k")}))
}

// TestReplayLimit: at most 10 replays run at once in an account and
// region; the 11th StartReplay gets AWS's LimitExceededException. Replays
// that are cancelling or have ended do not count.
func TestReplayLimit(t *testing.T) {
	// Replays pause between batches, so that they stay RUNNING.
	in := servertest.Start(t, func(c *server.Config) { c.ReplayPause = time.Minute })
	ctx := context.Background()
	c := in.Events
	busARN := "arn:aws:events:" + in.Config.Region + ":" + in.Config.Account + ":event-bus/default"
	ca := must(c.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("all"), EventSourceArn: aws.String(busARN)}))
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	putEvents(t, c, "shop", at, 1)
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("the archive did not fill")
		}
		if da := must(c.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("all")})); da.EventCount >= 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := func(name string) error {
		_, err := c.StartReplay(ctx, &eventbridge.StartReplayInput{ReplayName: aws.String(name), EventSourceArn: ca.ArchiveArn,
			EventStartTime: aws.Time(at.Add(-time.Minute)), EventEndTime: aws.Time(at.Add(time.Minute)),
			Destination: &types.ReplayDestination{Arn: aws.String(busARN)}})
		return err
	}
	for i := range 10 {
		if err := start(fmt.Sprintf("r%d", i)); err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
	}
	waitReplay(t, c, "r0", types.ReplayStateRunning)
	wantAPIError(t, start("r10"), "LimitExceededException", "The requested resource exceeds the maximum number allowed.")
	// A cancelling replay does not count.
	must(c.CancelReplay(ctx, &eventbridge.CancelReplayInput{ReplayName: aws.String("r0")}))
	if err := start("r10"); err != nil {
		t.Fatalf("after cancelling a replay: %v", err)
	}
	wantAPIError(t, start("r11"), "LimitExceededException", "The requested resource exceeds the maximum number allowed.")
}
