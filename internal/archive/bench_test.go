package archive

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/event"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// BenchmarkReplay archives events, then replays all of them to a router
// that only decodes them: the archive-reading side of a replay. A few
// events (fewer than a batch) show what a small replay takes from start to
// end.
func BenchmarkReplay(b *testing.B) {
	for _, events := range []int{5000, 7} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) { benchReplay(b, events) })
	}
}

func benchReplay(b *testing.B, events int) {
	ctx := context.Background()
	st := storetest.Open(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat, err := catalog.Open(ctx, st.JetStream(), catalog.Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cat.In(cat.Home()).EnsureDefault(ctx); err != nil {
		b.Fatal(err)
	}
	svc, err := New(ctx, Config{Store: st, Catalog: cat, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	rr := &recordingRouter{}
	if err := svc.Start(rr); err != nil {
		b.Fatal(err)
	}
	name := "bench"
	if _, err := svc.CreateArchive(ctx, &CreateArchiveInput{ArchiveName: &name, EventSourceArn: ptr(cat.In(cat.Home()).BusARN("default"))}); err != nil {
		b.Fatal(err)
	}
	inv := svc.Invoker(nil)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for n := range events {
		e := &event.Event{ID: fmt.Sprintf("id-%d", n), DetailType: "order", Source: "shop", Account: cat.Home().Account, Region: cat.Home().Region,
			Time: at, Detail: []byte(fmt.Sprintf(`{"order":%d,"items":["a","b"],"total":12.5}`, n))}
		if err := inv.Invoke(ctx, &delivery.Job{TargetARN: ArchiveARN(cat.Home(), name), EventID: e.ID, Payload: e.AppendJSON(nil)}); err != nil {
			b.Fatal(err)
		}
	}
	bus := cat.In(cat.Home()).BusARN("default")
	i := 0
	for b.Loop() {
		i++
		rname := fmt.Sprintf("r%d", i)
		in := &StartReplayInput{ReplayName: &rname, EventSourceArn: ptr(ArchiveARN(cat.Home(), name)), Destination: &DestinationInput{Arn: &bus}}
		start, end := at.Add(-time.Minute), at.Add(time.Minute)
		in.EventStartTime, in.EventEndTime = tsPtr(start), tsPtr(end)
		if _, err := svc.StartReplay(ctx, in); err != nil {
			b.Fatal(err)
		}
		for {
			var r Replay
			if _, err := svc.recs.get(ctx, replayKey(rname), &r); err != nil {
				b.Fatal(err)
			}
			if r.Finished() {
				if r.State != ReplayCompleted {
					b.Fatalf("replay %s: %s", r.State, r.StateReason)
				}
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	if got := len(rr.got()); got != i*events {
		b.Fatalf("replayed %d events, want %d", got, i*events)
	}
	b.ReportMetric(float64(i*events)/b.Elapsed().Seconds(), "events/s")
}

func tsPtr(t time.Time) *awsapi.Timestamp { return awsapi.TimestampPtr(t) }
