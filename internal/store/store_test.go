package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// readAll returns the events stored in bus's stream, in order.
func readAll(t testing.TB, s *store.Store, bus string) []string {
	t.Helper()
	ctx := ctxT(t)
	st, err := s.JetStream().Stream(ctx, store.BusStream(bus))
	if err != nil {
		t.Fatalf("stream of %q: %v", bus, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("get %d: %v", seq, err)
		}
		for ev := range store.Batched(m.Data) {
			out = append(out, string(ev))
		}
	}
	return out
}

func TestOpenCloseReopen(t *testing.T) {
	dir := t.TempDir()
	s := storetest.OpenDir(t, dir)
	ctx := ctxT(t)
	if !s.Embedded() {
		t.Fatal("Embedded() = false for a store with DataDir only")
	}
	for _, bus := range []string{"default", "orders.v1/eu"} {
		if _, err := s.EnsureBus(ctx, bus); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := s.PublishEvent(ctx, bus, fmt.Sprintf("%s-%d", bus, i), fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second close: %v", err)
	}

	s2 := storetest.OpenDir(t, dir)
	for _, bus := range []string{"default", "orders.v1/eu"} {
		got := readAll(t, s2, bus)
		want := []string{`{"n":0}`, `{"n":1}`, `{"n":2}`}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after reopen, bus %q holds %q, want %q", bus, got, want)
		}
		st, err := s2.EnsureBus(ctx, bus)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.CachedInfo().Config.Metadata[store.BusMetadataKey]; got != bus {
			t.Errorf("metadata bus name = %q, want %q", got, bus)
		}
	}
	if err := s2.DeleteBus(ctx, "orders.v1/eu"); err != nil {
		t.Fatal(err)
	}
	if err := s2.DeleteBus(ctx, "orders.v1/eu"); err != nil {
		t.Fatalf("deleting a deleted bus: %v", err)
	}
	if err := s2.PublishEvent(ctx, "orders.v1/eu", "x", []byte("{}")); err == nil {
		t.Error("publish to a deleted bus succeeded")
	}
}

func TestPublishDedup(t *testing.T) {
	s := storetest.Open(t)
	ctx := ctxT(t)
	if _, err := s.EnsureBus(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.PublishEvent(ctx, "b", "same-id", []byte("one")); err != nil {
			t.Fatal(err)
		}
	}
	// A batch is stored once under its first event's id.
	for _, data := range []string{"two", "again"} {
		errs, err := s.PublishEvents(ctx, "b", []store.Message{{ID: "id-2", Data: []byte(data)}, {ID: "id-3", Data: []byte("three")}})
		if err != nil {
			t.Fatalf("PublishEvents: %v (%v)", err, errs)
		}
	}
	if got, want := fmt.Sprint(readAll(t, s, "b")), "[one two three]"; got != want {
		t.Errorf("stream holds %s, want %s", got, want)
	}
}

