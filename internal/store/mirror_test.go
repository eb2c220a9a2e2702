package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor/conveyor/internal/store"
	"github.com/conveyor/conveyor/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openMirror creates a bucket and a mirror of it whose values are the
// records' text.
func openMirror(t *testing.T) (jetstream.JetStream, jetstream.KeyValue, *store.Mirror[string]) {
	t.Helper()
	ctx := ctxT(t)
	js := storetest.Open(t).JetStream()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "mirrored"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.NewMirror(ctx, js, kv, func(e jetstream.KeyValueEntry) (string, error) {
		if string(e.Value()) == "bad" {
			return "", errors.New("bad record")
		}
		return string(e.Value()), nil
	}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return js, kv, m
}

func list(t *testing.T, m *store.Mirror[string], group string) []string {
	t.Helper()
	vs, err := m.List(ctxT(t), group)
	if err != nil {
		t.Fatalf("List(%q): %v", group, err)
	}
	slices.Sort(vs)
	return vs
}

// TestMirrorReadsItsWrites: every read sees each write answered before it,
// with no wait in between: puts, updates, deletes and purges, by group.
func TestMirrorReadsItsWrites(t *testing.T) {
	ctx := ctxT(t)
	_, kv, m := openMirror(t)
	if got := list(t, m, "rule.b1"); len(got) != 0 {
		t.Fatalf("empty bucket lists %q", got)
	}
	for i := range 20 {
		if _, err := kv.Put(ctx, fmt.Sprintf("rule.b1.r%02d", i), fmt.Appendf(nil, "r%02d", i)); err != nil {
			t.Fatal(err)
		}
		if n, err := m.Count(ctx, "rule.b1"); err != nil || n != i+1 {
			t.Fatalf("Count after %d puts = %d, %v", i+1, n, err)
		}
	}
	if _, err := kv.Put(ctx, "rule.b2.r00", []byte("other bus")); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "bus", []byte("no dot")); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "rule.b1.r00", []byte("r00 v2")); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "rule.b1.r01"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(ctx, "rule.b1.r02"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "rule.b1.r03", []byte("bad")); err != nil {
		t.Fatal(err)
	}
	got := list(t, m, "rule.b1")
	want := []string{"r00 v2"}
	for i := 4; i < 20; i++ {
		want = append(want, fmt.Sprintf("r%02d", i))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rule.b1 = %q, want %q", got, want)
	}
	if got := list(t, m, "rule.b2"); !slices.Equal(got, []string{"other bus"}) {
		t.Fatalf("rule.b2 = %q", got)
	}
	if got := list(t, m, ""); !slices.Equal(got, []string{"no dot"}) {
		t.Fatalf(`"" = %q`, got)
	}
}

// TestMirrorSnapshot: a mirror opened on a bucket that has records starts
// from them, deletions included.
func TestMirrorSnapshot(t *testing.T) {
	ctx := ctxT(t)
	js, kv, first := openMirror(t)
	for _, k := range []string{"a.1", "a.2", "a.3"} {
		if _, err := kv.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.Delete(ctx, "a.2"); err != nil {
		t.Fatal(err)
	}
	first.Close()
	if _, err := kv.Put(ctx, "a.4", []byte("a.4")); err != nil {
		t.Fatal(err)
	}
	if _, err := first.List(ctx, "a"); !errors.Is(err, store.ErrMirrorClosed) {
		t.Fatalf("List on a closed mirror behind the bucket: %v, want ErrMirrorClosed", err)
	}
	m, err := store.NewMirror(ctx, js, kv, func(e jetstream.KeyValueEntry) (string, error) { return string(e.Value()), nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := list(t, m, "a"); !slices.Equal(got, []string{"a.1", "a.3", "a.4"}) {
		t.Fatalf("a = %q", got)
	}
}

// TestMirrorConcurrentReads: thousands of reads at once all answer, each
// sees the writes made before it, they share their requests of the
// bucket's revision (a few JetStream API requests, not one a read), and the
// bucket's stream never has more than the mirror's one consumer (a stream
// allows 1,000).
func TestMirrorConcurrentReads(t *testing.T) {
	ctx := ctxT(t)
	js, kv, m := openMirror(t)
	if _, err := kv.Put(ctx, "q.1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	before, err := js.AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if i%100 == 0 { // writes interleaved with the reads
				key := fmt.Sprintf("w.%d", i)
				if _, err := kv.Put(ctx, key, []byte(key)); err != nil {
					errs <- err
					return
				}
				vs, err := m.List(ctx, "w")
				if err == nil && !slices.Contains(vs, key) {
					err = fmt.Errorf("List(w) after writing %s = %q", key, vs)
				}
				if err != nil {
					errs <- err
				}
				return
			}
			vs, err := m.List(ctx, "q")
			if err == nil && !slices.Equal(vs, []string{"one"}) {
				err = fmt.Errorf("List = %q", vs)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	after, err := js.AccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reqs := after.API.Total - before.API.Total; reqs > n/4 {
		t.Errorf("%d reads made %d JetStream API requests", n, reqs)
	}
	if n, err := m.Count(ctx, "w"); err != nil || n != 20 {
		t.Fatalf("Count(w) = %d, %v; want 20", n, err)
	}
	st, err := js.Stream(ctx, "KV_mirrored")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Consumers != 1 {
		t.Fatalf("the bucket's stream has %d consumers, want 1 (the mirror's)", info.State.Consumers)
	}
}

// TestMirrorStopsWithConnection: a mirror whose connection closes stops
// (its goroutine ends: Close returns) instead of watching again forever.
func TestMirrorStopsWithConnection(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	js := st.JetStream()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "mirrored"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.NewMirror(ctx, js, kv, func(e jetstream.KeyValueEntry) ([]byte, error) { return e.Value(), nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the mirror still runs 10s after its connection closed")
	}
	if _, err := m.List(ctx, "a"); err == nil {
		t.Fatal("List on a closed connection answered no error")
	}
}
