package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/conveyor/conveyor/internal/datadir"
	"github.com/conveyor/conveyor/internal/server"
	"github.com/conveyor/conveyor/internal/server/servertest"
)

// A second Conveyor on a data directory in use is refused at once and
// touches nothing: the first keeps serving, with its buses and events.
func TestDataDirLocked(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	if _, err := in.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	cfg := in.Config
	cfg.Addr = "127.0.0.1:0"
	began := time.Now()
	second, err := server.New(ctx, cfg)
	if err == nil {
		_ = second.Close(ctx)
		t.Fatal("a second server started on the same data directory")
	}
	if !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("second server: %v", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("refused after %v", d)
	}
	if _, err := in.Events.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("orders")}); err != nil {
		t.Errorf("the first server lost its bus: %v", err)
	}
	out, err := in.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String("{}"), EventBusName: aws.String("orders")}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Errorf("the first server after the refusal: %v %+v", err, out)
	}
	// Once the first is gone, the directory is free.
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	next, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	_ = next.Close(ctx)
}
