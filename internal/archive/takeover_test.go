package archive

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/delivery"
	"github.com/conveyor/conveyor/internal/event"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

type recordingRouter struct {
	mu     sync.Mutex
	events []*event.Event
}

func (r *recordingRouter) RouteReplayed(_ context.Context, _ string, events [][]byte, _ []string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range events {
		e, err := event.Parse(b)
		if err != nil {
			return 0, err
		}
		r.events = append(r.events, e)
	}
	return len(events), nil
}

func (r *recordingRouter) got() []*event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*event.Event(nil), r.events...)
}

// TestTakeOver: a replay whose runner stopped renewing its lease is taken
// over by another process, which goes on from the runner's last position
// and stops at the end the replay began with.
func TestTakeOver(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat, err := catalog.Open(ctx, st.JetStream(), catalog.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.In(cat.Home()).EnsureDefault(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := New(ctx, Config{Store: st, Catalog: cat, Logger: quiet, ReplayLease: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	name := "a"
	if _, err := svc.CreateArchive(ctx, &CreateArchiveInput{ArchiveName: &name, EventSourceArn: ptr(cat.In(cat.Home()).BusARN("default"))}); err != nil {
		t.Fatal(err)
	}
	inv := svc.Invoker(delivery.InvokerFunc(func(context.Context, *delivery.Job) error { return fmt.Errorf("not an archive job") }))
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	archiveEvent := func(n int) {
		e := &event.Event{ID: fmt.Sprintf("id-%d", n), DetailType: "t", Source: "s", Account: cat.Home().Account, Region: cat.Home().Region,
			Time: at, Detail: []byte(fmt.Sprintf(`{"n":%d}`, n))}
		if err := inv.Invoke(ctx, &delivery.Job{TargetARN: ArchiveARN(cat.Home(), name), EventID: e.ID, Payload: e.AppendJSON(nil)}); err != nil {
			t.Fatal(err)
		}
	}
	for n := 1; n <= 6; n++ {
		archiveEvent(n)
	}
	archiveEvent(6) // a redelivered job: stored once
	// A replayed event is not archived.
	re := &event.Event{ID: "id-r", Source: "s", Time: at, ReplayName: "x"}
	if err := inv.Invoke(ctx, &delivery.Job{TargetARN: ArchiveARN(cat.Home(), name), EventID: re.ID, Payload: re.AppendJSON(nil)}); err != nil {
		t.Fatal(err)
	}
	if n, _ := svc.counts(ctx, &Archive{Name: name, ARN: ArchiveARN(cat.Home(), name)}); n != 6 {
		t.Fatalf("archive holds %d events, want 6", n)
	}

	// A runner that replayed the first two events, then vanished.
	_, err = mutate(ctx, svc.recs, replayKey("r"), func(*Replay) (*Replay, error) {
		return &Replay{Name: "r", ARN: ReplayARN(cat.Home(), "r"), State: ReplayRunning, Archive: name, Bus: "default",
			EventSourceArn: ArchiveARN(cat.Home(), name), EventStartTime: at.Add(-time.Hour), EventEndTime: at.Add(time.Hour),
			ReplayStartTime: time.Now(), Runner: "gone", Heartbeat: time.Now().Add(-time.Hour), EndSeq: 6, Position: 2}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	archiveEvent(7) // after the replay began: not replayed
	rr := &recordingRouter{}
	if err := svc.Start(rr); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var r Replay
	for {
		if _, err := svc.recs.get(ctx, replayKey("r"), &r); err != nil {
			t.Fatal(err)
		}
		if r.Finished() || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.State != ReplayCompleted || r.Runner != svc.id || r.Position != 6 || !r.EventLastReplayedTime.Equal(at) {
		t.Fatalf("replay = %+v", r)
	}
	var ids []string
	for _, e := range rr.got() {
		if e.ReplayName != "r" {
			t.Errorf("replayed event without replay-name: %+v", e)
		}
		ids = append(ids, e.ID)
	}
	if fmt.Sprint(ids) != "[id-3 id-4 id-5 id-6]" {
		t.Fatalf("replayed %v, want id-3 … id-6", ids)
	}
}

func ptr[T any](v T) *T { return &v }

func TestRulePattern(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  `{"replay-name":[{"exists":false}]}`,
		"{}":                                `{"replay-name":[{"exists":false}]}`,
		`{"source":["a"]}`:                  `{"source":["a"],"replay-name":[{"exists":false}]}`,
		" { \"source\" : [\"a\"] } \n":      `{ "source" : ["a"] ,"replay-name":[{"exists":false}]}`,
		`{"replay-name":[{"exists":true}]}`: `{"replay-name":[{"exists":true}]}`,
	} {
		if got := rulePattern(in); got != want {
			t.Errorf("rulePattern(%q) = %q, want %q", in, got, want)
		}
	}
}