func TestPublishEventsBatches(t *testing.T) {
	s := storetest.Open(t)
	ctx := ctxT(t)
	if _, err := s.EnsureBus(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	var msgs []store.Message
	var want []string
	for i := range 25 {
		msgs = append(msgs, store.Message{Data: fmt.Append(nil, i)})
		want = append(want, fmt.Sprint(i))
	}
	errs, err := s.PublishEvents(ctx, "b", msgs)
	if err != nil || len(errs) != len(msgs) {
		t.Fatalf("PublishEvents: %v, %d errors", err, len(errs))
	}
	if got := readAll(t, s, "b"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stream holds %q, want %q", got, want)
	}
	if n := streamMsgs(t, s, "b"); n != 1 {
		t.Errorf("25 events stored as %d messages, want 1", n)
	}

	// Events that together exceed the connection's maximum payload go in
	// several messages, none of them over it.
	max := int(s.Conn().MaxPayload())
	big := make([]store.Message, 5)
	want = want[:0]
	for i := range big {
		big[i].Data = bytes.Repeat([]byte{'a' + byte(i)}, max/3)
		want = append(want, string(big[i].Data))
	}
	if _, err := s.PublishEvents(ctx, "big", nil); err != nil {
		t.Fatalf("PublishEvents of nothing: %v", err)
	}
	if _, err := s.EnsureBus(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishEvents(ctx, "big", big); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, "big"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("big events read back differ (%d events)", len(got))
	}
	if n := streamMsgs(t, s, "big"); n != 3 {
		t.Errorf("5 events of a third of the maximum payload stored as %d messages, want 3", n)
	}

	// A bus without a stream fails every entry.
	errs, err = s.PublishEvents(ctx, "nobus", msgs[:2])
	if err == nil || errs[0] == nil || errs[1] == nil {
		t.Errorf("publish to a missing bus: err %v, entries %v", err, errs)
	}
}

// streamMsgs is the number of messages in bus's stream.
func streamMsgs(t testing.TB, s *store.Store, bus string) uint64 {
	t.Helper()
	st, err := s.JetStream().Stream(ctxT(t), store.BusStream(bus))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestOpenBadConfig(t *testing.T) {
	ctx := ctxT(t)
	if _, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Sync: "sometimes"}); err == nil {
		t.Error("Open accepted Sync: sometimes")
	}
	if _, err := store.Open(ctx, store.Config{}); err == nil {
		t.Error("Open accepted an empty config")
	}
}

func TestSyncAlways(t *testing.T) {
	s := storetest.OpenConfig(t, store.Config{DataDir: t.TempDir(), Sync: store.SyncAlways})
	ctx := ctxT(t)
	if _, err := s.EnsureBus(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishEvent(ctx, "b", "1", []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestExternalNATS(t *testing.T) {
	dir := t.TempDir()
	ext := storetest.StartNATS(t, dir)
	url := ext.ClientURL()
	ctx := ctxT(t)

	s := storetest.OpenConfig(t, store.Config{NATSURL: url})
	if s.Embedded() {
		t.Fatal("Embedded() = true with NATSURL")
	}
	if _, err := s.EnsureBus(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	errs, err := s.PublishEvents(ctx, "default", []store.Message{{ID: "1", Data: []byte("a")}, {ID: "2", Data: []byte("b")}})
	if err != nil {
		t.Fatal(err, errs)
	}
	if err := s.PublishEvent(ctx, "default", "1", []byte("dup")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The server kept the data: a second store (another Conveyor process)
	// sees it.
	s2 := storetest.OpenConfig(t, store.Config{NATSURL: url})
	if got := fmt.Sprint(readAll(t, s2, "default")); got != "[a b]" {
		t.Errorf("external stream holds %s, want [a b]", got)
	}
	// Replicas beyond the server's size are refused by the server, which
	// shows the setting reaches it.
	s3 := storetest.OpenConfig(t, store.Config{NATSURL: url, Replicas: 3})
	if _, err := s3.EnsureBus(ctx, "replicated"); err == nil {
		t.Error("EnsureBus with Replicas: 3 on a single server succeeded")
	}
}

// A bus stream keeps events for BusMaxAge; a stream made under another
// setting takes the new one when the bus is next opened.
func TestBusRetention(t *testing.T) {
	dir := t.TempDir()
	maxAge := func(s *store.Store) time.Duration {
		t.Helper()
		st, err := s.EnsureBus(ctxT(t), "orders")
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		return info.Config.MaxAge
	}
	s := storetest.OpenConfig(t, store.Config{DataDir: dir, BusMaxAge: time.Hour})
	if got := maxAge(s); got != time.Hour {
		t.Fatalf("MaxAge %v, want 1h", got)
	}
	if err := s.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	s = storetest.OpenConfig(t, store.Config{DataDir: dir, BusMaxAge: 2 * time.Hour})
	if got := maxAge(s); got != 2*time.Hour {
		t.Fatalf("after a restart with 2h: MaxAge %v", got)
	}
	if got := maxAge(storetest.OpenConfig(t, store.Config{DataDir: t.TempDir()})); got != 24*time.Hour {
		t.Fatalf("default MaxAge %v, want 24h", got)
	}
}
