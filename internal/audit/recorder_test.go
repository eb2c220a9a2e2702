package audit_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/conveyor/conveyor/internal/audit"
	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
	"github.com/conveyor/conveyor/internal/syncbuf"
)

// smallPayloadStore is a store on a nats-server that takes messages of
// at most maxPayload bytes.
func smallPayloadStore(t *testing.T, maxPayload int32) *store.Store {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true, MaxPayload: maxPayload})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return storetest.OpenConfig(t, store.Config{NATSURL: ns.ClientURL()})
}

// A record the audit log refuses for good (larger than the server's maximum
// payload or the stream's maximum message size) is not retried: the call
// goes on, the refusal is logged and counted, and Close does not wait for it.
func TestRejectedRecords(t *testing.T) {
	// A record of about 40 KB, under the record bounds but over the store's.
	big := func(i int) audit.Call {
		c := call("PutTargets", i)
		c.Request = []byte(`{"Rule":"r","Targets":[{"Id":"t","Input":"` + strings.Repeat("x", 40<<10) + `"}]}`)
		return c
	}
	for _, c := range []struct {
		name string
		st   func(t *testing.T) *store.Store
	}{
		{"server max payload", func(t *testing.T) *store.Store {
			st := smallPayloadStore(t, 16<<10)
			if _, err := audit.EnsureStream(t.Context(), st.JetStream(), 0, 1); err != nil {
				t.Fatal(err)
			}
			return st
		}},
		{"stream max message size", func(t *testing.T) *store.Store {
			st := storetest.Open(t)
			sc := audit.StreamConfig(0, 1)
			sc.MaxMsgSize = 16 << 10
			if _, err := st.JetStream().CreateOrUpdateStream(t.Context(), sc); err != nil {
				t.Fatal(err)
			}
			return st
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := c.st(t)
			b, err := audit.NewBuilder(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var logs syncbuf.Buffer
			r := audit.NewRecorder(b, st, audit.RecorderConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			start := time.Now()
			c := big(1)
			r.CommitCall(t.Context(), c) // stored before the answer, or refused at once
			if d := time.Since(start); d > time.Second {
				t.Errorf("Commit took %v", d)
			}
			r.Record(big(2)) // queued
			r.Record(call("PutRule", 3))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Commit, Record and Close took %v", d)
			}
			s := r.Stats()
			if s.Rejected != 2 || s.Recorded != 1 || s.Dropped != 0 {
				t.Errorf("stats %+v, want 2 rejected, 1 recorded", s)
			}
			if n := strings.Count(logs.String(), "level=ERROR msg=\"audit: the audit log refused an API call's record"); n != 2 {
				t.Errorf("%d refusals logged as errors, want 2:\n%s", n, logs.String())
			}
		})
	}
}
