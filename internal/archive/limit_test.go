package archive

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
	"github.com/conveyor/conveyor/internal/scope"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

// TestReplayLimitConfig: Config.ReplayLimit bounds the replays that are
// STARTING or RUNNING in one account and region; other accounts and
// regions, and replays in other states, do not count.
func TestReplayLimitConfig(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat, err := catalog.Open(ctx, st.JetStream(), catalog.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	// No replay worker runs (no Start): started replays stay STARTING.
	svc, err := New(ctx, Config{Store: st, Catalog: cat, Logger: quiet, ReplayLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	home := cat.Home()
	other := scope.Scope{Account: "210987654321", Region: home.Region}
	if other.Account == home.Account {
		other.Account = "123456789012"
	}
	elsewhere := scope.Scope{Account: home.Account, Region: "eu-west-3"}
	if elsewhere.Region == home.Region {
		elsewhere.Region = "eu-west-2"
	}
	in := func(sc scope.Scope) context.Context {
		return awsapi.ContextWithCaller(ctx, awsapi.Caller{Account: sc.Account, Region: sc.Region})
	}
	for _, sc := range []scope.Scope{home, other, elsewhere} {
		if _, err := cat.In(sc).EnsureDefault(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateArchive(in(sc), &CreateArchiveInput{ArchiveName: ptr("a"), EventSourceArn: ptr(cat.In(sc).BusARN("default"))}); err != nil {
			t.Fatal(err)
		}
	}
	end := time.Now().Add(-time.Minute)
	start := func(sc scope.Scope, name string) error {
		_, err := svc.StartReplay(in(sc), &StartReplayInput{ReplayName: ptr(name), EventSourceArn: ptr(ArchiveARN(sc, "a")),
			EventStartTime: tsPtr(end.Add(-time.Hour)), EventEndTime: tsPtr(end),
			Destination: &DestinationInput{Arn: ptr(cat.In(sc).BusARN("default"))}})
		return err
	}
	wantLimit := func(err error) {
		t.Helper()
		ae, ok := err.(*awsapi.Error)
		if !ok || ae.Code != awsapi.CodeLimitExceededException || ae.Message != "The requested resource exceeds the maximum number allowed." {
			t.Fatalf("error = %v, want LimitExceededException", err)
		}
	}
	for _, name := range []string{"r1", "r2"} {
		if err := start(home, name); err != nil {
			t.Fatal(err)
		}
	}
	wantLimit(start(home, "r3"))
	// Another account and another region have limits of their own.
	for _, sc := range []scope.Scope{other, elsewhere} {
		for _, name := range []string{"r1", "r2"} {
			if err := start(sc, name); err != nil {
				t.Fatalf("%v: %v", sc, err)
			}
		}
		wantLimit(start(sc, "r3"))
	}
	// A RUNNING replay counts; CANCELLING, COMPLETED, CANCELLED and FAILED
	// ones do not.
	setState := func(name, state string) {
		t.Helper()
		if _, err := mutate(ctx, svc.recs, replayKey(svc.key(home, name)), func(cur *Replay) (*Replay, error) {
			cur.State = state
			return cur, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	setState("r1", ReplayRunning)
	wantLimit(start(home, "r3"))
	for _, state := range []string{ReplayCancelling, ReplayCompleted, ReplayCancelled, ReplayFailed} {
		setState("r1", state)
		if err := start(home, "r-"+state); err != nil {
			t.Fatalf("with r1 %s: %v", state, err)
		}
		wantLimit(start(home, "r3"))
		setState("r-"+state, ReplayCompleted)
	}
}
